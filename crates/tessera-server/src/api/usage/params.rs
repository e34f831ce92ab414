//! The query parameters of the usage endpoints. Every bad parameter is
//! named in one 400 (`details.invalid_parameters`), unknown ones too.

use crate::ApiError;
use serde_json::json;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use tessera_core::ErrorCode;
use tessera_core::usage::{DAY_MS, Granularity, GroupBy};
use tessera_store::now_ms;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// The widest range `granularity=hour` answers: hourly figures come from
/// the raw log, so the range bounds the rows read.
pub const MAX_HOURLY_DAYS: i64 = 7;

/// The default range of `GET /api/v1/usage` with day granularity.
pub const DEFAULT_DAYS: i64 = 30;

/// Query parameters by name, each given at most once, with problems
/// gathered as they are found.
pub struct Params {
    given: BTreeMap<String, String>,
    problems: Vec<(String, String)>,
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>, known: &[&str]) -> Params {
        let mut params = Params {
            given: BTreeMap::new(),
            problems: Vec::new(),
        };
        for (name, value) in pairs {
            if !known.contains(&name.as_str()) {
                params.problem(
                    &name,
                    format!("is not a parameter here (known: {}).", known.join(", ")),
                );
            } else if value.contains('\0') {
                // PostgreSQL cannot hold a NUL character in text.
                params.problem(&name, "contains a NUL character.".to_owned());
            } else if let Entry::Vacant(slot) = params.given.entry(name.clone()) {
                slot.insert(value);
            } else {
                params.problem(&name, "is given more than once.".to_owned());
            }
        }
        params
    }

    pub fn problem(&mut self, name: &str, message: String) {
        self.problems.push((name.to_owned(), message));
    }

    /// A non-empty value of `name`, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.given
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A time: an RFC 3339 date-time or a date (its UTC midnight).
    pub fn time(&mut self, name: &str) -> Option<i64> {
        let text = self.text(name)?.to_owned();
        let parsed = parse_time(&text);
        if parsed.is_none() {
            self.problem(
                name,
                format!("'{text}' is not a date (2026-12-01) or an RFC 3339 date-time (2026-12-01T10:00:00Z)."),
            );
        }
        parsed
    }

    /// The end of a range: an RFC 3339 date-time (exclusive), or a date,
    /// which the range includes (it ends at the next UTC midnight).
    pub fn end_time(&mut self, name: &str) -> Option<i64> {
        let text = self.text(name)?.to_owned();
        if let Ok(date) = Date::parse(&text, format_description!("[year]-[month]-[day]")) {
            return Some(date.next_day().map_or(i64::MAX, |next| {
                next.midnight().assume_utc().unix_timestamp() * 1000
            }));
        }
        self.time(name)
    }

    pub fn granularity(&mut self) -> Granularity {
        let Some(text) = self.text("granularity").map(str::to_owned) else {
            return Granularity::Day;
        };
        Granularity::parse(&text).unwrap_or_else(|| {
            self.problem("granularity", format!("'{text}' is neither hour nor day."));
            Granularity::Day
        })
    }

    pub fn group_by(&mut self) -> Option<GroupBy> {
        let text = self.text("group_by")?.to_owned();
        let group = GroupBy::parse(&text);
        if group.is_none() {
            self.problem(
                "group_by",
                format!("'{text}' is not one of key, client, route, status."),
            );
        }
        group
    }

    /// An HTTP status code, 100 to 599.
    pub fn status(&mut self, name: &str) -> Option<i64> {
        let text = self.text(name)?.to_owned();
        let status = text.parse::<i64>().ok().filter(|s| (100..=599).contains(s));
        if status.is_none() {
            self.problem(
                name,
                format!("'{text}' is not an HTTP status code (100 to 599)."),
            );
        }
        status
    }

    /// The problems found, as one 400 naming each parameter.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let detail = self
            .problems
            .iter()
            .map(|(name, message)| format!("{name} {message}"))
            .collect::<Vec<_>>()
            .join(" ");
        let named: Vec<_> = self
            .problems
            .iter()
            .map(|(name, message)| json!({"name": name, "problem": message}))
            .collect();
        Err(ApiError::new(ErrorCode::InvalidRequest, detail)
            .with_details(json!({"invalid_parameters": named})))
    }
}

fn parse_time(text: &str) -> Option<i64> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok();
    }
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// The `[from, to)` range of a usage question: `to` defaults to now,
/// `from` to 30 days (hourly: one day) before it; `from` must come first,
/// and an hourly range spans at most seven days.
pub fn range(params: &mut Params, granularity: Granularity) -> (i64, i64) {
    let to = params.time("to").unwrap_or_else(now_ms);
    let default_span = match granularity {
        Granularity::Hour => DAY_MS,
        Granularity::Day => DEFAULT_DAYS * DAY_MS,
    };
    let from = params.time("from").unwrap_or(to - default_span);
    if from >= to {
        params.problem("from", "must be before to.".to_owned());
    } else if granularity == Granularity::Hour && to - from > MAX_HOURLY_DAYS * DAY_MS {
        params.problem(
            "from",
            format!("and to span more than {MAX_HOURLY_DAYS} days, the most granularity=hour covers; use granularity=day."),
        );
    }
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_dates_or_rfc_3339() {
        assert_eq!(parse_time("1970-01-02"), Some(DAY_MS));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let mut params = Params::new(
            vec![
                ("granularity".into(), "week".into()),
                ("colour".into(), "red".into()),
            ],
            &["granularity", "from"],
        );
        params.granularity();
        let problem = params.finish().unwrap_err();
        let text = format!("{problem:?}");
        assert!(
            text.contains("granularity") && text.contains("colour"),
            "{text}"
        );
    }
}
