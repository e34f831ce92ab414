//! The OpenAPI 3.1 description of the API. Resource paths, parameters and
//! schemas come from `tessera_core::resources` (through
//! `tessera_core::schema`) and the problem responses from the error table,
//! so the document cannot drift from the routes the server generates from
//! the same declarations.

use super::samples::{Body, Credential, Sample};
use serde_json::{Map, Value, json};
use tessera_core::ErrorCode;
use tessera_core::permissions::Action;
use tessera_core::resources::{Field, FieldKind, RESOURCES, Resource};
use tessera_core::schema;

const MAX_LIMIT: u32 = 200;
const DEFAULT_LIMIT: u32 = 50;

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    paths.insert("/api/v1".to_owned(), index_path());
    paths.insert("/api/v1/me".to_owned(), me_path());
    for resource in RESOURCES {
        resource_paths(resource, &mut paths);
    }
    key_management_paths(&mut paths);
    connected_client_paths(&mut paths);
    paths.insert("/api/v1/leaked-keys".to_owned(), leaked_keys_path());
    paths.insert("/healthz".to_owned(), health_path());

    let mut tags = vec![
        json!({"name": "Current key", "description": "What the calling API key is and may do."}),
    ];
    tags.extend(
        RESOURCES
            .iter()
            .map(|r| json!({"name": r.title, "description": resource_description(r)})),
    );
    tags.push(json!({"name": "Key management", "description": "Create, list and revoke API keys. Authenticated with a console username and password (HTTP Basic); an API key is refused here."}));
    tags.push(json!({"name": "Connected clients", "description": "The API clients (integrating companies) that have used the organisation's keys, and blocking them. Administrators only, with a console username and password (HTTP Basic)."}));
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
        "components": components(),
    })
}

const INTRODUCTION: &str = r#"Tessera serves an organisation's HR and payroll records (employees, sectors, cost centers, job roles, groups, pay rates, time off, documents, products and transactions) to the systems that integrate with it.

## Getting started

