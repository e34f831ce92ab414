//! Account: what every signed-in person (member or operator) manages for
//! themselves: their password, their sessions, two-factor sign-in and app
//! passwords.

mod app_passwords;
mod browser;
mod two_factor;

use crate::AppState;
use crate::console::form::{
    FormErrors, SubmittedForm, hash_new_password, password_context, password_problem,
};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::{self, cell, error_summary, notice, unprocessable};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::{Markup, html};
use tessera_core::audit::Actor;
use tessera_core::id::OrganizationId;
use tessera_core::password::{MIN_PASSWORD_CHARS, NewPassword};
use tessera_ops::account::{self as own_account, Own};
use tessera_ops::auth::{self, PasswordCheck, PasswordUse};
use tessera_store::accounts::Membership;
use tessera_store::app_passwords::AppPassword;
use tessera_store::sessions::{self, SessionSummary};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT, get(show))
        .route(paths::ACCOUNT_PASSWORD, post(change_password))
        .route(paths::ACCOUNT_SIGN_OUT_OTHERS, post(sign_out_others))
        .merge(two_factor::router())
        .merge(app_passwords::router())
}

const DONE: Messages = &[
    (
        "password",
        "Password changed. Your other sessions were signed out.",
    ),
    ("signed-out", "Every other session of yours was signed out."),
    ("app-password-revoked", "App password revoked."),
    (
        "two-factor-off",
        "Two-factor sign-in is off. Your app passwords and recovery codes were deleted.",
    ),
];

/// The organisation the audit log files the person's own changes under.
fn organization_of(signed_in: &SignedIn) -> Option<&OrganizationId> {
    match &signed_in.account().membership {
        Membership::Member {
            organization_id, ..
        } => Some(organization_id),
        Membership::Operator => None,
    }
}

/// The person's own account, for `tessera_ops::account`.
fn own<'a>(signed_in: &'a SignedIn, actor: &'a Actor) -> Own<'a> {
    Own {
        actor,
        account_id: signed_in.account().id.as_str(),
        organization_id: organization_of(signed_in),
    }
}

/// What a new password of this person must not lean on.
fn own_password_context(signed_in: &SignedIn) -> Vec<String> {
    let account = signed_in.account();
    match &account.membership {
        Membership::Member {
            organization_slug,
            organization_name,
            ..
        } => password_context(
            &account.username,
            Some((organization_slug, organization_name)),
        ),
        Membership::Operator => password_context(&account.username, None),
    }
}

struct AccountView<'a> {
    sessions: &'a [SessionSummary],
    app_passwords: &'a [AppPassword],
    message: Option<&'a str>,
    errors: &'a FormErrors,
}

async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
) -> PageResult {
    render(
        &state,
        &signed_in,
        flash.message(DONE),
        &FormErrors::default(),
    )
    .await
    .map(IntoResponse::into_response)
}

async fn render(
    state: &AppState,
    signed_in: &SignedIn,
    message: Option<&str>,
    errors: &FormErrors,
) -> Result<Markup, PageError> {
    let account_id = signed_in.account().id.as_str();
    let sessions = sessions::list_for_account(state.db(), account_id).await?;
    let app_passwords = tessera_store::app_passwords::list(state.db(), account_id).await?;
    Ok(account_page(
        signed_in,
        &AccountView {
            sessions: &sessions,
            app_passwords: &app_passwords,
            message,
            errors,
        },
    ))
}

