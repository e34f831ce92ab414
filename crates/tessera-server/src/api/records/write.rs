//! Creating, updating and deleting records. A create may carry an
//! `Idempotency-Key`: its answer is stored with the record, in the same
//! transaction, and replayed to a retry of the same request.
//!
//! Answers and refusals show a key nothing it may not read: a write is
//! answered with the fields the key may read (only `id` and `updated_at`
//! without `read`), a replay is narrowed to what the key may read now,
//! a reference to a resource the key may not read is refused as missing
//! whether or not the record exists, and a refused delete counts only the
//! referring records the key may read.

use super::{
    ApiKeyAuth, RecordId, Served, etag, invalid, not_found, organization, require, times,
    versioned, view, write_grant,
};
use crate::api::extract::ApiJson;
use crate::api::json::{Json, JsonBody};
use crate::{ApiError, AppState};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tessera_core::ErrorCode;
use tessera_core::id::new_prefixed_id;
use tessera_core::permissions::Action;
use tessera_core::records::{
    self, Data, FieldGrant, FieldValues, StoredFields, WriteError, WriteMode,
};
use tessera_core::resources::{Field, Resource};
use tessera_ops::records::Revision;
use tessera_store::now_ms;
use tessera_store::records::{
    self as store, CreateOutcome, DeleteOutcome, IdempotentAnswer, NewRecord, StoredRecord,
    UpdateOutcome,
};

/// Refusals of a body that `check_write` found wrong.
pub(super) fn write_refusal(resource: &Resource, err: WriteError) -> ApiError {
    match err {
        WriteError::NotAnObject => {
            invalid("The body must be a JSON object of field names and values.")
        }
        WriteError::NotWritable { unknown, read_only } => {
            let mut parts = Vec::new();
            if !unknown.is_empty() {
                parts.push(format!(
                    "{} has no field {}",
                    resource.title,
                    unknown.join(", ")
                ));
            }
            if !read_only.is_empty() {
                parts.push(format!(
                    "{} {} set by Tessera and cannot be written",
                    read_only.join(", "),
                    if read_only.len() == 1 { "is" } else { "are" }
                ));
            }
            invalid(format!("{}.", parts.join("; ")))
                .with_details(json!({"unknown_fields": unknown, "read_only_fields": read_only}))
        }
        WriteError::NotPermitted(fields) => ApiError::new(
            ErrorCode::FieldNotPermitted,
            format!("This API key may not write: {}.", fields.join(", ")),
        )
        .with_details(json!({"fields": fields})),
        WriteError::Invalid(problems) => {
            let summary: Vec<String> = problems
                .iter()
                .map(|p| format!("{} {}", p.field, p.problem))
                .collect();
            invalid(format!("{}.", summary.join("; "))).with_details(json!({"fields": problems}))
        }
    }
}

fn missing_references(ids: &[String]) -> ApiError {
    invalid(format!(
        "These referenced records do not exist in this organization: {}.",
        ids.join(", ")
    ))
    .with_details(json!({"missing_references": ids}))
}

/// The version of a record just created, and so the `ETag` of a create's
/// answer and of its replays.
const CREATED_VERSION: i64 = 1;

/// A validated `Idempotency-Key` header, if the request has one.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| (1..=255).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(Some)
        .ok_or_else(|| invalid("Idempotency-Key must be 1 to 255 visible ASCII characters."))
}

/// The stored answer to an earlier request with the same key, replayed
/// with the fields `grant` lets the key read now, or a refusal of a reused
/// key whose request differs; `None` for a new key.
pub(super) async fn earlier_answer(
    state: &AppState,
    auth: &ApiKeyAuth,
    (resource, grant): (&'static Resource, FieldGrant<'_>),
    key: Option<&str>,
    request_hash: &str,
) -> Result<Option<Response>, ApiError> {
    let Some(key) = key else {
        return Ok(None);
    };
    match store::idempotent_answer(state.db(), &auth.verdict.key.id, key, now_ms()).await? {
        Some(answer) => {
            let shown = records::write_answer_fields(resource, grant);
            replay(answer, request_hash, &shown).map(Some)
        }
        None => Ok(None),
    }
}

/// A stored answer showing only `fields`, in declaration order: the key's
/// restrictions may have narrowed since the answer was first given.
struct Narrowed<'a> {
    fields: &'a [&'static Field],
    stored: &'a StoredFields<'a>,
}

impl Serialize for Narrowed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.fields
                .iter()
                .filter_map(|field| Some((field.name, self.stored.value(field.name)?))),
        )
    }
}

