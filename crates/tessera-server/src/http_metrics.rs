//! The request counter and latency histogram of every answer, by method,
//! route template and status.
//!
//! Looking a labelled metric up in the recorder builds its key (labels as
//! owned strings) and hashes it on every call; on an empty request that was
//! a measurable share of the work (docs/performance.md). The handles are
//! therefore looked up once per label set and kept per worker thread, so
//! the hot path neither allocates nor takes a lock.

use axum::http::{Method, StatusCode};
use metrics::{Counter, Histogram};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::time::Duration;

const KNOWN_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The method as a label: one of the known methods or `OTHER`, so clients
/// cannot create label values.
pub(crate) fn method_label(method: &Method) -> &'static str {
    KNOWN_METHODS
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("OTHER")
}

struct Handles {
    method: &'static str,
    status: u16,
    requests: Counter,
    duration: Histogram,
}

impl Handles {
    fn register(method: &'static str, route: &str, status: u16) -> Handles {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        Handles {
            method,
            status,
            requests: metrics::counter!("tessera_http_requests_total", &labels),
            duration: metrics::histogram!("tessera_http_request_duration_seconds", &labels),
        }
    }
}

thread_local! {
    /// Route template → the handles of each (method, status) seen on it.
    static HANDLES: RefCell<FxHashMap<Box<str>, Vec<Handles>>> = RefCell::new(FxHashMap::default());
}

/// Counts one answered request and records how long it took.
pub(crate) fn record(method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
    let method = method_label(method);
    let status = status.as_u16();
    HANDLES.with(|cell| {
        let mut by_route = cell.borrow_mut();
        if !by_route.contains_key(route) {
            by_route.insert(route.into(), Vec::new());
        }
        let Some(seen) = by_route.get_mut(route) else {
            return;
        };
        let index = match seen
            .iter()
            .position(|h| h.method == method && h.status == status)
        {
            Some(index) => index,
            None => {
                seen.push(Handles::register(method, route, status));
                seen.len() - 1
            }
        };
        seen[index].requests.increment(1);
        seen[index].duration.record(elapsed.as_secs_f64());
    });
}
