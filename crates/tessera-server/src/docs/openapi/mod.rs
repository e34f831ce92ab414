//! The OpenAPI 3.1 description of the API. Resource paths, parameters and
//! schemas come from `tessera_core::resources` (through
//! `tessera_core::schema`) and the problem responses from the error table,
//! so the document cannot drift from the routes the server generates from
//! the same declarations.
//!
//! This module holds the document's frame and the helpers every section
//! uses; `records`, `events`, `keys`, `clients`, `webhooks` and `usage`
//! describe their paths, and
//! `components` the shared schemas, parameters, headers and problems.

mod audit;
mod clients;
mod components;
mod events;
mod keys;
mod records;
mod usage;
mod webhooks;

use super::samples::{Credential, Sample};
use serde_json::{Map, Value, json};
use tessera_core::resources::RESOURCES;

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    paths.insert("/api/v1".to_owned(), index_path());
    paths.insert("/api/v1/me".to_owned(), me_path());
    for resource in RESOURCES {
        records::resource_paths(resource, &mut paths);
    }
    events::events_path(&mut paths);
    keys::key_management_paths(&mut paths);
    clients::connected_client_paths(&mut paths);
    webhooks::webhook_paths(&mut paths);
    usage::usage_paths(&mut paths);
    audit::audit_path(&mut paths);
    paths.insert("/api/v1/leaked-keys".to_owned(), keys::leaked_keys_path());
    paths.insert("/healthz".to_owned(), health_path());

    let mut tags = vec![
        json!({"name": "Current key", "description": "What the calling API key is and may do."}),
    ];
    tags.extend(
        RESOURCES
            .iter()
            .map(|r| json!({"name": r.title, "description": records::resource_description(r)})),
    );
    tags.push(json!({"name": "Events", "description": "What changed, in commit order: the pull side of webhooks, for syncing without a public endpoint. Deletions included."}));
    tags.push(json!({"name": "Key management", "description": "Create, list and revoke API keys. Authenticated with a console username and password (HTTP Basic); an API key is refused here."}));
    tags.push(json!({"name": "Connected clients", "description": "The API clients (integrating companies) that have used the organisation's keys, and blocking them. Administrators only, with a console username and password (HTTP Basic)."}));
    tags.push(json!({"name": "Webhook endpoints", "description": "Where Tessera sends events (Standard Webhooks, signed), the message log, replay and recovery. Administrators only, with a console username and password (HTTP Basic); an API key is refused here."}));
    tags.push(json!({"name": "Usage", "description": "Request figures, the request log and who can see a field. Administrators only, with a console username and password (HTTP Basic)."}));
    tags.push(json!({"name": "Audit log", "description": "Who did what in the organisation, with the console's filters, as JSON or CSV. Administrators only, with a console username and password (HTTP Basic)."}));
    tags.push(json!({"name": "Leaked keys", "description": "Report a key found where it should not be; it is revoked at once."}));
    tags.push(json!({"name": "Service", "description": "Liveness of the server."}));

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera API",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "HR and payroll data, behind API keys with per-endpoint and per-field permissions.",
            "description": INTRODUCTION,
        },
        "servers": [{"url": "/", "description": "This Tessera server"}],
        "security": data_security(),
        "tags": tags,
        "paths": paths,
        "components": components::components(),
    })
}

const INTRODUCTION: &str = r#"Tessera serves an organisation's HR and payroll records (employees, sectors, cost centers, job roles, groups, pay rates, time off, documents, products and transactions) to the systems that integrate with it.

## Getting started

1. Ask an administrator for an API key, or create one in the console under **API keys ▸ Generate key** (or with `POST /api/v1/api-keys`). The raw key is shown once.
2. Put the server and the key in your environment; every example on this page reads them from there:

   ```bash
   export TESSERA_URL=http://127.0.0.1:8080   # the address this page is served from
   export TESSERA_API_KEY=sk_…
   ```

3. Check what the key may do:

   ```bash
   curl "$TESSERA_URL/api/v1/me" -H "X-API-KEY: $TESSERA_API_KEY"
   ```

To try a request on this page, press **Authorize**, paste the key under `ApiKeyHeader`, open any operation, fill in its parameters and press **Execute**.

## Authentication

Send the key in the `X-API-KEY` header (or as `Authorization: Bearer <key>`). Keys in the URL are refused with 400 `api_key_in_query`, because URLs end up in logs. An integration acting for several organisations adds its client credential in `X-API-Client`, sends one key per organisation (comma-separated or repeated `X-API-KEY`) and names the organisation of each request in `X-Organization`.

