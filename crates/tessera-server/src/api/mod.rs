//! The JSON API under `/api/v1`. Each feature adds its own module and router.

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1", get(index))
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
