//! The key-management API: create, list, get, revoke, revoke all.
//! Authenticated with username and password only; an API key can never
//! manage keys.

use super::extract::{ApiJson, PasswordAuth};
use super::json::Json;
use super::pagination::{Page, PageQuery};
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use tessera_core::ErrorCode;
use tessera_core::id::IdKind;
use tessera_core::permissions::PermissionSet;
use tessera_ops::keys::{self, IpAllowlist, Issuer, KeyRequest, RequestedAccess};
use tessera_store::api_keys::{self, ApiKey, Owner};
use tessera_store::organizations::RateLimit;
use tessera_store::{format_ms, now_ms};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/api-keys", post(create).get(list))
        .route("/api/v1/api-keys/revoke-all", post(revoke_all))
        .route("/api/v1/api-keys/{id}", get(show).delete(revoke))
}

/// A key as the API shows it; `raw` only in the creation response.
pub fn key_json(key: &ApiKey, raw: Option<&str>) -> Value {
    let status = key.status(now_ms());
    let mut body = json!({
        "id": key.id,
        "name": key.name,
        "hint": key.hint,
        "owner": {"type": key.owner.kind(), "name": key.owner_name},
        "permissions": key.permissions,
        "role": key.role_name,
        "expires_at": key.expires_at.map(format_ms),
        "ip_allowlist": key.ip_allowlist,
        "client_id": key.client_id,
        "rate_limit": key.rate_limit.map(|l| json!({"per_second": l.per_second, "burst": l.burst})),
        "created_at": format_ms(key.created_at),
    });
    match raw {
        Some(raw) => body["key"] = json!(raw),
        None => {
            body["last_used_at"] = json!(key.last_used_at.map(format_ms));
            body["last_used_ip"] = json!(key.last_used_ip);
            body["revoked_at"] = json!(key.revoked_at.map(format_ms));
            body["status"] = json!(status);
        }
    }
    body
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, detail)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    bot: Option<String>,
    permissions: Option<Value>,
    role: Option<String>,
    expires_at: Option<String>,
    ip_allowlist: Option<Vec<String>>,
    client_id: Option<String>,
    custom_key: Option<String>,
    rate_limit: Option<KeyRateLimit>,
}

/// A per-key limit, on top of the organisation's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRateLimit {
    per_second: u32,
    burst: u32,
}

async fn create(
    State(state): State<AppState>,
    auth: PasswordAuth,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    let access = match (body.permissions, body.role) {
        (Some(_), Some(_)) => {
            return Err(invalid("Give either 'permissions' or 'role', not both."));
        }
        (Some(json), None) => {
            let set = PermissionSet::from_json(&json).map_err(|e| {
                invalid(e.to_string()).with_details(json!({"problems": e.problems}))
            })?;
            RequestedAccess::Inline(set)
        }
        (None, Some(role_name)) => RequestedAccess::Role(role_name),
        (None, None) => RequestedAccess::Everything,
    };
    let expires_at = body.expires_at.as_deref().map(parse_expiry).transpose()?;
    let rate_limit = match body.rate_limit {
        Some(KeyRateLimit { per_second, burst }) if per_second == 0 || burst == 0 => {
            return Err(invalid(
                "rate_limit.per_second and rate_limit.burst must be at least 1.",
            ));
        }
        Some(KeyRateLimit { per_second, burst }) => Some(RateLimit { per_second, burst }),
        None => None,
    };
    let ip_allowlist = body.ip_allowlist.map(normalise_allowlist).transpose()?;
    let issuer = Issuer {
        account_id: &auth.account.id,
        username: &auth.account.username,
        organization_id: &auth.organization_id,
        role: &auth.role,
        actor: auth.actor(),
    };
    let issued = keys::issue(
        state.ops(),
        &issuer,
        KeyRequest {
            name: body.name,
            bot: body.bot,
            access,
            expires_at,
            ip_allowlist,
            client_id: body.client_id,
            custom_key: body.custom_key,
            rate_limit,
        },
    )
    .await?;
    let location = format!("/api/v1/api-keys/{}", issued.key.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(key_json(&issued.key, Some(&issued.raw))),
    )
        .into_response())
}

fn parse_expiry(text: &str) -> Result<i64, ApiError> {
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        invalid(format!(
            "expires_at '{text}' is not an RFC 3339 date-time such as 2027-01-01T00:00:00Z."
        ))
    })?;
    let ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
    if ms <= now_ms() {
        return Err(invalid("expires_at must be in the future."));
    }
    Ok(ms)
}

