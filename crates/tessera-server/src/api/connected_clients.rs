//! Connected clients: the API clients that have used an
//! organisation's keys, and blocking them. Administrators only, with a
//! username and password like key management.

use super::extract::PasswordAuth;
use super::json::Json;
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use serde_json::{Value, json};
use tessera_core::ErrorCode;
use tessera_store::client_connections::{self, Connection};
use tessera_store::{api_clients, format_ms};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/connected-clients", get(list))
        .route(
            "/api/v1/connected-clients/{client_id}/block",
            put(block).delete(unblock),
        )
}

fn connection_json(c: &Connection) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.client_name,
        "first_used_at": c.first_used_at.map(format_ms),
        "last_used_at": c.last_used_at.map(format_ms),
        "request_count": c.request_count,
        "key_ids": c.key_ids,
        "blocked": c.blocked_at.is_some(),
        "blocked_at": c.blocked_at.map(format_ms),
    })
}

fn require_administrator(auth: &PasswordAuth) -> Result<(), ApiError> {
    if auth.is_administrator() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "Only administrators may see and block the organization's API clients.",
        ))
    }
}

async fn list(State(state): State<AppState>, auth: PasswordAuth) -> Result<Json<Value>, ApiError> {
    require_administrator(&auth)?;
    let connections = client_connections::list(state.db(), &auth.organization_id).await?;
    Ok(Json(
        json!({"data": connections.iter().map(connection_json).collect::<Vec<_>>()}),
    ))
}

async fn block(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(client_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_blocked(&state, &auth, &client_id, true).await
}

async fn unblock(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(client_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_blocked(&state, &auth, &client_id, false).await
}

/// Blocks or unblocks, audits a change, and answers with the client as the
/// organisation now sees it. Blocking twice keeps the first time.
async fn set_blocked(
    state: &AppState,
    auth: &PasswordAuth,
    client_id: &str,
    blocked: bool,
) -> Result<Json<Value>, ApiError> {
    require_administrator(auth)?;
    let client = api_clients::find_by_id(state.db(), client_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("No API client with id '{client_id}' exists."),
            )
        })?;
    let db = state.db();
    let organization_id = &auth.organization_id;
    tessera_ops::clients::set_blocked(
        state.ops(),
        organization_id,
        &client,
        blocked,
        &auth.actor(),
    )
    .await?;
    let connection = client_connections::list(db, organization_id)
        .await?
        .into_iter()
        .find(|c| client.id == c.client_id)
        .unwrap_or(Connection {
            client_id: client.id.into_string(),
            client_name: client.name,
            first_used_at: None,
            last_used_at: None,
            request_count: 0,
            blocked_at: None,
            key_ids: Vec::new(),
        });
    Ok(Json(connection_json(&connection)))
}
