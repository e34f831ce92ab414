//! Settings ▸ Roles: the organisation's roles, created, edited
//! with the permission matrix, and deleted once nothing uses them.
//!
//! Editing a role changes every key linked to it and every key of the people
//! and bot users holding it: the operation logs the change in the same
//! transaction (every instance's key cache hears of it) and this instance
//! applies it before answering, so the very next request sees the new role.

use crate::AppState;
use crate::console::form::{FormErrors, FormFields, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::permission_form::{self, PermissionDraft};
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::{self, cell, count, error_summary, notice, text_input, unprocessable};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::{Markup, html};
use tessera_core::names::DisplayName;
use tessera_core::permissions::Access;
use tessera_ops::OpError;
use tessera_ops::roles as ops_roles;
use tessera_store::StoreError;
use tessera_store::roles::{self, Deletion, Role, RoleKind, RoleUsage};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ROLES, get(list).post(create))
        .route(paths::NEW_ROLE, get(new_form))
        .route(paths::ROLE, get(edit_form).post(update))
        .route(paths::ROLE_DELETE, post(delete))
}

const DONE: Messages = &[
    ("created", "Role created."),
    (
        "updated",
        "Role saved. Keys linked to it, and keys of everyone holding it, follow the change from their next request.",
    ),
    ("deleted", "Role deleted."),
];

fn kind_label(kind: RoleKind) -> &'static str {
    match kind {
        RoleKind::Administrator | RoleKind::Employee => "Built-in",
        RoleKind::Custom => "Custom",
    }
}

fn usage_text(usage: RoleUsage) -> String {
    if usage.is_unused() {
        return "Unused".to_owned();
    }
    [
        (usage.users, "user", "users"),
        (usage.bots, "bot user", "bot users"),
        (usage.keys, "linked key", "linked keys"),
    ]
    .iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| count(*n, one, many))
    .collect::<Vec<_>>()
    .join(", ")
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let roles = roles::list(state.db(), member.organization_id).await?;
    let usage = roles::usage(state.db(), member.organization_id).await?;
    let body = html! {
        div.page-head {
            h1 { "Roles" }
            div.actions {
                a.button.small.secondary #who-can-see href=(paths::FIELD_ACCESS) { "Who can see a field" }
                " "
                a.button #new-role href=(paths::NEW_ROLE) { "New role" }
            }
        }
        (notice(flash.message(DONE)))
        p.hint { "A role is a named permission set. Each user and bot user holds one; keys linked to a role follow its later edits. Built-in: Administrator (everything, plus administration) and Employee (what you grant it)." }
        (ui::table("roles", &["Name", "Kind", "Permissions", "Used by"], &roles, |role| html! {
            tr data-role=(role.name) {
                (cell("Name", html! { a href=(paths::role(&role.id)) { (role.name) } }))
                (cell("Kind", html! { (kind_label(role.kind)) }))
                (cell("Permissions", html! { (permission_form::summary(&role.access)) }))
                (cell("Used by", html! { (usage_text(usage.get(role.id.as_str()).copied().unwrap_or_default())) }))
            }
        }))
    };
    Ok(page("Roles", &signed_in, Section::Roles, body).into_response())
}

/// What the role form shows: the role being edited (`None` when creating),
/// and what was typed.
struct RoleForm<'a> {
    role: Option<&'a Role>,
    name: &'a str,
    draft: &'a PermissionDraft,
    usage: RoleUsage,
}

