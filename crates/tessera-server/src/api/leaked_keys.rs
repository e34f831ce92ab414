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
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{ActorKind, AuditAction};
use tessera_core::credentials;
use tessera_store::api_keys::{self, RevocationReason};
use tessera_store::audit::{self, Actor, NewEntry};

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
    let leaked = match credentials::api_key_hash(body.key.trim()) {
        Ok(hash) => api_keys::revoke_by_hash(state.db(), &hash, RevocationReason::Leaked).await?,
        Err(_) => None,
    };
    if let Some(key) = leaked {
        state.access().apply(&AccessChange::Key(key.id.clone()));
        let source: Option<String> = body.source.map(|s| s.chars().take(500).collect());
        audit::record(
            state.db(),
            NewEntry {
                organization_id: Some(&key.organization_id),
                actor: &Actor {
                    kind: ActorKind::Anonymous,
                    id: None,
                    name: "leak report".to_owned(),
                },
                action: AuditAction::KeyLeaked,
                target: Some(&key.id),
                ip: Some(&ip.to_string()),
                details: Some(json!({"name": key.name, "source": source})),
            },
        )
        .await?;
        tracing::warn!(key_id = %key.id, "API key reported as leaked and revoked");
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"status": "received", "message": "Thank you. If this is a Tessera API key, it has been revoked."}),
        ),
    ))
}
