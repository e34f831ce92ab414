//! Settings: an organisation's members manage their keys; its
//! administrators also manage roles, people, connected clients, webhook
//! endpoints and the organisation's rules, and read its audit log.

pub(crate) mod api_keys;
mod audit;
mod connected_clients;
mod organization;
mod people;
mod roles;
pub(crate) mod usage;
mod webhooks;

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(api_keys::router())
        .merge(roles::router())
        .merge(people::router())
        .merge(connected_clients::router())
        .merge(webhooks::router())
        .merge(organization::router())
        .merge(audit::router())
        .merge(usage::router())
}
