//! Unused keys: active keys never used, or not used in 30 or 90 days,
//! each with the way to revoke it (the key's own revoke page, so revoking
//! goes through the one revocation operation and its audit entry).

use super::super::api_keys::key_access_summary;
use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::{self, cell, time};
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::html;
use serde::Deserialize;
use tessera_core::usage::DAY_MS;
use tessera_store::api_keys::{self, ApiKey};
use tessera_store::now_ms;

#[derive(Deserialize)]
pub struct UnusedQuery {
    days: Option<String>,
}

/// The offered thresholds; `never` lists only keys never used.
const CHOICES: [(&str, &str); 3] = [
    ("30", "Not used in 30 days"),
    ("90", "Not used in 90 days"),
    ("never", "Never used"),
];

/// Whether `key` is active and unused by the chosen threshold.
fn is_unused(key: &ApiKey, choice: &str, now: i64) -> bool {
    if key.status(now) != "active" {
        return false;
    }
    match (choice, key.last_used_at) {
        (_, None) => true,
        ("never", Some(_)) => false,
        (days, Some(at)) => {
            let days: i64 = days.parse().unwrap_or(30);
            at < now - days * DAY_MS
        }
    }
}

pub async fn unused_keys(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<UnusedQuery>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let choice = query
        .days
        .as_deref()
        .filter(|d| CHOICES.iter().any(|(value, _)| value == d))
        .unwrap_or("30");
    let now = now_ms();
    let mut keys = api_keys::list(state.db(), member.organization_id, None, None, 10_000).await?;
    keys.retain(|key| is_unused(key, choice, now));
    let columns = [
        "Name",
        "Owner",
        "Permissions",
        "Created",
        "Last used",
        "Actions",
    ];
    let body = html! {
        div.page-head { h1 { "Unused keys" } }
        nav.ranges aria-label="Threshold" {
            @for (value, label) in CHOICES {
                a href={ (paths::UNUSED_KEYS) "?days=" (value) } aria-current=[(value == choice).then_some("page")] { (label) }
                " "
            }
        }
        p.hint { "Active keys nobody has used lately are a risk with no benefit: revoke the ones no integration needs." }
        @if keys.is_empty() {
            p #no-unused-keys { "No active key matches." }
        } @else {
            (ui::table("unused-keys-table", &columns, &keys, |key| html! {
                tr data-key-id=(key.id) {
                    (cell("Name", html! { a href=(paths::key(&key.id)) { (key.name) } }))
                    (cell("Owner", html! { (key.owner_name) @if key.owner.kind() == "bot" { " (bot)" } }))
                    (cell("Permissions", html! { (key_access_summary(key)) }))
                    (cell("Created", html! { (time::timestamp(key.created_at)) }))
                    (cell("Last used", html! { @match key.last_used_at { Some(at) => (time::timestamp(at)), None => "Never" } }))
                    td.row-actions {
                        a.button.secondary.small.revoke href=(paths::key_revoke(&key.id)) aria-label={ "Revoke " (key.name) } { "✕ Revoke" }
                    }
                }
            }))
        }
        p { a href=(paths::USAGE) { "← Back to usage" } }
    };
    Ok(page("Unused keys", &signed_in, Section::Usage, body).into_response())
}
