//! `POST /api/v1/leaked-keys`: anyone who finds a key can report it, like
//! secret-scanning partner programmes. The key is revoked and the report
//! audited. The answer is the same whether or not the key existed, so the
//! endpoint cannot be used to test keys.

use super::extract::{ApiJson, client_addr};
use super::json::Json;
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::post;
use governor::clock::{Clock, DefaultClock};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::ErrorCode;
use tessera_core::audit::Actor;
use tessera_core::credentials;
use tessera_ops::keys;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/leaked-keys", post(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakReport {
    key: String,
    /// Where the key was found, e.g. a public repository URL.
    source: Option<String>,
}

/// The reporter's address, after the per-address report limit.
pub struct Reporter(std::net::IpAddr);

impl FromRequestParts<AppState> for Reporter {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_addr(parts).ip;
        state.leak_reports().check_key(&ip).map_err(|not_until| {
            let wait = not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1);
            ApiError::new(
                ErrorCode::RateLimited,
                "Too many leak reports from this address.",
            )
            .with_retry_after(wait)
        })?;
        Ok(Reporter(ip))
    }
}

async fn report(
    State(state): State<AppState>,
    Reporter(ip): Reporter,
    ApiJson(body): ApiJson<LeakReport>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if let Ok(hash) = credentials::api_key_hash(body.key.trim()) {
        let source = body.source.map(|s| s.chars().take(500).collect());
        let reporter = Actor::anonymous("leak report", ip.to_string());
        keys::report_leak(state.ops(), &hash, source, &reporter).await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"status": "received", "message": "Thank you. If this is a Tessera API key, it has been revoked."}),
        ),
    ))
}