/// Replays a stored answer narrowed to `fields`, or refuses a reused key
/// whose request differs.
fn replay(
    answer: store::StoredAnswer,
    request_hash: &str,
    fields: &[&'static Field],
) -> Result<Response, ApiError> {
    if answer.request_hash != request_hash {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was already used with a different request; use a new key for a new request.",
        ));
    }
    let status = StatusCode::from_u16(u16::try_from(answer.status).unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let stored = StoredFields::parse(&answer.body).map_err(ApiError::internal)?;
    let mut response = (
        status,
        Json(Narrowed {
            fields,
            stored: &stored,
        }),
    )
        .into_response();
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if status == StatusCode::CREATED {
        response
            .headers_mut()
            .insert(header::ETAG, etag(CREATED_VERSION));
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A record ready to be created: checked data and, for an upload, the
/// file's bytes.
pub(super) struct NewContent {
    pub data: Data,
    pub file: Option<Vec<u8>>,
}

/// Creates one record, answering 201 with what `grant` lets the key read
/// of it; with an idempotency key (and the request's hash), the answer is
/// stored for retries.
pub(super) async fn create_checked(
    state: &AppState,
    auth: &ApiKeyAuth,
    (resource, grant): (&'static Resource, FieldGrant<'_>),
    content: NewContent,
    idempotency: Option<(&str, &str)>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let record = StoredRecord {
        id: new_prefixed_id(resource.id_prefix),
        data: content.data,
        version: CREATED_VERSION,
        created_at: now,
        updated_at: now,
    };
    let visible = records::write_answer_fields(resource, grant);
    let t = times(record.created_at, record.updated_at);
    let body = serde_json::to_string(&view(&visible, &record.id, &record.data, &t))
        .map_err(ApiError::internal)?;
    let location = format!("/api/v1/{}/{}", resource.name, record.id);
    let answer = idempotency.map(|(key, request_hash)| IdempotentAnswer {
        api_key_id: &auth.verdict.key.id,
        idempotency_key: key,
        request_hash,
        status: 201,
        location: Some(&location),
        body: &body,
    });
    let new = [NewRecord {
        id: record.id.clone(),
        data: record.data.clone(),
        content: content.file,
    }];
    let outcome = tessera_ops::records::create(
        state.ops(),
        organization(auth),
        resource,
        &new,
        now,
        answer.as_ref(),
    )
    .await?;
    match outcome {
        CreateOutcome::Created => Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            [(header::ETAG, etag(record.version))],
            JsonBody(body),
        )
            .into_response()),
        CreateOutcome::MissingReferences(ids) => Err(missing_references(&ids)),
        CreateOutcome::IdempotencyKeyTaken => {
            let (key, request_hash) = idempotency.unwrap_or_default();
            earlier_answer(state, auth, (resource, grant), Some(key), request_hash)
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::Conflict,
                        "A request with this Idempotency-Key is being processed; retry shortly.",
                    )
                })
        }
    }
}

pub(super) async fn create(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let grant = write_grant(&auth, resource, Action::Create)?;
    let key = idempotency_key(&headers)?;
    // Keys are ordered in a serde_json map, so the same fields in another
    // order or with other whitespace hash the same.
    let request_hash = sha256_hex(format!("POST {}\n{}", resource.name, body).as_bytes());
    let replayed = earlier_answer(&state, &auth, (resource, grant), key, &request_hash).await?;
    if let Some(replayed) = replayed {
        return Ok(replayed);
    }
    let data = records::check_write(resource, &body, WriteMode::Create, grant, None)
        .map_err(|e| write_refusal(resource, e))?;
    let content = NewContent { data, file: None };
    let idempotency = key.map(|k| (k, request_hash.as_str()));
    create_checked(&state, &auth, (resource, grant), content, idempotency).await
}

