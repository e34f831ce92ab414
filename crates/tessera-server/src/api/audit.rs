//! `GET /api/v1/audit`: the organisation's audit log, newest first, for
//! its administrators over HTTP Basic (an API key is refused like on the
//! key-management API). The filters mirror the console's audit log page;
//! `Accept: text/csv` gives the same page as CSV, with the next cursor in
//! a `Link` header.

use super::json::Json;
use super::pagination::{Page, PageQuery};
use super::usage::params::Params;
use super::usage::{QueryPairs, pairs, wants_csv};
use crate::audit_view::{self, AuditRow, is_action_filter};
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tessera_core::ErrorCode;
use tessera_store::audit::{self, AuditFilter};
use tessera_store::format_ms;

use super::extract::PasswordAuth;

/// The longest actor name the filter takes, as on the console.
const MAX_ACTOR_CHARS: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(audit_log))
}

async fn audit_log(
    State(state): State<AppState>,
    auth: PasswordAuth,
    headers: HeaderMap,
    page: PageQuery,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    if !auth.is_administrator() {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "Only administrators may read the organization's audit log.",
        ));
    }
    let mut params = Params::new(
        pairs(query)?,
        &["from", "to", "action", "actor", "limit", "cursor"],
    );
    let from = params.time("from");
    let until = params.end_time("to");
    if let (Some(from), Some(until)) = (from, until)
        && from >= until
    {
        params.problem("from", "must be before to.".to_owned());
    }
    let action = params.text("action").map(str::to_owned);
    if let Some(action) = &action
        && !is_action_filter(action)
    {
        params.problem(
            "action",
            format!("'{action}' is not an audit action or a family of actions such as api_key.*."),
        );
    }
    let actor = params.text("actor").map(str::to_owned);
    if actor
        .as_ref()
        .is_some_and(|a| a.chars().count() > MAX_ACTOR_CHARS)
    {
        params.problem(
            "actor",
            format!("is longer than {MAX_ACTOR_CHARS} characters."),
        );
    }
    params.finish()?;
    let before = page.after("aud")?;
    let entries = audit::search(
        state.db(),
        &AuditFilter {
            organization_id: Some(&auth.organization_id),
            actor: actor.as_deref(),
            action: action.as_deref(),
            target: None,
            from_ms: from,
            until_ms: until,
            before_id: before.as_deref(),
            after_id: None,
            limit: page.fetch_limit(),
        },
    )
    .await?;
    let (entries, next_cursor) = page.page(entries, |e| &e.id);
    let rows = audit_view::readable(state.db(), entries).await?;
    if wants_csv(&headers) {
        return Ok(csv_answer(&rows, next_cursor.as_deref()));
    }
    Ok(Json(Page {
        data: rows.iter().map(entry_json).collect::<Vec<_>>(),
        next_cursor,
    })
    .into_response())
}

fn entry_json(row: &AuditRow) -> Value {
    let entry = &row.entry;
    let details: Option<Value> = entry
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    json!({
        "id": entry.id,
        "time": format_ms(entry.created_at),
        "actor": {"type": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_name},
        "action": entry.action.as_str(),
        "target": entry.target.as_ref().map(|id| json!({"id": id, "name": row.target_name})),
        "ip": entry.ip,
        "details": details,
        "summary": row.details,
    })
}

fn csv_answer(rows: &[AuditRow], next_cursor: Option<&str>) -> Response {
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        audit_view::csv(rows, false),
    )
        .into_response();
    if let Some(link) = next_cursor
        .and_then(|c| HeaderValue::from_str(&format!("<?cursor={c}>; rel=\"next\"")).ok())
    {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}
