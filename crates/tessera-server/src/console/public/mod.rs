//! Pages for someone not (yet) signed in: signing in and out, and applying
//! for an API client.

pub mod apply;
mod login;

use crate::AppState;
use crate::console::paths;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, get(login::show_form).post(login::sign_in))
        .route(
            paths::LOGIN_CODE,
            get(login::show_code_form).post(login::submit_code),
        )
        .route(paths::LOGOUT, post(login::sign_out))
        .merge(apply::router())
}
