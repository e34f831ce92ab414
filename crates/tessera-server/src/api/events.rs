//! `GET /api/v1/events`: the events feed (SPEC §9). The record events of
//! the key's organisation, oldest first in commit order, limited to the
//! resources and fields the key may read; a client follows `next_cursor`
//! and sees every change exactly once (docs/sync.md).

use super::extract::ApiKeyAuth;
use super::json::Json;
use super::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::usage::{FieldsRead, FieldsReturned};
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use tessera_core::ErrorCode;
use tessera_core::permissions::{Access, Action};
use tessera_core::resources;
use tessera_core::webhooks::feed;
use tessera_core::webhooks::{EventData, EventFilter, RecordChange};
use tessera_store::events::{self as store, FeedQuery, StoredEvent};
use tessera_store::format_ms;

/// How many rounds of `limit + 1` events one request examines at most
/// before answering with what it found: a key that can see few of many
/// events still gets a prompt answer, and its cursor moves on.
const SCAN_ROUNDS: usize = 5;

/// `after=now`: the position of the newest event, to follow from there.
const NOW: &str = "now";

/// Key-authenticated: `super::key_authenticated` puts it behind
/// `authenticate`.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(feed))
}

#[derive(Serialize)]
struct FeedPage {
    data: Vec<FeedEvent>,
    next_cursor: String,
    /// More events are available at once after `next_cursor`.
    has_more: bool,
}

#[derive(Serialize)]
struct FeedEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created_at: String,
    data: Value,
}

async fn feed(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let params = FeedParams::parse(&params)?;
    let access = &auth.verdict.key.effective;
    let selection = feed::select(&params.types, |r| access.allows(r.name, Action::Read));
    if !selection.unreadable.is_empty() {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            format!(
                "This API key may not read {}, so it cannot follow their events.",
                selection.unreadable.join(", ")
            ),
        )
        .with_details(json!({"resources": selection.unreadable, "action": "read"})));
    }
    let organization_id = auth.verdict.key.organization_id.as_str();
    let cursor_key = state.cursor_key().await?;
    let db = state.db();
    let start = match params.after.as_deref() {
        None => 0,
        // Pruning may have removed every event; the newest position is
        // still past what was pruned.
        Some(NOW) => store::newest(db, organization_id)
            .await?
            .max(store::pruned_through(db, organization_id).await?),
        Some(cursor) => {
            let position = cursor_key
                .position(organization_id, cursor)
                .ok_or_else(|| invalid("after is not a cursor this feed returned."))?;
            if position < store::pruned_through(db, organization_id).await? {
                return Err(ApiError::new(
                    ErrorCode::CursorExpired,
                    "Events after this cursor are past their retention and were deleted. \
                     Sync again from a full load, then follow the feed from a new cursor.",
                ));
            }
            position
        }
    };
    let scan = Scan {
        db,
        organization_id,
        event_types: &selection.event_types,
        limit: params.limit,
        access,
    };
    let (data, position, has_more) = scan.run(start).await?;
    let returned = fields_returned(&data);
    let mut response = Json(FeedPage {
        data,
        next_cursor: cursor_key.cursor(organization_id, position),
        has_more,
    })
    .into_response();
    response.extensions_mut().insert(returned);
    Ok(response)
}

/// The fields the page carried, per resource, for the usage log's field
/// reads: a feed is a read like any other.
fn fields_returned(events: &[FeedEvent]) -> FieldsReturned {
    let mut by_resource: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for event in events {
        let resource = event.data["resource"]
            .as_str()
            .and_then(resources::resource);
        let (Some(resource), Some(record)) = (resource, event.data["record"].as_object()) else {
            continue;
        };
        let fields = by_resource.entry(resource.name).or_default();
        fields.extend(
            record
                .keys()
                .filter_map(|name| resource.field(name).map(|f| f.name)),
        );
    }
    FieldsReturned(
        by_resource
            .into_iter()
            .map(|(resource, fields)| FieldsRead {
                resource,
                fields: fields.into_iter().collect(),
            })
            .collect(),
    )
}