1. Ask an administrator for an API key, or create one in the console under **Settings ▸ API** (or with `POST /api/v1/api-keys`). The raw key is shown once.
2. Put the server and the key in your environment; every example on this page reads them from there:

   ```bash
   export TESSERA_URL=http://127.0.0.1:8080
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

## Writes

Create answers 201 with the record and its `Location`. Send an `Idempotency-Key` with a create to retry it safely: the same key and body within 24 hours replay the first answer (with `Idempotent-Replayed: true`); the same key with another body is 409 `idempotency_key_reused`. Reads carry an `ETag`; send it back in `If-Match` on an update to refuse it (412) if someone changed the record meanwhile. Amounts are decimal strings, never floating-point numbers; dates are `YYYY-MM-DD`; a field without a value is `null`.

## Errors

Every error is an RFC 9457 problem (`application/problem+json`) with a stable `code`, a human `detail` (also in `message`), the `request_id` of the response's `X-Request-Id` and, where useful, `details`.

## Rate limits

Each organisation has one request budget shared by its keys. Every answer carries `RateLimit-Policy` and `RateLimit` headers; 429 `rate_limited` carries `Retry-After` in seconds."#;

fn resource_description(resource: &Resource) -> String {
    let sections: Vec<String> = resource
        .sections()
        .into_iter()
        .map(|(section, fields)| {
            let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
            format!("*{section}*: {}", names.join(", "))
        })
        .collect();
    let actions: Vec<&str> = resource.actions.iter().map(|a| a.as_str()).collect();
    let mut text = format!(
        "Actions: {}. Fields by section (for field-restricted keys): {}.",
        actions.join(", "),
        sections.join("; ")
    );
    if !resource.supports(Action::Create) {
        text.push_str(
            " Read-only over the API: records are made in the console or with `tessera import`.",
        );
    }
    text
}

fn data_security() -> Value {
    json!([{"ApiKeyHeader": []}, {"BearerKey": []}, {"ApiKeyHeader": [], "ApiClient": []}])
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
        "description": "Answers while the process serves requests; needs no key. `/readyz` also checks the database.",
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

fn resource_paths(resource: &Resource, paths: &mut Map<String, Value>) {
    let type_name = resource.type_name();
    let plural = resource.title.replace(' ', "");
    let name = resource.name;
    let singular = resource.singular();
    let tags = json!([resource.title]);
    let collection_path = format!("/api/v1/{name}");
    let item_path = format!("/api/v1/{name}/{{id}}");
    let example_id = schema::example_id(resource);
    let example_item = format!("{collection_path}/{example_id}");

    let mut collection = Map::new();
    let mut item = Map::new();
    let item_parameters = json!([
        reference("parameters", &format!("{type_name}Id")),
        reference("parameters", "XOrganization"),
    ]);

    if resource.supports(Action::Read) {
        let mut parameters = vec![
            reference("parameters", "Limit"),
            reference("parameters", "Cursor"),
            reference("parameters", "UpdatedSince"),
            reference("parameters", &format!("{type_name}Fields")),
        ];
        parameters.extend(
            resource
                .fields
                .iter()
                .filter(|f| f.filterable)
                .map(|f| filter_parameter(resource, f)),
        );
        parameters.push(reference("parameters", "XOrganization"));
        let filter_example = resource
            .fields
            .iter()
            .find(|f| f.filterable && matches!(f.kind, FieldKind::Choice(_)))
            .and_then(|f| match f.kind {
                FieldKind::Choice(choices) => choices.first().map(|c| format!("{}={c}&", f.name)),
                _ => None,
            })
            .unwrap_or_default();
        let list_sample = Sample::new(
            "GET",
            format!("{collection_path}?{filter_example}limit={DEFAULT_LIMIT}"),
            Credential::ApiKey,
        );
        collection.insert("get".to_owned(), with_sample(json!({
            "operationId": format!("list{plural}"),
            "tags": tags,
            "summary": format!("List {}", resource.title.to_lowercase()),
            "description": format!("Pages through the organisation's {} in id order. Needs `read` on `{name}`; filtering on a field the key may not read is refused (403).", resource.title.to_lowercase()),
            "parameters": parameters,
            "responses": responses(&[("200", json_answer("One page of records.", &format!("{type_name}List"), &[]))], &[400, 401, 403, 429]),
        }), &list_sample));

        let show_sample = Sample::new("GET", example_item.clone(), Credential::ApiKey);
        item.insert("get".to_owned(), with_sample(json!({
            "operationId": format!("get{type_name}"),
            "tags": tags,
            "summary": format!("Get one {singular}"),
            "description": format!("Needs `read` on `{name}`. The `ETag` identifies this version, for `If-Match` on an update."),
            "parameters": [reference("parameters", &format!("{type_name}Fields"))],
            "responses": responses(&[("200", json_answer(&format!("The {singular}."), &type_name, &["ETag"]))], &[400, 401, 403, 404, 429]),
        }), &show_sample));
    }

    if resource.supports(Action::Create) {
        let operation = if name == "documents" {
            upload_operation(resource, &type_name)
        } else {
            let sample = Sample::new("POST", collection_path.clone(), Credential::ApiKey)
                .header("Idempotency-Key", "3f7c2d1e-8b4a-4c6f-9e2d-1a5b7c9d0e3f")
                .body(Body::Json(schema::create_example(resource)));
            with_sample(
                json!({
                    "operationId": format!("create{type_name}"),
                    "tags": tags,
                    "summary": format!("Create a {singular}"),
                    "description": format!("Needs `create` on `{name}`, and the key must be allowed to write every field sent. References must name records of this organisation."),
                    "parameters": [reference("parameters", "IdempotencyKey"), reference("parameters", "XOrganization")],
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": reference("schemas", &format!("{type_name}Create")),
                    }}},
                    "responses": responses(
                        &[("201", json_answer(&format!("The new {singular}; a replayed create says `Idempotent-Replayed: true`."), &type_name, &["Location", "ETag", "Idempotent-Replayed"]))],
                        &[400, 401, 403, 409, 413, 415, 429],
                    ),
                }),
                &sample,
            )
        };
        collection.insert(
            "post".to_owned(),
            with_links(operation, resource, &type_name),
        );
    }

    if resource.supports(Action::Update) {
        let sample = Sample::new("PATCH", example_item.clone(), Credential::ApiKey)
            .header("If-Match", "\"1\"")
            .body(Body::Json(update_example(resource)));
        item.insert("patch".to_owned(), with_sample(json!({
            "operationId": format!("update{type_name}"),
            "tags": tags,
            "summary": format!("Update a {singular}"),
            "description": format!("Changes only the fields sent; `null` clears an optional field. Needs `update` on `{name}` and write access to every field sent."),
            "parameters": [reference("parameters", "IfMatch")],
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": reference("schemas", &format!("{type_name}Update")),
            }}},
            "responses": responses(
                &[("200", json_answer(&format!("The updated {singular}."), &type_name, &["ETag"]))],
                &[400, 401, 403, 404, 409, 412, 413, 415, 429],
            ),
        }), &sample));
    }

    if resource.supports(Action::Delete) {
        let sample = Sample::new("DELETE", example_item.clone(), Credential::ApiKey);
        item.insert("delete".to_owned(), with_sample(json!({
            "operationId": format!("delete{type_name}"),
            "tags": tags,
            "summary": format!("Delete a {singular}"),
            "description": format!("Needs `delete` on `{name}`. A record other records still refer to is not deleted: 409 `conflict`, with the referring fields in `details.referenced_by`."),
            "responses": responses(&[("204", no_content("Deleted."))], &[400, 401, 403, 404, 409, 429]),
        }), &sample));
    }

    if !collection.is_empty() {
        paths.insert(collection_path.clone(), Value::Object(collection));
    }
    if !item.is_empty() {
        item.insert("parameters".to_owned(), item_parameters.clone());
        paths.insert(item_path, Value::Object(item));
    }
    if resource.supports(Action::Download) {
        let sample = Sample::new("GET", format!("{example_item}/content"), Credential::ApiKey)
            .save_as("contract.pdf");
        paths.insert(format!("{collection_path}/{{id}}/content"), json!({
            "parameters": item_parameters,
            "get": with_sample(json!({
                "operationId": format!("download{type_name}Content"),
                "tags": tags,
                "summary": format!("Download a {singular}'s file"),
                "description": format!("Needs `download` on `{name}` (reading the metadata needs `read`). The bytes come with their `Content-Type`, `Content-Length` and a `Content-Disposition` naming the file."),
                "responses": responses(&[("200", json!({
                    "description": "The file's bytes.",
                    "headers": standard_headers(&["Content-Disposition", "ETag"]),
                    "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}},
                }))], &[400, 401, 403, 404, 429]),
            }), &sample),
        }));
    }
}

/// Links from a create's answer to the operations on the new record, so
/// readers (and stateful test tools) see where its `id` goes next.
fn with_links(mut operation: Value, resource: &Resource, type_name: &str) -> Value {
    let mut links = Map::new();
    for (action, operation_id) in [
        (Action::Read, format!("get{type_name}")),
        (Action::Update, format!("update{type_name}")),
        (Action::Delete, format!("delete{type_name}")),
        (Action::Download, format!("download{type_name}Content")),
    ] {
        if resource.supports(action) {
            links.insert(
                operation_id.clone(),
                json!({
                    "operationId": operation_id,
                    "parameters": {"id": "$response.body#/id"},
                    "description": format!("The new {}'s id.", resource.singular()),
                }),
            );
        }
    }
    operation["responses"]["201"]["links"] = Value::Object(links);
    operation
}

/// A small update touching one field that needs no other record.
fn update_example(resource: &Resource) -> Value {
    let example = schema::create_example(resource);
    let chosen = resource
        .fields
        .iter()
        .filter(|f| f.writable && example.get(f.name).is_some())
        .max_by_key(|f| (matches!(f.kind, FieldKind::Choice(_)), !f.required))
        .map(|f| f.name);
    let mut body = Map::new();
    if let Some(name) = chosen
        && let Some(value) = example.get(name)
    {
        body.insert(name.to_owned(), value.clone());
    }
    Value::Object(body)
}

fn upload_operation(resource: &Resource, type_name: &str) -> Value {
    let employees = tessera_core::resources::resource("employees");
    let employee_id = employees.map(schema::example_id).unwrap_or_default();
    let sample = Sample::new(
        "POST",
        format!("/api/v1/{}", resource.name),
        Credential::ApiKey,
    )
    .header("Idempotency-Key", "9d2e4f6a-1b3c-4d5e-8f7a-6b5c4d3e2f1a")
    .body(Body::Upload {
        file_name: "contract.pdf",
        parts: vec![
            ("employee_id", employee_id),
            ("title", "Employment contract".to_owned()),
        ],
    });
    let employee_field = resource
        .field("employee_id")
        .map(|f| schema::field(f, false))
        .unwrap_or_else(|| json!({"type": "string"}));
    with_sample(
        json!({
            "operationId": format!("create{type_name}"),
            "tags": [resource.title],
            "summary": "Upload a document",
            "description": "A `multipart/form-data` upload with the parts `file`, `employee_id` and `title`. The content type is taken from the file part when it declares one, otherwise sniffed from the bytes; the size and SHA-256 are recorded. Files over the server's document limit (10 MiB unless configured) are refused with 413. Needs `create` on `documents`.",
            "parameters": [reference("parameters", "IdempotencyKey"), reference("parameters", "XOrganization")],
            "requestBody": {"required": true, "content": {"multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "employee_id", "title"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream", "description": "The file's bytes; its file name is kept."},
                        "employee_id": employee_field,
                        "title": {"type": "string", "minLength": 1, "maxLength": tessera_core::records::MAX_TEXT_CHARS},
                    },
                },
            }}},
            "responses": responses(
                &[("201", json_answer("The document's metadata.", type_name, &["Location", "ETag", "Idempotent-Replayed"]))],
                &[400, 401, 403, 409, 413, 415, 429],
            ),
        }),
        &sample,
    )
}

fn filter_parameter(resource: &Resource, field: &Field) -> Value {
    let mut value = schema::field(field, false);
    if let FieldKind::References(target) = field.kind
        && let Some(target) = tessera_core::resources::resource(target)
    {
        value = json!({"type": "string", "pattern": schema::id_pattern(target.id_prefix)});
    }
    json!({
        "name": field.name,
        "in": "query",
        "required": false,
        "description": format!("Only {} whose `{}` equals this value.", resource.title.to_lowercase(), field.name),
        "schema": value,
    })
}

fn key_management_paths(paths: &mut Map<String, Value>) {
    let basic = json!([{"BasicAuth": []}]);
    let tags = json!(["Key management"]);
    let example_body = json!({
        "name": "calendar sync",
        "permissions": {"employees": {"actions": ["read"], "fields": ["id", "first_name", "last_name", "start_date", "end_date"]}},
        "expires_at": "2027-01-01T00:00:00Z",
        "ip_allowlist": ["203.0.113.0/24"],
    });
    let create = Sample::new("POST", "/api/v1/api-keys".to_owned(), Credential::Password)
        .body(Body::Json(example_body));
    let list = Sample::new(
        "GET",
        "/api/v1/api-keys?limit=50".to_owned(),
        Credential::Password,
    );
    let show = Sample::new(
        "GET",
        "/api/v1/api-keys/key_01jdq3k9m2x8v7c6b5n4t3r2s1".to_owned(),
        Credential::Password,
    );
    let revoke = Sample::new(
        "DELETE",
        "/api/v1/api-keys/key_01jdq3k9m2x8v7c6b5n4t3r2s1".to_owned(),
        Credential::Password,
    );
    let revoke_all = Sample::new(
        "POST",
        "/api/v1/api-keys/revoke-all".to_owned(),
        Credential::Password,
    )
    .body(Body::Json(json!({"confirm": "your-organization-slug"})));
    paths.insert("/api/v1/api-keys".to_owned(), json!({
        "post": with_sample(json!({
            "operationId": "createApiKey",
            "tags": tags,
            "summary": "Create an API key",
            "description": "The answer is the only place the raw `key` appears: store it now. Without `permissions` or `role` the key can do what its owner can; an explicit grant may not exceed the creator's own.",
            "security": basic,
            "requestBody": {"required": true, "content": {"application/json": {"schema": reference("schemas", "ApiKeyCreate")}}},
            "responses": responses(&[("201", json_answer("The new key, with its raw value this once.", "ApiKeyCreated", &["Location"]))], &[400, 401, 403, 409, 413, 415, 429]),
        }), &create),
        "get": with_sample(json!({
            "operationId": "listApiKeys",
            "tags": tags,
            "summary": "List API keys",
            "description": "Administrators see every key of their organisation; others see their own.",
            "security": basic,
            "parameters": [reference("parameters", "Limit"), reference("parameters", "KeyCursor")],
            "responses": responses(&[("200", json_answer("One page of keys.", "ApiKeyList", &[]))], &[400, 401, 429]),
        }), &list),
    }));
    paths.insert("/api/v1/api-keys/{id}".to_owned(), json!({
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "key_01jdq3k9m2x8v7c6b5n4t3r2s1"}],
        "get": with_sample(json!({
            "operationId": "getApiKey",
            "tags": tags,
            "summary": "Get an API key",
            "security": basic,
            "responses": responses(&[("200", json_answer("The key (never its raw value).", "ApiKey", &[]))], &[401, 404, 429]),
        }), &show),
        "delete": with_sample(json!({
            "operationId": "revokeApiKey",
            "tags": tags,
            "summary": "Revoke an API key",
            "description": "Takes effect at once on every instance. Revoking a revoked key is harmless.",
            "security": basic,
            "responses": responses(&[("204", no_content("Revoked."))], &[401, 404, 429]),
        }), &revoke),
    }));
    paths.insert("/api/v1/api-keys/revoke-all".to_owned(), json!({
        "post": with_sample(json!({
            "operationId": "revokeAllApiKeys",
            "tags": tags,
            "summary": "Revoke every API key of the organisation",
            "description": "Irreversible. Administrators only; `confirm` must be the organisation's slug.",
            "security": basic,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["confirm"],
                "properties": {"confirm": {"type": "string", "description": "The organisation's slug."}},
                "additionalProperties": false,
            }}}},
            "responses": responses(&[("200", json!({
                "description": "How many keys were revoked.",
                "headers": standard_headers(&[]),
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["revoked"],
                    "properties": {"revoked": {"type": "integer", "minimum": 0}},
                }}},
            }))], &[400, 401, 403, 413, 415, 429]),
        }), &revoke_all),
    }));
}

fn connected_client_paths(paths: &mut Map<String, Value>) {
    let basic = json!([{"BasicAuth": []}]);
    let tags = json!(["Connected clients"]);
    let client_path = "/api/v1/connected-clients/cli_01jdq3k9m2x8v7c6b5n4t3r2s1/block";
    let list = Sample::new(
        "GET",
        "/api/v1/connected-clients".to_owned(),
        Credential::Password,
    );
    let block = Sample::new("PUT", client_path.to_owned(), Credential::Password);
    let unblock = Sample::new("DELETE", client_path.to_owned(), Credential::Password);
    paths.insert("/api/v1/connected-clients".to_owned(), json!({
        "get": with_sample(json!({
            "operationId": "listConnectedClients",
            "tags": tags,
            "summary": "List the API clients that used the organisation's keys",
            "description": "Every client that sent a request with one of the organisation's keys (first and last use, request count, the keys it used), and clients the organisation blocked before they connected. Most recently used first. Counts are written about once a second.",
            "security": basic,
            "responses": responses(&[("200", json_answer("The organisation's connected clients.", "ConnectedClientList", &[]))], &[401, 403, 429]),
        }), &list),
    }));
    paths.insert("/api/v1/connected-clients/{client_id}/block".to_owned(), json!({
        "parameters": [{"name": "client_id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "cli_01jdq3k9m2x8v7c6b5n4t3r2s1"}],
        "put": with_sample(json!({
            "operationId": "blockConnectedClient",
            "tags": tags,
            "summary": "Block an API client for this organisation",
            "description": "From the next request on, on every instance, the client's requests with this organisation's keys fail with `403 api_client_blocked`; its requests for other organisations are unaffected, and the keys keep working without the client. Blocking a blocked client changes nothing. Audited.",
            "security": basic,
            "responses": responses(&[("200", json_answer("The client as the organisation now sees it.", "ConnectedClient", &[]))], &[401, 403, 404, 429]),
        }), &block),
        "delete": with_sample(json!({
            "operationId": "unblockConnectedClient",
            "tags": tags,
            "summary": "Unblock an API client for this organisation",
            "description": "Takes effect from the next request on every instance. Audited.",
            "security": basic,
            "responses": responses(&[("200", json_answer("The client as the organisation now sees it.", "ConnectedClient", &[]))], &[401, 403, 404, 429]),
        }), &unblock),
    }));
}

fn leaked_keys_path() -> Value {
    let sample = Sample::new(
        "POST",
        "/api/v1/leaked-keys".to_owned(),
        Credential::Nothing,
    )
    .body(Body::Json(
        json!({"key": "sk_…", "source": "https://example.com/where-it-was-found"}),
    ));
    json!({"post": with_sample(json!({
        "operationId": "reportLeakedKey",
        "tags": ["Leaked keys"],
        "summary": "Report a leaked key",
        "description": "Anyone may report a key; if it is a Tessera key it is revoked and the report audited. The answer is the same whether or not the key existed.",
        "security": [],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["key"],
            "properties": {
                "key": {"type": "string", "description": "The key as found."},
                "source": {"type": ["string", "null"], "description": "Where it was found, e.g. a repository URL."},
            },
            "additionalProperties": false,
        }}}},
        "responses": responses(&[("202", json!({
            "description": "Received.",
            "headers": standard_headers(&[]),
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {"status": {"const": "received"}, "message": {"type": "string"}},
            }}},
        }))], &[400, 413, 415, 429]),
    }), &sample)})
}

fn components() -> Value {
    let mut schemas = Map::new();
    schemas.insert("Problem".to_owned(), problem_schema());
    schemas.insert("Permissions".to_owned(), permissions_schema());
    for resource in RESOURCES {
        let type_name = resource.type_name();
        schemas.insert(type_name.clone(), schema::record(resource));
        schemas.insert(
            format!("{type_name}List"),
            json!({
                "type": "object",
                "required": ["data", "next_cursor"],
                "properties": {
                    "data": {"type": "array", "items": reference("schemas", &type_name)},
                    "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last page."},
                },
                "additionalProperties": false,
            }),
        );
        if resource.supports(Action::Create) && resource.name != "documents" {
            schemas.insert(format!("{type_name}Create"), schema::create_body(resource));
        }
        if resource.supports(Action::Update) {
            schemas.insert(format!("{type_name}Update"), schema::update_body(resource));
        }
    }
    key_schemas(&mut schemas);

    let mut parameters = Map::new();
    parameters.insert("Limit".to_owned(), json!({
        "name": "limit", "in": "query", "required": false,
        "description": format!("Records per page, 1–{MAX_LIMIT} (default {DEFAULT_LIMIT})."),
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    }));
    parameters.insert(
        "Cursor".to_owned(),
        json!({
            "name": "cursor", "in": "query", "required": false,
            "description": "The `next_cursor` of the previous page.",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
        }),
    );
    parameters.insert(
        "KeyCursor".to_owned(),
        json!({
            "name": "cursor", "in": "query", "required": false,
            "description": "The `next_cursor` of the previous page.",
            "schema": {"type": "string"},
        }),
    );
    parameters.insert(
        "UpdatedSince".to_owned(),
        json!({
            "name": "updated_since", "in": "query", "required": false,
            "description": "Only records created or changed at or after this RFC 3339 time.",
            "schema": {"type": "string", "format": "date-time"},
            "example": "2026-01-01T00:00:00Z",
        }),
    );
    parameters.insert("IdempotencyKey".to_owned(), json!({
        "name": "Idempotency-Key", "in": "header", "required": false,
        "description": "Any unique string (a UUID is ideal), 1–255 visible ASCII characters. Retrying with the same key and body within 24 hours returns the first answer instead of creating again.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    }));
    parameters.insert("IfMatch".to_owned(), json!({
        "name": "If-Match", "in": "header", "required": false,
        "description": "The `ETag` of the version you read; the update is refused with 412 if the record changed since.",
        "schema": {"type": "string"},
        "example": "\"1\"",
    }));
    parameters.insert("XOrganization".to_owned(), json!({
        "name": "X-Organization", "in": "header", "required": false,
        "description": "The organisation (slug) this request acts for, when an integration sends several keys.",
        "schema": {"type": "string"},
    }));
    for resource in RESOURCES {
        let type_name = resource.type_name();
        let names: Vec<&str> = resource.fields.iter().map(|f| f.name).collect();
        parameters.insert(
            format!("{type_name}Id"),
            json!({
                "name": "id", "in": "path", "required": true,
                "description": format!("The {}'s id.", resource.singular()),
                "schema": {"type": "string", "pattern": schema::id_pattern(resource.id_prefix)},
                "example": schema::example_id(resource),
            }),
        );
        parameters.insert(format!("{type_name}Fields"), json!({
            "name": "fields", "in": "query", "required": false,
            "description": "Only these fields (comma-separated), within what the key may read. `id` is always included.",
            "style": "form", "explode": false,
            "schema": {"type": "array", "items": {"enum": names}, "uniqueItems": true},
        }));
    }

    json!({
        "securitySchemes": {
            "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-KEY", "description": "An API key (`sk_…`). Several keys, one per organisation, may be sent comma-separated or in repeated headers together with `X-API-Client`."},
            "BearerKey": {"type": "http", "scheme": "bearer", "description": "The same API key as `Authorization: Bearer sk_…`."},
            "ApiClient": {"type": "apiKey", "in": "header", "name": "X-API-Client", "description": "An integration's client credential (`ck_…`). It grants nothing alone; it accompanies the keys of the organisations the integration acts for."},
            "BasicAuth": {"type": "http", "scheme": "basic", "description": "A console username and password; only for key management."},
        },
        "schemas": schemas,
        "parameters": parameters,
        "headers": headers(),
        "responses": problem_responses(),
    })
}

fn headers() -> Value {
    json!({
        "X-Request-Id": {"description": "This request's id; an error's `request_id` equals it.", "required": true, "schema": {"type": "string"}},
        "RateLimit": {"description": "The organisation's remaining budget: `\"org\";r=<remaining>;t=<seconds to reset>`.", "schema": {"type": "string"}},
        "RateLimit-Policy": {"description": "The organisation's policy: `\"org\";q=<burst>;w=<window seconds>`.", "schema": {"type": "string"}},
        "Retry-After": {"description": "Seconds to wait before retrying.", "required": true, "schema": {"type": "string", "pattern": "^[0-9]+$"}},
        "ETag": {"description": "The record's version, for `If-Match`.", "schema": {"type": "string"}},
        "Location": {"description": "The new resource's URL.", "required": true, "schema": {"type": "string"}},
        "Idempotent-Replayed": {"description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.", "schema": {"type": "string", "enum": ["true"]}},
        "Content-Disposition": {"description": "`attachment` with the file's name.", "schema": {"type": "string"}},
    })
}

