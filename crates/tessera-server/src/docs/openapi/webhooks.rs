//! The paths and schemas of webhook endpoints (HTTP Basic, administrators):
//! endpoints, secret rotation, test events, the message log, replay and
//! recovery.

use super::keys::nullable_time;
use super::{json_answer, no_content, reference, responses, standard_headers, with_sample};
use crate::docs::samples::{Body, Credential, Sample};
use serde_json::{Map, Value, json};
use tessera_core::webhooks::events::event_types;

const BASE: &str = "/api/v1/webhook-endpoints";
const EXAMPLE_ID: &str = "wep_01jdq3k9m2x8v7c6b5n4t3r2s1";
const EXAMPLE_MESSAGE: &str = "msg_01jdq3m4n5p6q7r8s9t0v1w2x3";

fn operation(id: &str, summary: &str, description: &str) -> Value {
    json!({
        "operationId": id,
        "tags": ["Webhook endpoints"],
        "summary": summary,
        "description": description,
        "security": [{"BasicAuth": []}],
    })
}

fn sample(method: &'static str, path: String) -> Sample {
    Sample::new(method, path, Credential::Password)
}

fn id_parameter(name: &str, example: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}, "example": example})
}

fn accepted(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "headers": standard_headers(&[]),
        "content": {"application/json": {"schema": schema}},
    })
}

fn json_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": reference("schemas", schema)}}})
}

pub(super) fn webhook_paths(paths: &mut Map<String, Value>) {
    paths.insert(BASE.to_owned(), endpoints_path());
    paths.insert(format!("{BASE}/{{id}}"), endpoint_path());
    paths.insert(format!("{BASE}/{{id}}/rotate-secret"), rotate_path());
    paths.insert(format!("{BASE}/{{id}}/test"), test_path());
    paths.insert(format!("{BASE}/{{id}}/recover"), recover_path());
    paths.insert(format!("{BASE}/{{id}}/messages"), messages_path());
    paths.insert(
        format!("{BASE}/{{id}}/messages/{{message_id}}"),
        message_path(),
    );
    paths.insert(
        format!("{BASE}/{{id}}/messages/{{message_id}}/replay"),
        replay_path(),
    );
}

fn endpoints_path() -> Value {
    let create = sample("POST", BASE.to_owned()).body(Body::Json(json!({
        "url": "https://hooks.example.com/tessera",
        "description": "payroll sync",
        "events": ["employees.*", "time-off.created"],
        "fields": {"employees": ["id", "first_name", "last_name", "status"]},
    })));
    let list = sample("GET", format!("{BASE}?limit=50"));
    let mut post = operation(
        "createWebhookEndpoint",
        "Create a webhook endpoint",
        "The answer holds the signing secret (`whsec_…`); an administrator can read it again in the console, audited. The URL must be https:// and must not resolve to a private, loopback, link-local or otherwise internal address.",
    );
    post["requestBody"] = json_body("WebhookEndpointCreate");
    post["responses"] = responses(
        &[(
            "201",
            json_answer(
                "The endpoint, with its secret.",
                "WebhookEndpointCreated",
                &["Location"],
            ),
        )],
        &[400, 401, 403, 413, 415, 429],
    );
    let mut get = operation(
        "listWebhookEndpoints",
        "List webhook endpoints",
        "Never shows secrets.",
    );
    get["parameters"] = json!([
        reference("parameters", "Limit"),
        reference("parameters", "Cursor")
    ]);
    get["responses"] = responses(
        &[(
            "200",
            json_answer("One page of endpoints.", "WebhookEndpointList", &[]),
        )],
        &[400, 401, 403, 429],
    );
    json!({"post": with_sample(post, &create), "get": with_sample(get, &list)})
}

fn endpoint_path() -> Value {
    let path = format!("{BASE}/{EXAMPLE_ID}");
    let mut get = operation(
        "getWebhookEndpoint",
        "Get a webhook endpoint",
        "Never shows the secret.",
    );
    get["responses"] = responses(
        &[("200", json_answer("The endpoint.", "WebhookEndpoint", &[]))],
        &[401, 403, 404, 429],
    );
    let mut patch = operation(
        "updateWebhookEndpoint",
        "Change a webhook endpoint",
        "Only the members sent change; `fields: null` removes the field limits. `enabled: true` brings back an endpoint Tessera disabled.",
    );
    patch["requestBody"] = json_body("WebhookEndpointUpdate");
    patch["responses"] = responses(
        &[(
            "200",
            json_answer("The endpoint as changed.", "WebhookEndpoint", &[]),
        )],
        &[400, 401, 403, 404, 413, 415, 429],
    );
    let mut delete = operation(
        "deleteWebhookEndpoint",
        "Delete a webhook endpoint",
        "Its messages and attempts go with it.",
    );
    delete["responses"] = responses(&[("204", no_content("Deleted."))], &[401, 403, 404, 429]);
    let patch_sample = sample("PATCH", path.clone()).body(Body::Json(json!({"enabled": false})));
    json!({
        "parameters": [id_parameter("id", EXAMPLE_ID)],
        "get": with_sample(get, &sample("GET", path.clone())),
        "patch": with_sample(patch, &patch_sample),
        "delete": with_sample(delete, &sample("DELETE", path)),
    })
}