/// One request's walk along the feed.
struct Scan<'a> {
    db: &'a tessera_store::Db,
    organization_id: &'a str,
    event_types: &'a [String],
    limit: usize,
    access: &'a Access,
}

impl Scan<'_> {
    /// The events the key sees after `position`, the position of the last
    /// event examined, and whether more follow.
    async fn run(&self, mut position: i64) -> Result<(Vec<FeedEvent>, i64, bool), ApiError> {
        let fetch = self.limit + 1;
        let mut data = Vec::with_capacity(self.limit);
        for _ in 0..SCAN_ROUNDS {
            let rows = store::after(
                self.db,
                &FeedQuery {
                    organization_id: self.organization_id,
                    after: position,
                    event_types: self.event_types,
                    limit: i64::try_from(fetch).unwrap_or(i64::MAX),
                },
            )
            .await?;
            let exhausted = rows.len() < fetch;
            for row in rows {
                if data.len() == self.limit {
                    return Ok((data, position, true));
                }
                position = row.seq;
                if let Some(event) = self.as_seen(row) {
                    data.push(event);
                }
            }
            if exhausted {
                return Ok((data, position, false));
            }
        }
        Ok((data, position, true))
    }

    /// The event as this key sees it, or `None` when it changed nothing the
    /// key may read.
    fn as_seen(&self, row: StoredEvent) -> Option<FeedEvent> {
        let resource = resources::resource(row.resource.as_deref()?)?;
        let stored: Value = serde_json::from_str(&row.data).ok()?;
        let change = RecordChange::from_stored(resource, &stored)?;
        let readable: Option<&BTreeSet<String>> = self.access.field_restriction(resource.name);
        let data = EventData::Record(change).limited(readable)?;
        Some(FeedEvent {
            id: row.id,
            event_type: row.event_type,
            created_at: format_ms(row.created_at),
            data,
        })
    }
}

/// The feed's query parameters.
struct FeedParams {
    after: Option<String>,
    types: EventFilter,
    limit: usize,
}

impl FeedParams {
    /// Refuses unknown and repeated parameters, a `limit` out of range, and
    /// `types` naming events the feed does not carry.
    fn parse(params: &[(String, String)]) -> Result<FeedParams, ApiError> {
        let mut seen = BTreeSet::new();
        let (mut after, mut types, mut limit) = (None, None, None);
        for (name, value) in params {
            if !seen.insert(name.as_str()) {
                return Err(invalid(format!(
                    "The query parameter '{name}' is given more than once."
                )));
            }
            match name.as_str() {
                "after" => after = Some(value.clone()).filter(|v| !v.is_empty()),
                "types" => types = Some(value.as_str()),
                "limit" => limit = Some(parse_limit(value)?),
                _ => {
                    return Err(invalid(format!(
                        "Unknown query parameter '{name}'; the feed takes after, types and limit."
                    ))
                    .with_details(json!({"unknown_parameters": [name]})));
                }
            }
        }
        let types = feed::parse_types(types).map_err(|bad| {
            let mut problems = Vec::new();
            if !bad.not_in_feed.is_empty() {
                problems.push(format!(
                    "{} are not in the feed (key and client events are sent only to webhooks)",
                    bad.not_in_feed.join(", ")
                ));
            }
            if !bad.unknown.is_empty() {
                problems.push(format!("{} name no event", bad.unknown.join(", ")));
            }
            if problems.is_empty() {
                problems.push("types names no event".to_owned());
            }
            invalid(format!("types: {}.", problems.join("; "))).with_details(json!({
                "not_in_feed": bad.not_in_feed,
                "unknown_types": bad.unknown,
            }))
        })?;
        Ok(FeedParams {
            after,
            types,
            limit: limit.unwrap_or(DEFAULT_LIMIT as usize),
        })
    }
}

fn parse_limit(text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT as usize).contains(n))
        .ok_or_else(|| {
            invalid(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}."
            ))
        })
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, detail)
}
