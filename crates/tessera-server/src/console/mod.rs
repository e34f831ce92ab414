//! The web console: server-rendered pages, signed in with a password.
//!
//! Sign-in creates a server-side session (the cookie holds a random token,
//! the database its SHA-256). Every form carries a CSRF token: the session's
//! own once signed in, a double-submit cookie before. The modules follow the
//! URL tree (`public`, `settings`, `operator`); `home` is the landing page, `pages` holds the frame they
//! share, `ui` the components, `paths` every address.

mod account;
mod anonymous_form;
mod audit_log;
mod cookies;
mod form;
mod home;
mod operator;
pub(crate) mod pages;
mod paths;
pub(crate) mod permission_form;
mod public;
mod session;
mod settings;
mod ui;

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::STYLESHEET, get(stylesheet))
        .route(paths::SCRIPT, get(script))
        .merge(home::router())
        .merge(public::router())
        .merge(account::router())
        .merge(settings::router())
        .merge(operator::router())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("console.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("console.js"),
    )
}
