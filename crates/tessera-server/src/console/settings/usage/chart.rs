//! Requests per day as a server-rendered SVG: one stacked bar per day
//! (2xx, 4xx, 5xx), each with a `<title>` that screen readers and hover
//! read, and the same figures as a table for anyone the chart fails.
//! No script and nothing fetched from elsewhere.

use crate::console::ui::{self, cell, time};
use maud::{Markup, html};
use std::collections::BTreeMap;
use tessera_core::usage::DAY_MS;
use tessera_store::usage::SeriesRow;

/// One day's answers by status class. Everything below 400 counts as
/// success (the API answers 2xx; a rare 3xx is no failure either).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    pub start: i64,
    pub success: i64,
    pub client_errors: i64,
    pub server_errors: i64,
}

impl Day {
    pub fn total(&self) -> i64 {
        self.success + self.client_errors + self.server_errors
    }

    fn describe(&self) -> String {
        format!(
            "{}: {} (2xx {}, 4xx {}, 5xx {})",
            time::date(self.start),
            ui::count(self.total(), "request", "requests"),
            self.success,
            self.client_errors,
            self.server_errors
        )
    }
}

/// Every day of the `days` ending today, with rows grouped by status
/// summed in; days without requests are there, with nothing.
pub fn days_from(rows: &[SeriesRow], first_day: i64, days: i64) -> Vec<Day> {
    let mut by_day: BTreeMap<i64, Day> = (0..days)
        .map(|n| {
            let start = first_day + n * DAY_MS;
            (
                start,
                Day {
                    start,
                    ..Day::default()
                },
            )
        })
        .collect();
    for row in rows {
        let Some(day) = by_day.get_mut(&row.bucket) else {
            continue;
        };
        let status: i64 = row
            .group
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        match status {
            500.. => day.server_errors += row.requests,
            400..=499 => day.client_errors += row.requests,
            _ => day.success += row.requests,
        }
    }
    by_day.into_values().collect()
}

const WIDTH: i64 = 720;
const HEIGHT: i64 = 200;

/// The chart and its table fallback; `id` names both.
pub fn requests_per_day(id: &str, caption: &str, days: &[Day]) -> Markup {
    let busiest = days.iter().map(Day::total).max().unwrap_or(0).max(1);
    let count = i64::try_from(days.len()).unwrap_or(1).max(1);
    let slot = WIDTH / count;
    let bar = (slot * 4 / 5).max(1);
    let total: i64 = days.iter().map(Day::total).sum();
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let height = |n: i64| n * HEIGHT / busiest;
    html! {
        figure.chart {
            svg id=(id) role="img" aria-labelledby={ (title_id) " " (desc_id) }
                viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } preserveAspectRatio="none" {
                title id=(title_id) { (caption) }
                desc id=(desc_id) {
                    (ui::count(total, "request", "requests")) " over " (ui::count(count, "day", "days"))
                    "; the busiest day had " (busiest) "."
                }
                @for (n, day) in days.iter().enumerate() {
                    @let x = i64::try_from(n).unwrap_or(0) * slot + (slot - bar) / 2;
                    @let success = height(day.success);
                    @let client = height(day.client_errors);
                    @let server = height(day.server_errors);
                    g.bar data-day=(time::date(day.start)) data-total=(day.total()) {
                        title { (day.describe()) }
                        rect class="bar-2xx" x=(x) y=(HEIGHT - success) width=(bar) height=(success) {}
                        rect class="bar-4xx" x=(x) y=(HEIGHT - success - client) width=(bar) height=(client) {}
                        rect class="bar-5xx" x=(x) y=(HEIGHT - success - client - server) width=(bar) height=(server) {}
                    }
                }
            }
            figcaption {
                span class="legend legend-2xx" { "2xx" } " "
                span class="legend legend-4xx" { "4xx" } " "
                span class="legend legend-5xx" { "5xx" }
            }
            details {
                summary { "The figures as a table" }
                (ui::table(&format!("{id}-table"), &["Day", "Requests", "2xx", "4xx", "5xx"], days.iter().rev(), |day| html! {
                    tr {
                        (cell("Day", html! { (time::date(day.start)) }))
                        (cell("Requests", html! { (day.total()) }))
                        (cell("2xx", html! { (day.success) }))
                        (cell("4xx", html! { (day.client_errors) }))
                        (cell("5xx", html! { (day.server_errors) }))
                    }
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::usage::LATENCY_BUCKETS;

    fn row(bucket: i64, status: &str, requests: i64) -> SeriesRow {
        SeriesRow {
            bucket,
            group: Some(status.to_owned()),
            requests,
            errors: 0,
            latency: [0; LATENCY_BUCKETS],
        }
    }

    #[test]
    fn every_day_has_a_bar_and_statuses_fall_in_their_class() {
        let rows = [
            row(DAY_MS, "200", 3),
            row(DAY_MS, "404", 1),
            row(DAY_MS, "503", 2),
        ];
        let days = days_from(&rows, 0, 3);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].total(), 0);
        assert_eq!(
            (
                days[1].success,
                days[1].client_errors,
                days[1].server_errors
            ),
            (3, 1, 2)
        );
        let svg = requests_per_day("chart", "Requests", &days).into_string();
        assert_eq!(svg.matches("<g class=\"bar\"").count(), 3);
        assert!(svg.contains("6 requests (2xx 3, 4xx 1, 5xx 2)"), "{svg}");
    }
}
