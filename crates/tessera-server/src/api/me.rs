//! `/api/v1/me`: what the presented key is and may do; and a key revoking
//! itself.

use super::extract::ApiKeyAuth;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{ActorKind, AuditAction};
use tessera_core::permissions::Access;
use tessera_core::resources::RESOURCES;
use tessera_store::api_keys::{self, RevocationReason};
use tessera_store::audit::{self, Actor, NewEntry};
use tessera_store::format_ms;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(show).delete(revoke_itself))
}

/// Effective permissions spelled out per resource, so "full access" reads
/// the same way as an explicit grant.
pub fn permissions_json(access: &Access) -> Value {
    let mut resources = Map::new();
    for resource in RESOURCES {
        if let Some(grant) = access.grant_for(resource).filter(|g| !g.actions.is_empty()) {
            let actions: Vec<_> = grant
                .actions
                .iter()
                .filter(|a| resource.supports(**a))
                .map(|a| a.as_str())
                .collect();
            resources.insert(
                resource.name.to_owned(),
                json!({"actions": actions, "fields": grant.fields}),
            );
        }
    }
    Value::Object(resources)
}

async fn show(auth: ApiKeyAuth) -> Json<Value> {
    let key = &auth.verdict.key;
    Json(json!({
        "id": key.id,
        "name": key.name,
        "organization": key.organization_slug,
        "owner": {"type": key.owner.kind(), "name": key.owner_name},
        "client": auth.verdict.client_id,
        "permissions": permissions_json(&key.effective),
        "expires_at": key.expires_at.map(format_ms),
        "ip_allowlist": key.ip_allowlist,
        "rate_limit": {"per_second": key.rate_limit_per_second, "burst": key.rate_limit_burst},
    }))
}

async fn revoke_itself(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
) -> Result<StatusCode, ApiError> {
    let key = &auth.verdict.key;
    api_keys::revoke(
        state.db(),
        &key.organization_id,
        &key.id,
        RevocationReason::RevokedItself,
    )
    .await?;
    state.access().apply(&AccessChange::Key(key.id.clone()));
    audit::record(
        state.db(),
        NewEntry {
            organization_id: Some(&key.organization_id),
            actor: &Actor {
                kind: ActorKind::ApiKey,
                id: Some(key.id.clone()),
                name: key.name.clone(),
            },
            action: AuditAction::KeyRevoked,
            target: Some(&key.id),
            ip: Some(&auth.client.ip.to_string()),
            details: Some(json!({"name": key.name, "by": "itself"})),
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