fn rotate_path() -> Value {
    let path = format!("{BASE}/{EXAMPLE_ID}/rotate-secret");
    let mut post = operation(
        "rotateWebhookSecret",
        "Rotate the signing secret",
        "Until the overlap ends (default 24 hours, at most 168, 0 for none) every delivery carries two signatures, one per secret, space-separated in `webhook-signature`.",
    );
    post["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {"overlap_hours": {"type": "integer", "minimum": 0, "maximum": 168, "default": 24}},
        "additionalProperties": false,
    }}}});
    post["responses"] = responses(
        &[(
            "200",
            accepted(
                "The new secret.",
                json!({
                    "type": "object",
                    "required": ["id", "secret", "overlap_hours", "previous_secret_valid_until"],
                    "properties": {
                        "id": {"type": "string"},
                        "secret": {"type": "string", "pattern": "^whsec_"},
                        "overlap_hours": {"type": "integer"},
                        "previous_secret_valid_until": nullable_time(),
                    },
                }),
            ),
        )],
        &[400, 401, 403, 404, 413, 415, 429],
    );
    let rotate = sample("POST", path).body(Body::Json(json!({"overlap_hours": 24})));
    json!({"parameters": [id_parameter("id", EXAMPLE_ID)], "post": with_sample(post, &rotate)})
}

fn message_id_answer(description: &str) -> Value {
    accepted(
        description,
        json!({
            "type": "object",
            "required": ["message_id"],
            "properties": {"message_id": {"type": "string"}},
        }),
    )
}

fn test_path() -> Value {
    let mut post = operation(
        "testWebhookEndpoint",
        "Send a test event",
        "Queues a `webhook.test` event for this endpoint, whatever it subscribes to.",
    );
    post["responses"] = responses(
        &[("202", message_id_answer("Queued."))],
        &[401, 403, 404, 429],
    );
    let test = sample("POST", format!("{BASE}/{EXAMPLE_ID}/test"));
    json!({"parameters": [id_parameter("id", EXAMPLE_ID)], "post": with_sample(post, &test)})
}

fn recover_path() -> Value {
    let mut post = operation(
        "recoverWebhookMessages",
        "Recover failed messages",
        "Queues again every message of this endpoint that failed since `since`.",
    );
    post["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["since"],
        "properties": {"since": {"type": "string", "format": "date-time"}},
        "additionalProperties": false,
    }}}});
    post["responses"] = responses(
        &[(
            "202",
            accepted(
                "How many were queued.",
                json!({
                    "type": "object",
                    "required": ["queued"],
                    "properties": {"queued": {"type": "integer", "minimum": 0}},
                }),
            ),
        )],
        &[400, 401, 403, 404, 413, 415, 429],
    );
    let recover = sample("POST", format!("{BASE}/{EXAMPLE_ID}/recover"))
        .body(Body::Json(json!({"since": "2026-12-01T00:00:00Z"})));
    json!({"parameters": [id_parameter("id", EXAMPLE_ID)], "post": with_sample(post, &recover)})
}

fn messages_path() -> Value {
    let mut get = operation(
        "listWebhookMessages",
        "List an endpoint's messages",
        "Newest first.",
    );
    get["parameters"] = json!([
        {"name": "status", "in": "query", "required": false, "schema": {"enum": ["pending", "delivered", "failed"]}},
        {"name": "event_type", "in": "query", "required": false, "description": "Only deliveries of this event type, such as `employees.updated`.", "schema": {"type": "string"}},
        reference("parameters", "Limit"),
        reference("parameters", "Cursor"),
    ]);
    get["responses"] = responses(
        &[(
            "200",
            json_answer("One page of messages.", "WebhookMessageList", &[]),
        )],
        &[400, 401, 403, 404, 429],
    );
    let list = sample("GET", format!("{BASE}/{EXAMPLE_ID}/messages?status=failed"));
    json!({"parameters": [id_parameter("id", EXAMPLE_ID)], "get": with_sample(get, &list)})
}

