//! Settings ▸ Users and bots: an organisation's users and bot
//! users, their roles, deactivation, and password resets.
//!
//! Changing someone's role or deactivating them changes their keys at once:
//! the operation logs an access change in the same transaction and this
//! instance applies it before answering. An administrator cannot change their own role
//! or deactivate themselves, so every organisation keeps at least the
//! administrator who made the last change (no lock-out).

use super::administration::{Done, count, day, role_select, unprocessable};
use super::form::{FormErrors, FormFields, SubmittedForm};
use super::pages::{PageError, PageResult, Section, error_summary, notice, page, text_input};
use super::session::{MemberContext, SignedIn};
use crate::AppState;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use maud::{Markup, html};
use tessera_core::names::{DisplayName, Username};
use tessera_core::password::{self, NewPassword, PasswordPolicyError};
use tessera_ops::OpError;
use tessera_ops::people::{self, Person, PersonKind};
use tessera_store::accounts::{self, UserSummary};
use tessera_store::bots::{self, Bot, BotSummary};
use tessera_store::members;
use tessera_store::roles::{self, EMPLOYEE, Role};

fn user_person(user: &UserSummary) -> Person<'_> {
    Person {
        kind: PersonKind::User,
        id: &user.id,
        name: &user.username,
        active: user.active,
        role_id: &user.role_id,
        role_name: &user.role_name,
    }
}

fn bot_person(bot: &Bot) -> Person<'_> {
    Person {
        kind: PersonKind::Bot,
        id: &bot.id,
        name: &bot.name,
        active: bot.active,
        role_id: &bot.role_id,
        role_name: &bot.role_name,
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/people", get(list))
        .route("/settings/people/users", post(create_user))
        .route("/settings/people/users/new", get(new_user_form))
        .route("/settings/people/users/{id}", get(show_user))
        .route("/settings/people/users/{id}/role", post(change_user_role))
        .route("/settings/people/users/{id}/password", post(reset_password))
        .route(
            "/settings/people/users/{id}/deactivate",
            post(deactivate_user),
        )
        .route(
            "/settings/people/users/{id}/reactivate",
            post(reactivate_user),
        )
        .route("/settings/people/bots", post(create_bot))
        .route("/settings/people/bots/new", get(new_bot_form))
        .route("/settings/people/bots/{id}", get(show_bot))
        .route("/settings/people/bots/{id}/role", post(change_bot_role))
        .route(
            "/settings/people/bots/{id}/deactivate",
            post(deactivate_bot),
        )
        .route(
            "/settings/people/bots/{id}/reactivate",
            post(reactivate_bot),
        )
}

const LIST_DONE: &[(&str, &str)] = &[
    ("user-created", "User created. They can sign in now."),
    ("bot-created", "Bot user created."),
];

const USER_DONE: &[(&str, &str)] = &[
    (
        "role",
        "Role changed. Their keys follow the new role from the next request.",
    ),
    (
        "password",
        "Password reset. Every console session of this user has ended.",
    ),
    (
        "deactivated",
        "User deactivated. Their keys and console sessions stopped working.",
    ),
    (
        "reactivated",
        "User reactivated. They can sign in again, and their keys work again.",
    ),
];

const BOT_DONE: &[(&str, &str)] = &[
    (
        "role",
        "Role changed. The bot's keys follow the new role from the next request.",
    ),
    (
        "deactivated",
        "Bot user deactivated. Its keys stopped working.",
    ),
    ("reactivated", "Bot user reactivated. Its keys work again."),
];

const SELF_ROLE: &str = "You cannot change your own role: ask another administrator. (This keeps every organisation from locking itself out.)";
const SELF_DEACTIVATE: &str = "You cannot deactivate your own account: ask another administrator. (This keeps every organisation from locking itself out.)";

