//! The document's components: schemas, parameters, headers, security
//! schemes and the problem responses every operation refers to.

use super::{clients, keys, problem_response_name, reference, webhooks};
use crate::api::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use serde_json::{Map, Value, json};
use tessera_core::ErrorCode;
use tessera_core::permissions::Action;
use tessera_core::resources::RESOURCES;
use tessera_core::schema;

pub(super) fn components() -> Value {
    json!({
        "securitySchemes": {
            "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-KEY", "description": "An API key (`sk_…`). Several keys (at most 10), one per organisation, may be sent comma-separated or in repeated headers, only together with `X-API-Client`; every one of them must be valid."},
            "BearerKey": {"type": "http", "scheme": "bearer", "description": "The same API key as `Authorization: Bearer sk_…`."},
            "ClientCredential": {"type": "apiKey", "in": "header", "name": "X-API-Client", "description": "An integration's client credential (`ck_…`). It grants nothing alone; it accompanies the keys of the organisations the integration acts for."},
            "BasicAuth": {"type": "http", "scheme": "basic", "description": "A console username and password; only for key management. An account with two-factor sign-in uses one of its app passwords (created in the console) instead of its password."},
        },
        "schemas": schemas(),
        "parameters": parameters(),
        "headers": headers(),
        "responses": problem_responses(),
    })
}

fn schemas() -> Value {
    let mut schemas = Map::new();
    schemas.insert("Problem".to_owned(), problem_schema());
    schemas.insert("Permissions".to_owned(), permissions_schema());
    schemas.extend(schema::enums());
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
        if resource.supports(Action::Create) && !resource.upload {
            schemas.insert(format!("{type_name}Create"), schema::create_body(resource));
        }
        if resource.supports(Action::Update) {
            schemas.insert(format!("{type_name}Update"), schema::update_body(resource));
        }
    }
    keys::key_schemas(&mut schemas);
    clients::client_schemas(&mut schemas);
    webhooks::webhook_schemas(&mut schemas);
    super::usage::usage_schemas(&mut schemas);
    super::audit::audit_schemas(&mut schemas);
    super::events::event_schemas(&mut schemas);

    Value::Object(schemas)
}

fn parameters() -> Value {
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
        "UpdatedSince".to_owned(),
        json!({
            "name": "updated_since", "in": "query", "required": false,
            "description": "Only records created or changed at or after this RFC 3339 time, such as `2026-01-01T00:00:00Z` (an offset's `+` is sent as `%2B`). Leave it out to list every record.",
            "schema": {"type": "string", "format": "date-time"},
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
    parameters.insert("IfNoneMatch".to_owned(), json!({
        "name": "If-None-Match", "in": "header", "required": false,
        "description": "The `ETag` of the version you hold (or several, comma-separated); if the record is still at that version the answer is 304 with no body.",
        "schema": {"type": "string"},
    }));
    parameters.insert("XOrganization".to_owned(), json!({
        "name": "X-Organization", "in": "header", "required": false,
        "description": "The organisation (slug) this request acts for, when an integration sends several keys.",
        "schema": {"type": "string"},
    }));
    resource_parameters(&mut parameters);
    Value::Object(parameters)
}

/// Each resource's `{id}` path parameter and `fields` query parameter.
fn resource_parameters(parameters: &mut Map<String, Value>) {
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
            "description": "Only these fields (comma-separated, or the parameter repeated). `id` is always included; naming a field the key may not read is refused (403 `field_not_permitted`).",
            "style": "form", "explode": false,
            "schema": {"type": "array", "items": {"enum": names}, "uniqueItems": true},
        }));
    }
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
            "type": {"type": "string", "format": "uri-reference", "description": "This deployment's page about the problem, e.g. `/problems/rate-limited`."},
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
            examples.insert(
                code.as_str().to_owned(),
                json!({"value": {
                    "type": code.type_path(),
                    "title": code.title(),
                    "status": status,
                    "detail": code.title(),
                    "message": code.title(),
                    "code": code.as_str(),
                    "request_id": "req_01jdq3k9m2x8v7c6b5n4t3r2s1",
                }}),
            );
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
