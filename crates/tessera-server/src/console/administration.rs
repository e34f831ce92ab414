//! What the administrators' settings pages (roles, people, organisation)
//! share: the role picker, confirmations after a redirect.

use super::form::FormErrors;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tessera_store::roles::Role;

/// `?done=…` on the page a successful form redirects to. Only known codes
/// turn into a message, so a link cannot put words on the page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

impl Done {
    pub fn message(&self, known: &[(&str, &'static str)]) -> Option<&'static str> {
        let done = self.done.as_deref()?;
        known
            .iter()
            .find(|(code, _)| *code == done)
            .map(|(_, message)| *message)
    }
}

/// A page re-rendered because its form had problems.
pub fn unprocessable(markup: Markup) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, markup).into_response()
}

/// A stored time as a date (UTC), for lists.
pub fn day(ms: i64) -> String {
    tessera_store::format_ms(ms).chars().take(10).collect()
}

/// A labelled choice of the organisation's roles.
pub fn role_select(
    id: &'static str,
    label: &str,
    roles: &[Role],
    selected: &str,
    errors: &FormErrors,
    disabled: bool,
) -> Markup {
    let error = errors.get(id);
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(error) = error { p.field-error id={ (id) "-error" } { (error) } }
            select id=(id) name=(id) disabled[disabled]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))] {
                @for role in roles {
                    option value=(role.id) selected[role.id == selected] { (role.name) }
                }
            }
        }
    }
}

/// "a thing" / "3 things".
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