/// CIDR ranges (IPv4 and IPv6), or single addresses, normalised to CIDR.
fn normalise_allowlist(entries: Vec<String>) -> Result<IpAllowlist, ApiError> {
    if entries.is_empty() {
        return Err(invalid(
            "ip_allowlist must name at least one range; omit it to allow any address.",
        ));
    }
    IpAllowlist::parse(entries.iter().map(String::as_str)).map_err(|bad| {
        invalid(format!(
            "ip_allowlist has entries that are not CIDR ranges: {}",
            bad.join(", ")
        ))
        .with_details(json!({"invalid": bad}))
    })
}

/// The query parameters the key list reads; it has no filters.
const LIST_PARAMETERS: [&str; 2] = ["limit", "cursor"];

async fn list(
    State(state): State<AppState>,
    auth: PasswordAuth,
    page: PageQuery,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Value>>, ApiError> {
    refuse_unknown_parameters(&params)?;
    let only_own = (!auth.is_administrator()).then_some(auth.account.id.as_str());
    let after = page.after(IdKind::ApiKey.prefix())?;
    let keys = api_keys::list(
        state.db(),
        &auth.organization_id,
        only_own,
        after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (keys, next_cursor) = page.page(keys, |k| &k.id);
    let counts = super::usage::requests_30d(&state, &auth.organization_id).await?;
    Ok(Json(Page {
        data: keys
            .iter()
            .map(|k| with_requests_30d(key_json(k, None), &counts))
            .collect(),
        next_cursor,
    }))
}

/// A 400 naming every parameter the list does not read: ignoring one (a
/// `?name=` search, say) would answer the whole list as if it had worked.
fn refuse_unknown_parameters(params: &[(String, String)]) -> Result<(), ApiError> {
    let mut unknown: Vec<&str> = Vec::new();
    for (name, _) in params {
        if !LIST_PARAMETERS.contains(&name.as_str()) && !unknown.contains(&name.as_str()) {
            unknown.push(name);
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "Unknown query parameter{} {}. The key list takes only {}; it has no filters.",
        if unknown.len() == 1 { "" } else { "s" },
        unknown
            .iter()
            .map(|name| format!("'{name}'"))
            .collect::<Vec<_>>()
            .join(", "),
        LIST_PARAMETERS.join(" and "),
    ))
    .with_details(json!({"unknown_parameters": unknown})))
}

/// Adds the key's request count of the last 30 days (SPEC §10).
fn with_requests_30d(mut body: Value, counts: &HashMap<String, i64>) -> Value {
    let count = body["id"]
        .as_str()
        .and_then(|id| counts.get(id))
        .copied()
        .unwrap_or(0);
    body["requests_30d"] = json!(count);
    body
}

/// The key, if this person may see it: administrators see every key of
/// their organisation, others only their own.
async fn visible_key(state: &AppState, auth: &PasswordAuth, id: &str) -> Result<ApiKey, ApiError> {
    let not_found = || ApiError::new(ErrorCode::NotFound, format!("There is no API key '{id}'."));
    let key = api_keys::find(state.db(), &auth.organization_id, id)
        .await?
        .ok_or_else(not_found)?;
    let own = key.owner == Owner::Account(auth.account.id.clone());
    if auth.is_administrator() || own {
        Ok(key)
    } else {
        Err(not_found())
    }
}

async fn show(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = visible_key(&state, &auth, &id).await?;
    let counts = super::usage::requests_30d(&state, &auth.organization_id).await?;
    Ok(Json(with_requests_30d(key_json(&key, None), &counts)))
}

async fn revoke(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = visible_key(&state, &auth, &id).await?;
    keys::revoke(state.ops(), (&key).into(), &auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeAll {
    confirm: String,
}

async fn revoke_all(
    State(state): State<AppState>,
    auth: PasswordAuth,
    ApiJson(body): ApiJson<RevokeAll>,
) -> Result<Json<Value>, ApiError> {
    if !auth.is_administrator() {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "Only administrators may revoke all API keys.",
        ));
    }
    if body.confirm != auth.organization_slug {
        return Err(invalid(format!(
            "To revoke every API key of the organization, set confirm to its slug '{}'. This cannot be undone.",
            auth.organization_slug
        )));
    }
    let revoked = keys::revoke_all(state.ops(), &auth.organization_id, &auth.actor()).await?;
    Ok(Json(json!({"revoked": revoked})))
}
