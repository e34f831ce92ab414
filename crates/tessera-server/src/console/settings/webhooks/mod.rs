//! Settings ▸ Webhooks: the organisation's endpoints with their health, the
//! form that creates or changes one, an endpoint's page (test, rotate,
//! reveal, recover, enable, delete, message log) and a message's page
//! (attempts, replay, copy as curl). Administrators only; every change goes
//! through `tessera_ops::webhooks`, which audits it.

mod endpoint;
mod form;
mod message;

use crate::AppState;
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui::flash::{Flash, Messages};
use crate::console::ui::{self, cell, notice};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use tessera_core::audit::Actor;
use tessera_ops::webhooks::Manager;
use tessera_store::now_ms;
use tessera_store::webhooks::delivery;
use tessera_store::webhooks::{self as stored, Endpoint};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::WEBHOOKS, get(list).post(form::create))
        .route(paths::NEW_WEBHOOK, get(form::new_form))
        .route(paths::WEBHOOK, get(endpoint::show))
        .route(paths::WEBHOOK_EDIT, get(form::edit_form).post(form::update))
        .route(paths::WEBHOOK_ENABLE, post(endpoint::enable))
        .route(paths::WEBHOOK_TEST, post(endpoint::send_test))
        .route(paths::WEBHOOK_ROTATE, post(endpoint::rotate_secret))
        .route(paths::WEBHOOK_REVEAL, post(endpoint::reveal_secret))
        .route(paths::WEBHOOK_RECOVER, post(endpoint::recover))
        .route(
            paths::WEBHOOK_DELETE,
            get(endpoint::confirm_delete).post(endpoint::delete),
        )
        .route(paths::WEBHOOK_MESSAGE, get(message::show))
        .route(paths::WEBHOOK_MESSAGE_REPLAY, post(message::replay))
}

const DONE: Messages = &[("deleted", "Endpoint deleted: nothing more is sent to it.")];

/// Endpoints shown per page of the list.
const ENDPOINTS_PER_PAGE: i64 = 50;
const DAY_MS: i64 = 24 * 3_600_000;

/// The administrator acting, as the operations layer names them.
fn manager<'a>(member: &'a MemberContext<'_>, actor: &'a Actor) -> Manager<'a> {
    Manager {
        organization_id: member.organization_id,
        actor,
    }
}

/// An endpoint of the administrator's organisation, or the 404 page.
async fn find_endpoint(
    state: &AppState,
    member: &MemberContext<'_>,
    id: &str,
) -> Result<Endpoint, PageError> {
    stored::get(state.db(), member.organization_id, id)
        .await?
        .ok_or_else(PageError::not_found)
}

/// Why an endpoint receives nothing, in the words of the API's
/// `disabled_reason` (`disabled_by_administrator`, `endpoint_gone`,
/// `failing_for_5_days`); `None` while it is active.
fn disabled_reason(endpoint: &Endpoint) -> Option<&'static str> {
    match (endpoint.enabled, endpoint.disabled_reason.as_deref()) {
        (false, _) => Some("disabled by an administrator"),
        (true, Some("gone")) => Some("the endpoint answered 410 Gone"),
        (true, Some(_)) => Some("failing for 5 days without a success"),
        (true, None) => None,
    }
}

fn status_badge(endpoint: &Endpoint) -> Markup {
    match disabled_reason(endpoint) {
        None => ui::status_badge("active", "Active"),
        Some(reason) => {
            html! { (ui::status_badge("disabled", "Disabled")) " " span.hint { "(" (reason) ")" } }
        }
    }
}

/// The endpoint's subscriptions as stored (a JSON list of patterns).
fn event_patterns(endpoint: &Endpoint) -> Vec<String> {
    serde_json::from_str(&endpoint.events).unwrap_or_default()
}

fn events_summary(endpoint: &Endpoint) -> Markup {
    let patterns = event_patterns(endpoint);
    html! {
        @if patterns.iter().any(|p| p == "*") {
            "Every event"
        } @else {
            @for (i, pattern) in patterns.iter().enumerate() {
                @if i > 0 { ", " }
                code { (pattern) }
            }
        }
    }
}

