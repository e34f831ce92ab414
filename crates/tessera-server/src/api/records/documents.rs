//! Resources whose records are files (`Resource::upload`): a multipart
//! upload creates the record and stores the bytes; `…/{id}/content` serves
//! them back.

use super::write::{
    NewContent, create_checked, earlier_answer, idempotency_key, sha256_hex, write_refusal,
};
use super::{
    ApiKeyAuth, RecordId, Served, etag, invalid, not_found, organization, require, write_grant,
};
use crate::{ApiError, AppState};
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Extension, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_core::ErrorCode;
use tessera_core::documents;
use tessera_core::permissions::Action;
use tessera_core::records::{self, WriteMode};
use tessera_store::records as store;

/// The `file` part of an upload.
struct UploadedFile {
    bytes: Vec<u8>,
    name: Option<String>,
    declared_type: Option<String>,
}

/// `POST /api/v1/{resource}`: a multipart upload with the part `file` and
/// one part per writable field (for documents: `employee_id` and `title`).
pub(super) async fn upload(
    Extension(Served(resource)): Extension<Served>,
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let grant = write_grant(&auth, resource, Action::Create)?;
    let key = idempotency_key(&headers)?;
    let multipart = multipart.map_err(|_| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Upload documents as multipart/form-data with the parts file, employee_id and title.",
        )
    })?;
    let (body, file) = read_parts(multipart).await?;
    let mut data = records::check_write(resource, &body, WriteMode::Create, grant, None)
        .map_err(|e| write_refusal(resource, e))?;
    let Some(file) = file else {
        return Err(invalid("The upload has no file part.")
            .with_details(json!({"fields": [{"field": "file", "problem": "is required"}]})));
    };
    let digest = sha256_hex(&file.bytes);
    let content_type = documents::content_type(file.declared_type.as_deref(), &file.bytes);
    data.insert(
        "file_name".into(),
        json!(file.name.map(|n| documents::safe_file_name(&n))),
    );
    data.insert("content_type".into(), json!(content_type));
    data.insert("size".into(), json!(file.bytes.len()));
    data.insert("sha256".into(), json!(digest));
    let request_hash = sha256_hex(format!("POST {}\n{body}\n{digest}", resource.name).as_bytes());
    let replayed = earlier_answer(&state, &auth, (resource, grant), key, &request_hash).await?;
    if let Some(replayed) = replayed {
        return Ok(replayed);
    }
    let content = NewContent {
        data,
        file: Some(file.bytes),
    };
    let idempotency = key.map(|k| (k, request_hash.as_str()));
    create_checked(&state, &auth, (resource, grant), content, idempotency).await
}

/// The text parts as a JSON object of field values, and the file part.
async fn read_parts(mut multipart: Multipart) -> Result<(Value, Option<UploadedFile>), ApiError> {
    let mut parts = Map::new();
    let mut file = None;
    while let Some(part) = multipart.next_field().await.map_err(multipart_error)? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = part.file_name().map(str::to_owned);
            let declared_type = part.content_type().map(str::to_owned);
            let bytes = part.bytes().await.map_err(multipart_error)?;
            file = Some(UploadedFile {
                bytes: bytes.to_vec(),
                name: file_name,
                declared_type,
            });
        } else {
            let text = part.text().await.map_err(multipart_error)?;
            parts.insert(name, Value::String(text));
        }
    }
    Ok((Value::Object(parts), file))
}

fn multipart_error(err: MultipartError) -> ApiError {
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

/// `GET /api/v1/{resource}/{id}/content`: the file's bytes.
pub(super) async fn download(
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
    // Both are checked again here, not only at upload, so documents
    // stored before these rules were tightened are served safely too.
    let content_type = record
        .data
        .get("content_type")
        .and_then(Value::as_str)
        .map(documents::served_content_type)
        .and_then(|t| HeaderValue::from_str(&t).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let file_name = record
        .data
        .get("file_name")
        .and_then(Value::as_str)
        .map(documents::safe_file_name)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| record.id.clone());
    let disposition = HeaderValue::from_str(&documents::content_disposition(&file_name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::ETAG, etag(record.version)),
        ],
        content,
    )
        .into_response())
}
