//! Liveness, readiness and Prometheus metrics.

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::OnceLock;

/// Liveness and readiness, plus `/metrics` unless it has a listener of its
/// own.
pub fn router(metrics_on_main_listener: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if metrics_on_main_listener {
        router.route("/metrics", get(render_metrics))
    } else {
        router
    }
}

/// Serves only `/metrics` on `address` (the `--metrics-listen` option)
/// until the returned task is aborted. Binding happens before this returns,
/// so a taken address fails start-up.
pub(crate) async fn spawn_metrics_listener(
    address: SocketAddr,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "metrics listening on http://{bound}/metrics");
    let router = Router::new().route("/metrics", get(render_metrics));
    Ok(tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "the metrics listener stopped");
        }
    }))
}

/// The process is up and serving. A fixed body: load balancers ask often.
async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

/// The process can take new work: it is not stopping and its database
/// answers. A stopping process says so first, so a load balancer moves
/// its traffic away before the listener closes.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "draining"})),
        );
    }
    match state.db().ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ready"}))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable", "reason": "database unreachable"})),
            )
        }
    }
}

async fn render_metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus().render(),
    )
}

/// The process-wide recorder, installed on first use. Several servers in one
/// process (as in tests) share it.
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".to_owned()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        describe_metrics();
        handle
    })
}

/// The `# HELP` line of every metric the server records, so a scraper
/// (and whoever reads `/metrics`) learns what each family counts. A new
/// metric gets its line here.
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        "tessera_http_requests_total",
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        "tessera_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status."
    );
    describe_counter!(
        "tessera_key_cache_total",
        "API key look-ups, by whether the key cache held the key (hit) or the database was asked (miss)."
    );
    describe_counter!(
        "tessera_rate_limit_decisions_total",
        "Rate-limit decisions, by the store that made them (redis or local)."
    );
    describe_counter!(
        "tessera_rate_limit_redis_fallbacks_total",
        "Rate-limit decisions made locally because Redis could not be reached."
    );
    describe_counter!(
        "tessera_rate_limit_refusals_total",
        "Requests refused with 429 by a rate limit."
    );
    describe_counter!(
        "tessera_usage_records_written_total",
        "Usage records written to the usage log."
    );
    describe_counter!(
        "tessera_usage_records_dropped_total",
        "Usage records dropped: the writer's queue was full or the database refused a batch."
    );
    describe_counter!(
        "tessera_usage_records_pruned_total",
        "Usage records deleted after the retention period."
    );
    describe_histogram!(
        "tessera_usage_batch_write_duration_seconds",
        Unit::Seconds,
        "Time to write one batch of usage records."
    );
    describe_counter!(
        "tessera_webhook_attempts_total",
        "Webhook delivery attempts, by result (delivered, or why the attempt failed)."
    );
    describe_counter!(
        "tessera_connections_refused_total",
        "Connections refused because the server or the client's address was at its connection cap."
    );
}

/// Drains histogram buffers; called periodically so memory stays flat.
pub(crate) fn metrics_upkeep() {
    prometheus().run_upkeep();
}

/// Installs the recorder before the first request is measured.
pub(crate) fn install_metrics() {
    prometheus();
}
