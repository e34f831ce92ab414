//! The list of organisations, and creating one with its first administrator.

use super::{key_creation_text, rate_limit_text};
use crate::AppState;
use crate::console::form::{
    FormErrors, SubmittedForm, hash_new_password, password_context, password_problem,
};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::{self, cell, error_summary, flash, text_input};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::{Markup, html};
use tessera_core::names::{DisplayName, Slug, Username};
use tessera_core::password::{self, NewPassword};
use tessera_ops::OpError;
use tessera_store::accounts;
use tessera_store::organizations::{self, OrganizationSummary};

/// What the creation form holds. The password is never sent back.
#[derive(Default)]
struct CreationForm {
    slug: String,
    name: String,
    admin_username: String,
}

pub async fn list_page(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
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
                a.button.secondary href=(paths::DEPLOYMENT_AUDIT) { "Deployment audit log" }
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

const COLUMNS: [ui::Column; 6] = [
    "Organisation",
    "Slug",
    "Users",
    "Active keys",
    "Rate limit",
    "Who creates keys",
];

fn organizations_table(summaries: &[OrganizationSummary]) -> Markup {
    html! {
        @if summaries.is_empty() {
            p #no-organizations { "No organisations yet. Create the first one below." }
        } @else {
            (ui::table("organizations", &COLUMNS, summaries, |summary| {
                let organization = &summary.organization;
                html! {
                    tr id={ "org-" (organization.slug) } {
                        (cell("Organisation", html! { a href=(paths::organization(&organization.slug)) { (organization.name) } }))
                        (cell("Slug", html! { code { (organization.slug) } }))
                        (cell("Users", html! { (summary.users) }))
                        (cell("Active keys", html! { (summary.active_keys) }))
                        (cell("Rate limit", html! { (rate_limit_text(organization.rate_limit)) }))
                        (cell("Who creates keys", html! { (key_creation_text(organization.key_creation)) }))
                    }
                }
            }))
        }
    }
}

fn password_hint() -> String {
    format!(
        "At least {} characters, not common or easy to guess (a few uncommon words work well). Send it to the administrator over a safe channel.",
        password::MIN_PASSWORD_CHARS
    )
}

fn creation_form(signed_in: &SignedIn, form: &CreationForm, errors: &FormErrors) -> Markup {
    html! {
        section.card #create {
            h2 { "Create an organisation" }
            (error_summary(errors))
            (ui::checked_post_form("create-organization", paths::ORGANIZATIONS, signed_in, html! {
                (text_input("slug", "Slug", &form.slug, errors,
                    Some("2-63 lowercase letters, digits and hyphens, starting with a letter. It appears in URLs and the X-Organization header and cannot be changed.")))
                (text_input("name", "Name", &form.name, errors, None))
                fieldset {
                    legend { "First administrator (optional)" }
                    p.hint { "Creates a user with the Administrator role together with the organisation, so they can sign in and set it up. Leave both empty to add people later with tessera admin create-user." }
                    (text_input("admin_username", "Username", &form.admin_username, errors,
                        Some("3-64 letters, digits and . _ @ -, unique across the deployment.")))
                    (ui::password_input("admin_password", "Password", &password_hint(), errors))
                }
                button type="submit" { "Create organisation" }
            }))
        }
    }
}

pub async fn create_organization(
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
        // The policy was checked with the other fields above.
        Some(_) => Some(
            hash_new_password(password.to_owned(), administrator_context(&form))
                .await?
                .map_err(|_| PageError::internal("a checked password failed the policy"))?,
        ),
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
    Ok(flash::redirect(
        &paths::organization(slug.as_str()),
        "created",
    ))
}

type CheckedCreation = (Slug, DisplayName, Option<Username>);

/// What to say beside a field that is empty or that does not parse.
struct Rule {
    field: &'static str,
    missing: &'static str,
    malformed: &'static str,
}

const SLUG: Rule = Rule {
    field: "slug",
    missing: "Enter a slug for the organisation.",
    malformed: "Use 2-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen.",
};

const NAME: Rule = Rule {
    field: "name",
    missing: "Enter the organisation's name.",
    malformed: "Use at most 100 characters, without control characters.",
};

const ADMIN_USERNAME: Rule = Rule {
    field: "admin_username",
    missing: "Enter the first administrator's username, or leave the password empty too.",
    malformed: "Use 3-64 letters, digits and the characters . _ @ -",
};

/// `typed` as a `T`, or `None` with the rule's message beside its field.
fn parse_field<T, E>(
    typed: &str,
    rule: &Rule,
    parse: impl FnOnce(&str) -> Result<T, E>,
    errors: &mut FormErrors,
) -> Option<T> {
    if typed.is_empty() {
        errors.add(rule.field, rule.missing);
        return None;
    }
    let parsed = parse(typed).ok();
    if parsed.is_none() {
        errors.add(rule.field, rule.malformed);
    }
    parsed
}

/// Checks every field, so all problems are shown at once; `None` when any
/// is wrong (the messages are in `errors`).
async fn check_creation(
    state: &AppState,
    form: &CreationForm,
    password: &str,
    errors: &mut FormErrors,
) -> Result<Option<CheckedCreation>, PageError> {
    let slug = parse_field(&form.slug, &SLUG, Slug::parse, errors);
    if let Some(slug) = &slug
        && organizations::find_by_slug(state.db(), slug.as_str())
            .await?
            .is_some()
    {
        errors.add("slug", taken_slug(slug.as_str()));
    }
    let name = parse_field(&form.name, &NAME, DisplayName::parse, errors);
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
    let username = parse_field(
        &form.admin_username,
        &ADMIN_USERNAME,
        Username::parse,
        errors,
    );
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
    } else if let Err(problem) =
        NewPassword::parse(password, &as_strs(&administrator_context(form)))
    {
        errors.add("admin_password", password_problem(&problem));
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

/// The words the first administrator's password must not lean on.
fn administrator_context(form: &CreationForm) -> Vec<String> {
    password_context(&form.admin_username, Some((&form.slug, &form.name)))
}

fn as_strs(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}
