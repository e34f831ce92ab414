//! What the administrators' settings pages (roles, people, organisation)
//! share: audit entries, the role picker, confirmations after a redirect.

use super::form::FormErrors;
use super::pages::PageError;
use super::session::SignedIn;
use crate::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use tessera_core::audit::AuditAction;
use tessera_store::audit::{self, NewEntry};
use tessera_store::roles::Role;

/// Records what a signed-in administrator did to `target`.
pub async fn record(
    state: &AppState,
    signed_in: &SignedIn,
    organization_id: &str,
    action: AuditAction,
    target: &str,
    details: Value,
) -> Result<(), PageError> {
    audit::record(
        state.db(),
        NewEntry {
            organization_id: Some(organization_id),
            actor: &signed_in.actor(),
            action,
            target: Some(target),
            ip: Some(&signed_in.ip()),
            details: Some(details),
        },
    )
    .await?;
    Ok(())
}

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