/// "3 of 4 succeeded (75 %)", or "No deliveries" in the last day.
fn success_rate(succeeded: i64, attempted: i64) -> String {
    if attempted == 0 {
        return "No deliveries".to_owned();
    }
    let percent = succeeded * 100 / attempted;
    format!("{succeeded} of {attempted} succeeded ({percent} %)")
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let admin = signed_in.administrator()?;
    let mut endpoints = stored::list(
        state.db(),
        admin.organization_id,
        query.after.as_deref(),
        ENDPOINTS_PER_PAGE + 1,
    )
    .await?;
    let more = endpoints.len() > ENDPOINTS_PER_PAGE as usize;
    endpoints.truncate(ENDPOINTS_PER_PAGE as usize);
    let health: BTreeMap<String, (i64, i64)> =
        delivery::attempts_since(state.db(), admin.organization_id, now_ms() - DAY_MS)
            .await?
            .into_iter()
            .map(|(id, succeeded, attempted)| (id, (succeeded, attempted)))
            .collect();
    let body = html! {
        div.page-head {
            h1 { "Webhooks" }
            a.button #new-endpoint href=(paths::NEW_WEBHOOK) { "New endpoint" }
        }
        (notice(flash.message(DONE)))
        p.hint { "Tessera sends a signed POST to each endpoint when records, keys or clients change. Success rates count the delivery attempts of the last 24 hours." }
        @if endpoints.is_empty() {
            p #no-endpoints { "No webhook endpoints yet." }
        } @else {
            (endpoints_table(&endpoints, &health))
        }
        @if let (true, Some(last)) = (more, endpoints.last()) {
            p { a #more-endpoints href={ (paths::WEBHOOKS) "?after=" (last.id) } { "More endpoints" } }
        }
    };
    Ok(page("Webhooks", &signed_in, Section::Webhooks, body).into_response())
}

fn endpoints_table(endpoints: &[Endpoint], health: &BTreeMap<String, (i64, i64)>) -> Markup {
    let columns = ["URL", "Description", "Status", "Events", "Last 24 hours"];
    ui::table("endpoints", &columns, endpoints, |endpoint| {
        let (succeeded, attempted) = health
            .get(endpoint.id.as_str())
            .copied()
            .unwrap_or_default();
        html! {
            tr data-endpoint=(endpoint.id) {
                (cell("URL", html! { a href=(paths::webhook(endpoint.id.as_str())) { code { (endpoint.url) } } }))
                (cell("Description", html! { @if endpoint.description.is_empty() { "—" } @else { (endpoint.description) } }))
                (cell("Status", status_badge(endpoint)))
                (cell("Events", events_summary(endpoint)))
                (cell("Last 24 hours", html! { (success_rate(succeeded, attempted)) }))
            }
        }
    })
}

/// What a page that shows a signing secret once says about it.
struct ShownSecret<'a> {
    endpoint: &'a Endpoint,
    heading: &'a str,
    secret: &'a str,
    explanation: &'a str,
}

/// The page that shows a signing secret; never cached.
fn secret_page(signed_in: &SignedIn, shown: &ShownSecret<'_>, status: StatusCode) -> Response {
    let endpoint_id = shown.endpoint.id.as_str();
    let body = html! {
        section.card {
            h1 { (shown.heading) }
            p.warning role="alert" { strong { "Copy this secret now." } " " (shown.explanation) }
            dl.facts {
                dt { "Endpoint" }
                dd { code { (shown.endpoint.url) } }
            }
            h2 { "Signing secret" }
            pre.secret #endpoint-secret { (shown.secret) }
            button.secondary #copy-secret type="button" data-copy="endpoint-secret" hidden { "Copy secret" }
            p.hint { "Receivers verify the " code { "webhook-signature" } " header with it, for example with a Standard Webhooks library." }
            p.actions {
                a.button #to-endpoint href=(paths::webhook(endpoint_id)) { "Endpoint details" }
                a.button.secondary href=(paths::WEBHOOKS) { "Back to webhooks" }
            }
        }
    };
    let mut response = (
        status,
        page(shown.heading, signed_in, Section::Webhooks, body),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rates_read_in_words() {
        assert_eq!(success_rate(0, 0), "No deliveries");
        assert_eq!(success_rate(3, 4), "3 of 4 succeeded (75 %)");
    }
}