## Permissions

Each key grants actions (`create`, `read`, `update`, `delete`, `download`) per resource, and may restrict each resource to some fields. Objects carry only the fields the key may read; writing a field the key may not write is refused with 403 `field_not_permitted`, naming the fields. Another organisation's records are indistinguishable from missing ones (404).

## Lists

Every list answers `{"data": [...], "next_cursor": "…" | null}`, ordered by `id`. Pass `next_cursor` back as `cursor` for the next page; `limit` is 1–200 (default 50). `updated_since` returns records changed at or after a time; equality filters (e.g. `?status=active`) exist on the fields marked filterable; `fields=a,b` asks for fewer fields.

## Staying in sync

`updated_since` cannot report deletions, and can miss a change whose transaction commits after you asked. `GET /api/v1/events` can do neither: it lists every create, update and delete in commit order, with the fields the key may read. Take a cursor with `GET /api/v1/events?after=now`, load the lists, then follow the feed from that cursor with `after=<next_cursor>`.

## Writes

Create answers 201 with the record and its `Location`; the answers to creates and updates show only the fields the key may read (a key without `read` gets `id` and `updated_at`). Send an `Idempotency-Key` with a create to retry it safely: the same key and body within 24 hours replay the first answer (with `Idempotent-Replayed: true`, narrowed to what the key may read now); the same key with another body is 409 `idempotency_key_reused`. Reads carry an `ETag`; send it back in `If-Match` on an update to refuse it (412) if someone changed the record meanwhile, or in `If-None-Match` on a read to get 304 (no body) while the record is unchanged. Amounts are decimal strings, never floating-point numbers; dates are `YYYY-MM-DD`; a field without a value is `null`.

## Errors

Every error is an RFC 9457 problem (`application/problem+json`) with a stable `code`, a `type` that is a page on this server explaining the code (`/problems` lists them all), a human `detail` (repeated in `message`, except on 429, whose `message` is always "Too Many Requests"), the `request_id` of the response's `X-Request-Id` and, where useful, `details`.

## Rate limits

Each organisation has one request budget shared by its keys. Every answer to a request whose key was accepted carries `RateLimit-Policy` and `RateLimit` headers (a refusal before that — no key, an unknown or revoked key — carries none); 429 `rate_limited` carries `Retry-After` in seconds."#;

fn data_security() -> Value {
    json!([{"ApiKeyHeader": []}, {"BearerKey": []}, {"ApiKeyHeader": [], "ClientCredential": []}])
}

fn reference(kind: &str, name: &str) -> Value {
    json!({"$ref": format!("#/components/{kind}/{name}")})
}

/// The response component of each problem status.
fn problem_response_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Gone",
        412 => "PreconditionFailed",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        _ => "InternalError",
    }
}

/// An operation's responses: its success answers, then the problems it can
/// give (500 is possible everywhere).
fn responses(success: &[(&str, Value)], problems: &[u16]) -> Value {
    let mut map = Map::new();
    for (status, response) in success {
        map.insert((*status).to_owned(), response.clone());
    }
    for status in problems.iter().chain(&[500]) {
        map.insert(
            status.to_string(),
            reference("responses", problem_response_name(*status)),
        );
    }
    Value::Object(map)
}

fn standard_headers(extra: &[&str]) -> Value {
    let mut headers = Map::new();
    for name in ["X-Request-Id", "RateLimit", "RateLimit-Policy"]
        .iter()
        .chain(extra)
    {
        headers.insert((*name).to_owned(), reference("headers", name));
    }
    Value::Object(headers)
}

fn json_answer(description: &str, schema_name: &str, extra_headers: &[&str]) -> Value {
    json!({
        "description": description,
        "headers": standard_headers(extra_headers),
        "content": {"application/json": {"schema": reference("schemas", schema_name)}},
    })
}

fn no_content(description: &str) -> Value {
    json!({"description": description, "headers": standard_headers(&[])})
}

fn with_sample(mut operation: Value, sample: &Sample) -> Value {
    let description = operation["description"].as_str().unwrap_or("").to_owned();
    operation["description"] = json!(format!("{description}\n\n{}", sample.markdown()).trim());
    operation["x-codeSamples"] = sample.code_samples();
    operation
}

