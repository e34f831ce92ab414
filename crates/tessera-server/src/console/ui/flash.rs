//! The confirmation a page shows after a form redirected to it with
//! `?done=code`. Only codes the page knows turn into a message, so a link
//! cannot put words on the page.

use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// A page's known codes and what each says.
pub type Messages = &'static [(&'static str, &'static str)];

/// The `done` query parameter, read with `Query<Flash>`.
#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    done: Option<String>,
}

impl Flash {
    pub fn message(&self, known: Messages) -> Option<&'static str> {
        let done = self.done.as_deref()?;
        known
            .iter()
            .find(|(code, _)| *code == done)
            .map(|(_, message)| *message)
    }
}

/// Sends the browser to `path`, which then confirms `code`.
pub fn redirect(path: &str, code: &str) -> Response {
    Redirect::to(&format!("{path}?done={code}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: Messages = &[("saved", "Saved.")];

    #[test]
    fn only_known_codes_speak() {
        let flash = |done: Option<&str>| Flash {
            done: done.map(str::to_owned),
        };
        assert_eq!(flash(Some("saved")).message(KNOWN), Some("Saved."));
        assert_eq!(flash(Some("<b>hi</b>")).message(KNOWN), None);
        assert_eq!(flash(None).message(KNOWN), None);
    }
}