fn status(active: bool) -> Markup {
    html! {
        @if active { span.status.status-active { "Active" } } @else { span.status.status-disabled { "Deactivated" } }
    }
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(done): Query<Done>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let users = members::list::<UserSummary>(state.db(), member.organization_id).await?;
    let bots = members::list::<BotSummary>(state.db(), member.organization_id).await?;
    let body = html! {
        div.page-head {
            h1 { "Users and bots" }
            div.actions {
                a.button.small #new-user href="/settings/people/users/new" { "New user" }
                a.button.small.secondary #new-bot href="/settings/people/bots/new" { "New bot user" }
            }
        }
        (notice(done.message(LIST_DONE)))
        h2 { "Users" }
        div.table-wrap {
            table.stack #users {
                thead { tr { th { "Username" } th { "Role" } th { "Status" } th { "Live keys" } th { "Created" } } }
                tbody {
                    @for user in &users {
                        tr data-username=(user.username) {
                            td data-label="Username" { a href={ "/settings/people/users/" (user.id) } { (user.username) } }
                            td data-label="Role" { (user.role_name) }
                            td data-label="Status" { (status(user.active)) }
                            td data-label="Live keys" { (user.live_keys) }
                            td data-label="Created" { (day(user.created_at)) }
                        }
                    }
                }
            }
        }
        h2 { "Bot users" }
        p.hint { "Bot users cannot sign in; they own keys made for integrations, bounded by their role." }
        @if bots.is_empty() {
            p #no-bots { "No bot users yet." }
        } @else {
            div.table-wrap {
                table.stack #bots {
                    thead { tr { th { "Name" } th { "Role" } th { "Status" } th { "Live keys" } th { "Created" } } }
                    tbody {
                        @for summary in &bots {
                            tr data-bot=(summary.bot.name) {
                                td data-label="Name" { a href={ "/settings/people/bots/" (summary.bot.id) } { (summary.bot.name) } }
                                td data-label="Role" { (summary.bot.role_name) }
                                td data-label="Status" { (status(summary.bot.active)) }
                                td data-label="Live keys" { (summary.live_keys) }
                                td data-label="Created" { (day(summary.created_at)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Users and bots", &signed_in, Section::People, body).into_response())
}

/// The organisation's roles, and the id of `Employee`, the default choice.
async fn roles_of(
    state: &AppState,
    member: &MemberContext<'_>,
) -> Result<(Vec<Role>, String), PageError> {
    let roles = roles::list(state.db(), member.organization_id).await?;
    let employee = roles
        .iter()
        .find(|r| r.name == EMPLOYEE)
        .map(|r| r.id.to_string())
        .unwrap_or_default();
    Ok((roles, employee))
}

/// The role `fields` names, if it is one of `roles`.
fn chosen_role<'r>(
    roles: &'r [Role],
    fields: &FormFields,
    errors: &mut FormErrors,
) -> Option<&'r Role> {
    let role = roles.iter().find(|r| r.id == fields.text("role"));
    if role.is_none() {
        errors.add("role", "Choose one of your organisation's roles.");
    }
    role
}

fn password_problem(err: &PasswordPolicyError) -> String {
    let mut message = err.to_string();
    if let Some(first) = message.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    message.push('.');
    message
}

/// A password field; what was typed is never sent back.
fn password_input(errors: &FormErrors, label: &str) -> Markup {
    let error = errors.get("password");
    html! {
        div.field {
            label for="password" { (label) }
            p.hint #password-hint { "At least " (password::MIN_PASSWORD_CHARS) " characters. Tell the person through a channel you trust." }
            @if let Some(error) = error { p.field-error #password-error { (error) } }
            input #password name="password" type="password" autocomplete="new-password"
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=(if error.is_some() { "password-hint password-error" } else { "password-hint" });
        }
    }
}

/// Hashes a new password off the async workers (Argon2 is slow on purpose).
async fn hash(password: String) -> Result<Result<String, PasswordPolicyError>, PageError> {
    tokio::task::spawn_blocking(move || {
        NewPassword::parse(&password).map(|p| password::hash_password(&p))
    })
    .await
    .map_err(PageError::from)
}

fn new_user_page(
    signed_in: &SignedIn,
    roles: &[Role],
    username: &str,
    role_id: &str,
    errors: &FormErrors,
) -> Markup {
    let body = html! {
        section.card {
            p { a href="/settings/people" { "← Users and bots" } }
            h1 { "New user" }
            (error_summary(errors))
            form #user-form method="post" action="/settings/people/users" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (text_input("username", "Username", username, errors, Some("3–64 letters, digits and . _ @ -; unique across this Tessera deployment.")))
                (password_input(errors, "Initial password"))
                (role_select("role", "Role", roles, role_id, errors, false))
                div.actions {
                    button type="submit" { "Create user" }
                    a.button.secondary href="/settings/people" { "Cancel" }
                }
            }
        }
    };
    page("New user", signed_in, Section::People, body)
}

async fn new_user_form(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    let member = signed_in.administrator()?;
    let (roles, employee) = roles_of(&state, &member).await?;
    Ok(new_user_page(&signed_in, &roles, "", &employee, &FormErrors::default()).into_response())
}

fn taken(username: &str) -> String {
    format!("The username “{username}” is already taken; choose another.")
}

async fn create_user(State(state): State<AppState>, submitted: SubmittedForm) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let (roles, _) = roles_of(&state, &member).await?;
    let mut errors = FormErrors::default();
    let typed = fields.trimmed("username");
    let username = match Username::parse(typed) {
        Ok(username) => {
            if accounts::credentials_by_username(state.db(), username.as_str())
                .await?
                .is_some()
            {
                errors.add("username", taken(username.as_str()));
            }
            Some(username)
        }
        Err(_) => {
            errors.add(
                "username",
                "Use 3–64 letters, digits and . _ @ - for the username.",
            );
            None
        }
    };
    if let Err(err) = NewPassword::parse(fields.text("password")) {
        errors.add("password", password_problem(&err));
    }
    let role = chosen_role(&roles, &fields, &mut errors);
    let (Some(username), Some(role), true) = (username, role, errors.is_empty()) else {
        let page = new_user_page(&signed_in, &roles, typed, fields.text("role"), &errors);
        return Ok(unprocessable(page));
    };
    let password_hash = match hash(fields.text("password").to_owned()).await? {
        Ok(hash) => hash,
        Err(err) => {
            errors.add("password", password_problem(&err));
            let page = new_user_page(&signed_in, &roles, typed, &role.id, &errors);
            return Ok(unprocessable(page));
        }
    };
    let created = people::create_user(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        role,
        &username,
        &password_hash,
    )
    .await;
    match created {
        Err(OpError::Refused(_)) => {
            errors.add("username", taken(username.as_str()));
            let page = new_user_page(&signed_in, &roles, typed, &role.id, &errors);
            return Ok(unprocessable(page));
        }
        other => other?,
    };
    Ok(Redirect::to("/settings/people?done=user-created").into_response())
}

async fn find_user(
    state: &AppState,
    member: &MemberContext<'_>,
    id: &str,
) -> Result<UserSummary, PageError> {
    members::find::<UserSummary>(state.db(), member.organization_id, id)
        .await?
        .ok_or_else(PageError::not_found)
}

fn user_page(
    signed_in: &SignedIn,
    user: &UserSummary,
    roles: &[Role],
    message: Option<&str>,
    errors: &FormErrors,
) -> Markup {
    let own = user.id == signed_in.account().id;
    let base = format!("/settings/people/users/{}", user.id);
    let body = html! {
        section.card {
            p { a href="/settings/people" { "← Users and bots" } }
            div.page-head {
                h1 { (user.username) }
                (status(user.active))
            }
            (notice(message))
            (error_summary(errors))
            dl.facts {
                dt { "Role" } dd #user-role { (user.role_name) }
                dt { "Created" } dd { (day(user.created_at)) }
                dt { "Live keys" } dd { (user.live_keys) }
            }
        }
        section.card #role-card {
            h2 { "Role" }
            @if own {
                p.hint #own-role { (SELF_ROLE) }
            } @else {
                p.hint { "Their keys are bounded by their role: a narrower role narrows every key they own from the next request." }
            }
            form method="post" action={ (base) "/role" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (role_select("role", "Role", roles, &user.role_id, errors, own))
                button type="submit" disabled[own] { "Change role" }
            }
        }
        section.card #password-card {
            h2 { "Reset password" }
            p.hint { "Sets a new password and ends every console session of this user." }
            form method="post" action={ (base) "/password" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (password_input(errors, "New password"))
                button type="submit" { "Reset password" }
            }
        }
        (activation_card(signed_in, &base, user.active, &Activation {
            noun: "user",
            deactivating: "They can no longer sign in, their console sessions end, and every key they own stops working at once. You can reactivate them later.",
            reactivating: "They can sign in again, and their keys that are not revoked or expired work again.",
            refused: own.then_some(SELF_DEACTIVATE),
        }))
    };
    page(&user.username, signed_in, Section::People, body)
}

/// What the deactivate/reactivate card says about one kind of account.
struct Activation {
    noun: &'static str,
    deactivating: &'static str,
    reactivating: &'static str,
    /// Why this account may not be deactivated from here, if it may not.
    refused: Option<&'static str>,
}

fn activation_card(signed_in: &SignedIn, base: &str, active: bool, text: &Activation) -> Markup {
    html! {
        section.card.danger-zone #activation {
            @if active {
                h2 { "Deactivate" }
                @if let Some(reason) = text.refused {
                    p #own-deactivate { (reason) }
                } @else {
                    p { (text.deactivating) }
                    form method="post" action={ (base) "/deactivate" } {
                        input type="hidden" name="csrf" value=(signed_in.csrf());
                        button.danger type="submit" { "Deactivate " (text.noun) }
                    }
                }
            } @else {
                h2 { "Reactivate" }
                p { (text.reactivating) }
                form method="post" action={ (base) "/reactivate" } {
                    input type="hidden" name="csrf" value=(signed_in.csrf());
                    button type="submit" { "Reactivate " (text.noun) }
                }
            }
        }
    }
}

async fn show_user(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let user = find_user(&state, &member, &id).await?;
    let (roles, _) = roles_of(&state, &member).await?;
    let page = user_page(
        &signed_in,
        &user,
        &roles,
        done.message(USER_DONE),
        &FormErrors::default(),
    );
    Ok(page.into_response())
}

fn back_to_user(id: &str, done: &str) -> Redirect {
    Redirect::to(&format!("/settings/people/users/{id}?done={done}"))
}

async fn change_user_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let user = find_user(&state, &member, &id).await?;
    if user.id == member.account.id {
        return Err(PageError::forbidden(&signed_in, SELF_ROLE));
    }
    let (roles, _) = roles_of(&state, &member).await?;
    let mut errors = FormErrors::default();
    let Some(role) = chosen_role(&roles, &fields, &mut errors) else {
        return Ok(unprocessable(user_page(
            &signed_in, &user, &roles, None, &errors,
        )));
    };
    people::set_role(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        user_person(&user),
        role,
    )
    .await?;
    Ok(back_to_user(&user.id, "role").into_response())
}

