//! The usage API (SPEC §10): request figures over time, the request log
//! (JSON or CSV), and who can see a field. HTTP Basic, administrators
//! only; an API key is refused like on the key-management API, and every
//! answer is scoped to the administrator's own organisation.

pub(crate) mod params;

use super::extract::PasswordAuth;
use super::json::Json;
use super::pagination::{Page, PageQuery};
use crate::{ApiError, AppState};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use params::Params;
use serde_json::{Value, json};
use tessera_core::ErrorCode;
use tessera_core::usage::{
    DAY_MS, FieldQueryError, Granularity, GroupBy, ROLLUP_RETENTION_DAYS, check_field,
    histogram_quantile, reads_field,
};
use tessera_store::usage::{self as store, LoggedRequest, RequestFilter, SeriesRow};
use tessera_store::{format_ms, now_ms};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/usage", get(usage))
        .route("/api/v1/usage/requests", get(requests))
        .route("/api/v1/field-access", get(field_access))
}

pub(crate) type QueryPairs =
    Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

pub(crate) fn pairs(query: QueryPairs) -> Result<Vec<(String, String)>, ApiError> {
    query
        .map(|Query(pairs)| pairs)
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))
}

/// Usage figures are the organisation's business, not every member's.
fn require_administrator(auth: &PasswordAuth) -> Result<(), ApiError> {
    if auth.is_administrator() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "Only administrators may see the organization's usage.",
        ))
    }
}

/// One bucket of one group: requests, errors (status ≥ 400) and latency
/// percentiles (the upper bound of their histogram bucket).
fn series_json(row: &SeriesRow, group: Option<GroupBy>) -> Value {
    let group = match (group, &row.group) {
        (Some(GroupBy::Status), Some(status)) => json!(status.parse::<u16>().ok()),
        (_, label) => json!(label),
    };
    json!({
        "bucket": format_ms(row.bucket),
        "group": group,
        "requests": row.requests,
        "errors": row.errors,
        "p50_ms": histogram_quantile(&row.latency, 0.5),
        "p95_ms": histogram_quantile(&row.latency, 0.95),
    })
}

async fn usage(
    State(state): State<AppState>,
    auth: PasswordAuth,
    query: QueryPairs,
) -> Result<Json<Value>, ApiError> {
    require_administrator(&auth)?;
    let mut params = Params::new(pairs(query)?, &["from", "to", "granularity", "group_by"]);
    let granularity = params.granularity();
    let group = params.group_by();
    let range = params::range(&mut params, granularity);
    params.finish()?;
    let rows = match granularity {
        Granularity::Day => {
            store::daily_series(state.db(), &auth.organization_id, range, group, None).await?
        }
        Granularity::Hour => {
            store::hourly_series(state.db(), &auth.organization_id, range, group).await?
        }
    };
    let data: Vec<Value> = rows.iter().map(|row| series_json(row, group)).collect();
    Ok(Json(json!({ "data": data })))
}

fn request_json(row: &LoggedRequest) -> Value {
    json!({
        "id": row.id,
        "time": format_ms(row.at),
        "key_id": row.key_id,
        "client_id": row.client_id,
        "method": row.method,
        "route": row.route,
        "status": row.status,
        "latency_ms": row.latency_ms,
        "client_ip": row.client_ip,
        "request_id": row.request_id,
        "fields": row.fields.as_deref().map(|f| f.split(',').filter(|n| !n.is_empty()).collect::<Vec<_>>()),
    })
}

const CSV_COLUMNS: &str =
    "id,time,key_id,client_id,method,route,status,latency_ms,client_ip,request_id,fields";

/// A CSV cell: quoted when it holds a separator, quote or line break, and
/// prefixed with `'` when a spreadsheet would read it as a formula.
pub(crate) fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_row(row: &LoggedRequest) -> String {
    let cells = [
        row.id.clone(),
        format_ms(row.at),
        row.key_id.clone().unwrap_or_default(),
        row.client_id.clone().unwrap_or_default(),
        row.method.clone(),
        row.route.clone(),
        row.status.to_string(),
        row.latency_ms.to_string(),
        row.client_ip.clone(),
        row.request_id.clone(),
        row.fields.clone().unwrap_or_default(),
    ];
    cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|accept| accept.to_ascii_lowercase().contains("text/csv"))
}

