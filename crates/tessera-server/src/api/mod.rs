//! The JSON API under `/api/v1`. Each feature has its own module and router.
//!
//! Rules that hold for every API answer are not left to handlers: the
//! middleware in `crate::middleware` marks every answer `no-store` and
//! refuses cross-origin browsers and keys in URLs; the routes of
//! [`key_authenticated`] all pass `extract::authenticate`; every JSON body
//! is written by [`json`], every list paged by [`pagination`].

mod api_keys;
mod audit;
mod connected_clients;
mod events;
pub(crate) mod extract;
mod json;
mod leaked_keys;
mod me;
pub(crate) mod pagination;
mod records;
pub(crate) mod usage;
mod webhook_endpoints;

use crate::AppState;
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use json::Json;
use serde_json::{Value, json};

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1", get(index))
        .merge(key_authenticated(state))
        .merge(api_keys::router())
        .merge(audit::router())
        .merge(connected_clients::router())
        .merge(leaked_keys::router())
        .merge(webhook_endpoints::router())
        .merge(usage::router())
}

/// The routes that need an API key: the key is verified and the request
/// counted against its rate limits before any of their handlers runs.
fn key_authenticated(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(me::router())
        .merge(records::router())
        .merge(events::router())
        .route_layer(from_fn_with_state(state, extract::authenticate))
}

/// What this API is and where its documentation lives; needs no key.
async fn index() -> Json<Value> {
    Json(json!({
        "name": "Tessera",
        "version": env!("CARGO_PKG_VERSION"),
        "documentation": "/docs",
        "openapi": "/openapi.json",
    }))
}
