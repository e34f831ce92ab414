//! The operator's organisation pages: every organisation
//! at a glance, creating one (with its first administrator, so the console
//! alone can onboard a company), and one organisation's facts, people and
//! rate limit.

use super::form::{FormErrors, FormFields, SubmittedForm};
use super::pages::{PageError, PageResult, Section, error_summary, notice, page, text_input};
use super::session::SignedIn;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use tessera_core::names::{DisplayName, Slug, Username};
use tessera_core::password::{self, NewPassword};
use tessera_ops::OpError;
use tessera_store::organizations::{
    self, KeyCreationPolicy, Organization, OrganizationSummary, RateLimit,
};
use tessera_store::{accounts, bots, format_ms};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/operator/organizations",
            get(list_page).post(create_organization),
        )
        .route("/operator/organizations/{slug}", get(organization_page))
        .route(
            "/operator/organizations/{slug}/rate-limit",
            post(change_rate_limit),
        )
}

/// The limiter spaces requests in whole microseconds, so a million per
/// second is the finest rate it expresses; a burst beyond a million would
/// let one organisation flood the deployment at once.
const MAX_PER_SECOND: u32 = 1_000_000;
const MAX_BURST: u32 = 1_000_000;

// ---------------------------------------------------------------- the list

/// What the creation form holds. The password is never sent back.
#[derive(Default)]
struct CreationForm {
    slug: String,
    name: String,
    admin_username: String,
}

async fn list_page(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    signed_in.operator()?;
    render_list(
        &state,
        &signed_in,
        StatusCode::OK,
        &CreationForm::default(),
        &FormErrors::default(),
    )
    .await
}

async fn render_list(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    form: &CreationForm,
    errors: &FormErrors,
) -> PageResult {
    let summaries = organizations::list_with_counts(state.db()).await?;
    let body = html! {
        section.card {
            div.page-head {
                h1 { "Organisations" }
                a.button.secondary href="/operator/audit" { "Deployment audit log" }
            }
            (organizations_table(&summaries))
        }
        (creation_form(signed_in, form, errors))
    };
    Ok((
        status,
        page("Organisations", signed_in, Section::Organizations, body),
    )
        .into_response())
}

fn organizations_table(summaries: &[OrganizationSummary]) -> Markup {
    html! {
        @if summaries.is_empty() {
            p #no-organizations { "No organisations yet. Create the first one below." }
        } @else {
            div.table-wrap {
                table.stack #organizations {
                    thead {
                        tr {
                            th scope="col" { "Organisation" }
                            th scope="col" { "Slug" }
                            th scope="col" { "Users" }
                            th scope="col" { "Active keys" }
                            th scope="col" { "Rate limit" }
                            th scope="col" { "Who creates keys" }
                        }
                    }
                    tbody {
                        @for summary in summaries {
                            @let organization = &summary.organization;
                            tr id={ "org-" (organization.slug) } {
                                td data-label="Organisation" {
                                    a href={ "/operator/organizations/" (organization.slug) } { (organization.name) }
                                }
                                td data-label="Slug" { code { (organization.slug) } }
                                td data-label="Users" { (summary.users) }
                                td data-label="Active keys" { (summary.active_keys) }
                                td data-label="Rate limit" { (rate_limit_text(organization.rate_limit)) }
                                td data-label="Who creates keys" { (key_creation_text(organization.key_creation)) }
                            }
                        }
                    }
                }
            }
        }
    }
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

fn creation_form(signed_in: &SignedIn, form: &CreationForm, errors: &FormErrors) -> Markup {
    html! {
        section.card #create {
            h2 { "Create an organisation" }
            (error_summary(errors))
            form method="post" action="/operator/organizations" novalidate {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (text_input("slug", "Slug", &form.slug, errors,
                    Some("2-63 lowercase letters, digits and hyphens, starting with a letter. It appears in URLs and the X-Organization header and cannot be changed.")))
                (text_input("name", "Name", &form.name, errors, None))
                fieldset {
                    legend { "First administrator (optional)" }
                    p.hint { "Creates a user with the Administrator role together with the organisation, so they can sign in and set it up. Leave both empty to add people later with tessera admin create-user." }
                    (text_input("admin_username", "Username", &form.admin_username, errors,
                        Some("3-64 letters, digits and . _ @ -, unique across the deployment.")))
                    @let error = errors.get("admin_password");
                    div.field {
                        label for="admin_password" { "Password" }
                        p.hint #admin_password-hint { "At least 8 characters. Send it to the administrator over a safe channel." }
                        @if let Some(error) = error { p.field-error #admin_password-error { (error) } }
                        input #admin_password name="admin_password" type="password" autocomplete="new-password"
                            aria-invalid=[error.map(|_| "true")]
                            aria-describedby=(if error.is_some() { "admin_password-hint admin_password-error" } else { "admin_password-hint" });
                    }
                }
                button type="submit" { "Create organisation" }
            }
        }
    }
}

