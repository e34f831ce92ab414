//! The operator's pages: the deployment's organisations, API clients and
//! audit log.

mod audit;
mod clients;
mod organizations;
mod usage;

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(organizations::router())
        .merge(clients::router())
        .merge(audit::router())
        .merge(usage::router())
}
