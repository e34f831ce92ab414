//! The web console: server-rendered pages, signed in with a password.
//!
//! Sign-in creates a server-side session (the cookie holds a random token,
//! the database its SHA-256). Every form carries a CSRF token: the session's
//! own once signed in, a double-submit cookie before. Each feature is a
//! module with its own routes; `pages` holds the frame they share.

mod audit_log;
mod cookies;
mod form;
mod login;
mod operator_organizations;
pub(crate) mod pages;
pub(crate) mod permission_form;
mod session;

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::show_form).post(login::sign_in))
        .route("/logout", axum::routing::post(login::sign_out))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .merge(audit_log::router())
        .merge(operator_organizations::router())
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