fn message_path() -> Value {
    let mut get = operation(
        "getWebhookMessage",
        "Get a message with every attempt",
        "Attempts oldest first, each with the HTTP status (or null), latency, error class and the first 2 KiB of the answer.",
    );
    get["responses"] = responses(
        &[(
            "200",
            json_answer("The message.", "WebhookMessageDetail", &[]),
        )],
        &[401, 403, 404, 429],
    );
    let show = sample(
        "GET",
        format!("{BASE}/{EXAMPLE_ID}/messages/{EXAMPLE_MESSAGE}"),
    );
    json!({
        "parameters": [id_parameter("id", EXAMPLE_ID), id_parameter("message_id", EXAMPLE_MESSAGE)],
        "get": with_sample(get, &show),
    })
}

fn replay_path() -> Value {
    let mut post = operation(
        "replayWebhookMessage",
        "Replay a message",
        "Sends it again now with the same `webhook-id`, so receivers that dedupe still do.",
    );
    post["responses"] = responses(
        &[("202", message_id_answer("Queued."))],
        &[401, 403, 404, 429],
    );
    let replay = sample(
        "POST",
        format!("{BASE}/{EXAMPLE_ID}/messages/{EXAMPLE_MESSAGE}/replay"),
    );
    json!({
        "parameters": [id_parameter("id", EXAMPLE_ID), id_parameter("message_id", EXAMPLE_MESSAGE)],
        "post": with_sample(post, &replay),
    })
}

fn endpoint_members() -> Value {
    json!({
        "id": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "description": {"type": "string"},
        "events": {"type": "array", "items": {"type": "string"}},
        "fields": {"type": ["object", "null"], "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "enabled": {"type": "boolean"},
        "status": {"enum": ["active", "disabled"]},
        "disabled_reason": {"enum": ["disabled_by_administrator", "endpoint_gone", "failing_for_5_days", null]},
        "disabled_at": nullable_time(),
        "secret_overlap_ends_at": nullable_time(),
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    })
}

fn request_members() -> Value {
    let types = event_types().join(", ");
    json!({
        "url": {"type": "string", "description": "https:// (http:// only inside the operator's allowed networks)."},
        "description": {"type": "string"},
        "events": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": format!("Event types or wildcards (`employees.*`, `*`; default `[\"*\"]`). Types: {types}.")},
        "fields": {"type": ["object", "null"], "additionalProperties": {"type": "array", "items": {"type": "string"}}, "description": "Per resource, the record fields payloads carry; a resource not named is sent whole."},
        "enabled": {"type": "boolean", "default": true},
    })
}

pub(super) fn webhook_schemas(schemas: &mut Map<String, Value>) {
    let members = endpoint_members();
    let required: Vec<&String> = members
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    schemas.insert(
        "WebhookEndpoint".to_owned(),
        json!({"type": "object", "required": required, "properties": members}),
    );
    let mut created = members.clone();
    created["secret"] = json!({"type": "string", "pattern": "^whsec_"});
    let mut created_required = required.clone();
    let secret = "secret".to_owned();
    created_required.push(&secret);
    schemas.insert(
        "WebhookEndpointCreated".to_owned(),
        json!({"type": "object", "required": created_required, "properties": created}),
    );
    schemas.insert("WebhookEndpointCreate".to_owned(), json!({"type": "object", "required": ["url"], "properties": request_members(), "additionalProperties": false}));
    schemas.insert(
        "WebhookEndpointUpdate".to_owned(),
        json!({"type": "object", "properties": request_members(), "additionalProperties": false}),
    );
    schemas.insert("WebhookEndpointList".to_owned(), list_of("WebhookEndpoint"));
    let message = json!({
        "id": {"type": "string"},
        "event_id": {"type": "string"},
        "event_type": {"type": "string"},
        "status": {"enum": ["pending", "delivered", "failed"]},
        "attempt_count": {"type": "integer", "minimum": 0},
        "next_attempt_at": nullable_time(),
        "created_at": {"type": "string", "format": "date-time"},
        "payload": {"type": "object", "description": "The body sent: `{\"type\", \"timestamp\", \"data\"}`."},
    });
    let message_required: Vec<&String> = message
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    schemas.insert(
        "WebhookMessage".to_owned(),
        json!({"type": "object", "required": message_required, "properties": message}),
    );
    let mut detail = message.clone();
    detail["attempts"] = json!({"type": "array", "items": {
        "type": "object",
        "required": ["at", "status", "latency_ms", "error", "response"],
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "status": {"type": ["integer", "null"]},
            "latency_ms": {"type": "integer"},
            "error": {"enum": [null, "timeout", "connection", "dns", "tls", "refused_address", "http_status"]},
            "response": {"type": "string"},
        },
    }});
    schemas.insert(
        "WebhookMessageDetail".to_owned(),
        json!({"type": "object", "required": ["id", "attempts"], "properties": detail}),
    );
    schemas.insert("WebhookMessageList".to_owned(), list_of("WebhookMessage"));
}

fn list_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": reference("schemas", item)},
            "next_cursor": {"type": ["string", "null"]},
        },
    })
}