fn problem_schema() -> Value {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    json!({
        "type": "object",
        "description": "An RFC 9457 problem.",
        "required": ["type", "title", "status", "detail", "message", "code", "request_id"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "What went wrong and what to do, for people."},
            "message": {"type": "string", "description": "The same sentence as `detail`."},
            "code": {"type": "string", "enum": codes, "description": "Stable; match on this."},
            "request_id": {"type": "string"},
            "details": {"description": "Specifics, such as the refused fields or the missing permission."},
        },
    })
}

fn problem_responses() -> Value {
    let mut statuses: Vec<u16> = ErrorCode::ALL.iter().map(|c| c.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let mut map = Map::new();
    for status in statuses {
        let codes: Vec<ErrorCode> = ErrorCode::ALL
            .into_iter()
            .filter(|c| c.status() == status)
            .collect();
        let mut examples = Map::new();
        for code in &codes {
            examples.insert(code.as_str().to_owned(), json!({"value": {
                "type": format!("https://tessera.dev/problems/{}", code.as_str().replace('_', "-")),
                "title": code.title(),
                "status": status,
                "detail": code.title(),
                "message": code.title(),
                "code": code.as_str(),
                "request_id": "req_01jdq3k9m2x8v7c6b5n4t3r2s1",
            }}));
        }
        let names: Vec<String> = codes.iter().map(|c| format!("`{}`", c.as_str())).collect();
        let mut headers = Map::new();
        headers.insert(
            "X-Request-Id".to_owned(),
            reference("headers", "X-Request-Id"),
        );
        if status == 429 {
            headers.insert(
                "Retry-After".to_owned(),
                reference("headers", "Retry-After"),
            );
            headers.insert("RateLimit".to_owned(), reference("headers", "RateLimit"));
            headers.insert(
                "RateLimit-Policy".to_owned(),
                reference("headers", "RateLimit-Policy"),
            );
        }
        map.insert(
            problem_response_name(status).to_owned(),
            json!({
                "description": format!("A problem: {}.", names.join(", ")),
                "headers": headers,
                "content": {"application/problem+json": {
                    "schema": reference("schemas", "Problem"),
                    "examples": examples,
                }},
            }),
        );
    }
    Value::Object(map)
}

fn permissions_schema() -> Value {
    let properties: Map<String, Value> = RESOURCES
        .iter()
        .map(|resource| {
            let actions: Vec<&str> = resource.actions.iter().map(|a| a.as_str()).collect();
            let fields: Vec<&str> = resource.fields.iter().map(|f| f.name).collect();
            (resource.name.to_owned(), json!({
                "type": "object",
                "required": ["actions"],
                "properties": {
                    "actions": {"type": "array", "items": {"enum": actions}, "uniqueItems": true},
                    "fields": {"type": ["array", "null"], "items": {"enum": fields}, "uniqueItems": true, "description": "null: every field."},
                },
                "additionalProperties": false,
            }))
        })
        .collect();
    json!({
        "type": "object",
        "description": "Per resource, the actions allowed and the fields visible (`null` or absent: all).",
        "properties": properties,
        "additionalProperties": false,
    })
}

fn key_schemas(schemas: &mut Map<String, Value>) {
    let owner = json!({
        "type": "object",
        "required": ["type", "name"],
        "properties": {"type": {"enum": ["user", "bot"]}, "name": {"type": "string"}},
    });
    let rate_limit = json!({
        "type": "object",
        "required": ["per_second", "burst"],
        "properties": {"per_second": {"type": "integer", "minimum": 1}, "burst": {"type": "integer", "minimum": 1}},
    });
    let nullable_time = json!({"type": ["string", "null"], "format": "date-time"});
    let common = json!({
        "id": {"type": "string"},
        "name": {"type": "string"},
        "hint": {"type": "string", "description": "The key's last characters, to recognise it."},
        "owner": owner,
        "permissions": {"oneOf": [reference("schemas", "Permissions"), {"type": "null"}], "description": "The key's own grant; null: what its owner or role may do."},
        "role": {"type": ["string", "null"]},
        "expires_at": nullable_time,
        "ip_allowlist": {"type": ["array", "null"], "items": {"type": "string"}},
        "client_id": {"type": ["string", "null"]},
        "rate_limit": {"oneOf": [rate_limit, {"type": "null"}]},
        "created_at": {"type": "string", "format": "date-time"},
    });
    let mut key = common.clone();
    for (name, value) in [
        ("last_used_at", nullable_time.clone()),
        ("last_used_ip", json!({"type": ["string", "null"]})),
        ("revoked_at", nullable_time.clone()),
        ("status", json!({"enum": ["active", "expired", "revoked"]})),
    ] {
        key[name] = value;
    }
    let mut created = common.clone();
    created["key"] = json!({"type": "string", "description": "The raw key. Shown only here."});
    let names = |map: &Value| -> Vec<String> {
        map.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    schemas.insert(
        "ApiKey".to_owned(),
        json!({"type": "object", "required": names(&key), "properties": key}),
    );
    schemas.insert(
        "ApiKeyCreated".to_owned(),
        json!({"type": "object", "required": names(&created), "properties": created}),
    );
    schemas.insert("ConnectedClient".to_owned(), json!({
        "type": "object",
        "required": ["client_id", "name", "first_used_at", "last_used_at", "request_count", "key_ids", "blocked", "blocked_at"],
        "properties": {
            "client_id": {"type": "string", "description": "The client's public id (`cli_…`)."},
            "name": {"type": "string", "description": "The integrating company's name."},
            "first_used_at": nullable_time.clone(),
            "last_used_at": nullable_time.clone(),
            "request_count": {"type": "integer", "minimum": 0},
            "key_ids": {"type": "array", "items": {"type": "string"}, "description": "The organisation's keys the client has used."},
            "blocked": {"type": "boolean"},
            "blocked_at": nullable_time.clone(),
        },
    }));
    schemas.insert(
        "ConnectedClientList".to_owned(),
        json!({
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "array", "items": reference("schemas", "ConnectedClient")}},
        }),
    );
    schemas.insert(
        "ApiKeyList".to_owned(),
        json!({
            "type": "object",
            "required": ["data", "next_cursor"],
            "properties": {
                "data": {"type": "array", "items": reference("schemas", "ApiKey")},
                "next_cursor": {"type": ["string", "null"]},
            },
        }),
    );
    schemas.insert("ApiKeyCreate".to_owned(), json!({
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "bot": {"type": ["string", "null"], "description": "Owner: a bot user of the organisation (administrators only). Default: you."},
            "permissions": reference("schemas", "Permissions"),
            "role": {"type": "string", "description": "A role name; exclusive with permissions."},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "ip_allowlist": {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "CIDR ranges or addresses, IPv4 or IPv6."},
            "client_id": {"type": ["string", "null"], "description": "Bind the key to an API client (`cli_…`): it then works only with that client's credential."},
            "custom_key": {"type": "string", "description": "Use this GUID as the key instead of a generated one (for migrations)."},
            "rate_limit": rate_limit,
        },
        "additionalProperties": false,
    }));
    schemas.insert("CurrentKey".to_owned(), json!({
        "type": "object",
        "required": ["id", "name", "organization", "owner", "client", "permissions", "expires_at", "ip_allowlist", "rate_limit"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "organization": {"type": "string", "description": "The organisation's slug."},
            "owner": owner,
            "client": {"type": ["string", "null"], "description": "The API client of this request, if one was sent."},
            "permissions": reference("schemas", "Permissions"),
            "expires_at": nullable_time,
            "ip_allowlist": {"type": ["array", "null"], "items": {"type": "string"}},
            "rate_limit": rate_limit,
        },
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

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