fn account_page(signed_in: &SignedIn, view: &AccountView<'_>) -> Markup {
    let account = signed_in.account();
    let errors = view.errors;
    let current = signed_in.session.token_hash.as_str();
    let others = view
        .sessions
        .iter()
        .filter(|s| s.token_hash != current)
        .count();
    let body = html! {
        section.card {
            h1 { "Your account" }
            (notice(view.message))
            (error_summary(errors))
            dl.facts {
                dt { "Username" } dd { (account.username) }
                dt { "Two-factor sign-in" }
                dd #two-factor-status {
                    @if account.two_factor { (ui::status_badge("active", "On")) }
                    @else { (ui::status_badge("disabled", "Off")) }
                    " " a href=(paths::TWO_FACTOR) { "Manage two-factor sign-in" }
                }
            }
        }
        section.card #password-card {
            h2 { "Change your password" }
            p.hint { "Your other sessions are signed out when the password changes; this one stays." }
            (ui::checked_post_form("password-form", paths::ACCOUNT_PASSWORD, signed_in, html! {
                (ui::field("current_password", "Current password", None, errors, |c| html! {
                    input #current_password name="current_password" type="password" autocomplete="current-password"
                        aria-invalid=[c.invalid] aria-describedby=[c.described_by];
                }))
                (ui::password_input("new_password", "New password",
                    &format!("At least {MIN_PASSWORD_CHARS} characters, not common or easy to guess: a few uncommon words work well."),
                    errors))
                (ui::field("new_password_again", "New password again", None, errors, |c| html! {
                    input #new_password_again name="new_password_again" type="password" autocomplete="new-password"
                        aria-invalid=[c.invalid] aria-describedby=[c.described_by];
                }))
                button type="submit" { "Change password" }
            }))
        }
        section.card #sessions-card {
            h2 { "Your sessions" }
            p.hint { "Where you are signed in to the console. A session ends when you sign out, after 12 hours, or when your password changes." }
            (ui::table("sessions", &["Signed in", "Last seen", "Address", "Browser", ""], view.sessions, |s| html! {
                tr.this-session[s.token_hash == current] {
                    (cell("Signed in", ui::time::timestamp(s.created_at)))
                    (cell("Last seen", ui::time::timestamp(s.last_seen_at.unwrap_or(s.created_at))))
                    (cell("Address", html! { (s.ip.as_deref().unwrap_or("unknown")) }))
                    (cell("Browser", html! { (browser::summary(s.user_agent.as_deref())) }))
                    (cell("", html! {
                        @if s.token_hash == current { strong.this-session-marker { "This session" } }
                    }))
                }
            }))
            @if others > 0 {
                (ui::inline_post_form(paths::ACCOUNT_SIGN_OUT_OTHERS, signed_in, html! {
                    button.secondary #sign-out-others type="submit" { "Sign out everywhere else" }
                }))
            } @else {
                p.hint #no-other-sessions { "You are signed in nowhere else." }
            }
        }
        (app_passwords::card(signed_in, view.app_passwords, errors))
    };
    page("Your account", signed_in, Section::Account, body)
}

async fn change_password(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let mut errors = FormErrors::default();
    let current = fields.text("current_password");
    let new = fields.text("new_password");
    if current.is_empty() {
        errors.add("current_password", "Enter your current password.");
    }
    if new != fields.text("new_password_again") {
        errors.add(
            "new_password_again",
            "The two new passwords differ; type the same one twice.",
        );
    }
    let context = own_password_context(&signed_in);
    let context_words: Vec<&str> = context.iter().map(String::as_str).collect();
    if new == current && !new.is_empty() {
        errors.add(
            "new_password",
            "The new password is the one you have now; choose another.",
        );
    } else if let Err(err) = NewPassword::parse(new, &context_words) {
        errors.add("new_password", password_problem(&err));
    }
    if !errors.is_empty() {
        return Ok(unprocessable(
            render(&state, &signed_in, None, &errors).await?,
        ));
    }
    if let Some(problem) = current_password_problem(&state, &signed_in, current).await? {
        errors.add("current_password", problem);
    }
    if !errors.is_empty() {
        return Ok(unprocessable(
            render(&state, &signed_in, None, &errors).await?,
        ));
    }
    let password_hash = match hash_new_password(new.to_owned(), context).await? {
        Ok(hash) => hash,
        Err(err) => {
            errors.add("new_password", password_problem(&err));
            return Ok(unprocessable(
                render(&state, &signed_in, None, &errors).await?,
            ));
        }
    };
    let actor = signed_in.actor();
    own_account::change_password(
        state.ops(),
        own(&signed_in, &actor),
        &password_hash,
        signed_in.session.token_hash.as_str(),
    )
    .await?;
    Ok(flash::redirect(paths::ACCOUNT, "password"))
}

/// Why the typed current password is not accepted, if it is not. It is
/// checked like a sign-in: throttled and, when wrong, audited as a failed
/// sign-in.
async fn current_password_problem(
    state: &AppState,
    signed_in: &SignedIn,
    current: &str,
) -> Result<Option<String>, PageError> {
    let checked = auth::check_password(
        state.ops(),
        state.password_gate(),
        &signed_in.account().username,
        current.to_owned(),
        signed_in.client.ip,
        PasswordUse::ConsoleSignIn,
    )
    .await?;
    Ok(match checked {
        PasswordCheck::Accepted(_) => None,
        PasswordCheck::Refused(_) => Some("That is not your current password.".to_owned()),
        PasswordCheck::Throttled {
            retry_after_seconds,
        }
        | PasswordCheck::Busy {
            retry_after_seconds,
        } => Some(format!(
            "Too many attempts; try again in {}.",
            tessera_core::error_code::seconds(retry_after_seconds)
        )),
    })
}

async fn sign_out_others(
    State(state): State<AppState>,
    SubmittedForm { signed_in, .. }: SubmittedForm,
) -> PageResult {
    let actor = signed_in.actor();
    own_account::end_other_sessions(
        state.ops(),
        own(&signed_in, &actor),
        signed_in.session.token_hash.as_str(),
    )
    .await?;
    Ok(flash::redirect(paths::ACCOUNT, "signed-out"))
}
