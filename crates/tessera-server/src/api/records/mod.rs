//! The data API (SPEC §5): one set of handlers serves every resource
//! declared in `tessera_core::resources`. Routes are generated from the
//! declarations (only the actions a resource supports get a method), and
//! each handler finds its resource in a request extension.

use super::extract::{ApiJson, ApiKeyAuth};
use super::pagination::PageQuery;
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::{Extension, FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use tessera_core::ErrorCode;
use tessera_core::documents;
use tessera_core::id::new_prefixed_id;
use tessera_core::permissions::Action;
use tessera_core::records::{
    self, Data, FieldValues, RecordView, StoredFields, WriteError, WriteMode,
};
use tessera_core::resources::{Field, RESOURCES, Resource};
use tessera_store::records::{
    self as store, CreateOutcome, DeleteOutcome, IdempotentAnswer, ListQuery, NewRecord,
    RecordText, StoredRecord, UpdateOutcome,
};
use tessera_store::{format_ms, now_ms};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const JSON: &str = "application/json; charset=utf-8";

/// The resource a route serves, put on the request by its route.
#[derive(Clone, Copy)]
struct Served(&'static Resource);

pub fn router(state: AppState) -> Router<AppState> {
    let mut router = Router::new();
    for resource in RESOURCES {
        let mut collection = MethodRouter::new();
        let mut item = MethodRouter::new();
        if resource.supports(Action::Read) {
            collection = collection.get(list);
            item = item.get(show);
        }
        if resource.supports(Action::Create) {
            collection = if resource.name == "documents" {
                collection.post(upload_document)
            } else {
                collection.post(create)
            };
        }
        if resource.supports(Action::Update) {
            item = item.patch(update);
        }
        if resource.supports(Action::Delete) {
            item = item.delete(remove);
        }
        let served = Extension(Served(resource));
        router = router
            .route(
                &format!("/api/v1/{}", resource.name),
                collection.layer(served),
            )
            .route(
                &format!("/api/v1/{}/{{id}}", resource.name),
                item.layer(served),
            );
        if resource.supports(Action::Download) {
            router = router.route(
                &format!("/api/v1/{}/{{id}}/content", resource.name),
                MethodRouter::new().get(download).layer(served),
            );
        }
    }
    router.route_layer(axum::middleware::from_fn_with_state(
        state,
        super::extract::authenticate,
    ))
}

/// What the request's key may do with `resource`: the fields it may read
/// and write (`None`: all), or a 403 naming the missing permission.
fn require<'a>(
    auth: &'a ApiKeyAuth,
    resource: &Resource,
    action: Action,
) -> Result<Option<&'a BTreeSet<String>>, ApiError> {
    let access = &auth.verdict.key.effective;
    if !access.allows(resource.name, action) {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            format!(
                "This API key may not {action} {}.",
                resource.title.to_lowercase()
            ),
        )
        .with_details(json!({"resource": resource.name, "action": action.as_str()})));
    }
    Ok(access.field_restriction(resource.name))
}

/// The `{id}` of a record route. An id that cannot be one of the resource's
/// ids is a 404 before any lookup, like an id that does not exist.
struct RecordId(String);

impl<S: Send + Sync> FromRequestParts<S> for RecordId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Extension(Served(resource)) = Extension::<Served>::from_request_parts(parts, state)
            .await
            .map_err(ApiError::internal)?;
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found(resource, ""))?;
        if records::is_record_id(resource.id_prefix, &id) {
            Ok(RecordId(id))
        } else {
            Err(not_found(resource, &id))
        }
    }
}

fn organization(auth: &ApiKeyAuth) -> &str {
    &auth.verdict.key.organization_id
}

fn not_found(resource: &Resource, id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "No {} with id '{id}' exists in this organization.",
            resource.singular()
        ),
    )
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, detail)
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// Serialises `value` as the JSON body of a response.
fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, JSON),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}

fn view<'a, D: FieldValues>(
    fields: &'a [&'static Field],
    id: &'a str,
    data: &'a D,
    times: &'a (String, String),
) -> RecordView<'a, D> {
    RecordView {
        fields,
        id,
        created_at: &times.0,
        updated_at: &times.1,
        data,
    }
}

fn times(created_at: i64, updated_at: i64) -> (String, String) {
    (format_ms(created_at), format_ms(updated_at))
}

