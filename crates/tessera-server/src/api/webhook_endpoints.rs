//! Webhook endpoints over HTTP Basic (SPEC §9): administrators create,
//! list, change, delete, rotate, test, read the message log, replay and
//! recover. An API key is never accepted here (seed 004: endpoints are
//! managed by people).

use super::extract::{ApiJson, PasswordAuth};
use super::json::Json;
use super::pagination::{Page, PageQuery};
use crate::{ApiError, AppState};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::ErrorCode;
use tessera_core::audit::Actor;
use tessera_core::id::IdKind;
use tessera_ops::webhooks::{self, EndpointRequest, Manager};
use tessera_store::webhooks::delivery::{self, Attempt, Message, MessageFilter};
use tessera_store::webhooks::{self as stored, Endpoint};
use tessera_store::{format_ms, now_ms};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ENDPOINTS: &str = "/api/v1/webhook-endpoints";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(ENDPOINTS, post(create).get(list))
        .route(
            "/api/v1/webhook-endpoints/{id}",
            get(show).patch(update).delete(remove),
        )
        .route(
            "/api/v1/webhook-endpoints/{id}/rotate-secret",
            post(rotate_secret),
        )
        .route("/api/v1/webhook-endpoints/{id}/test", post(send_test))
        .route("/api/v1/webhook-endpoints/{id}/recover", post(recover))
        .route("/api/v1/webhook-endpoints/{id}/messages", get(messages))
        .route(
            "/api/v1/webhook-endpoints/{id}/messages/{message_id}",
            get(message),
        )
        .route(
            "/api/v1/webhook-endpoints/{id}/messages/{message_id}/replay",
            post(replay),
        )
}

/// An administrator of the organisation, as the one who manages its
/// endpoints.
struct Administrator {
    auth: PasswordAuth,
    actor: Actor,
}

impl Administrator {
    fn of(auth: PasswordAuth) -> Result<Administrator, ApiError> {
        if !auth.is_administrator() {
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "Only an administrator of the organization manages its webhook endpoints.",
            ));
        }
        Ok(Administrator {
            actor: auth.actor(),
            auth,
        })
    }

    fn manager(&self) -> Manager<'_> {
        Manager {
            organization_id: &self.auth.organization_id,
            actor: &self.actor,
        }
    }
}

/// An endpoint as the API shows it: never its secret.
pub fn endpoint_json(endpoint: &Endpoint) -> Value {
    let events: Value = serde_json::from_str(&endpoint.events).unwrap_or_else(|_| json!([]));
    let fields: Value = endpoint
        .fields
        .as_deref()
        .and_then(|f| serde_json::from_str(f).ok())
        .unwrap_or(Value::Null);
    let disabled_reason = match (endpoint.enabled, endpoint.disabled_reason.as_deref()) {
        (false, _) => Some("disabled_by_administrator"),
        (true, Some("gone")) => Some("endpoint_gone"),
        (true, Some(_)) => Some("failing_for_5_days"),
        (true, None) => None,
    };
    json!({
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": events,
        "fields": fields,
        "enabled": endpoint.enabled,
        "status": if endpoint.is_active() { "active" } else { "disabled" },
        "disabled_reason": disabled_reason,
        "disabled_at": endpoint.disabled_at.map(format_ms),
        "secret_overlap_ends_at": endpoint.previous_secret_until.filter(|t| *t > now_ms()).map(format_ms),
        "created_at": format_ms(endpoint.created_at),
        "updated_at": format_ms(endpoint.updated_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointBody {
    url: Option<String>,
    description: Option<String>,
    events: Option<Vec<String>>,
    /// Present as `null` to remove the limits.
    #[serde(default, deserialize_with = "present")]
    fields: Option<Option<Value>>,
    enabled: Option<bool>,
}

/// Tells a field sent as `null` from one left out.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Value>>, D::Error> {
    Option::<Value>::deserialize(d).map(Some)
}

impl From<EndpointBody> for EndpointRequest {
    fn from(body: EndpointBody) -> Self {
        EndpointRequest {
            url: body.url,
            description: body.description,
            events: body.events,
            fields: body.fields,
            enabled: body.enabled,
        }
    }
}

async fn create(
    State(state): State<AppState>,
    auth: PasswordAuth,
    ApiJson(body): ApiJson<EndpointBody>,
) -> Result<Response, ApiError> {
    let admin = Administrator::of(auth)?;
    let created = webhooks::create(state.ops(), &admin.manager(), body.into()).await?;
    let mut answer = endpoint_json(&created.endpoint);
    answer["secret"] = json!(created.secret);
    let location = format!("{ENDPOINTS}/{}", created.endpoint.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(answer),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    auth: PasswordAuth,
    page: PageQuery,
) -> Result<Json<Page<Value>>, ApiError> {
    let admin = Administrator::of(auth)?;
    let after = page.after(IdKind::WebhookEndpoint.prefix())?;
    let rows = stored::list(
        state.db(),
        &admin.auth.organization_id,
        after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_cursor) = page.page(rows, |e| e.id.as_str());
    Ok(Json(Page {
        data: rows.iter().map(endpoint_json).collect(),
        next_cursor,
    }))
}

fn no_endpoint(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("No webhook endpoint with id '{id}' exists in this organization."),
    )
}

fn not_found_as(id: &str) -> impl Fn(tessera_ops::OpError) -> ApiError + '_ {
    move |err| match err {
        tessera_ops::OpError::NotFound => no_endpoint(id),
        other => other.into(),
    }
}

async fn show(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let admin = Administrator::of(auth)?;
    let endpoint = stored::get(state.db(), &admin.auth.organization_id, &id)
        .await?
        .ok_or_else(|| no_endpoint(&id))?;
    Ok(Json(endpoint_json(&endpoint)))
}

async fn update(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EndpointBody>,
) -> Result<Json<Value>, ApiError> {
    let admin = Administrator::of(auth)?;
    let endpoint = webhooks::update(state.ops(), &admin.manager(), &id, body.into())
        .await
        .map_err(not_found_as(&id))?;
    Ok(Json(endpoint_json(&endpoint)))
}

async fn remove(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let admin = Administrator::of(auth)?;
    webhooks::delete(state.ops(), &admin.manager(), &id)
        .await
        .map_err(not_found_as(&id))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    overlap_hours: Option<u32>,
}

/// Hours the old secret keeps signing unless the administrator says
/// otherwise, as Svix does.
const DEFAULT_OVERLAP_HOURS: u32 = 24;

async fn rotate_secret(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let admin = Administrator::of(auth)?;
    // The body is optional: an empty one keeps the default overlap.
    let body: RotateBody = if body.is_empty() {
        RotateBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("The body is not a valid request: {e}."),
            )
        })?
    };
    let overlap_hours = body.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    let secret = webhooks::rotate_secret(state.ops(), &admin.manager(), &id, overlap_hours)
        .await
        .map_err(not_found_as(&id))?;
    let overlap_ends_at = now_ms() + i64::from(overlap_hours) * 3_600_000;
    Ok(Json(json!({
        "id": id,
        "secret": secret,
        "overlap_hours": overlap_hours,
        "previous_secret_valid_until": (overlap_hours > 0).then(|| format_ms(overlap_ends_at)),
    })))
}

