//! The operator's API clients pages: every client with its use, disabling
//! and enabling, creating a client, and the queue of applications to
//! approve or reject. A new client's credential is shown once, on the page
//! that answers the form that created it.

mod applications;
mod list;

use crate::AppState;
use crate::console::paths;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::CLIENTS, get(list::list).post(list::create))
        .route(paths::CLIENT_DISABLE, post(list::disable))
        .route(paths::CLIENT_ENABLE, post(list::enable))
        .route(paths::APPLICATION, get(applications::review))
        .route(paths::APPLICATION_APPROVE, post(applications::approve))
        .route(paths::APPLICATION_REJECT, post(applications::reject))
}