/// The `fields=` parameter: the names asked for, or a 400 naming unknown ones.
fn requested_fields(
    resource: &Resource,
    raw: Option<&str>,
) -> Result<Option<BTreeSet<String>>, ApiError> {
    raw.map(|raw| {
        records::parse_field_list(resource, raw).map_err(|unknown| {
            invalid(format!(
                "fields names unknown fields: {}.",
                unknown.join(", ")
            ))
            .with_details(json!({"unknown_fields": unknown}))
        })
    })
    .transpose()
}

#[derive(Serialize)]
struct PageBody<'a> {
    data: Vec<RecordView<'a, StoredFields<'a>>>,
    next_cursor: Option<String>,
}

fn encode_cursor(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn decode_cursor(resource: &Resource, cursor: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|id| records::is_record_id(resource.id_prefix, id))
        .ok_or_else(|| invalid("cursor is not a cursor this list returned."))
}

const LIST_PARAMETERS: [&str; 4] = ["limit", "cursor", "updated_since", "fields"];

async fn list(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    page: PageQuery,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let readable = require(&auth, resource, Action::Read)?;
    let mut seen = BTreeSet::new();
    let mut filters = Vec::new();
    let mut not_readable = Vec::new();
    let mut updated_since = None;
    let mut fields_param = None;
    for (name, value) in &params {
        if !seen.insert(name.as_str()) {
            return Err(invalid(format!(
                "The query parameter '{name}' is given more than once."
            )));
        }
        match name.as_str() {
            "limit" | "cursor" => {}
            "updated_since" => updated_since = Some(parse_timestamp("updated_since", value)?),
            "fields" => fields_param = Some(value.as_str()),
            _ => {
                let field = resource
                    .field(name)
                    .filter(|f| f.filterable)
                    .ok_or_else(|| {
                        let filterable: Vec<&str> = resource
                            .fields
                            .iter()
                            .filter(|f| f.filterable)
                            .map(|f| f.name)
                            .collect();
                        invalid(format!(
                            "Unknown query parameter '{name}'. Use {}{}{}.",
                            LIST_PARAMETERS.join(", "),
                            if filterable.is_empty() {
                                ""
                            } else {
                                ", or a filter on "
                            },
                            filterable.join(", ")
                        ))
                    })?;
                if readable.is_some_and(|r| !r.contains(field.name)) {
                    not_readable.push(field.name);
                    continue;
                }
                let value = records::normalize_filter(field, value)
                    .map_err(|problem| invalid(format!("The filter {name} {problem}.")))?;
                filters.push((field.name, value));
            }
        }
    }
    if !not_readable.is_empty() {
        return Err(ApiError::new(
            ErrorCode::FieldNotPermitted,
            format!(
                "This API key may not read, and so may not filter on: {}.",
                not_readable.join(", ")
            ),
        )
        .with_details(json!({"fields": not_readable})));
    }
    let requested = requested_fields(resource, fields_param)?;
    let after = page
        .cursor
        .as_deref()
        .map(|c| decode_cursor(resource, c))
        .transpose()?;
    let mut rows = store::list(
        state.db(),
        &ListQuery {
            organization_id: organization(&auth),
            resource: resource.name,
            after: after.as_deref(),
            updated_since,
            filters: &filters,
            limit: page.limit + 1,
        },
    )
    .await?;
    let more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit as usize);
    let visible = records::visible_fields(resource, readable, requested.as_ref());
    let all_times: Vec<_> = rows
        .iter()
        .map(|r| times(r.created_at, r.updated_at))
        .collect();
    let all_fields = rows
        .iter()
        .map(RecordText::fields)
        .collect::<Result<Vec<_>, _>>()?;
    let body = PageBody {
        data: rows
            .iter()
            .zip(&all_fields)
            .zip(&all_times)
            .map(|((record, fields), t)| view(&visible, &record.id, fields, t))
            .collect(),
        next_cursor: more
            .then(|| rows.last().map(|r| encode_cursor(&r.id)))
            .flatten(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn parse_timestamp(name: &str, value: &str) -> Result<i64, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .ok_or_else(|| {
            invalid(format!(
                "{name} must be an RFC 3339 date and time like 2026-01-31T09:30:00Z."
            ))
        })
}

#[derive(serde::Deserialize)]
struct ShowQuery {
    fields: Option<String>,
}

async fn show(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    RecordId(id): RecordId,
    query: Result<Query<ShowQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let readable = require(&auth, resource, Action::Read)?;
    let Query(query) = query.map_err(|e| invalid(e.body_text()))?;
    let requested = requested_fields(resource, query.fields.as_deref())?;
    let record = store::get_text(state.db(), organization(&auth), resource.name, &id)
        .await?
        .ok_or_else(|| not_found(resource, &id))?;
    let visible = records::visible_fields(resource, readable, requested.as_ref());
    let t = times(record.created_at, record.updated_at);
    let fields = record.fields()?;
    let mut response = json_response(StatusCode::OK, &view(&visible, &record.id, &fields, &t));
    response
        .headers_mut()
        .insert(header::ETAG, etag(record.version));
    Ok(response)
}

/// Refusals of a body that `check_write` found wrong.
fn write_refusal(resource: &Resource, err: WriteError) -> ApiError {
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

/// A validated `Idempotency-Key` header, if the request has one.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
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

/// Replays a stored answer, or refuses a reused key whose request differs.
fn replay(answer: store::StoredAnswer, request_hash: &str) -> Result<Response, ApiError> {
    if answer.request_hash != request_hash {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was already used with a different request; use a new key for a new request.",
        ));
    }
    let status = StatusCode::from_u16(u16::try_from(answer.status).unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, JSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        answer.body,
    )
        .into_response();
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(response)
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Creates one record from checked data, answering 201 with its view.
async fn create_checked(
    state: &AppState,
    auth: &ApiKeyAuth,
    resource: &'static Resource,
    fields: Option<&BTreeSet<String>>,
    data: Data,
    content: Option<Vec<u8>>,
    idempotency: Option<(&str, &str)>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let record = StoredRecord {
        id: new_prefixed_id(resource.id_prefix),
        data,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let visible = records::visible_fields(resource, fields, None);
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
        content,
    }];
    match store::create(
        state.db(),
        organization(auth),
        resource,
        &new,
        now,
        answer.as_ref(),
    )
    .await?
    {
        CreateOutcome::Created => {}
        CreateOutcome::MissingReferences(ids) => return Err(missing_references(&ids)),
        CreateOutcome::IdempotencyKeyTaken => {
            let (key, request_hash) = idempotency.unwrap_or_default();
            return match store::idempotent_answer(state.db(), &auth.verdict.key.id, key, now)
                .await?
            {
                Some(answer) => replay(answer, request_hash),
                None => Err(ApiError::new(
                    ErrorCode::Conflict,
                    "A request with this Idempotency-Key is being processed; retry shortly.",
                )),
            };
        }
    }
    let mut response = (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, JSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::ETAG, etag(record.version));
    Ok(response)
}

