//! The paths and schemas of connected clients (HTTP Basic, administrators).

use super::keys::nullable_time;
use super::{json_answer, reference, responses, with_sample};
use crate::docs::samples::{Credential, Sample};
use serde_json::{Map, Value, json};

pub(super) fn connected_client_paths(paths: &mut Map<String, Value>) {
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

pub(super) fn client_schemas(schemas: &mut Map<String, Value>) {
    let nullable_time = nullable_time();
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
}