async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let user = find_user(&state, &member, &id).await?;
    let password_hash = match hash(fields.text("password").to_owned()).await? {
        Ok(hash) => hash,
        Err(err) => {
            let (roles, _) = roles_of(&state, &member).await?;
            let mut errors = FormErrors::default();
            errors.add("password", password_problem(&err));
            return Ok(unprocessable(user_page(
                &signed_in, &user, &roles, None, &errors,
            )));
        }
    };
    people::reset_password(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        &user.id,
        &user.username,
        &password_hash,
    )
    .await?;
    // Resetting one's own password ends one's own session too; the user
    // page then sends the administrator to sign in with the new password.
    Ok(back_to_user(&user.id, "password").into_response())
}

async fn set_user_active(
    state: &AppState,
    id: &str,
    submitted: SubmittedForm,
    active: bool,
) -> PageResult {
    let SubmittedForm { signed_in, .. } = submitted;
    let member = signed_in.administrator()?;
    let user = find_user(state, &member, id).await?;
    if user.id == member.account.id {
        return Err(PageError::forbidden(&signed_in, SELF_DEACTIVATE));
    }
    people::set_active(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        user_person(&user),
        active,
    )
    .await?;
    let done = if active { "reactivated" } else { "deactivated" };
    Ok(back_to_user(&user.id, done).into_response())
}

