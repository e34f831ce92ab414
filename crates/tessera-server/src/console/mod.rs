//! The web console: server-rendered pages, signed in with a password.
//!
//! Sign-in creates a server-side session (the cookie holds a random token,
//! the database its SHA-256). Every form carries a CSRF token: the session's
//! own once signed in, a double-submit cookie before. Each feature is a
//! module with its own routes; `pages` holds the frame they share.

mod administration;
mod anonymous_form;
mod api_keys;
mod apply;
mod audit_log;
mod connected_clients;
mod cookies;
mod form;
mod login;
mod operator_clients;
mod operator_organizations;
mod organization_settings;
pub(crate) mod pages;
mod people;
pub(crate) mod permission_form;
mod roles;
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
        .merge(api_keys::router())
        .merge(apply::router())
        .merge(operator_clients::router())
        .merge(connected_clients::router())
        .merge(roles::router())
        .merge(people::router())
        .merge(organization_settings::router())
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