async fn create(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let fields = require(&auth, resource, Action::Create)?;
    let key = idempotency_key(&headers)?;
    // Keys are ordered in a serde_json map, so the same fields in another
    // order or with other whitespace hash the same.
    let request_hash = sha256_hex(format!("POST {}\n{}", resource.name, body).as_bytes());
    if let Some(key) = key
        && let Some(answer) =
            store::idempotent_answer(state.db(), &auth.verdict.key.id, key, now_ms()).await?
    {
        return replay(answer, &request_hash);
    }
    let data = records::check_write(resource, &body, WriteMode::Create, fields, None)
        .map_err(|e| write_refusal(resource, e))?;
    create_checked(
        &state,
        &auth,
        resource,
        fields,
        data,
        None,
        key.map(|k| (k, request_hash.as_str())),
    )
    .await
}

/// `If-Match`: whether `record` is a version the client named.
fn if_match(headers: &HeaderMap, record: &StoredRecord) -> Result<bool, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(true);
    };
    let value = value
        .to_str()
        .map_err(|_| invalid("If-Match must be an ETag this API returned."))?;
    let current = format!("\"{}\"", record.version);
    Ok(value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current))
}

/// Attempts at a read-merge-write before giving up on a record that keeps
/// changing underneath.
const UPDATE_ATTEMPTS: usize = 3;

