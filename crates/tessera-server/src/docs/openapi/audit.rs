//! The path and schema of the organisation's audit log (HTTP Basic,
//! administrators).

use super::{json_answer, reference, responses, standard_headers, with_sample};
use crate::docs::samples::{Credential, Sample};
use serde_json::{Map, Value, json};

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

pub(super) fn audit_path(paths: &mut Map<String, Value>) {
    let sample = Sample::new(
        "GET",
        "/api/v1/audit?action=api_key.*&from=2026-12-01".to_owned(),
        Credential::Password,
    );
    let example = json!({
        "data": [{
            "id": "aud_01kbx3k9m2x8v7c6b5n4t3r2s1",
            "time": "2026-12-01T21:17:04.512Z",
            "actor": {"type": "user", "id": "usr_01kbx3f0q4w5e6r7t8y9u0p1a2", "name": "acme-admin"},
            "action": "api_key.created",
            "target": {"id": "key_01kbx3k9m2x8v7c6b5n4t3r2s0", "name": "payroll sync"},
            "ip": "203.0.113.7",
            "details": {"name": "payroll sync", "owner": {"type": "bot", "name": "payroll-co"}},
            "summary": "name: payroll sync; owner: payroll-co (bot)",
        }],
        "next_cursor": "YXVkXzAxa2J4M2s5bTJ4OHY3YzZiNW40dDNyMnMx",
    });
    let csv_example = "id,time,actor,actor_type,action,target_id,target_name,ip,details\r\naud_01kbx3k9m2x8v7c6b5n4t3r2s1,2026-12-01T21:17:04.512Z,acme-admin,user,api_key.created,key_01kbx3k9m2x8v7c6b5n4t3r2s0,payroll sync,203.0.113.7,name: payroll sync; owner: payroll-co (bot)\r\n";
    paths.insert("/api/v1/audit".to_owned(), json!({
        "get": with_sample(json!({
            "operationId": "listAuditEntries",
            "tags": ["Audit log"],
            "summary": "The organisation's audit log, newest first",
            "description": "Who did what, when and from where in the organisation: sign-ins, keys, roles, users and bots, webhooks and settings. The filters are those of the console's audit log page. Each entry names its target as it is called now (`name` is null when it no longer exists) and carries its details both as stored (`details`) and as one line of text (`summary`). With `Accept: text/csv` the same page comes as CSV (the next page's cursor in a `Link` header). Unknown or malformed parameters are refused with 400 naming each one in `details.invalid_parameters`.",
            "security": [{"BasicAuth": []}],
            "parameters": [
                query("from", "Entries at or after this time: a date (its UTC midnight) or an RFC 3339 date-time, e.g. `2026-12-01`.", json!({"type": "string"})),
                query("to", "Entries before this time; a date includes that whole day (UTC), e.g. `2026-12-31`.", json!({"type": "string"})),
                query("action", "One action (`api_key.created`) or a family of actions (`api_key.*`).", json!({"type": "string"})),
                query("actor", "The actor's name (username, bot or operator), ignoring case.", json!({"type": "string", "maxLength": 100})),
                reference("parameters", "Limit"),
                reference("parameters", "Cursor"),
            ],
            "responses": responses(&[("200", {
                let mut answer = json_answer("One page of the audit log.", "AuditEntryList", &[]);
                answer["content"]["application/json"]["example"] = example;
                answer["content"]["text/csv"] = json!({"schema": {"type": "string"}, "example": csv_example});
                answer["headers"] = standard_headers(&[]);
                answer
            })], &[400, 401, 403, 429]),
        }), &sample),
    }));
}

pub(super) fn audit_schemas(schemas: &mut Map<String, Value>) {
    schemas.insert("AuditEntryList".to_owned(), json!({
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "time", "actor", "action", "target", "ip", "details", "summary"],
                "properties": {
                    "id": {"type": "string"},
                    "time": {"type": "string", "format": "date-time"},
                    "actor": {
                        "type": "object",
                        "required": ["type", "id", "name"],
                        "properties": {
                            "type": {"type": "string", "description": "`user`, `bot`, `operator`, `api_key`, `api_client`, `system`…"},
                            "id": {"type": ["string", "null"]},
                            "name": {"type": "string"},
                        },
                    },
                    "action": {"type": "string", "description": "A dotted action name, e.g. `api_key.created`."},
                    "target": {
                        "type": ["object", "null"],
                        "required": ["id", "name"],
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": ["string", "null"], "description": "The target's current name; null when it no longer exists."},
                        },
                    },
                    "ip": {"type": ["string", "null"]},
                    "details": {"type": ["object", "null"], "description": "What the action recorded, as stored.", "additionalProperties": true},
                    "summary": {"type": "string", "description": "The details as one line of text, as the console shows them."},
                },
            }},
            "next_cursor": {"type": ["string", "null"]},
        },
    }));
}