/// `If-Match`: whether `record` is a version the client named.
fn if_match(headers: &HeaderMap, record: &StoredRecord) -> Result<bool, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(true);
    };
    let malformed = || {
        invalid(
            "If-Match must hold ETags as this API returns them, in double quotes \
             (e.g. If-Match: \"3\"), or *.",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let tags: Vec<&str> = value.split(',').map(str::trim).collect();
    // An unquoted `2` is not an ETag: answering 412 would claim the record
    // changed when the header was only misspelled.
    if !tags.iter().all(|tag| *tag == "*" || is_entity_tag(tag)) {
        return Err(malformed());
    }
    let current = format!("\"{}\"", record.version);
    Ok(tags.iter().any(|tag| *tag == "*" || *tag == current))
}

/// RFC 9110 §8.8.3: `"opaque"` or `W/"opaque"`.
fn is_entity_tag(tag: &str) -> bool {
    let opaque = tag.strip_prefix("W/").unwrap_or(tag);
    opaque.len() >= 2
        && opaque.starts_with('"')
        && opaque.ends_with('"')
        && !opaque[1..opaque.len() - 1].contains('"')
}

/// Attempts at a read-merge-write before giving up on a record that keeps
/// changing underneath.
const UPDATE_ATTEMPTS: usize = 8;

pub(super) async fn update(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    RecordId(id): RecordId,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let grant = write_grant(&auth, resource, Action::Update)?;
    if body.as_object().is_some_and(Map::is_empty) {
        return Err(invalid(
            "The body names no field to change; send at least one field to update.",
        ));
    }
    for _ in 0..UPDATE_ATTEMPTS {
        let existing = store::get(state.db(), organization(&auth), resource.name, &id)
            .await?
            .ok_or_else(|| not_found(resource, &id))?;
        if !if_match(&headers, &existing)? {
            return Err(precondition_failed());
        }
        let data = records::check_write(
            resource,
            &body,
            WriteMode::Update,
            grant,
            Some(&existing.data),
        )
        .map_err(|e| write_refusal(resource, e))?;
        let outcome = tessera_ops::records::update(
            state.ops(),
            organization(&auth),
            resource,
            &id,
            Revision {
                before: &existing.data,
                after: &data,
                expected_version: existing.version,
            },
            now_ms(),
        )
        .await?;
        match outcome {
            UpdateOutcome::Updated(record) => {
                let visible = records::write_answer_fields(resource, grant);
                let t = times(record.created_at, record.updated_at);
                return Ok(versioned(
                    view(&visible, &record.id, &record.data, &t),
                    record.version,
                ));
            }
            UpdateOutcome::NotFound => return Err(not_found(resource, &id)),
            UpdateOutcome::MissingReferences(ids) => return Err(missing_references(&ids)),
            UpdateOutcome::VersionMismatch if headers.contains_key(header::IF_MATCH) => {
                return Err(precondition_failed());
            }
            UpdateOutcome::VersionMismatch => continue,
        }
    }
    Err(ApiError::new(
        ErrorCode::Conflict,
        "The record kept changing while this update was applied; retry it.",
    ))
}

fn precondition_failed() -> ApiError {
    ApiError::new(
        ErrorCode::PreconditionFailed,
        "The record has changed since the ETag in If-Match was read; fetch it again and reapply your change.",
    )
}

pub(super) async fn remove(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    require(&auth, resource, Action::Delete)?;
    match tessera_ops::records::delete(state.ops(), organization(&auth), resource, &id).await? {
        DeleteOutcome::Deleted => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::NotFound => Err(not_found(resource, &id)),
        DeleteOutcome::Referenced(by) => Err(still_referenced(&auth, resource, &by)),
    }
}

/// The refusal of a delete while other records refer to the record. It
/// names and counts only the referring resources and fields the key may
/// read; the others are mentioned without a name or a count.
fn still_referenced(
    auth: &ApiKeyAuth,
    resource: &Resource,
    by: &[(String, String, i64)],
) -> ApiError {
    let access = &auth.verdict.key.effective;
    let (shown, hidden): (Vec<_>, Vec<_>) = by.iter().partition(|(referrer, field, _)| {
        access.allows(referrer, Action::Read)
            && access
                .field_restriction(referrer)
                .is_none_or(|fields| fields.contains(field))
    });
    let mut described = shown
        .iter()
        .map(|(referrer, field, count)| {
            let named = match tessera_core::resources::resource(referrer) {
                Some(resource) if *count == 1 => resource.singular(),
                _ => (*referrer).to_owned(),
            };
            format!("{count} {named} ({field})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    if !hidden.is_empty() {
        let separator = if described.is_empty() { "" } else { " and " };
        described = format!("{described}{separator}records this API key may not read");
    }
    let referenced_by: Vec<Value> = shown
        .iter()
        .map(|(referrer, field, count)| json!({"resource": referrer, "field": field, "count": count}))
        .collect();
    ApiError::new(
        ErrorCode::Conflict,
        format!(
            "This {} is still referred to by {described}; delete or change those first.",
            resource.singular()
        ),
    )
    .with_details(json!({ "referenced_by": referenced_by }))
}

#[cfg(test)]
mod properties;
