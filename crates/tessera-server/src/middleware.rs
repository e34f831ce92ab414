//! The middleware every request passes through. One layer, [`envelope`],
//! does everything that wraps a whole request — request id and logging
//! span, client address, the API's own rules, body limits, problem
//! rendering, usage recording, metrics, security headers and closing
//! connections while the process drains — because each
//! separate `from_fn` layer clones and boxes the rest of the stack on every
//! request: seven of them cost more than the empty `/healthz` itself
//! (docs/performance.md). Inside it only panic catching and the body-limit
//! marker remain.

use crate::body_deadline::ReadDeadline;
use crate::problem::is_api_path;
use crate::usage::UsageInProgress;
use crate::{ApiError, AppState};
use axum::Router;
use axum::body::HttpBody as _;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::IntoResponse;
use axum::response::Response;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tessera_core::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The console's Content-Security-Policy: nothing but this origin's own
/// styles, scripts, images and form targets; no inline code, frames or
/// plugins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers every answer carries unless its handler set them.
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
];

pub fn apply(router: Router<AppState>, state: AppState) -> Router<AppState> {
    let largest_body = state
        .config()
        .max_body_bytes
        .max(state.config().max_document_bytes);
    router
        .layer(DefaultBodyLimit::max(largest_body))
        .layer(CatchPanicLayer::new())
        .layer(from_fn_with_state(state, envelope))
}

/// What the envelope knows of a request before it is answered.
pub(crate) struct Arrival {
    pub(crate) started: Instant,
    pub(crate) request_id: HeaderValue,
    pub(crate) method: axum::http::Method,
    uri: axum::http::Uri,
    pub(crate) route: Option<MatchedPath>,
    api: bool,
    http1: bool,
}

/// The whole request, inside its logging span: every log line of the
/// request carries its id. An incoming `X-Request-Id` is echoed when
/// well-formed (1–128 characters of letters, digits, `.`, `_`, `-`);
/// otherwise one is made.
async fn envelope(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| is_acceptable_request_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(new_request_id);
    let span = tracing::info_span!(
        "request",
        request_id = %String::from_utf8_lossy(request_id.as_bytes()),
        method = %request.method(),
        path = %request.uri().path(),
    );
    answer_in_envelope(state, request, next, request_id)
        .instrument(span)
        .await
}