async fn requests(
    State(state): State<AppState>,
    auth: PasswordAuth,
    headers: HeaderMap,
    page: PageQuery,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    require_administrator(&auth)?;
    let mut params = Params::new(
        pairs(query)?,
        &["key_id", "status", "route", "from", "to", "limit", "cursor"],
    );
    let status = params.status("status");
    let from = params.time("from");
    let to = params.time("to");
    let key_id = params.text("key_id").map(str::to_owned);
    let route = params.text("route").map(str::to_owned);
    params.finish()?;
    let before = page.after(store::REQUEST_ID_PREFIX)?;
    let rows = store::list_requests(
        state.db(),
        &RequestFilter {
            organization_id: &auth.organization_id,
            key_id: key_id.as_deref(),
            status,
            route: route.as_deref(),
            from,
            to,
            before_id: before.as_deref(),
            limit: page.fetch_limit(),
        },
    )
    .await?;
    let (rows, next_cursor) = page.page(rows, |r| &r.id);
    if wants_csv(&headers) {
        return Ok(csv_answer(&rows, next_cursor.as_deref()));
    }
    Ok(Json(Page {
        data: rows.iter().map(request_json).collect::<Vec<_>>(),
        next_cursor,
    })
    .into_response())
}

/// The page as CSV, the same rows as the JSON answer; the next page's
/// cursor travels in a `Link` header.
fn csv_answer(rows: &[LoggedRequest], next_cursor: Option<&str>) -> Response {
    let mut body = String::with_capacity(128 * (rows.len() + 1));
    body.push_str(CSV_COLUMNS);
    body.push_str("\r\n");
    for row in rows {
        body.push_str(&csv_row(row));
        body.push_str("\r\n");
    }
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Some(link) = next_cursor
        .and_then(|c| HeaderValue::from_str(&format!("<?cursor={c}>; rel=\"next\"")).ok())
    {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// Who can read a field now (`reach`: usable keys whose effective access
/// reads it) and who received it (`reads`: per key and day, as kept).
async fn field_access(
    State(state): State<AppState>,
    auth: PasswordAuth,
    query: QueryPairs,
) -> Result<Json<Value>, ApiError> {
    require_administrator(&auth)?;
    let mut params = Params::new(pairs(query)?, &["resource", "field"]);
    let resource = params.text("resource").unwrap_or_default().to_owned();
    let field = params.text("field").unwrap_or_default().to_owned();
    match check_field(&resource, &field) {
        Ok(()) => {}
        Err(_) if resource.is_empty() => params.problem("resource", "is required.".to_owned()),
        Err(FieldQueryError::UnknownResource) => {
            params.problem(
                "resource",
                format!("'{resource}' is not a resource of the data API."),
            );
        }
        Err(_) if field.is_empty() => params.problem("field", "is required.".to_owned()),
        Err(FieldQueryError::UnknownField) => {
            params.problem("field", format!("'{field}' is not a field of {resource}."));
        }
    }
    params.finish()?;
    let keys = store::key_reach(state.db(), &auth.organization_id).await?;
    let reach: Vec<Value> = keys
        .iter()
        .filter(|key| key.usable && reads_field(&key.effective, &resource, &field))
        .map(|key| {
            json!({
                "id": key.id,
                "name": key.name,
                "owner": {"type": key.owner_kind, "name": key.owner_name},
            })
        })
        .collect();
    let since = now_ms() - ROLLUP_RETENTION_DAYS * DAY_MS;
    let reads: Vec<Value> = store::read_counts(
        state.db(),
        &auth.organization_id,
        (&resource, &field),
        since,
    )
    .await?
    .iter()
    .map(|r| json!({"key_id": r.key_id, "day": day_text(r.day), "count": r.reads}))
    .collect();
    Ok(Json(json!({
        "resource": resource,
        "field": field,
        "reach": reach,
        "reads": reads,
    })))
}

/// A stored UTC midnight as its date, `2026-12-01`.
fn day_text(day: i64) -> String {
    format_ms(day).get(..10).unwrap_or_default().to_owned()
}

/// The number of requests each key made in the last 30 days (today
/// included), from the roll-ups: what key lists and gets show.
pub(crate) async fn requests_30d(
    state: &AppState,
    organization_id: &tessera_core::id::OrganizationId,
) -> Result<std::collections::HashMap<String, i64>, ApiError> {
    let since = now_ms() - 29 * DAY_MS;
    Ok(store::requests_since(state.db(), organization_id, since).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
    }
}
