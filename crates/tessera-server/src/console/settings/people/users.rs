//! Settings ▸ Users: creating a user, their page, and resetting their
//! password.

use super::shared::{
    self, Activation, Creation, CreationStart, Kind, KindPaths, PersonPage, SELF_DEACTIVATE,
    SELF_ROLE, chosen_role, password_input, roles_of,
};
use crate::AppState;
use crate::console::form::{
    FormErrors, SubmittedForm, hash_new_password, password_context, password_problem,
};
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{self, Messages};
use crate::console::ui::{self, error_summary, notice, role_select, unprocessable};
use axum::extract::{Path, State};
use maud::{Markup, html};
use tessera_core::names::Username;
use tessera_core::password::NewPassword;
use tessera_ops::OpError;
use tessera_ops::people::{self, Person};
use tessera_store::accounts::{self, UserSummary};

impl Kind for UserSummary {
    const PATHS: KindPaths = KindPaths {
        page: paths::user,
        deactivate: paths::user_deactivate,
        reactivate: paths::user_reactivate,
    };

    const CREATION: Creation = Creation {
        title: "New user",
        form_id: "user-form",
        action: paths::USERS,
        intro: None,
        name_field: "username",
        name_label: "Username",
        name_hint: "3–64 letters, digits and . _ @ -; unique across this Tessera deployment.",
        with_password: true,
        submit: "Create user",
    };

    const DONE: Messages = &[
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

    fn person(&self) -> Person<'_> {
        self.into()
    }

    fn render(&self, signed_in: &SignedIn, page: &PersonPage<'_>) -> Markup {
        user_page(signed_in, self, page)
    }
}

pub async fn create_user(
    State(state): State<AppState>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let typed = fields.trimmed("username");
    let CreationStart {
        member,
        roles,
        name: username,
        mut errors,
    } = shared::creation_start(
        &state,
        &signed_in,
        &UserSummary::CREATION,
        Username::parse(typed),
        MALFORMED,
    )
    .await?;
    if let Some(username) = &username
        && accounts::credentials_by_username(state.db(), username.as_str())
            .await?
            .is_some()
    {
        errors.add("username", taken(username.as_str()));
    }
    let context = password_context(
        typed,
        Some((member.organization_slug, member.organization_name)),
    );
    let context_words: Vec<&str> = context.iter().map(String::as_str).collect();
    if let Err(err) = NewPassword::parse(fields.text("password"), &context_words) {
        errors.add("password", password_problem(&err));
    }
    let role = chosen_role(&roles, &fields, &mut errors);
    let rejected = |role_id: &str, errors: &FormErrors| {
        shared::creation_refused::<UserSummary>(&signed_in, &roles, typed, role_id, errors)
    };
    let (Some(username), Some(role), true) = (username, role, errors.is_empty()) else {
        return Ok(rejected(fields.text("role"), &errors));
    };
    let password_hash = match hash_new_password(fields.text("password").to_owned(), context).await?
    {
        Ok(hash) => hash,
        Err(err) => {
            errors.add("password", password_problem(&err));
            return Ok(rejected(&role.id, &errors));
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
            return Ok(rejected(&role.id, &errors));
        }
        other => other?,
    };
    Ok(flash::redirect(paths::PEOPLE, "user-created"))
}

const MALFORMED: &str = "Use 3–64 letters, digits and . _ @ - for the username.";

fn taken(username: &str) -> String {
    format!("The username “{username}” is already taken; choose another.")
}

fn user_page(signed_in: &SignedIn, user: &UserSummary, view: &PersonPage<'_>) -> Markup {
    let own = user.id == signed_in.account().id;
    let errors = view.errors;
    let body = html! {
        section.card {
            p { a href=(paths::PEOPLE) { "← Users and bots" } }
            div.page-head {
                h1 { (user.username) }
                (ui::active_badge(user.active, "Deactivated"))
            }
            (notice(view.message))
            (error_summary(errors))
            dl.facts {
                dt { "Role" } dd #user-role { (user.role_name) }
                dt { "Created" } dd { (ui::time::timestamp(user.created_at)) }
                dt { "Live keys" } dd { (user.live_keys) }
            }
        }
        section.card #role-card {
            h2 { "Role" }
            @if own {
                // No form at all: one's own role is changed by another
                // administrator, so neither the choice nor its button is offered.
                p.hint #own-role { (SELF_ROLE) }
            } @else {
                p.hint { "Their keys are bounded by their role: a narrower role narrows every key they own from the next request." }
                (ui::post_form(&paths::user_role(&user.id), signed_in, html! {
                    (role_select("role", view.roles, &user.role_id, errors))
                    button type="submit" { "Change role" }
                }))
            }
        }
        section.card #password-card {
            h2 { "Reset password" }
            p.hint { "Sets a new password and ends every console session of this user." }
            (ui::post_form(&paths::user_password(&user.id), signed_in, html! {
                (password_input("New password", errors))
                button type="submit" { "Reset password" }
            }))
        }
        (shared::activation_card(signed_in, user, &Activation {
            noun: "user",
            deactivating: "They can no longer sign in, their console sessions end, and every key they own stops working at once. You can reactivate them later.",
            reactivating: "They can sign in again, and their keys that are not revoked or expired work again.",
            refused: own.then_some(SELF_DEACTIVATE),
        }))
    };
    page(&user.username, signed_in, Section::People, body)
}

pub async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let member = signed_in.administrator()?;
    let user = shared::find::<UserSummary>(&state, &member, &id).await?;
    let context = password_context(
        &user.username,
        Some((member.organization_slug, member.organization_name)),
    );
    let password_hash = match hash_new_password(fields.text("password").to_owned(), context).await?
    {
        Ok(hash) => hash,
        Err(err) => {
            let (roles, _) = roles_of(&state, &member).await?;
            let mut errors = FormErrors::default();
            errors.add("password", password_problem(&err));
            let view = PersonPage {
                roles: &roles,
                message: None,
                errors: &errors,
            };
            return Ok(unprocessable(user_page(&signed_in, &user, &view)));
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
    Ok(flash::redirect(&paths::user(&user.id), "password"))
}