async fn create_organization(
    State(state): State<AppState>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    signed_in.operator()?;
    let form = CreationForm {
        slug: fields.trimmed("slug").to_owned(),
        name: fields.trimmed("name").to_owned(),
        admin_username: fields.trimmed("admin_username").to_owned(),
    };
    let password = fields.text("admin_password");
    let mut errors = FormErrors::default();
    let checked = check_creation(&state, &form, password, &mut errors).await?;
    let Some((slug, name, administrator)) = checked else {
        return render_list(
            &state,
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            &errors,
        )
        .await;
    };
    let password_hash = match &administrator {
        Some(_) => Some(hash_off_the_workers(password.to_owned()).await?),
        None => None,
    };
    let first_administrator = administrator.as_ref().zip(password_hash.as_deref());
    let created = tessera_ops::organizations::create(
        state.ops(),
        &signed_in.actor(),
        &slug,
        &name,
        first_administrator,
    )
    .await;
    match created {
        Ok(_) => {}
        // Someone else took the slug or the username since the checks.
        Err(OpError::Refused(refusal)) => {
            if refusal.input == "username" {
                errors.add("admin_username", taken_username(&form.admin_username));
            } else {
                errors.add("slug", taken_slug(&form.slug));
            }
            return render_list(
                &state,
                &signed_in,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &errors,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    Ok(Redirect::to(&format!("/operator/organizations/{}?done=created", slug)).into_response())
}

type CheckedCreation = (Slug, DisplayName, Option<Username>);

/// Checks every field, so all problems are shown at once; `None` when any
/// is wrong (the messages are in `errors`).
async fn check_creation(
    state: &AppState,
    form: &CreationForm,
    password: &str,
    errors: &mut FormErrors,
) -> Result<Option<CheckedCreation>, PageError> {
    let slug = if form.slug.is_empty() {
        errors.add("slug", "Enter a slug for the organisation.");
        None
    } else {
        match Slug::parse(&form.slug) {
            Ok(slug) => Some(slug),
            Err(_) => {
                errors.add(
                    "slug",
                    "Use 2-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen.",
                );
                None
            }
        }
    };
    if let Some(slug) = &slug
        && organizations::find_by_slug(state.db(), slug.as_str())
            .await?
            .is_some()
    {
        errors.add("slug", taken_slug(slug.as_str()));
    }
    let name = match DisplayName::parse(&form.name) {
        Ok(name) => Some(name),
        Err(_) if form.name.is_empty() => {
            errors.add("name", "Enter the organisation's name.");
            None
        }
        Err(_) => {
            errors.add(
                "name",
                "Use at most 100 characters, without control characters.",
            );
            None
        }
    };
    let administrator = check_first_administrator(state, form, password, errors).await?;
    Ok(match (slug, name, administrator) {
        (Some(slug), Some(name), Ok(administrator)) if errors.is_empty() => {
            Some((slug, name, administrator))
        }
        _ => None,
    })
}

/// `Ok(None)`: no first administrator asked for; `Err(())`: one was, and
/// something about it is wrong (the messages are in `errors`).
async fn check_first_administrator(
    state: &AppState,
    form: &CreationForm,
    password: &str,
    errors: &mut FormErrors,
) -> Result<Result<Option<Username>, ()>, PageError> {
    if form.admin_username.is_empty() && password.is_empty() {
        return Ok(Ok(None));
    }
    let mut valid = true;
    let username = if form.admin_username.is_empty() {
        errors.add(
            "admin_username",
            "Enter the first administrator's username, or leave the password empty too.",
        );
        None
    } else {
        match Username::parse(&form.admin_username) {
            Ok(username) => Some(username),
            Err(_) => {
                errors.add(
                    "admin_username",
                    "Use 3-64 letters, digits and the characters . _ @ -",
                );
                None
            }
        }
    };
    if let Some(username) = &username
        && accounts::credentials_by_username(state.db(), username.as_str())
            .await?
            .is_some()
    {
        errors.add("admin_username", taken_username(username.as_str()));
        valid = false;
    }
    if password.is_empty() {
        errors.add(
            "admin_password",
            "Enter a password for the first administrator.",
        );
        valid = false;
    } else if let Err(problem) = NewPassword::parse(password) {
        errors.add("admin_password", sentence(&problem.to_string()));
        valid = false;
    }
    Ok(match username {
        Some(username) if valid => Ok(Some(username)),
        _ => Err(()),
    })
}

fn taken_slug(slug: &str) -> String {
    format!("An organisation with the slug '{slug}' already exists. Choose another slug.")
}

fn taken_username(username: &str) -> String {
    format!("The username '{username}' is already taken. Choose another username.")
}

/// "the password must …" → "The password must ….".
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// Argon2 is deliberately slow: it runs off the async workers.
async fn hash_off_the_workers(password: String) -> Result<String, PageError> {
    tokio::task::spawn_blocking(move || {
        NewPassword::parse(&password)
            .map(|checked| password::hash_password(&checked))
            .ok()
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| PageError::internal("hashing a checked password failed"))
}

// ------------------------------------------------------- one organisation

#[derive(Deserialize)]
struct Done {
    #[serde(default)]
    done: String,
}

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

async fn organization_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(slug): Path<String>,
    Query(done): Query<Done>,
) -> PageResult {
    signed_in.operator()?;
    let organization = find(&state, &slug).await?;
    let message = match done.done.as_str() {
        "created" => Some("The organisation was created."),
        "rate-limit" => Some("The rate limit was changed. It applies from the next request."),
        _ => None,
    };
    let form = RateLimitForm::current(organization.rate_limit);
    render_organization(
        &state,
        &signed_in,
        StatusCode::OK,
        &organization,
        message,
        &form,
        &FormErrors::default(),
    )
    .await
}

async fn find(state: &AppState, slug: &str) -> Result<Organization, PageError> {
    organizations::find_by_slug(state.db(), slug)
        .await?
        .ok_or_else(PageError::not_found)
}

async fn render_organization(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    organization: &Organization,
    message: Option<&str>,
    form: &RateLimitForm,
    errors: &FormErrors,
) -> PageResult {
    let users = accounts::list_for_organization(state.db(), &organization.id).await?;
    let bots = bots::list(state.db(), &organization.id).await?;
    let body = html! {
        (notice(message))
        section.card {
            div.page-head {
                h1 { (organization.name) }
                a.button.secondary href={ "/operator/audit?organization=" (organization.slug) } { "Audit log" }
            }
            dl.facts #facts {
                dt { "Slug" }
                dd { code { (organization.slug) } }
                dt { "Id" }
                dd { code { (organization.id) } }
                dt { "Created" }
                dd { (format_ms(organization.created_at)) }
                dt { "Who creates keys" }
                dd { (key_creation_text(organization.key_creation)) }
                dt { "Rate limit" }
                dd #rate-limit { (rate_limit_text(organization.rate_limit)) }
            }
        }
        section.card #rate-limit-form {
            h2 { "Rate limit" }
            p.hint { "One bucket shared by all the organisation's keys: it holds the burst and refills at the rate. A change applies from the next request on every instance." }
            (error_summary(errors))
            form method="post" action={ "/operator/organizations/" (organization.slug) "/rate-limit" } novalidate {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (number_input("per_second", "Requests per second", &form.per_second, MAX_PER_SECOND, errors))
                (number_input("burst", "Burst (requests at once)", &form.burst, MAX_BURST, errors))
                button type="submit" { "Save rate limit" }
            }
        }
        section.card {
            h2 { "Users" }
            @if users.is_empty() {
                p #no-users { "No users yet." }
            } @else {
                div.table-wrap {
                    table.stack #users {
                        thead { tr { th scope="col" { "Username" } th scope="col" { "Role" } th scope="col" { "Status" } } }
                        tbody {
                            @for user in &users {
                                tr {
                                    td data-label="Username" { (user.username) }
                                    td data-label="Role" {
                                        @if let accounts::Membership::Member { role_name, .. } = &user.membership { (role_name) }
                                    }
                                    td data-label="Status" { (active_status(user.active)) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Bot users" }
            @if bots.is_empty() {
                p #no-bots { "No bot users." }
            } @else {
                div.table-wrap {
                    table.stack #bots {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Status" } } }
                        tbody {
                            @for bot in &bots {
                                tr {
                                    td data-label="Name" { (bot.name) }
                                    td data-label="Role" { (bot.role_name) }
                                    td data-label="Status" { (active_status(bot.active)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((
        status,
        page(&organization.name, signed_in, Section::Organizations, body),
    )
        .into_response())
}

fn active_status(active: bool) -> Markup {
    html! {
        @if active {
            span.status.status-active { "active" }
        } @else {
            span.status.status-disabled { "deactivated" }
        }
    }
}

fn number_input(
    id: &'static str,
    label: &str,
    value: &str,
    max: u32,
    errors: &FormErrors,
) -> Markup {
    let error = errors.get(id);
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(error) = error { p.field-error id={ (id) "-error" } { (error) } }
            input id=(id) name=(id) type="number" min="1" max=(max) step="1" inputmode="numeric" value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| format!("{id}-error"))];
        }
    }
}

async fn change_rate_limit(
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
        return render_organization(
            &state,
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            &organization,
            None,
            &form,
            &errors,
        )
        .await;
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
    Ok(Redirect::to(&format!(
        "/operator/organizations/{}?done=rate-limit",
        organization.slug
    ))
    .into_response())
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
