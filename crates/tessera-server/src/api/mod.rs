//! The JSON API under `/api/v1`. Each feature has its own module and router.

mod api_keys;
mod connected_clients;
pub(crate) mod extract;
mod leaked_keys;
mod me;
mod pagination;
mod records;

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1", get(index))
        .merge(me::router(state.clone()))
        .merge(records::router(state))
        .merge(api_keys::router())
        .merge(connected_clients::router())
        .merge(leaked_keys::router())
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
