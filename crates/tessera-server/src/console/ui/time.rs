//! Stored times (Unix milliseconds) as people read them. The console shows
//! every moment one way, `2025-03-31 14:05 UTC`, in a `time` element whose
//! `datetime` and `title` hold the exact RFC 3339 value; [`date`] remains
//! for values that are whole days (a chart's day, a key's last day).

use maud::{Markup, html};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const DATE: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day]");
const MINUTE: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

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

/// [`date_time`] in a `time` element, the exact time in its tooltip.
pub fn timestamp(ms: i64) -> Markup {
    let exact = tessera_store::format_ms(ms);
    html! { time.nowrap datetime=(exact) title=(exact) { (date_time(ms)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc() {
        let ms = 1_743_429_909_123; // 2025-03-31T14:05:09.123Z
        assert_eq!(date(ms), "2025-03-31");
        assert_eq!(date_time(ms), "2025-03-31 14:05 UTC");
        let shown = timestamp(ms).into_string();
        assert!(shown.contains(">2025-03-31 14:05 UTC<"), "{shown}");
        assert!(
            shown.contains("title=\"2025-03-31T14:05:09.123Z\""),
            "{shown}"
        );
    }
}
