//! Settings ▸ Connected clients: the API clients that have
//! used the organisation's keys, and blocking or unblocking one for this
//! organisation. Administrators only; a block is confirmed on a page of its
//! own and audited like the connected-clients API's.

use super::form::SubmittedForm;
use super::pages::{self, PageError, PageResult, Section, notice, page};
use super::session::SignedIn;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;
use std::collections::BTreeMap;
use tessera_store::api_clients::{self, ApiClient};
use tessera_store::{Db, api_keys, client_connections};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/connected-clients", get(list))
        .route(
            "/settings/connected-clients/{client_id}/block",
            get(confirm_block).post(block),
        )
        .route(
            "/settings/connected-clients/{client_id}/unblock",
            post(unblock),
        )
}

#[derive(Deserialize)]
struct ListQuery {
    done: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let db = state.db();
    let connections = client_connections::list(db, admin.organization_id).await?;
    let mut key_names: BTreeMap<&str, String> = BTreeMap::new();
    for key_id in connections.iter().flat_map(|c| &c.key_ids) {
        if !key_names.contains_key(key_id.as_str()) {
            let name = api_keys::find(db, admin.organization_id, key_id)
                .await?
                .map_or_else(|| key_id.clone(), |key| key.name);
            key_names.insert(key_id, name);
        }
    }
    let message = match query.done.as_deref() {
        Some("blocked") => Some(
            "The client is blocked: its requests for your organisation now get 403 api_client_blocked.",
        ),
        Some("unblocked") => {
            Some("The client is unblocked: its requests for your organisation work again.")
        }
        _ => None,
    };
    let body = html! {
        div.page-head { h1 { "Connected API clients" } }
        (notice(message))
        section.card {
            p { "Integrating companies (API clients) that have used your organisation's API keys. "
                "Blocking a client refuses its requests for your organisation from the next request on; other organisations are not affected." }
            @if connections.is_empty() {
                p #no-clients { "No API client has used your organisation's keys yet." }
            } @else {
                div.table-wrap {
                    table.stack #connected-clients {
                        thead { tr {
                            th { "Client" } th { "First used" } th { "Last used" } th { "Requests" } th { "Keys used" } th { "Status" } th { span.hint { "Action" } }
                        } }
                        tbody {
                            @for connection in &connections {
                                tr data-client=(connection.client_id) {
                                    td data-label="Client" { (connection.client_name) br; code { (connection.client_id) } }
                                    td data-label="First used" { @match connection.first_used_at { Some(at) => (pages::timestamp(at)), None => "—" } }
                                    td data-label="Last used" { @match connection.last_used_at { Some(at) => (pages::timestamp(at)), None => "—" } }
                                    td data-label="Requests" { (connection.request_count) }
                                    td data-label="Keys used" {
                                        @if connection.key_ids.is_empty() { "—" }
                                        @for (i, key_id) in connection.key_ids.iter().enumerate() {
                                            @if i > 0 { ", " }
                                            (key_names.get(key_id.as_str()).map_or(key_id.as_str(), String::as_str))
                                        }
                                    }
                                    td data-label="Status" {
                                        @match connection.blocked_at {
                                            Some(at) => { span.status.status-blocked { "Blocked" } " since " (pages::timestamp(at)) },
                                            None => span.status.status-active { "Allowed" },
                                        }
                                    }
                                    td {
                                        @if connection.blocked_at.is_some() {
                                            form.inline method="post" action={ "/settings/connected-clients/" (connection.client_id) "/unblock" } {
                                                input type="hidden" name="csrf" value=(signed_in.csrf());
                                                button.small.secondary type="submit" aria-label={ "Unblock " (connection.client_name) } { "Unblock" }
                                            }
                                        } @else {
                                            a.button.small.danger href={ "/settings/connected-clients/" (connection.client_id) "/block" }
                                                aria-label={ "Block " (connection.client_name) } { "Block…" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
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
            form method="post" action={ "/settings/connected-clients/" (client.id) "/block" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                div.actions {
                    button.danger #confirm-block type="submit" { "Block " (client.name) }
                    a.button.secondary href="/settings/connected-clients" { "Cancel" }
                }
            }
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
    set_blocked(state, path, form, true).await
}

async fn unblock(state: State<AppState>, path: Path<String>, form: SubmittedForm) -> PageResult {
    set_blocked(state, path, form, false).await
}

async fn set_blocked(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    form: SubmittedForm,
    blocked: bool,
) -> PageResult {
    let signed_in = form.signed_in;
    let admin = signed_in.administrator()?;
    let client = find_client(state.db(), &client_id).await?;
    tessera_ops::clients::set_blocked(
        state.ops(),
        admin.organization_id,
        &client,
        blocked,
        &signed_in.actor(),
    )
    .await?;
    let done = if blocked { "blocked" } else { "unblocked" };
    Ok(Redirect::to(&format!("/settings/connected-clients?done={done}")).into_response())
}