fn role_page(signed_in: &SignedIn, form: &RoleForm<'_>, errors: &FormErrors) -> Markup {
    let (title, action, submit) = match form.role {
        None => (
            "New role".to_owned(),
            paths::ROLES.to_owned(),
            "Create role",
        ),
        Some(role) => (
            format!("Role “{}”", role.name),
            paths::role(&role.id),
            "Save role",
        ),
    };
    let permissions_error = errors.get("permissions");
    let body = html! {
        section.card {
            p { a href=(paths::ROLES) { "← Roles" } }
            h1 { (title) }
            (error_summary(errors))
            (ui::checked_post_form("role-form", &action, signed_in, html! {
                @match form.role.map(|r| r.kind) {
                    Some(RoleKind::Employee) => {
                        dl.facts {
                            dt { "Name" }
                            dd #role-name { (form.name) " (built-in: it cannot be renamed or deleted)" }
                        }
                    }
                    _ => (text_input("name", "Name", form.name, errors, Some("Unique in your organisation, e.g. “Payroll export”."))),
                }
                div #permissions tabindex="-1" {
                    h2 { "Permissions" }
                    @if let Some(error) = permissions_error {
                        p.field-error #permissions-error { (error) }
                    }
                    p.hint { "People and bot users holding this role can do at most this with their keys, and keys linked to the role get exactly this. Changes apply from the very next request." }
                    (permission_form::matrix(form.draft, "role"))
                }
                div.actions {
                    button type="submit" { (submit) }
                    a.button.secondary href=(paths::ROLES) { "Cancel" }
                }
            }))
        }
        @if let Some(role) = form.role.filter(|r| r.kind == RoleKind::Custom) {
            section.card.danger-zone #delete-role {
                h2 { "Delete this role" }
                @if form.usage.is_unused() {
                    p { "Nobody holds this role and no usable key is linked to it." }
                } @else {
                    p { "Used by " (usage_text(form.usage)) ". Give them another role, or revoke the keys, before deleting it." }
                }
                (ui::post_form(&paths::role_delete(&role.id), signed_in, html! {
                    button.danger type="submit" { "Delete role" }
                }))
            }
        }
    };
    page(&title, signed_in, Section::Roles, body)
}

/// The Administrator role, shown but not editable.
fn administrator_page(signed_in: &SignedIn, role: &Role) -> Markup {
    let body = html! {
        section.card {
            p { a href=(paths::ROLES) { "← Roles" } }
            h1 { "Role “" (role.name) "”" }
            p #role-locked { "The built-in Administrator role holds every permission and administers the organisation. It cannot be edited or deleted." }
            (permission_form::detail(&role.access))
        }
    };
    page(&role.name, signed_in, Section::Roles, body)
}

async fn new_form(signed_in: SignedIn) -> PageResult {
    signed_in.administrator()?;
    let form = RoleForm {
        role: None,
        name: "",
        draft: &PermissionDraft::default(),
        usage: RoleUsage::default(),
    };
    Ok(role_page(&signed_in, &form, &FormErrors::default()).into_response())
}

/// A role of the administrator's organisation, or the 404 page.
async fn find_role(
    state: &AppState,
    member: &MemberContext<'_>,
    id: &str,
) -> Result<Role, PageError> {
    roles::find_by_id(state.db(), member.organization_id, id)
        .await?
        .ok_or_else(PageError::not_found)
}

async fn role_usage(
    state: &AppState,
    member: &MemberContext<'_>,
    role_id: &str,
) -> Result<RoleUsage, PageError> {
    Ok(roles::usage(state.db(), member.organization_id)
        .await?
        .get(role_id)
        .copied()
        .unwrap_or_default())
}

async fn edit_form(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let role = find_role(&state, &member, &id).await?;
    if role.is_administrator() {
        return Ok(administrator_page(&signed_in, &role).into_response());
    }
    let form = RoleForm {
        role: Some(&role),
        name: &role.name,
        draft: &PermissionDraft::from_access(&role.access),
        usage: role_usage(&state, &member, &role.id).await?,
    };
    Ok(role_page(&signed_in, &form, &FormErrors::default()).into_response())
}

/// A role as the form describes it, or the form's problems.
struct Submitted {
    name: Option<DisplayName>,
    draft: PermissionDraft,
    errors: FormErrors,
}

