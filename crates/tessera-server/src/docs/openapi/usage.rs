//! The paths and schemas of usage analytics and field access (HTTP Basic,
//! administrators).

use super::{json_answer, reference, responses, standard_headers, with_sample};
use crate::docs::samples::{Credential, Sample};
use serde_json::{Map, Value, json};

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn time_parameter(name: &str, description: &str) -> Value {
    query(
        name,
        description,
        json!({"type": "string", "examples": ["2026-12-01", "2026-12-01T10:00:00Z"]}),
    )
}

pub(super) fn usage_paths(paths: &mut Map<String, Value>) {
    let basic = json!([{"BasicAuth": []}]);
    let tags = json!(["Usage"]);
    let figures = Sample::new(
        "GET",
        "/api/v1/usage?granularity=day&group_by=key".to_owned(),
        Credential::Password,
    );
    let log = Sample::new(
        "GET",
        "/api/v1/usage/requests?status=403&limit=50".to_owned(),
        Credential::Password,
    );
    let field = Sample::new(
        "GET",
        "/api/v1/field-access?resource=employees&field=iban".to_owned(),
        Credential::Password,
    );
    paths.insert("/api/v1/usage".to_owned(), json!({
        "get": with_sample(json!({
            "operationId": "getUsage",
            "tags": tags,
            "summary": "Requests, errors and latency over time",
            "description": "The organisation's API requests per hour or day, optionally per key, client, route template or status. `errors` counts answers with status 400 or above; `p50_ms` and `p95_ms` are the upper bounds of the latency histogram buckets the percentiles fall in. Daily figures come from roll-ups kept 400 days; hourly figures from the raw log (kept `TESSERA_USAGE_RETENTION_DAYS`, default 30) and cover at most 7 days per request. Requests show here within 10 seconds.",
            "security": basic,
            "parameters": [
                time_parameter("from", "Start (inclusive): a date or RFC 3339 date-time. Default: 30 days (hourly: 1 day) before `to`."),
                time_parameter("to", "End (exclusive). Default: now."),
                query("granularity", "Bucket width.", json!({"enum": ["hour", "day"], "default": "day"})),
                query("group_by", "What each row is grouped by; without it, one row per bucket.", json!({"enum": ["key", "client", "route", "status"]})),
            ],
            "responses": responses(&[("200", json_answer("One row per bucket and group with requests.", "UsageSeries", &[]))], &[400, 401, 403, 429]),
        }), &figures),
    }));
    paths.insert("/api/v1/usage/requests".to_owned(), json!({
        "get": with_sample(json!({
            "operationId": "listUsageRequests",
            "tags": tags,
            "summary": "The request log, newest first",
            "description": "Every request under `/api/` with one of the organisation's keys, refused ones included, kept `TESSERA_USAGE_RETENTION_DAYS` (default 30). With `Accept: text/csv` the same page comes as CSV (the next page's cursor in a `Link` header).",
            "security": basic,
            "parameters": [
                query("key_id", "Only this key's requests.", json!({"type": "string"})),
                query("status", "Only answers with this status.", json!({"type": "integer", "minimum": 100, "maximum": 599})),
                query("route", "Only this route template, e.g. `/api/v1/employees/{id}`.", json!({"type": "string"})),
                time_parameter("from", "Requests at or after this time."),
                time_parameter("to", "Requests before this time."),
                reference("parameters", "Limit"),
                reference("parameters", "Cursor"),
            ],
            "responses": responses(&[("200", {
                let mut answer = json_answer("One page of the log.", "UsageRequestList", &[]);
                answer["content"]["text/csv"] = json!({"schema": {"type": "string"}});
                answer["headers"] = standard_headers(&[]);
                answer
            })], &[400, 401, 403, 429]),
        }), &log),
    }));
    paths.insert("/api/v1/field-access".to_owned(), json!({
        "get": with_sample(json!({
            "operationId": "getFieldAccess",
            "tags": tags,
            "summary": "Who can see a field, and who received it",
            "description": "`reach`: the active keys whose effective access (their grant, limited by their owner's current role) reads the field now. `reads`: how many answers carried the field to each key, per day (kept 400 days).",
            "security": basic,
            "parameters": [
                {"name": "resource", "in": "query", "required": true, "schema": {"type": "string"}, "example": "employees"},
                {"name": "field", "in": "query", "required": true, "schema": {"type": "string"}, "example": "iban"},
            ],
            "responses": responses(&[("200", json_answer("The field's reach and reads.", "FieldAccess", &[]))], &[400, 401, 403, 429]),
        }), &field),
    }));
}

pub(super) fn usage_schemas(schemas: &mut Map<String, Value>) {
    let nullable_integer = json!({"type": ["integer", "null"]});
    schemas.insert("UsageSeries".to_owned(), json!({
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "array", "items": {
            "type": "object",
            "required": ["bucket", "group", "requests", "errors", "p50_ms", "p95_ms"],
            "properties": {
                "bucket": {"type": "string", "format": "date-time", "description": "The bucket's start (UTC)."},
                "group": {"type": ["string", "integer", "null"], "description": "Key id, client id, route template or status; null without group_by, or for requests without a key or client."},
                "requests": {"type": "integer", "minimum": 0},
                "errors": {"type": "integer", "minimum": 0},
                "p50_ms": nullable_integer,
                "p95_ms": nullable_integer,
            },
        }}},
    }));
    schemas.insert("UsageRequestList".to_owned(), json!({
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "time", "key_id", "client_id", "method", "route", "status", "latency_ms", "client_ip", "request_id", "fields"],
                "properties": {
                    "id": {"type": "string"},
                    "time": {"type": "string", "format": "date-time"},
                    "key_id": {"type": ["string", "null"]},
                    "client_id": {"type": ["string", "null"]},
                    "method": {"type": "string"},
                    "route": {"type": "string", "description": "The route template; `(unmatched)` when no route matched."},
                    "status": {"type": "integer"},
                    "latency_ms": {"type": "integer", "minimum": 0},
                    "client_ip": {"type": "string"},
                    "request_id": {"type": "string"},
                    "fields": {"type": ["array", "null"], "items": {"type": "string"}, "description": "For data reads, the fields returned."},
                },
            }},
            "next_cursor": {"type": ["string", "null"]},
        },
    }));
    schemas.insert("FieldAccess".to_owned(), json!({
        "type": "object",
        "required": ["resource", "field", "reach", "reads"],
        "properties": {
            "resource": {"type": "string"},
            "field": {"type": "string"},
            "reach": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "name", "owner"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "owner": {"type": "object", "required": ["type", "name"], "properties": {"type": {"enum": ["user", "bot"]}, "name": {"type": "string"}}},
                },
            }},
            "reads": {"type": "array", "items": {
                "type": "object",
                "required": ["key_id", "day", "count"],
                "properties": {
                    "key_id": {"type": "string"},
                    "day": {"type": "string", "format": "date"},
                    "count": {"type": "integer", "minimum": 1},
                },
            }},
        },
    }));
}
