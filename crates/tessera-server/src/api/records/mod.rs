//! The data API: one set of handlers serves every resource declared in
//! `tessera_core::resources`. Routes are generated from the declarations
//! (only the actions a resource supports get a method), and each handler
//! finds its resource in a request extension.
//!
//! `list` reads pages, `write` creates, updates and deletes (with
//! idempotent creates), `documents` uploads and downloads files.

mod documents;
mod list;
mod write;

use super::extract::ApiKeyAuth;
use super::json::Json;
use crate::usage::{FieldsRead, FieldsReturned};
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::{Extension, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde_json::json;
use std::collections::BTreeSet;
use tessera_core::ErrorCode;
use tessera_core::id::OrganizationId;
use tessera_core::permissions::Action;
use tessera_core::records::{self, FieldGrant, FieldValues, RecordView};
use tessera_core::resources::{Field, RESOURCES, Resource};
use tessera_store::format_ms;
use tessera_store::records as store;

/// The resource a route serves, put on the request by its route.
#[derive(Clone, Copy)]
struct Served(&'static Resource);

/// Key-authenticated: `super::key_authenticated` puts them behind
/// `authenticate`.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for resource in RESOURCES {
        let mut collection = MethodRouter::new();
        let mut item = MethodRouter::new();
        if resource.supports(Action::Read) {
            collection = collection.get(list::list);
            item = item.get(show);
        }
        if resource.supports(Action::Create) {
            collection = if resource.upload {
                collection.post(documents::upload)
            } else {
                collection.post(write::create)
            };
        }
        if resource.supports(Action::Update) {
            item = item.patch(write::update);
        }
        if resource.supports(Action::Delete) {
            item = item.delete(write::remove);
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
                MethodRouter::new().get(documents::download).layer(served),
            );
        }
    }
    router
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

/// What the request's key may do with `resource`'s fields when it writes
/// with `action`: its field list, and whether it may also read them (which
/// decides what the answer and the refusals may show).
fn write_grant<'a>(
    auth: &'a ApiKeyAuth,
    resource: &Resource,
    action: Action,
) -> Result<FieldGrant<'a>, ApiError> {
    let fields = require(auth, resource, action)?;
    Ok(FieldGrant {
        fields,
        reads: auth
            .verdict
            .key
            .effective
            .allows(resource.name, Action::Read),
    })
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

fn organization(auth: &ApiKeyAuth) -> &OrganizationId {
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

/// One record as JSON, with its version as the `ETag`.
fn versioned(view: RecordView<'_, impl FieldValues>, version: i64) -> Response {
    ([(header::ETAG, etag(version))], Json(view)).into_response()
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

/// The `fields=` parameter: the names asked for, a 400 naming unknown ones,
/// or a 403 naming fields the key may not read. Asking for such a field is
/// refused like filtering on it: answering without it would look as if the
/// record had no value there.
fn requested_fields(
    resource: &Resource,
    readable: Option<&BTreeSet<String>>,
    raw: Option<&str>,
) -> Result<Option<BTreeSet<String>>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let requested = records::parse_field_list(resource, raw).map_err(|unknown| {
        invalid(format!(
            "fields names unknown fields: {}.",
            unknown.join(", ")
        ))
        .with_details(json!({"unknown_fields": unknown}))
    })?;
    let not_readable: Vec<&str> = requested
        .iter()
        .map(String::as_str)
        .filter(|name| *name != "id" && readable.is_some_and(|r| !r.contains(*name)))
        .collect();
    if !not_readable.is_empty() {
        return Err(ApiError::new(
            ErrorCode::FieldNotPermitted,
            format!(
                "This API key may not read, and so may not ask for: {}.",
                not_readable.join(", ")
            ),
        )
        .with_details(json!({"fields": not_readable})));
    }
    Ok(Some(requested))
}

/// `If-None-Match`: whether the client already holds `version`, so the
/// answer can be a bodiless 304.
fn holds_version(headers: &HeaderMap, version: i64) -> bool {
    let current = format!("\"{version}\"");
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        // The comparison is weak (RFC 9110 §13.1.2): `W/"3"` matches `"3"`.
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == current)
}

async fn show(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    RecordId(id): RecordId,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let readable = require(&auth, resource, Action::Read)?;
    let Query(query) = query.map_err(|e| invalid(e.body_text()))?;
    // `fields` may be repeated, as generated clients send lists.
    let asked: Vec<&str> = query
        .iter()
        .filter(|(name, _)| name == "fields")
        .map(|(_, value)| value.as_str())
        .collect();
    let joined = (!asked.is_empty()).then(|| asked.join(","));
    let requested = requested_fields(resource, readable, joined.as_deref())?;
    let record = store::get_text(state.db(), organization(&auth), resource.name, &id)
        .await?
        .ok_or_else(|| not_found(resource, &id))?;
    if holds_version(&headers, record.version) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag(record.version))],
        )
            .into_response());
    }
    let visible = records::visible_fields(resource, readable, requested.as_ref());
    let t = times(record.created_at, record.updated_at);
    let fields = record.fields()?;
    let mut response = versioned(view(&visible, &record.id, &fields, &t), record.version);
    response
        .extensions_mut()
        .insert(fields_read(resource, &visible));
    Ok(response)
}

/// What a data read returned, for the usage log's field reads.
fn fields_read(resource: &Resource, visible: &[&'static Field]) -> FieldsReturned {
    FieldsReturned(vec![FieldsRead {
        resource: resource.name,
        fields: visible.iter().map(|field| field.name).collect(),
    }])
}
