//! Tessera's HTTP server.
//!
//! [`build_router`] assembles every feature's router behind one middleware
//! stack; [`serve`] runs it with graceful shutdown. Handlers receive
//! [`AppState`] and never parse credentials themselves: the access engine and
//! the extractors in this crate hand them verdicts.

mod api;
mod audit_view;
mod body_deadline;
mod config;
mod connections;
mod console;
mod docs;
mod health;
mod http_metrics;
mod middleware;
mod problem;
mod state;
mod usage;
mod webhooks;

pub use config::{
    ConnectionSettings, ServerConfig, WebhookSettings, default_concurrent_password_checks,
};
pub use problem::ApiError;
pub use state::AppState;
pub use usage::{UsageRecorder, UsageSettings};

use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;

/// The whole application: API, console, health and metrics, with the
/// middleware every response goes through.
pub fn build_router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(health::router(state.config().metrics_listen.is_none()))
        .merge(api::router(state.clone()))
        .merge(console::router())
        .merge(docs::router())
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed);
    middleware::apply(routes, state.clone()).with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting connections and lets in-flight requests finish, for at most
/// the configured drain time. Connections are capped and timed as
/// [`ConnectionSettings`] says.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let drain_limit = state.config().shutdown_timeout;
    let metrics_listener = match state.config().metrics_listen {
        Some(address) => Some(health::spawn_metrics_listener(address).await?),
        None => None,
    };
    let background = state::spawn_housekeeping(state.clone());
    let deliveries = webhooks::worker::spawn(state.clone());
    let state_for_stop = state.clone();
    let connection_settings = state.config().connections.clone();
    let router = build_router(state);
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let server = connections::serve(listener, router, connection_settings, async move {
        shutdown.await;
        tracing::info!("no longer accepting connections; draining in-flight requests");
        let _ = signalled_tx.send(());
    });
    let drain_deadline = async move {
        if signalled_rx.await.is_ok() {
            tokio::time::sleep(drain_limit).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = server => {},
        () = drain_deadline => {
            tracing::warn!(seconds = drain_limit.as_secs(), "in-flight requests did not finish in time; stopping anyway");
        }
    };
    background.abort();
    deliveries.abort();
    if let Some(metrics_listener) = metrics_listener {
        metrics_listener.abort();
    }
    state_for_stop
        .usage()
        .flush_and_stop(std::time::Duration::from_secs(5))
        .await;
    state_for_stop.stop_background();
    tracing::info!("server stopped");
    Ok(())
}
