//! The operator's organisation pages: every organisation at a glance,
//! creating one (with its first administrator, so the console alone can
//! onboard a company), and one organisation's facts, people and rate limit.

mod detail;
mod list;

use crate::AppState;
use crate::console::paths;
use axum::Router;
use axum::routing::{get, post};
use tessera_store::organizations::{KeyCreationPolicy, RateLimit};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            paths::ORGANIZATIONS,
            get(list::list_page).post(list::create_organization),
        )
        .route(paths::ORGANIZATION, get(detail::organization_page))
        .route(
            paths::ORGANIZATION_RATE_LIMIT,
            post(detail::change_rate_limit),
        )
}

fn rate_limit_text(limit: RateLimit) -> String {
    format!("{}/s, burst {}", limit.per_second, limit.burst)
}

fn key_creation_text(policy: KeyCreationPolicy) -> &'static str {
    match policy {
        KeyCreationPolicy::AdministratorsOnly => "Administrators only",
        KeyCreationPolicy::Everyone => "Every user",
    }
}