async fn deactivate_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    set_user_active(&state, &id, submitted, false).await
}

async fn reactivate_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    set_user_active(&state, &id, submitted, true).await
}

fn new_bot_page(
    signed_in: &SignedIn,
    roles: &[Role],
    name: &str,
    role_id: &str,
    errors: &FormErrors,
) -> Markup {
    let body = html! {
        section.card {
            p { a href="/settings/people" { "← Users and bots" } }
            h1 { "New bot user" }
            p.hint { "A bot user cannot sign in. Administrators create keys it owns for integrations (key-management API: \"bot\": \"<name>\")." }
            (error_summary(errors))
            form #bot-form method="post" action="/settings/people/bots" {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (text_input("name", "Name", name, errors, Some("Unique in your organisation, e.g. “calendar-sync”.")))
                (role_select("role", "Role", roles, role_id, errors, false))
                div.actions {
                    button type="submit" { "Create bot user" }
                    a.button.secondary href="/settings/people" { "Cancel" }
                }
            }
        }
    };
    page("New bot user", signed_in, Section::People, body)
}

async fn new_bot_form(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    let member = signed_in.administrator()?;
    let (roles, employee) = roles_of(&state, &member).await?;
    Ok(new_bot_page(&signed_in, &roles, "", &employee, &FormErrors::default()).into_response())
}

fn bot_taken(name: &str) -> String {
    format!("Your organisation already has a bot user called “{name}”; choose another name.")
}

