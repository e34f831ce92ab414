//! The list of API keys: all of the organisation's for administrators,
//! one's own for everyone else.

use super::{key_access_summary, own_role};
use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{Flash, Messages};
use crate::console::ui::{self, cell, notice, time};
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{Markup, html};
use tessera_ops::keys;
use tessera_store::api_keys::{self, ApiKey};
use tessera_store::now_ms;

const DONE: Messages = &[
    (
        "revoked",
        "The key was revoked. Requests with it are refused from now on.",
    ),
    (
        "revoked-all",
        "Every API key of the organisation was revoked.",
    ),
];

/// Most keys a list shows; an organisation with more is told so.
const LIST_LIMIT: i64 = 500;

pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
) -> PageResult {
    let member = signed_in.member()?;
    let only_own = (!member.is_administrator).then_some(member.account.id.as_str());
    let mut keys = api_keys::list(
        state.db(),
        member.organization_id,
        only_own,
        None,
        LIST_LIMIT + 1,
    )
    .await?;
    let truncated = keys.len() as i64 > LIST_LIMIT;
    keys.truncate(LIST_LIMIT as usize);
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let role = own_role(&state, &member).await?;
    let may_create = keys::may_create_keys(state.ops(), &role, member.organization_id).await?;
    let body = html! {
        div.page-head {
            h1 { "API keys" }
            @if may_create {
                a.button #generate-key href=(paths::NEW_KEY) { "Generate key" }
            }
        }
        (notice(flash.message(DONE)))
        @if !may_create {
            p.hint #creation-policy { "Only administrators can create API keys in this organisation. Ask one if you need a key." }
        }
        @if !member.is_administrator {
            p.hint { "You see the keys you own." }
        }
        @if keys.is_empty() {
            p #no-keys { "There are no API keys yet." }
        } @else {
            (keys_table(&keys))
            @if truncated {
                p.hint { "Showing the " (LIST_LIMIT) " oldest keys; the key-management API lists them all." }
            }
        }
        @if member.is_administrator {
            section.card.danger-zone {
                h2 { "Revoke all keys" }
                p { "Stops every API key of " (member.organization_name) " at once. Integrations stop working until they get new keys. This cannot be undone." }
                a.button.danger #revoke-all href=(paths::REVOKE_ALL_KEYS) { "Revoke ALL keys" }
            }
        }
    };
    Ok(page("API keys", &signed_in, Section::ApiKeys, body).into_response())
}

const COLUMNS: [ui::Column; 9] = [
    "Name",
    "Owner",
    "Key",
    "Permissions",
    "Created",
    "Last used",
    "Expires",
    "Status",
    "Actions",
];

fn keys_table(keys: &[ApiKey]) -> Markup {
    let now = now_ms();
    let or_never =
        |at: Option<i64>, shown: fn(i64) -> String| at.map_or_else(|| "Never".to_owned(), shown);
    ui::table("keys", &COLUMNS, keys, |key| {
        let status = key.status(now);
        html! {
            tr data-key-id=(key.id) {
                (cell("Name", html! { a href=(paths::key(&key.id)) { (key.name) } }))
                (cell("Owner", html! { (key.owner_name) @if key.owner.kind() == "bot" { " (bot)" } }))
                (cell("Key", html! { code { (key.hint) } }))
                (cell("Permissions", html! { (key_access_summary(key)) }))
                (cell("Created", html! { (time::date(key.created_at)) }))
                (cell("Last used", html! { (or_never(key.last_used_at, time::date_time)) }))
                (cell("Expires", html! { (or_never(key.expires_at, time::date)) }))
                (cell("Status", ui::status_badge(status, status)))
                td.row-actions {
                    a.button.secondary.small href=(paths::key(&key.id)) aria-label={ "Details of " (key.name) } { "Details" }
                    " "
                    @if status == "active" {
                        a.button.secondary.small.revoke href=(paths::key_revoke(&key.id)) aria-label={ "Revoke " (key.name) } { "✕ Revoke" }
                    }
                }
            }
        }
    })
}