async fn update(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    RecordId(id): RecordId,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    // A grant's field list bounds reading and writing alike.
    let fields = require(&auth, resource, Action::Update)?;
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
            fields,
            Some(&existing.data),
        )
        .map_err(|e| write_refusal(resource, e))?;
        let outcome = store::update(
            state.db(),
            organization(&auth),
            resource,
            &id,
            &data,
            existing.version,
            now_ms(),
        )
        .await?;
        match outcome {
            UpdateOutcome::Updated(record) => {
                let visible = records::visible_fields(resource, fields, None);
                let t = times(record.created_at, record.updated_at);
                let mut response = json_response(
                    StatusCode::OK,
                    &view(&visible, &record.id, &record.data, &t),
                );
                response
                    .headers_mut()
                    .insert(header::ETAG, etag(record.version));
                return Ok(response);
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

async fn remove(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    require(&auth, resource, Action::Delete)?;
    match store::delete(state.db(), organization(&auth), resource, &id).await? {
        DeleteOutcome::Deleted => Ok(StatusCode::NO_CONTENT),
        DeleteOutcome::NotFound => Err(not_found(resource, &id)),
        DeleteOutcome::Referenced(by) => {
            let described: Vec<String> = by
                .iter()
                .map(|(resource, field, count)| format!("{count} {resource} ({field})"))
                .collect();
            Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "This {} is still referred to by {}; delete or change those first.",
                    resource.singular(),
                    described.join(", ")
                ),
            )
            .with_details(json!({
                "referenced_by": by.iter().map(|(resource, field, count)| json!({"resource": resource, "field": field, "count": count})).collect::<Vec<_>>()
            })))
        }
    }
}

/// `POST /documents`: a multipart upload with the parts `file`,
/// `employee_id` and `title`.
async fn upload_document(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let fields = require(&auth, resource, Action::Create)?;
    let key = idempotency_key(&headers)?;
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Upload documents as multipart/form-data with the parts file, employee_id and title.",
        )
    })?;
    let mut parts = serde_json::Map::new();
    let mut file: Option<(Vec<u8>, Option<String>, Option<String>)> = None;
    while let Some(part) = multipart.next_field().await.map_err(multipart_error)? {
        let name = part.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let file_name = part.file_name().map(str::to_owned);
                let declared = part.content_type().map(str::to_owned);
                let bytes = part.bytes().await.map_err(multipart_error)?;
                file = Some((bytes.to_vec(), file_name, declared));
            }
            _ => {
                let text = part.text().await.map_err(multipart_error)?;
                parts.insert(name, Value::String(text));
            }
        }
    }
    let body = Value::Object(parts);
    let mut data = records::check_write(resource, &body, WriteMode::Create, fields, None)
        .map_err(|e| write_refusal(resource, e))?;
    let Some((content, file_name, declared)) = file else {
        return Err(invalid("The upload has no file part.")
            .with_details(json!({"fields": [{"field": "file", "problem": "is required"}]})));
    };
    let digest = sha256_hex(&content);
    let content_type = documents::content_type(declared.as_deref(), &content);
    data.insert(
        "file_name".into(),
        json!(file_name.map(|n| documents::safe_file_name(&n))),
    );
    data.insert("content_type".into(), json!(content_type));
    data.insert("size".into(), json!(content.len()));
    data.insert("sha256".into(), json!(digest));
    let request_hash = sha256_hex(format!("POST documents\n{body}\n{digest}").as_bytes());
    if let Some(key) = key
        && let Some(answer) =
            store::idempotent_answer(state.db(), &auth.verdict.key.id, key, now_ms()).await?
    {
        return replay(answer, &request_hash);
    }
    create_checked(
        &state,
        &auth,
        resource,
        fields,
        data,
        Some(content),
        key.map(|k| (k, request_hash.as_str())),
    )
    .await
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            "The document is larger than this server accepts.",
        )
    } else {
        invalid(format!(
            "The multipart body could not be read: {}",
            err.body_text()
        ))
    }
}

/// `GET /documents/{id}/content`: the file's bytes.
async fn download(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    RecordId(id): RecordId,
) -> Result<Response, ApiError> {
    require(&auth, resource, Action::Download)?;
    let record = store::get(state.db(), organization(&auth), resource.name, &id)
        .await?
        .ok_or_else(|| not_found(resource, &id))?;
    let content = store::document_content(state.db(), organization(&auth), &id)
        .await?
        .ok_or_else(|| not_found(resource, &id))?;
    let content_type = record
        .data
        .get("content_type")
        .and_then(Value::as_str)
        .and_then(|t| HeaderValue::from_str(t).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let file_name = record
        .data
        .get("file_name")
        .and_then(Value::as_str)
        .unwrap_or(&record.id);
    let disposition = HeaderValue::from_str(&documents::content_disposition(file_name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let mut response = (StatusCode::OK, content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::ETAG, etag(record.version));
    Ok(response)
}