async fn create_bot(State(state): State<AppState>, submitted: SubmittedForm) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let (roles, _) = roles_of(&state, &member).await?;
    let mut errors = FormErrors::default();
    let name = match DisplayName::parse(fields.text("name")) {
        Ok(name) => {
            if bots::find_by_name(state.db(), member.organization_id, name.as_str())
                .await?
                .is_some()
            {
                errors.add("name", bot_taken(name.as_str()));
            }
            Some(name)
        }
        Err(_) => {
            errors.add(
                "name",
                "Give the bot user a name of 1–100 printable characters.",
            );
            None
        }
    };
    let role = chosen_role(&roles, &fields, &mut errors);
    let typed = fields.text("name");
    let (Some(name), Some(role), true) = (name, role, errors.is_empty()) else {
        let page = new_bot_page(&signed_in, &roles, typed, fields.text("role"), &errors);
        return Ok(unprocessable(page));
    };
    let created = people::create_bot(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        role,
        &name,
    )
    .await;
    if let Err(OpError::Refused(_)) = created {
        errors.add("name", bot_taken(name.as_str()));
        let page = new_bot_page(&signed_in, &roles, typed, &role.id, &errors);
        return Ok(unprocessable(page));
    }
    created?;
    Ok(Redirect::to("/settings/people?done=bot-created").into_response())
}

async fn find_bot(
    state: &AppState,
    member: &MemberContext<'_>,
    id: &str,
) -> Result<BotSummary, PageError> {
    members::find::<BotSummary>(state.db(), member.organization_id, id)
        .await?
        .ok_or_else(PageError::not_found)
}

fn bot_page(
    signed_in: &SignedIn,
    summary: &BotSummary,
    roles: &[Role],
    message: Option<&str>,
    errors: &FormErrors,
) -> Markup {
    let bot = &summary.bot;
    let base = format!("/settings/people/bots/{}", bot.id);
    let body = html! {
        section.card {
            p { a href="/settings/people" { "← Users and bots" } }
            div.page-head {
                h1 { (bot.name) }
                (status(bot.active))
            }
            (notice(message))
            (error_summary(errors))
            dl.facts {
                dt { "Kind" } dd { "Bot user (cannot sign in)" }
                dt { "Role" } dd #bot-role { (bot.role_name) }
                dt { "Created" } dd { (day(summary.created_at)) }
                dt { "Live keys" } dd { (count(summary.live_keys, "key", "keys")) }
            }
        }
        section.card #role-card {
            h2 { "Role" }
            p.hint { "The bot's keys are bounded by its role from the next request." }
            form method="post" action={ (base) "/role" } {
                input type="hidden" name="csrf" value=(signed_in.csrf());
                (role_select("role", "Role", roles, &bot.role_id, errors, false))
                button type="submit" { "Change role" }
            }
        }
        (activation_card(signed_in, &base, bot.active, &Activation {
            noun: "bot user",
            deactivating: "Every key this bot user owns stops working at once, and no new key can be made for it. You can reactivate it later.",
            reactivating: "Its keys that are not revoked or expired work again.",
            refused: None,
        }))
    };
    page(&bot.name, signed_in, Section::People, body)
}

async fn show_bot(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let summary = find_bot(&state, &member, &id).await?;
    let (roles, _) = roles_of(&state, &member).await?;
    let page = bot_page(
        &signed_in,
        &summary,
        &roles,
        done.message(BOT_DONE),
        &FormErrors::default(),
    );
    Ok(page.into_response())
}

fn back_to_bot(id: &str, done: &str) -> Redirect {
    Redirect::to(&format!("/settings/people/bots/{id}?done={done}"))
}

async fn change_bot_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let summary = find_bot(&state, &member, &id).await?;
    let (roles, _) = roles_of(&state, &member).await?;
    let mut errors = FormErrors::default();
    let Some(role) = chosen_role(&roles, &fields, &mut errors) else {
        return Ok(unprocessable(bot_page(
            &signed_in, &summary, &roles, None, &errors,
        )));
    };
    let bot = &summary.bot;
    people::set_role(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        bot_person(bot),
        role,
    )
    .await?;
    Ok(back_to_bot(&bot.id, "role").into_response())
}

async fn set_bot_active(
    state: &AppState,
    id: &str,
    submitted: SubmittedForm,
    active: bool,
) -> PageResult {
    let SubmittedForm { signed_in, .. } = submitted;
    let member = signed_in.administrator()?;
    let bot = find_bot(state, &member, id).await?.bot;
    people::set_active(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        bot_person(&bot),
        active,
    )
    .await?;
    let done = if active { "reactivated" } else { "deactivated" };
    Ok(back_to_bot(&bot.id, done).into_response())
}

async fn deactivate_bot(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    set_bot_active(&state, &id, submitted, false).await
}

async fn reactivate_bot(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    set_bot_active(&state, &id, submitted, true).await
}
