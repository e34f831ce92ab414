//! The vocabulary of usage analytics (SPEC §10): how requests are bucketed
//! in time, how they are grouped, how latency is summarised, and whether an
//! access reaches a field. Pure rules; storage and HTTP live above.

use crate::permissions::{Access, Action};
use crate::resources;

pub const HOUR_MS: i64 = 60 * 60 * 1000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The route recorded for a request no route matched: a fixed label, never
/// the raw path, so clients cannot fill the log with values of their own.
pub const UNMATCHED_ROUTE: &str = "(unmatched)";

/// How long daily roll-ups are kept.
pub const ROLLUP_RETENTION_DAYS: i64 = 400;

/// The width of a time bucket in the usage API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "hour" => Some(Granularity::Hour),
            "day" => Some(Granularity::Day),
            _ => None,
        }
    }

    pub fn width_ms(self) -> i64 {
        match self {
            Granularity::Hour => HOUR_MS,
            Granularity::Day => DAY_MS,
        }
    }

    /// The start of the bucket holding `at` (UTC).
    pub fn bucket_start(self, at: i64) -> i64 {
        at.div_euclid(self.width_ms()) * self.width_ms()
    }
}

/// What the usage API's rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Key,
    Client,
    Route,
    Status,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<GroupBy> {
        match text {
            "key" => Some(GroupBy::Key),
            "client" => Some(GroupBy::Client),
            "route" => Some(GroupBy::Route),
            "status" => Some(GroupBy::Status),
            _ => None,
        }
    }
}

/// Upper bounds (inclusive, in milliseconds) of the latency histogram kept
/// with every roll-up row; a last, open bucket holds everything slower.
/// Roll-ups can be added together, exact percentiles could not.
pub const LATENCY_BOUNDS_MS: [i64; 12] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10_000];

/// Number of histogram buckets: one per bound plus the open one.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

pub type LatencyHistogram = [i64; LATENCY_BUCKETS];

/// The histogram bucket a latency falls in.
pub fn latency_bucket(latency_ms: i64) -> usize {
    LATENCY_BOUNDS_MS
        .iter()
        .position(|bound| latency_ms <= *bound)
        .unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// The `quantile` (0–1) of a histogram, as the upper bound of the bucket
/// it falls in: "p95 is at most 25 ms". The open bucket reports the last
/// bound. `None` for an empty histogram.
pub fn histogram_quantile(histogram: &LatencyHistogram, quantile: f64) -> Option<i64> {
    let total: i64 = histogram.iter().sum();
    if total <= 0 {
        return None;
    }
    let rank = ((quantile * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (bucket, count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= rank {
            let last = LATENCY_BOUNDS_MS.len() - 1;
            return Some(LATENCY_BOUNDS_MS[bucket.min(last)]);
        }
    }
    Some(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1])
}

/// Whether an answer with `status` counts as an error in usage figures.
pub fn is_error(status: u16) -> bool {
    status >= 400
}

/// Why a field-access question cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldQueryError {
    UnknownResource,
    UnknownField,
}

/// Checks that `resource` is a declared resource with a field `field`
/// (`id` and the timestamps count: every answer carries them).
pub fn check_field(resource: &str, field: &str) -> Result<(), FieldQueryError> {
    let declared = resources::resource(resource).ok_or(FieldQueryError::UnknownResource)?;
    let always_shown = ["id", "created_at", "updated_at"].contains(&field);
    if always_shown || declared.fields.iter().any(|f| f.name == field) {
        Ok(())
    } else {
        Err(FieldQueryError::UnknownField)
    }
}

/// Whether `access` may read `field` of `resource`: the read action, and no
/// field restriction that leaves the field out (`id` and timestamps are
/// shown with every record that can be read).
pub fn reads_field(access: &Access, resource: &str, field: &str) -> bool {
    if !access.allows(resource, Action::Read) {
        return false;
    }
    match access.field_restriction(resource) {
        None => true,
        Some(fields) => {
            ["id", "created_at", "updated_at"].contains(&field) || fields.contains(field)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::PermissionSet;
    use serde_json::json;

    #[test]
    fn buckets_start_at_utc_hours_and_midnights() {
        let at = 3 * DAY_MS + 5 * HOUR_MS + 17;
        assert_eq!(Granularity::Day.bucket_start(at), 3 * DAY_MS);
        assert_eq!(Granularity::Hour.bucket_start(at), 3 * DAY_MS + 5 * HOUR_MS);
        assert_eq!(Granularity::parse("week"), None);
        assert_eq!(GroupBy::parse("route"), Some(GroupBy::Route));
    }

    #[test]
    fn quantiles_report_the_upper_bound_of_their_bucket() {
        let mut histogram = [0; LATENCY_BUCKETS];
        for latency in [0, 1, 1, 3, 4, 4, 7, 9, 40, 20_000] {
            histogram[latency_bucket(latency)] += 1;
        }
        assert_eq!(histogram_quantile(&histogram, 0.5), Some(5));
        assert_eq!(histogram_quantile(&histogram, 0.95), Some(10_000));
        assert_eq!(histogram_quantile(&histogram, 0.1), Some(1));
        assert_eq!(histogram_quantile(&[0; LATENCY_BUCKETS], 0.5), None);
    }

    #[test]
    fn field_reach_follows_actions_and_field_restrictions() {
        let limited = PermissionSet::from_json(&json!({
            "employees": {"actions": ["read"], "fields": ["first_name"]}
        }))
        .unwrap();
        let access = Access::Limited(limited);
        assert!(reads_field(&access, "employees", "first_name"));
        assert!(reads_field(&access, "employees", "id"));
        assert!(!reads_field(&access, "employees", "iban"));
        assert!(!reads_field(&access, "pay-rates", "amount"));
        assert!(reads_field(&Access::Full, "employees", "iban"));
        assert_eq!(check_field("employees", "iban"), Ok(()));
        assert_eq!(
            check_field("employees", "nope"),
            Err(FieldQueryError::UnknownField)
        );
        assert_eq!(
            check_field("nope", "iban"),
            Err(FieldQueryError::UnknownResource)
        );
    }
}
