//! Settings ▸ Connected clients: the API clients that have used the
//! organisation's keys, and blocking or unblocking one for this
//! organisation. Administrators only; a block is confirmed on a page of its
//! own and audited like the connected-clients API's.

use crate::AppState;
use crate::console::form::SubmittedForm;
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::{self, cell, notice, time::timestamp};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::{Markup, html};
use std::collections::BTreeMap;
use tessera_store::api_clients::{self, ApiClient};
use tessera_store::client_connections::{self, Connection};
use tessera_store::{Db, api_keys};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::CONNECTED_CLIENTS, get(list))
        .route(
            paths::CONNECTED_CLIENT_BLOCK,
            get(confirm_block).post(block),
        )
        .route(paths::CONNECTED_CLIENT_UNBLOCK, post(unblock))
}

const DONE: Messages = &[
    (
        "blocked",
        "The client is blocked: its requests for your organisation now get 403 api_client_blocked.",
    ),
    (
        "unblocked",
        "The client is unblocked: its requests for your organisation work again.",
    ),
];

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let db = state.db();
    let connections = client_connections::list(db, admin.organization_id).await?;
    let mut key_names: BTreeMap<String, String> = BTreeMap::new();
    for key_id in connections.iter().flat_map(|c| &c.key_ids) {
        if !key_names.contains_key(key_id.as_str()) {
            let name = api_keys::find(db, admin.organization_id, key_id)
                .await?
                .map_or_else(|| key_id.clone(), |key| key.name);
            key_names.insert(key_id.clone(), name);
        }
    }
    let body = html! {
        div.page-head { h1 { "Connected API clients" } }
        (notice(flash.message(DONE)))
        section.card {
            p { "Integrating companies (API clients) that have used your organisation's API keys. "
                "Blocking a client refuses its requests for your organisation from the next request on; other organisations are not affected." }
            @if connections.is_empty() {
                p #no-clients { "No API client has used your organisation's keys yet." }
            } @else {
                (connections_table(&signed_in, &connections, &key_names))
            }
        }
    };
    Ok(page(
        "Connected clients",
        &signed_in,
        Section::ConnectedClients,
        body,
    )
    .into_response())
}

fn connections_table(
    signed_in: &SignedIn,
    connections: &[Connection],
    key_names: &BTreeMap<String, String>,
) -> Markup {
    let when = |at: Option<i64>| html! { @match at { Some(at) => (timestamp(at)), None => "—" } };
    let columns = [
        "Client",
        "First used",
        "Last used",
        "Requests",
        "Keys used",
        "Status",
        "Action",
    ];
    ui::table("connected-clients", &columns, connections, |connection| {
        html! {
            tr data-client=(connection.client_id) {
                (cell("Client", html! { (connection.client_name) br; code { (connection.client_id) } }))
                (cell("First used", when(connection.first_used_at)))
                (cell("Last used", when(connection.last_used_at)))
                (cell("Requests", html! { (connection.request_count) }))
                (cell("Keys used", html! {
                    @if connection.key_ids.is_empty() { "—" }
                    @for (i, key_id) in connection.key_ids.iter().enumerate() {
                        @if i > 0 { ", " }
                        (key_names.get(key_id).map_or(key_id.as_str(), String::as_str))
                    }
                }))
                (cell("Status", html! {
                    @match connection.blocked_at {
                        Some(at) => { (ui::status_badge("blocked", "Blocked")) " since " (timestamp(at)) },
                        None => (ui::status_badge("active", "Allowed")),
                    }
                }))
                td {
                    @if connection.blocked_at.is_some() {
                        (ui::inline_post_form(&paths::connected_client_unblock(&connection.client_id), signed_in, html! {
                            button.small.secondary type="submit" aria-label={ "Unblock " (connection.client_name) } { "Unblock" }
                        }))
                    } @else {
                        a.button.small.danger href=(paths::connected_client_block(&connection.client_id))
                            aria-label={ "Block " (connection.client_name) } { "Block…" }
                    }
                }
            }
        }
    })
}

async fn find_client(db: &Db, client_id: &str) -> Result<ApiClient, PageError> {
    api_clients::find_by_id(db, client_id)
        .await?
        .ok_or_else(PageError::not_found)
}

async fn confirm_block(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(client_id): Path<String>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let client = find_client(state.db(), &client_id).await?;
    let organization = admin.organization_name.to_owned();
    let body = html! {
        section.card.narrow.danger-zone {
            h1 { "Block " (client.name) "?" }
            p { "Requests that " strong { (client.name) } " makes with " (organization) "'s API keys will be refused with "
                code { "403 api_client_blocked" } " from the next request on. Other organisations are not affected, and you can unblock it at any time." }
            (ui::post_form(&paths::connected_client_block(&client.id), &signed_in, html! {
                div.actions {
                    button.danger #confirm-block type="submit" { "Block " (client.name) }
                    a.button.secondary href=(paths::CONNECTED_CLIENTS) { "Cancel" }
                }
            }))
        }
    };
    Ok(page(
        &format!("Block {}", client.name),
        &signed_in,
        Section::ConnectedClients,
        body,
    )
    .into_response())
}

async fn block(state: State<AppState>, path: Path<String>, form: SubmittedForm) -> PageResult {
    set_blocked(&state, &path, form, true).await
}

async fn unblock(state: State<AppState>, path: Path<String>, form: SubmittedForm) -> PageResult {
    set_blocked(&state, &path, form, false).await
}

async fn set_blocked(
    state: &AppState,
    client_id: &str,
    form: SubmittedForm,
    blocked: bool,
) -> PageResult {
    let signed_in = form.signed_in;
    let admin = signed_in.administrator()?;
    let client = find_client(state.db(), client_id).await?;
    tessera_ops::clients::set_blocked(
        state.ops(),
        admin.organization_id,
        &client,
        blocked,
        &signed_in.actor(),
    )
    .await?;
    let done = if blocked { "blocked" } else { "unblocked" };
    Ok(flash::redirect(paths::CONNECTED_CLIENTS, done))
}
