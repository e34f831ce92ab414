//! The events feed: an API key's pull view of the events webhooks push.

use super::{json_answer, reference, responses, with_sample};
use crate::docs::samples::{Credential, Sample};
use serde_json::{Map, Value, json};
use tessera_core::webhooks::events::RECORD_ACTIONS;

const DESCRIPTION: &str = "The record events of the key's organisation (`<resource>.created|updated|deleted`), oldest first, in commit order, kept 30 days. \
The key sees the events of resources it may read, with `data.record` and `changed_fields` limited to the fields it may read; an update that changed none of those fields is left out. Deletions are included (`data.record` is `null`).\n\n\
Follow `next_cursor` with `after`: it is always present, and an empty page returns the cursor to poll with again. Every change appears exactly once, whatever the concurrency of writers. `after=now` starts at the newest event, for a client that has just loaded everything. \
A cursor from another organisation or deployment is 400; one older than the retention is 410 `cursor_expired` (load again, then follow from a new cursor). \
`has_more` is true when more events can be fetched at once. See docs/sync.md for a full sync.";

pub(super) fn events_path(paths: &mut Map<String, Value>) {
    let follow = Sample::new(
        "GET",
        "/api/v1/events?types=employees.*&limit=100".to_owned(),
        Credential::ApiKey,
    );
    paths.insert("/api/v1/events".to_owned(), json!({
        "get": with_sample(json!({
            "operationId": "listEvents",
            "tags": ["Events"],
            "summary": "Changes since a cursor, in commit order",
            "description": DESCRIPTION,
            "parameters": [
                {"name": "after", "in": "query", "required": false,
                 "description": "The `next_cursor` of the previous page, or `now` to start at the newest event. Without it the feed starts at the oldest event kept.",
                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"}},
                {"name": "types", "in": "query", "required": false,
                 "description": "Comma-separated event types or wildcards, such as `employees.*,time-off.created` (`*` for all); leave it out for every event the key may read. Key and client events are not in the feed (400); a resource the key may not read is 403.",
                 "schema": {"type": "string"}},
                reference("parameters", "Limit"),
                reference("parameters", "XOrganization"),
            ],
            "responses": responses(&[("200", json_answer("One page of events.", "EventPage", &[]))], &[400, 401, 403, 410, 429]),
        }), &follow),
    }));
}

pub(super) fn event_schemas(schemas: &mut Map<String, Value>) {
    let types: Vec<String> = tessera_core::resources::RESOURCES
        .iter()
        .flat_map(|r| RECORD_ACTIONS.map(|action| format!("{}.{action}", r.name)))
        .collect();
    schemas.insert("EventPage".to_owned(), json!({
        "type": "object",
        "required": ["data", "next_cursor", "has_more"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "type", "created_at", "data"],
                "properties": {
                    "id": {"type": "string", "description": "The event's id (`evt_…`), the same as in webhook payloads."},
                    "type": {"type": "string", "enum": types},
                    "created_at": {"type": "string", "format": "date-time"},
                    "data": {
                        "type": "object",
                        "required": ["organization", "resource", "id", "record"],
                        "properties": {
                            "organization": {"type": "string"},
                            "resource": {"type": "string"},
                            "id": {"type": "string", "description": "The record's id."},
                            "changed_fields": {"type": "array", "items": {"type": "string"}, "description": "Updates only: the fields whose value changed."},
                            "record": {"type": ["object", "null"], "description": "The record after the change, as the data API shows it to this key; null once deleted."},
                        },
                    },
                },
            }},
            "next_cursor": {"type": "string", "description": "Pass as `after` for the next page; never null."},
            "has_more": {"type": "boolean"},
        },
    }));
}