/// Reads and checks the name and the matrix. `editing` is the role being
/// edited; its own name is of course not taken.
async fn read_form(
    state: &AppState,
    member: &MemberContext<'_>,
    form: &FormFields,
    editing: Option<&Role>,
) -> Result<Submitted, PageError> {
    let mut errors = FormErrors::default();
    let (draft, problems) = PermissionDraft::from_form(form);
    if !problems.is_empty() {
        errors.add("permissions", problems.join(" "));
    }
    let name = match editing {
        Some(role) if role.kind == RoleKind::Employee => DisplayName::parse(&role.name).ok(),
        _ => match DisplayName::parse(form.text("name")) {
            Err(_) => {
                errors.add(
                    "name",
                    "Give the role a name of 1–100 printable characters.",
                );
                None
            }
            Ok(name) => {
                let holder =
                    roles::find_by_name(state.db(), member.organization_id, name.as_str()).await?;
                if holder.is_some_and(|r| Some(&r.id) != editing.map(|e| &e.id)) {
                    errors.add("name", taken(name.as_str()));
                }
                Some(name)
            }
        },
    };
    // A role cannot be given more than the administrator editing it holds.
    let editor_role = roles::find_by_id(state.db(), member.organization_id, member.role_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !Access::Limited(draft.to_set()).is_within(&editor_role.access) {
        errors.add(
            "permissions",
            "A role cannot be given more than you hold yourself.",
        );
    }
    Ok(Submitted {
        name,
        draft,
        errors,
    })
}

fn taken(name: &str) -> String {
    format!("Your organisation already has a role called “{name}”; choose another name.")
}

async fn create(State(state): State<AppState>, submitted: SubmittedForm) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let Submitted {
        name,
        draft,
        mut errors,
    } = read_form(&state, &member, &fields, None).await?;
    let created = match name {
        Some(name) if errors.is_empty() => {
            let created = ops_roles::create(
                state.ops(),
                &signed_in.actor(),
                member.organization_id,
                &name,
                &draft.to_set(),
            )
            .await;
            match created {
                Err(OpError::Refused(_)) => {
                    errors.add("name", taken(name.as_str()));
                    None
                }
                other => Some(other?),
            }
        }
        _ => None,
    };
    if created.is_none() {
        let form = RoleForm {
            role: None,
            name: fields.text("name"),
            draft: &draft,
            usage: RoleUsage::default(),
        };
        return Ok(unprocessable(role_page(&signed_in, &form, &errors)));
    }
    Ok(flash::redirect(paths::ROLES, "created"))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, fields } = submitted;
    let member = signed_in.administrator()?;
    let role = find_role(&state, &member, &id).await?;
    if role.is_administrator() {
        return Err(PageError::forbidden(
            &signed_in,
            "The built-in Administrator role cannot be edited.",
        ));
    }
    let Submitted {
        name,
        draft,
        mut errors,
    } = read_form(&state, &member, &fields, Some(&role)).await?;
    let access = Access::Limited(draft.to_set());
    let saved = match &name {
        Some(name) if errors.is_empty() => {
            let updated = ops_roles::update(
                state.ops(),
                &signed_in.actor(),
                member.organization_id,
                &role,
                name,
                &access,
            )
            .await;
            match updated {
                Err(OpError::Refused(_)) => {
                    errors.add("name", taken(name.as_str()));
                    false
                }
                // Deleted by someone else meanwhile.
                Err(OpError::NotFound) => return Err(PageError::not_found()),
                other => {
                    other?;
                    true
                }
            }
        }
        _ => false,
    };
    if !saved {
        let typed = match role.kind {
            RoleKind::Employee => role.name.as_str(),
            _ => fields.text("name"),
        };
        let form = RoleForm {
            role: Some(&role),
            name: typed,
            draft: &draft,
            usage: role_usage(&state, &member, &role.id).await?,
        };
        return Ok(unprocessable(role_page(&signed_in, &form, &errors)));
    }
    Ok(flash::redirect(paths::ROLES, "updated"))
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    let SubmittedForm { signed_in, .. } = submitted;
    let member = signed_in.administrator()?;
    let role = find_role(&state, &member, &id).await?;
    if role.kind != RoleKind::Custom {
        return Err(PageError::forbidden(
            &signed_in,
            "Built-in roles cannot be deleted.",
        ));
    }
    let deletion = ops_roles::delete(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        &role,
    )
    .await;
    let deletion = match deletion {
        Err(StoreError::NotFound) => return Err(PageError::not_found()),
        other => other?,
    };
    match deletion {
        Deletion::InUse(usage) => {
            let mut errors = FormErrors::default();
            errors.add(
                "delete-role",
                format!(
                    "“{}” cannot be deleted: it is used by {}. Give them another role, or revoke the keys, first.",
                    role.name,
                    usage_text(usage)
                ),
            );
            let form = RoleForm {
                role: Some(&role),
                name: &role.name,
                draft: &PermissionDraft::from_access(&role.access),
                usage,
            };
            Ok((StatusCode::CONFLICT, role_page(&signed_in, &form, &errors)).into_response())
        }
        Deletion::Deleted => Ok(flash::redirect(paths::ROLES, "deleted")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_described_in_words() {
        assert_eq!(usage_text(RoleUsage::default()), "Unused");
        let usage = RoleUsage {
            users: 1,
            bots: 0,
            keys: 3,
        };
        assert_eq!(usage_text(usage), "1 user, 3 linked keys");
    }
}
