//! Stored times (Unix milliseconds) as people read them. Every time shown
//! is UTC; where a `time` element carries it, `datetime` holds the exact
//! RFC 3339 value.

use maud::{Markup, html};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const DATE: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day]");
const MINUTE: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
const SECOND: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

fn format(ms: i64, format: &[BorrowedFormatItem<'_>]) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// `2025-03-31`, for lists.
pub fn date(ms: i64) -> String {
    format(ms, DATE)
}

/// `2025-03-31 14:05 UTC`.
pub fn date_time(ms: i64) -> String {
    format(ms, MINUTE)
}

/// [`date_time`] in a `time` element.
pub fn timestamp(ms: i64) -> Markup {
    html! { time datetime=(tessera_store::format_ms(ms)) { (date_time(ms)) } }
}

/// `2025-03-31 14:05:09` in a `time` element, for the audit log, whose
/// column heading says the zone.
pub fn precise_timestamp(ms: i64) -> Markup {
    html! { time datetime=(tessera_store::format_ms(ms)) { (format(ms, SECOND)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc() {
        let ms = 1_743_429_909_123; // 2025-03-31T14:05:09.123Z
        assert_eq!(date(ms), "2025-03-31");
        assert_eq!(date_time(ms), "2025-03-31 14:05 UTC");
        assert!(
            precise_timestamp(ms)
                .into_string()
                .contains(">2025-03-31 14:05:09<")
        );
    }
}
