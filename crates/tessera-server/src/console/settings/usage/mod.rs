//! Settings ▸ Usage: requests per day by status class, error rate,
//! latency percentiles, the busiest keys and routes, for 7, 30 or 90 days;
//! unused keys; who can see a field. Administrators only.

pub mod chart;
mod field_access;
mod unused;

use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::{self, cell};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use tessera_core::id::OrganizationId;
use tessera_core::usage::{DAY_MS, GroupBy, LATENCY_BUCKETS, LatencyHistogram, histogram_quantile};
use tessera_store::usage::{self as store, SeriesRow};
use tessera_store::{StoreError, api_keys, now_ms};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::USAGE, get(overview))
        .route(paths::UNUSED_KEYS, get(unused::unused_keys))
        .route(paths::FIELD_ACCESS, get(field_access::field_access))
}

/// The ranges the page offers, in days.
const RANGES: [i64; 3] = [7, 30, 90];

#[derive(Deserialize)]
pub struct RangeQuery {
    days: Option<String>,
}

impl RangeQuery {
    /// The chosen range; anything but an offered one is the default 30.
    pub fn days(&self) -> i64 {
        self.days
            .as_deref()
            .and_then(|d| d.parse().ok())
            .filter(|d| RANGES.contains(d))
            .unwrap_or(30)
    }
}

/// The first day (UTC midnight) of the `days` ending today.
pub fn first_day(days: i64) -> i64 {
    let today = now_ms().div_euclid(DAY_MS) * DAY_MS;
    today - (days - 1) * DAY_MS
}

/// The requests-per-day chart of an organisation (or one of its keys).
pub async fn daily_chart(
    state: &AppState,
    organization_id: &OrganizationId,
    key_id: Option<&str>,
    days: i64,
) -> Result<Vec<chart::Day>, StoreError> {
    let first = first_day(days);
    let range = (first, first + days * DAY_MS);
    let rows = store::daily_series(
        state.db(),
        organization_id,
        range,
        Some(GroupBy::Status),
        key_id,
    )
    .await?;
    Ok(chart::days_from(&rows, first, days))
}

/// Rows summed per group, busiest first.
fn busiest(rows: &[SeriesRow], most: usize) -> Vec<(String, i64, i64)> {
    let mut sums: HashMap<&str, (i64, i64)> = HashMap::new();
    for row in rows {
        let sum = sums.entry(row.group.as_deref().unwrap_or("")).or_default();
        sum.0 += row.requests;
        sum.1 += row.errors;
    }
    let mut sums: Vec<_> = sums
        .into_iter()
        .map(|(group, (requests, errors))| (group.to_owned(), requests, errors))
        .collect();
    sums.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sums.truncate(most);
    sums
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

fn latency(histogram: &LatencyHistogram, quantile: f64) -> String {
    histogram_quantile(histogram, quantile)
        .map_or_else(|| "—".to_owned(), |ms| format!("≤ {ms} ms"))
}

async fn overview(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(range): Query<RangeQuery>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let days = range.days();
    let organization = member.organization_id;
    let chart_days = daily_chart(&state, organization, None, days).await?;
    let first = first_day(days);
    let span = (first, first + days * DAY_MS);
    let db = state.db();
    let totals = store::daily_series(db, organization, span, None, None).await?;
    let by_key = store::daily_series(db, organization, span, Some(GroupBy::Key), None).await?;
    let by_route = store::daily_series(db, organization, span, Some(GroupBy::Route), None).await?;
    let mut histogram = [0; LATENCY_BUCKETS];
    for row in &totals {
        for (sum, count) in histogram.iter_mut().zip(row.latency) {
            *sum += count;
        }
    }
    let requests: i64 = totals.iter().map(|r| r.requests).sum();
    let errors: i64 = totals.iter().map(|r| r.errors).sum();
    let keys = api_keys::list(db, organization, None, None, 10_000).await?;
    let names: HashMap<&str, &str> = keys
        .iter()
        .map(|k| (k.id.as_str(), k.name.as_str()))
        .collect();
    let body = html! {
        div.page-head {
            h1 { "Usage" }
            div.actions {
                a.button.secondary #unused-keys href=(paths::UNUSED_KEYS) { "Unused keys" }
                a.button.secondary #who-can-see href=(paths::FIELD_ACCESS) { "Who can see a field" }
            }
        }
        nav.ranges aria-label="Range" {
            @for choice in RANGES {
                a href={ (paths::USAGE) "?days=" (choice) } aria-current=[(choice == days).then_some("page")] { "Last " (choice) " days" }
                " "
            }
        }
        section.card {
            dl.facts #usage-facts {
                dt { "Requests" } dd #usage-requests { (requests) }
                dt { "Error rate" } dd #usage-error-rate { (percent(errors, requests)) " (" (errors) " answers with status 400 or above)" }
                dt { "Latency p50" } dd { (latency(&histogram, 0.5)) }
                dt { "Latency p95" } dd { (latency(&histogram, 0.95)) }
                dt { "Records dropped" } dd #usage-dropped {
                    (state.usage().dropped()) " by this server since it started (the recording queue was full)"
                }
            }
            (chart::requests_per_day("usage-chart", &format!("Requests per day, last {days} days"), &chart_days))
        }
        (top_table("top-keys", "Busiest keys", "Key", &busiest(&by_key, 10), |group| html! {
            @if group.is_empty() {
                "Without a key"
            } @else {
                @match names.get(group) {
                    Some(name) => a href=(paths::key(group)) { (name) },
                    None => code { (group) },
                }
            }
        }))
        (top_table("top-routes", "Busiest routes", "Route", &busiest(&by_route, 10), |group| html! { code { (group) } }))
    };
    Ok(page("Usage", &signed_in, Section::Usage, body).into_response())
}

fn top_table(
    id: &str,
    heading: &str,
    column: ui::Column,
    rows: &[(String, i64, i64)],
    label: impl Fn(&str) -> Markup,
) -> Markup {
    html! {
        section.card {
            h2 { (heading) }
            @if rows.is_empty() {
                p { "No requests in this range." }
            } @else {
                (ui::table(id, &[column, "Requests", "Errors"], rows, |(group, requests, errors)| html! {
                    tr {
                        (cell(column, label(group)))
                        (cell("Requests", html! { (requests) }))
                        (cell("Errors", html! { (errors) " (" (percent(*errors, *requests)) ")" }))
                    }
                }))
            }
        }
    }
}
