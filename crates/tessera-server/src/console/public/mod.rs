//! Pages for someone not (yet) signed in: signing in and out, and applying
//! for an API client.

pub mod apply;
mod login;

use crate::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::show_form).post(login::sign_in))
        .route("/logout", post(login::sign_out))
        .merge(apply::router())
}
