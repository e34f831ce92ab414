//! The paths and schemas of key management (HTTP Basic), the calling
//! key's `/me`, and leak reports.

use super::{json_answer, no_content, reference, responses, standard_headers, with_sample};
use crate::docs::samples::{Body, Credential, Sample};
use serde_json::{Map, Value, json};

fn basic() -> Value {
    json!([{"BasicAuth": []}])
}

fn tags() -> Value {
    json!(["Key management"])
}

const EXAMPLE_KEY_PATH: &str = "/api/v1/api-keys/key_01jdq3k9m2x8v7c6b5n4t3r2s1";

pub(super) fn key_management_paths(paths: &mut Map<String, Value>) {
    paths.insert("/api/v1/api-keys".to_owned(), keys_path());
    paths.insert("/api/v1/api-keys/{id}".to_owned(), key_path());
    paths.insert("/api/v1/api-keys/revoke-all".to_owned(), revoke_all_path());
}

fn keys_path() -> Value {
    let (basic, tags) = (basic(), tags());
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
    json!({
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
            "description": "Administrators see every key of their organisation; others see their own. The list has no filters: any query parameter besides `limit` and `cursor` is refused (400) naming it.",
            "security": basic,
            "parameters": [reference("parameters", "Limit"), reference("parameters", "Cursor")],
            "responses": responses(&[("200", json_answer("One page of keys.", "ApiKeyList", &[]))], &[400, 401, 429]),
        }), &list),
    })
}

fn key_path() -> Value {
    let (basic, tags) = (basic(), tags());
    let show = Sample::new("GET", EXAMPLE_KEY_PATH.to_owned(), Credential::Password);
    let revoke = Sample::new("DELETE", EXAMPLE_KEY_PATH.to_owned(), Credential::Password);
    json!({
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
    })
}

fn revoke_all_path() -> Value {
    let (basic, tags) = (basic(), tags());
    let revoke_all = Sample::new(
        "POST",
        "/api/v1/api-keys/revoke-all".to_owned(),
        Credential::Password,
    )
    .body(Body::Json(json!({"confirm": "your-organization-slug"})));
    json!({
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
    })
}

pub(super) fn leaked_keys_path() -> Value {
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

/// Shared by the key answers and `/me`.
fn owner_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "name"],
        "properties": {"type": {"enum": ["user", "bot"]}, "name": {"type": "string"}},
    })
}

fn rate_limit_schema() -> Value {
    json!({
        "type": "object",
        "required": ["per_second", "burst"],
        "properties": {"per_second": {"type": "integer", "minimum": 1}, "burst": {"type": "integer", "minimum": 1}},
    })
}

pub(super) fn nullable_time() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

pub(super) fn key_schemas(schemas: &mut Map<String, Value>) {
    let (owner, rate_limit, nullable_time) = (owner_schema(), rate_limit_schema(), nullable_time());
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
        (
            "requests_30d",
            json!({"type": "integer", "minimum": 0, "description": "Requests with the key in the last 30 days (today included)."}),
        ),
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
    schemas.insert("CurrentKey".to_owned(), current_key_schema());
}

fn current_key_schema() -> Value {
    let (owner, rate_limit, nullable_time) = (owner_schema(), rate_limit_schema(), nullable_time());
    json!({
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
    })
}