fn index_path() -> Value {
    json!({"get": {
        "operationId": "getApiIndex",
        "tags": ["Service"],
        "summary": "Where the documentation lives",
        "security": [],
        "responses": responses(&[("200", json!({
            "description": "The API's name, version and documentation links.",
            "headers": {"X-Request-Id": reference("headers", "X-Request-Id")},
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["name", "version", "documentation", "openapi"],
                "properties": {
                    "name": {"type": "string"},
                    "version": {"type": "string"},
                    "documentation": {"type": "string"},
                    "openapi": {"type": "string"},
                },
            }}},
        }))], &[]),
    }})
}

fn health_path() -> Value {
    json!({"get": {
        "operationId": "getHealth",
        "tags": ["Service"],
        "summary": "Liveness",
        "description": "Answers while the process serves requests; needs no key. `/readyz` also checks the database, and answers 503 `{\"status\": \"draining\"}` from the moment the process is asked to stop (SIGTERM).",
        "security": [],
        "responses": {"200": {
            "description": "The server is up.",
            "headers": {"X-Request-Id": reference("headers", "X-Request-Id")},
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"const": "ok"}},
            }}},
        }},
    }})
}

fn me_path() -> Value {
    let show = Sample::new("GET", "/api/v1/me".to_owned(), Credential::ApiKey);
    let revoke = Sample::new("DELETE", "/api/v1/me".to_owned(), Credential::ApiKey);
    json!({
        "get": with_sample(json!({
            "operationId": "getCurrentKey",
            "tags": ["Current key"],
            "summary": "The calling key and its effective permissions",
            "description": "Any valid key may call this. `permissions` spells out, per resource, the actions the key may take and the fields it may see (`null`: all fields).",
            "parameters": [reference("parameters", "XOrganization")],
            "responses": responses(&[("200", json_answer("The key.", "CurrentKey", &[]))], &[400, 401, 403, 429]),
        }), &show),
        "delete": with_sample(json!({
            "operationId": "revokeCurrentKey",
            "tags": ["Current key"],
            "summary": "Revoke the calling key",
            "description": "The key stops working at once, on every instance. Use it when a key may have leaked.",
            "parameters": [reference("parameters", "XOrganization")],
            "responses": responses(&[("204", no_content("The key is revoked."))], &[400, 401, 403, 429]),
        }), &revoke),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::permissions::Action;

    fn operations(document: &Value) -> Vec<(String, String, &Value)> {
        let mut found = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if method != "parameters" {
                    found.push((path.clone(), method.clone(), operation));
                }
            }
        }
        found
    }

    #[test]
    fn every_operation_has_a_unique_id_samples_and_a_500() {
        let document = document();
        let mut ids = std::collections::HashSet::new();
        for (path, method, operation) in operations(&document) {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "duplicate {id}");
            if path != "/api/v1" && path != "/healthz" {
                let samples = operation["x-codeSamples"].as_array().unwrap();
                assert_eq!(samples.len(), 3, "{method} {path}");
                assert!(operation["responses"]["500"].is_object(), "{method} {path}");
            }
        }
    }

    #[test]
    fn every_resource_action_has_its_operation() {
        let document = document();
        for resource in RESOURCES {
            let collection = &document["paths"][format!("/api/v1/{}", resource.name)];
            let item = &document["paths"][format!("/api/v1/{}/{{id}}", resource.name)];
            assert_eq!(
                collection["get"].is_object(),
                resource.supports(Action::Read)
            );
            assert_eq!(
                collection["post"].is_object(),
                resource.supports(Action::Create)
            );
            assert_eq!(item["patch"].is_object(), resource.supports(Action::Update));
            assert_eq!(
                item["delete"].is_object(),
                resource.supports(Action::Delete)
            );
            let content = &document["paths"][format!("/api/v1/{}/{{id}}/content", resource.name)];
            assert_eq!(
                content["get"].is_object(),
                resource.supports(Action::Download)
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let document = document();
        let text = document.to_string();
        for piece in text.split("\"$ref\":\"").skip(1) {
            let target = &piece[..piece.find('"').unwrap()];
            let pointer = target.trim_start_matches('#');
            assert!(document.pointer(pointer).is_some(), "dangling {target}");
        }
    }

    #[test]
    fn filters_are_the_filterable_fields() {
        let document = document();
        let parameters = document["paths"]["/api/v1/employees"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let filters: Vec<&str> = parameters
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for field in ["status", "sector_id", "email", "manager_id"] {
            assert!(filters.contains(&field), "{field} missing from {filters:?}");
        }
        assert!(!filters.contains(&"first_name"));
    }
}
