//! `/api/v1/me`: what the presented key is and may do; and a key revoking
//! itself.

use super::extract::ApiKeyAuth;
use super::json::serialized;
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::BTreeSet;
use tessera_core::audit::{Actor, ActorKind};
use tessera_core::permissions::Access;
use tessera_core::resources::RESOURCES;
use tessera_ops::keys::{self, KeyRef};
use tessera_store::format_ms;

/// Key-authenticated: `super::key_authenticated` puts them behind
/// `authenticate`.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(show).delete(revoke_itself))
}

/// Effective permissions spelled out per resource, so "full access" reads
/// the same way as an explicit grant. Serialized straight from the access
/// value: this runs on every `/me` request.
pub struct EffectivePermissions<'a>(pub &'a Access);

#[derive(Serialize)]
struct GrantView<'a> {
    actions: Vec<&'static str>,
    fields: Option<&'a BTreeSet<String>>,
}

impl Serialize for EffectivePermissions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for resource in RESOURCES {
            let (actions, fields): (Vec<&'static str>, _) = match self.0 {
                Access::Full => (resource.actions.iter().map(|a| a.as_str()).collect(), None),
                Access::Limited(set) => match set.grant(resource.name) {
                    Some(grant) => (
                        grant
                            .actions
                            .iter()
                            .filter(|a| resource.supports(**a))
                            .map(|a| a.as_str())
                            .collect(),
                        grant.fields.as_ref(),
                    ),
                    None => continue,
                },
            };
            if !actions.is_empty() {
                map.serialize_entry(resource.name, &GrantView { actions, fields })?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Me<'a> {
    id: &'a str,
    name: &'a str,
    organization: &'a str,
    owner: OwnerView<'a>,
    client: Option<&'a str>,
    permissions: EffectivePermissions<'a>,
    expires_at: Option<String>,
    ip_allowlist: Option<&'a [String]>,
    rate_limit: RateLimitView,
}

#[derive(Serialize)]
struct OwnerView<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
struct RateLimitView {
    per_second: u32,
    burst: u32,
}

async fn show(auth: ApiKeyAuth) -> Response {
    let key = &auth.verdict.key;
    let me = Me {
        id: &key.id,
        name: &key.name,
        organization: &key.organization_slug,
        owner: OwnerView {
            kind: key.owner.kind(),
            name: &key.owner_name,
        },
        client: auth.verdict.client_id.as_deref(),
        permissions: EffectivePermissions(&key.effective),
        expires_at: key.expires_at.map(format_ms),
        ip_allowlist: key.ip_allowlist.as_deref(),
        rate_limit: RateLimitView {
            per_second: key.organization_rate_limit.per_second,
            burst: key.organization_rate_limit.burst,
        },
    };
    // Sized for a full-access key's answer: this is a hot path.
    serialized(&me, 1536)
}

async fn revoke_itself(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
) -> Result<StatusCode, ApiError> {
    let key = &auth.verdict.key;
    let revoking = KeyRef {
        organization_id: &key.organization_id,
        id: &key.id,
        name: &key.name,
    };
    let itself = Actor {
        kind: ActorKind::ApiKey,
        id: Some(key.id.to_string()),
        name: key.name.clone(),
        ip: Some(auth.client.ip.to_string()),
    };
    keys::revoke_itself(state.ops(), revoking, &itself).await?;
    Ok(StatusCode::NO_CONTENT)
}