async fn answer_in_envelope(
    state: AppState,
    mut request: Request,
    next: Next,
    request_id: HeaderValue,
) -> Response {
    let arrival = Arrival {
        started: Instant::now(),
        request_id,
        method: request.method().clone(),
        uri: request.uri().clone(),
        route: request.extensions().get::<MatchedPath>().cloned(),
        api: is_api_path(request.uri().path()),
        http1: request.version() < axum::http::Version::HTTP_2,
    };
    let client = client_addr(&state, &request);
    request.extensions_mut().insert(client);
    let usage = arrival
        .api
        .then(|| UsageInProgress::begin(&state, &arrival, client))
        .flatten();
    let refused = if arrival.api {
        refusal(&state, &request, client)
    } else {
        None
    };
    let response = match refused {
        Some(refused) => refused.into_response(),
        None => run_with_body_limits(&state, request, next).await,
    };
    let mut response =
        crate::problem::render(response, &arrival.request_id, &arrival.method, &arrival.uri);
    if let Some(usage) = usage {
        usage.finish(state.usage(), &mut response);
    }
    record_metrics(&arrival, &response);
    let headers = response.headers_mut();
    if arrival.api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    add_security_headers(headers);
    headers.insert(REQUEST_ID, arrival.request_id);
    // While the process drains, each HTTP/1 answer asks its client to close
    // the connection, so a kept-alive client (or a proxy's pooled
    // connection) reconnects and lands on an instance that is staying.
    // HTTP/2 forbids the header; its connections get GOAWAY when the
    // listener closes.
    if arrival.http1 && state.is_draining() {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn add_security_headers(headers: &mut HeaderMap) {
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// Refuses bodies over the limit for their route: file uploads may be as
/// large as `max_document_bytes`, every other body `max_body_bytes`. A
/// declared length over the limit is refused before anything is read; a
/// body without one is cut off at the limit (extractors then answer 413).
/// A body must also arrive in full within the route's read timeout (longer
/// for uploads); a slower one is answered 400 and its connection closed.
async fn run_with_body_limits(state: &AppState, request: Request, next: Next) -> Response {
    let config = state.config();
    let upload = request.method() == axum::http::Method::POST && is_upload(request.uri().path());
    let (limit, read_timeout) = if upload {
        (
            config.max_document_bytes,
            config.connections.upload_read_timeout,
        )
    } else {
        (config.max_body_bytes, config.connections.body_read_timeout)
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Most requests (every GET) have no body: nothing to bound or time.
    if declared.is_none_or(|length| length == 0) && request.body().is_end_stream() {
        return next.run(request).await;
    }
    let too_slow = Arc::new(AtomicBool::new(false));
    let mut response = if declared.is_some_and(|length| length > limit as u64) {
        (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than this server accepts.",
        )
            .into_response()
    } else {
        let bounded = |body| {
            let limited = http_body_util::Limited::new(body, limit);
            axum::body::Body::new(ReadDeadline::new(limited, read_timeout, too_slow.clone()))
        };
        next.run(request.map(bounded)).await
    };
    if too_slow.load(Ordering::Acquire) {
        response = ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "The request body did not arrive in time: {} seconds are allowed.",
                read_timeout.as_secs()
            ),
        )
        .into_response();
    }
    // The rest of the body stays unread, so the connection cannot carry
    // another request: say so, or the client reuses it and fails.
    if too_slow.load(Ordering::Acquire)
        || response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
    {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whether `path` is the collection of a resource whose records are created
/// by uploading a file.
fn is_upload(path: &str) -> bool {
    path.strip_prefix("/api/v1/")
        .and_then(tessera_core::resources::resource)
        .is_some_and(|resource| resource.upload)
}

/// A new request id: a random per-process prefix and a counter. Unique
/// across instances without a system call per request; request ids are
/// labels, not secrets, so they need not be unpredictable.
fn new_request_id() -> HeaderValue {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| tessera_core::secret::random_base62(10));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}{n:012}"))
        .expect("base62 and digits are a valid header value")
}

fn is_acceptable_request_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The address a request comes from, after trusted-proxy resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// Whether the request reached a trusted proxy over https.
    pub forwarded_https: bool,
}

fn client_addr(state: &AppState, request: &Request) -> ClientAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let proxies = &state.config().trusted_proxies;
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let ip = proxies.client_ip(peer, forwarded);
    let forwarded_https = proxies.contains(peer)
        && request
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    ClientAddr {
        ip,
        forwarded_https,
    }
}

/// The API's two refusals that come before anything else: browsers from
/// other origins (the API is server-to-server, and never sends CORS
/// headers) and keys in the query string (URLs end up in logs). API
/// answers are also never cached (the envelope sets `no-store`), since
/// they carry personal data and raw keys.
fn refusal(state: &AppState, request: &Request, client: ClientAddr) -> Option<ApiError> {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let https = state.config().secure_cookies || client.forwarded_https;
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let own_origin = format!("{}://{host}", if https { "https" } else { "http" });
        if !origin
            .as_bytes()
            .eq_ignore_ascii_case(own_origin.as_bytes())
        {
            return Some(ApiError::new(
                ErrorCode::BrowserRequestsNotSupported,
                "The Tessera API is for server-to-server use; browsers on other sites may not call it. Call it from your backend.",
            ));
        }
    }
    if request
        .uri()
        .query()
        .is_some_and(tessera_core::credentials::query_carries_key)
    {
        return Some(ApiError::new(
            ErrorCode::ApiKeyInQuery,
            "API keys must not be sent in the URL, where they leak into logs; send the X-API-KEY header instead.",
        ));
    }
    None
}

/// Counts the request and times it by route template (never the raw path,
/// which would let clients create unbounded label values) and status.
fn record_metrics(arrival: &Arrival, response: &Response) {
    let elapsed = arrival.started.elapsed();
    let route = arrival
        .route
        .as_ref()
        .map_or("unmatched", MatchedPath::as_str);
    crate::http_metrics::record(&arrival.method, route, response.status(), elapsed);
    tracing::info!(
        status = response.status().as_u16(),
        // Whole microseconds: a float of milliseconds prints binary noise
        // such as 0.054351000000000003.
        latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request completed"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_bounded_and_plain() {
        assert!(is_acceptable_request_id(b"abc-123_x.y"));
        assert!(!is_acceptable_request_id(b""));
        assert!(!is_acceptable_request_id(b"has space"));
        assert!(!is_acceptable_request_id(b"line\nbreak"));
        assert!(!is_acceptable_request_id(&[b'a'; 129]));
    }
}
