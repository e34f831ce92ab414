//! Console forms: every POST carries the session's CSRF token, checked
//! before a handler sees the fields. Fields arrive as ordered pairs so that
//! repeated names (a row of checkboxes) keep every value.

use super::pages::{self, PageError};
use super::session::SignedIn;
use crate::AppState;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use tessera_core::password::{self, NewPassword, PasswordPolicyError};

/// A form posted by a signed-in account with a valid CSRF token.
pub struct SubmittedForm {
    pub signed_in: SignedIn,
    pub fields: FormFields,
}

impl FromRequest<AppState> for SubmittedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|_| pages::bad_form().into_response())?;
        let fields = FormFields(pairs);
        if !signed_in.session.accepts_csrf(fields.text("csrf")) {
            return Err(pages::csrf_refused());
        }
        Ok(SubmittedForm { signed_in, fields })
    }
}

#[derive(Debug, Default, Clone)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// The first value sent under `name`, or "" when there is none.
    pub fn text(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The first value under `name` with surrounding whitespace removed.
    pub fn trimmed(&self, name: &str) -> &str {
        self.text(name).trim()
    }

    /// Every value sent under `name`, in order.
    pub fn all<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> + use<'s> {
        let name = name.to_owned();
        self.0
            .iter()
            .filter(move |(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What was wrong with a submitted form, field by field, so the page can
/// show each message beside its input and keep everything else typed.
#[derive(Debug, Default)]
pub struct FormErrors(BTreeMap<&'static str, String>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

#[cfg(test)]
impl FormFields {
    /// A form as a browser would post it, for unit tests.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        FormFields(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
}

/// Hashes a new password off the async workers (Argon2 is slow on purpose,
/// the strength estimate takes milliseconds too); the inner error is the
/// password policy's refusal. `context`: the account's username and its
/// organisation's slug and name, which make a password weaker.
pub async fn hash_new_password(
    password: String,
    context: Vec<String>,
) -> Result<Result<String, PasswordPolicyError>, PageError> {
    tokio::task::spawn_blocking(move || {
        let context: Vec<&str> = context.iter().map(String::as_str).collect();
        NewPassword::parse(&password, &context).map(|p| password::hash_password(&p))
    })
    .await
    .map_err(PageError::from)
}

/// The words a password of this account must not lean on: its username and
/// its organisation's slug and name.
pub fn password_context(username: &str, organization: Option<(&str, &str)>) -> Vec<String> {
    let mut words = vec![username.to_owned()];
    if let Some((slug, name)) = organization {
        words.push(slug.to_owned());
        words.push(name.to_owned());
    }
    words
}

/// The policy's refusal as a sentence beside the password field: what is
/// wrong and, from the estimator, why.
pub fn password_problem(err: &PasswordPolicyError) -> String {
    let message = err.to_string();
    let mut chars = message.chars();
    let mut sentence = match chars.next() {
        Some(first) => format!("{}{}", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    };
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}