async fn send_test(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let admin = Administrator::of(auth)?;
    let message_id = webhooks::send_test(state.ops(), &admin.manager(), &id)
        .await
        .map_err(not_found_as(&id))?;
    Ok(accepted(json!({"message_id": message_id})))
}

fn accepted(body: Value) -> Response {
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverBody {
    since: String,
}

async fn recover(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecoverBody>,
) -> Result<Response, ApiError> {
    let admin = Administrator::of(auth)?;
    let since = OffsetDateTime::parse(&body.since, &Rfc3339).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "since '{}' is not an RFC 3339 date-time such as 2027-01-01T00:00:00Z.",
                body.since
            ),
        )
    })?;
    let since_ms = i64::try_from(since.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let queued = webhooks::recover(state.ops(), &admin.manager(), &id, since_ms)
        .await
        .map_err(not_found_as(&id))?;
    Ok(accepted(json!({"queued": queued})))
}

const MESSAGE_STATUSES: [&str; 3] = ["pending", "delivered", "failed"];

#[derive(Deserialize)]
struct MessageQuery {
    status: Option<String>,
    event_type: Option<String>,
}

fn message_json(message: &Message) -> Value {
    let payload: Value = serde_json::from_str(&message.body).unwrap_or(Value::Null);
    json!({
        "id": message.id,
        "event_id": message.event_id,
        "event_type": message.event_type,
        "status": message.status,
        "attempt_count": message.attempts,
        "next_attempt_at": message.next_attempt_at.map(format_ms),
        "created_at": format_ms(message.created_at),
        "payload": payload,
    })
}

fn attempt_json(attempt: &Attempt) -> Value {
    json!({
        "at": format_ms(attempt.at),
        "status": attempt.status,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "response": attempt.response,
    })
}

async fn messages(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path(id): Path<String>,
    page: PageQuery,
    Query(query): Query<MessageQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let admin = Administrator::of(auth)?;
    if let Some(status) = query.status.as_deref()
        && !MESSAGE_STATUSES.contains(&status)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("status '{status}' is not one of pending, delivered, failed."),
        ));
    }
    let organization_id = &admin.auth.organization_id;
    stored::get(state.db(), organization_id, &id)
        .await?
        .ok_or_else(|| no_endpoint(&id))?;
    let before = page.after(IdKind::WebhookMessage.prefix())?;
    let filter = MessageFilter {
        status: query.status.as_deref(),
        event_type: query.event_type.as_deref(),
        before: before.as_deref(),
    };
    let rows = delivery::list_messages(
        state.db(),
        organization_id,
        &id,
        &filter,
        page.fetch_limit(),
    )
    .await?;
    let (rows, next_cursor) = page.page(rows, |m| &m.id);
    Ok(Json(Page {
        data: rows.iter().map(message_json).collect(),
        next_cursor,
    }))
}

async fn message(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let admin = Administrator::of(auth)?;
    let (message, attempts) =
        delivery::get_message(state.db(), &admin.auth.organization_id, &id, &message_id)
            .await?
            .ok_or_else(|| no_message(&message_id))?;
    let mut body = message_json(&message);
    body["attempts"] = attempts.iter().map(attempt_json).collect();
    Ok(Json(body))
}

fn no_message(id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("No message with id '{id}' exists for this webhook endpoint."),
    )
}

async fn replay(
    State(state): State<AppState>,
    auth: PasswordAuth,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let admin = Administrator::of(auth)?;
    webhooks::replay(state.ops(), &admin.manager(), &id, &message_id)
        .await
        .map_err(|err| match err {
            tessera_ops::OpError::NotFound => no_message(&message_id),
            other => other.into(),
        })?;
    Ok(accepted(json!({"message_id": message_id})))
}
