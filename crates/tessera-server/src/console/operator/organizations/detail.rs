//! One organisation: its facts, people and rate limit.

use super::{key_creation_text, rate_limit_text};
use crate::AppState;
use crate::console::form::{FormErrors, FormFields, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::{self, cell, error_summary, notice, number_input, time::timestamp};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{Markup, html};
use tessera_store::accounts::{self, Account};
use tessera_store::bots::{self, Bot};
use tessera_store::organizations::{self, Organization, RateLimit};

/// The limiter spaces requests in whole microseconds, so a million per
/// second is the finest rate it expresses; a burst beyond a million would
/// let one organisation flood the deployment at once.
const MAX_PER_SECOND: u32 = 1_000_000;
const MAX_BURST: u32 = 1_000_000;

const DONE: Messages = &[
    ("created", "The organisation was created."),
    (
        "rate-limit",
        "The rate limit was changed. It applies from the next request.",
    ),
];

/// What the rate limit form holds, as typed.
struct RateLimitForm {
    per_second: String,
    burst: String,
}

impl RateLimitForm {
    fn current(limit: RateLimit) -> Self {
        RateLimitForm {
            per_second: limit.per_second.to_string(),
            burst: limit.burst.to_string(),
        }
    }
}

/// What the organisation's page shows besides the organisation.
struct OrganizationPage<'a> {
    status: StatusCode,
    message: Option<&'a str>,
    form: &'a RateLimitForm,
    errors: &'a FormErrors,
}

pub async fn organization_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(slug): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    signed_in.operator()?;
    let organization = find(&state, &slug).await?;
    let view = OrganizationPage {
        status: StatusCode::OK,
        message: flash.message(DONE),
        form: &RateLimitForm::current(organization.rate_limit),
        errors: &FormErrors::default(),
    };
    render_organization(&state, &signed_in, &organization, &view).await
}

async fn find(state: &AppState, slug: &str) -> Result<Organization, PageError> {
    organizations::find_by_slug(state.db(), slug)
        .await?
        .ok_or_else(PageError::not_found)
}

async fn render_organization(
    state: &AppState,
    signed_in: &SignedIn,
    organization: &Organization,
    view: &OrganizationPage<'_>,
) -> PageResult {
    let users = accounts::list_for_organization(state.db(), &organization.id).await?;
    let bots = bots::list(state.db(), &organization.id).await?;
    let body = html! {
        (notice(view.message))
        section.card {
            div.page-head {
                h1 { (organization.name) }
                a.button.secondary href=(paths::deployment_audit_of(&organization.slug)) { "Audit log" }
            }
            dl.facts #facts {
                dt { "Slug" }
                dd { code { (organization.slug) } }
                dt { "Id" }
                dd { code { (organization.id) } }
                dt { "Created" }
                dd { (timestamp(organization.created_at)) }
                dt { "Who creates keys" }
                dd { (key_creation_text(organization.key_creation)) }
                dt { "Rate limit" }
                dd #rate-limit { (rate_limit_text(organization.rate_limit)) }
            }
        }
        (rate_limit_card(signed_in, organization, view))
        section.card {
            h2 { "Users" }
            (people_tables(&users, &bots))
        }
    };
    Ok((
        view.status,
        page(&organization.name, signed_in, Section::Organizations, body),
    )
        .into_response())
}

fn rate_limit_card(
    signed_in: &SignedIn,
    organization: &Organization,
    view: &OrganizationPage<'_>,
) -> Markup {
    let (form, errors) = (view.form, view.errors);
    html! {
        section.card #rate-limit-form {
            h2 { "Rate limit" }
            p.hint { "One bucket shared by all the organisation's keys: it holds the burst and refills at the rate. A change applies from the next request on every instance." }
            (error_summary(errors))
            (ui::checked_post_form("rate-limit-edit", &paths::organization_rate_limit(&organization.slug), signed_in, html! {
                (number_input("per_second", "Requests per second", &form.per_second, MAX_PER_SECOND, errors))
                (number_input("burst", "Burst (requests at once)", &form.burst, MAX_BURST, errors))
                button type="submit" { "Save rate limit" }
            }))
        }
    }
}

fn people_tables(users: &[Account], bots: &[Bot]) -> Markup {
    let status = |active| ui::active_badge(active, "Deactivated");
    html! {
        @if users.is_empty() {
            p #no-users { "No users yet." }
        } @else {
            (ui::table("users", &["Username", "Role", "Status"], users, |user| html! {
                tr {
                    (cell("Username", html! { (user.username) }))
                    (cell("Role", html! {
                        @if let accounts::Membership::Member { role_name, .. } = &user.membership { (role_name) }
                    }))
                    (cell("Status", status(user.active)))
                }
            }))
        }
        h2 { "Bot users" }
        @if bots.is_empty() {
            p #no-bots { "No bot users." }
        } @else {
            (ui::table("bots", &["Name", "Role", "Status"], bots, |bot| html! {
                tr {
                    (cell("Name", html! { (bot.name) }))
                    (cell("Role", html! { (bot.role_name) }))
                    (cell("Status", status(bot.active)))
                }
            }))
        }
    }
}

pub async fn change_rate_limit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    signed_in.operator()?;
    let organization = find(&state, &slug).await?;
    let form = RateLimitForm {
        per_second: fields.trimmed("per_second").to_owned(),
        burst: fields.trimmed("burst").to_owned(),
    };
    let mut errors = FormErrors::default();
    let per_second = whole_number(
        &fields,
        "per_second",
        "requests per second",
        MAX_PER_SECOND,
        &mut errors,
    );
    let burst = whole_number(&fields, "burst", "burst", MAX_BURST, &mut errors);
    let (Some(per_second), Some(burst)) = (per_second, burst) else {
        let view = OrganizationPage {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: None,
            form: &form,
            errors: &errors,
        };
        return render_organization(&state, &signed_in, &organization, &view).await;
    };
    let limit = RateLimit { per_second, burst };
    // Every other instance hears of the change through the access-change
    // log; this one forgets its cached keys of the organisation at once, so
    // the very next request here is limited by the new values.
    tessera_ops::organizations::set_rate_limit(
        state.ops(),
        &signed_in.actor(),
        &organization,
        limit,
    )
    .await?;
    Ok(flash::redirect(
        &paths::organization(&organization.slug),
        "rate-limit",
    ))
}

/// A whole number from 1 to `max`, or a message beside the field.
fn whole_number(
    fields: &FormFields,
    id: &'static str,
    what: &str,
    max: u32,
    errors: &mut FormErrors,
) -> Option<u32> {
    let typed = fields.trimmed(id);
    match typed.parse::<u32>() {
        Ok(value) if (1..=max).contains(&value) => Some(value),
        _ => {
            let message = if typed.is_empty() {
                format!("Enter the {what}.")
            } else {
                format!("Enter the {what} as a whole number from 1 to {max}.")
            };
            errors.add(id, message);
            None
        }
    }
}
