//! The operator's view of usage: requests and errors per organisation.

use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::settings::usage::{RangeQuery, first_day};
use crate::console::ui::{self, cell};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use maud::html;
use tessera_store::usage;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::DEPLOYMENT_USAGE, get(per_organization))
}

async fn per_organization(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(range): Query<RangeQuery>,
) -> PageResult {
    signed_in.operator()?;
    let days = range.days();
    let totals = usage::organization_totals(state.db(), first_day(days)).await?;
    let body = html! {
        div.page-head { h1 { "Usage per organisation" } }
        p.hint { "API requests of the last " (days) " days, from the daily roll-ups. "
            (state.usage().dropped()) " usage records were dropped by this server since it started." }
        @if totals.is_empty() {
            p #no-usage { "No requests recorded in this range." }
        } @else {
            (ui::table("organization-usage", &["Organisation", "Requests", "Errors"], &totals, |row| html! {
                tr {
                    (cell("Organisation", html! { a href=(paths::organization(&row.slug)) { (row.name) } " " code { (row.slug) } }))
                    (cell("Requests", html! { (row.requests) }))
                    (cell("Errors", html! { (row.errors) }))
                }
            }))
        }
    };
    Ok(page("Usage", &signed_in, Section::Usage, body).into_response())
}
