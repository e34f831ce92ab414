//! What the user and bot-user pages share: the role picker's choices, the
//! activation card, and the handlers that show a person, change their role
//! and (de)activate them, written once for both kinds.

use crate::AppState;
use crate::console::form::{FormErrors, FormFields, SubmittedForm};
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::session::{MemberContext, SignedIn};
use crate::console::ui::flash::{self, Flash, Messages};
use crate::console::ui::{self, unprocessable};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tessera_core::password;
use tessera_ops::people::{self, Person, PersonKind};
use tessera_store::members::{self, MemberSummary};
use tessera_store::roles::{self, EMPLOYEE, Role};

pub const SELF_ROLE: &str = "You cannot change your own role: ask another administrator. (This keeps every organisation from locking itself out.)";
pub const SELF_DEACTIVATE: &str = "You cannot deactivate your own account: ask another administrator. (This keeps every organisation from locking itself out.)";

/// The addresses of one kind's pages and forms.
pub struct KindPaths {
    pub page: fn(&str) -> String,
    pub deactivate: fn(&str) -> String,
    pub reactivate: fn(&str) -> String,
}

/// What a person's page shows besides the person.
pub struct PersonPage<'a> {
    pub roles: &'a [Role],
    pub message: Option<&'a str>,
    pub errors: &'a FormErrors,
}

/// What the form creating one kind of person says, and where it posts.
pub struct Creation {
    pub title: &'static str,
    pub form_id: &'static str,
    pub action: &'static str,
    /// A paragraph under the title.
    pub intro: Option<&'static str>,
    /// The name's field: `username` or `name`.
    pub name_field: &'static str,
    pub name_label: &'static str,
    pub name_hint: &'static str,
    /// Whether the person gets an initial password (users sign in; bots do not).
    pub with_password: bool,
    pub submit: &'static str,
}

/// What the creation form shows: the choices and what was typed.
pub struct CreationPage<'a> {
    pub roles: &'a [Role],
    pub name: &'a str,
    pub role_id: &'a str,
    pub errors: &'a FormErrors,
}

pub fn creation_page(signed_in: &SignedIn, creation: &Creation, view: &CreationPage<'_>) -> Markup {
    let errors = view.errors;
    let body = html! {
        section.card {
            p { a href=(paths::PEOPLE) { "← Users and bots" } }
            h1 { (creation.title) }
            @if let Some(intro) = creation.intro { p.hint { (intro) } }
            (ui::error_summary(errors))
            (ui::checked_post_form(creation.form_id, creation.action, signed_in, html! {
                (ui::text_input(creation.name_field, creation.name_label, view.name, errors, Some(creation.name_hint)))
                @if creation.with_password {
                    (password_input("Initial password", errors))
                }
                (ui::role_select("role", view.roles, view.role_id, errors))
                div.actions {
                    button type="submit" { (creation.submit) }
                    a.button.secondary href=(paths::PEOPLE) { "Cancel" }
                }
            }))
        }
    };
    page(creation.title, signed_in, Section::People, body)
}

/// The creation form again, with what was typed and its problems.
pub fn creation_refused<K: Kind>(
    signed_in: &SignedIn,
    roles: &[Role],
    name: &str,
    role_id: &str,
    errors: &FormErrors,
) -> Response {
    let view = CreationPage {
        roles,
        name,
        role_id,
        errors,
    };
    unprocessable(creation_page(signed_in, &K::CREATION, &view))
}

/// A new person's name as typed: `None`, with `malformed` beside its
/// field, when it does not parse.
/// What every creation form starts from: the administrator acting, the
/// organisation's roles, the name as parsed (a message beside the field
/// when it is not one) and the problems found so far.
pub struct CreationStart<'a, T> {
    pub member: MemberContext<'a>,
    pub roles: Vec<Role>,
    pub name: Option<T>,
    pub errors: FormErrors,
}

pub async fn creation_start<'a, T, E>(
    state: &AppState,
    signed_in: &'a SignedIn,
    creation: &Creation,
    parsed: Result<T, E>,
    malformed: &str,
) -> Result<CreationStart<'a, T>, PageError> {
    let member = signed_in.administrator()?;
    let (roles, _) = roles_of(state, &member).await?;
    let mut errors = FormErrors::default();
    let name = parsed_name(creation, parsed, malformed, &mut errors);
    Ok(CreationStart {
        member,
        roles,
        name,
        errors,
    })
}

fn parsed_name<T, E>(
    creation: &Creation,
    parsed: Result<T, E>,
    malformed: &str,
    errors: &mut FormErrors,
) -> Option<T> {
    let parsed = parsed.ok();
    if parsed.is_none() {
        errors.add(creation.name_field, malformed);
    }
    parsed
}

pub async fn new_form<K: Kind>(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    let member = signed_in.administrator()?;
    let (roles, employee) = roles_of(&state, &member).await?;
    let view = CreationPage {
        roles: &roles,
        name: "",
        role_id: &employee,
        errors: &FormErrors::default(),
    };
    Ok(creation_page(&signed_in, &K::CREATION, &view).into_response())
}

/// Users or bot users: what the shared handlers need of each kind.
pub trait Kind: MemberSummary + Sync + 'static {
    const PATHS: KindPaths;
    const CREATION: Creation;
    /// The confirmations of the person's page.
    const DONE: Messages;

    fn person(&self) -> Person<'_>;

    fn render(&self, signed_in: &SignedIn, page: &PersonPage<'_>) -> Markup;
}

/// Whether `person` is the administrator acting, who may not change their
/// own role or activation (so every organisation keeps an administrator).
fn is_self(person: &Person<'_>, member: &MemberContext<'_>) -> bool {
    person.kind == PersonKind::User && member.account.id == *person.id
}

/// The organisation's roles, and the id of `Employee`, the default choice.
pub async fn roles_of(
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
pub fn chosen_role<'r>(
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

/// A new password field; what was typed is never sent back.
pub fn password_input(label: &str, errors: &FormErrors) -> Markup {
    let hint = format!(
        "At least {} characters, not common or easy to guess (a few uncommon words work well). Tell the person through a channel you trust.",
        password::MIN_PASSWORD_CHARS
    );
    ui::password_input("password", label, &hint, errors)
}

pub async fn find<K: Kind>(
    state: &AppState,
    member: &MemberContext<'_>,
    id: &str,
) -> Result<K, PageError> {
    members::find::<K>(state.db(), member.organization_id, id)
        .await?
        .ok_or_else(PageError::not_found)
}

pub async fn show<K: Kind>(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let person = find::<K>(&state, &member, &id).await?;
    let (roles, _) = roles_of(&state, &member).await?;
    let page = PersonPage {
        roles: &roles,
        message: flash.message(K::DONE),
        errors: &FormErrors::default(),
    };
    Ok(person.render(&signed_in, &page).into_response())
}

pub async fn change_role<K: Kind>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SubmittedForm { signed_in, fields }: SubmittedForm,
) -> PageResult {
    let member = signed_in.administrator()?;
    let found = find::<K>(&state, &member, &id).await?;
    let person = found.person();
    if is_self(&person, &member) {
        return Err(PageError::forbidden(&signed_in, SELF_ROLE));
    }
    let (roles, _) = roles_of(&state, &member).await?;
    let mut errors = FormErrors::default();
    let Some(role) = chosen_role(&roles, &fields, &mut errors) else {
        let page = PersonPage {
            roles: &roles,
            message: None,
            errors: &errors,
        };
        return Ok(unprocessable(found.render(&signed_in, &page)));
    };
    let id = person.id.to_owned();
    people::set_role(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        person,
        role,
    )
    .await?;
    Ok(flash::redirect(&(K::PATHS.page)(&id), "role"))
}

pub async fn deactivate<K: Kind>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    set_active::<K>(&state, &id, submitted, false).await
}

pub async fn reactivate<K: Kind>(
    State(state): State<AppState>,
    Path(id): Path<String>,
    submitted: SubmittedForm,
) -> PageResult {
    set_active::<K>(&state, &id, submitted, true).await
}

async fn set_active<K: Kind>(
    state: &AppState,
    id: &str,
    SubmittedForm { signed_in, .. }: SubmittedForm,
    active: bool,
) -> PageResult {
    let member = signed_in.administrator()?;
    let found = find::<K>(state, &member, id).await?;
    let person = found.person();
    if is_self(&person, &member) {
        return Err(PageError::forbidden(&signed_in, SELF_DEACTIVATE));
    }
    let id = person.id.to_owned();
    people::set_active(
        state.ops(),
        &signed_in.actor(),
        member.organization_id,
        person,
        active,
    )
    .await?;
    let done = if active { "reactivated" } else { "deactivated" };
    Ok(flash::redirect(&(K::PATHS.page)(&id), done))
}

/// What the deactivate/reactivate card says about one kind of account.
pub struct Activation {
    pub noun: &'static str,
    pub deactivating: &'static str,
    pub reactivating: &'static str,
    /// Why this account may not be deactivated from here, if it may not.
    pub refused: Option<&'static str>,
}

pub fn activation_card<K: Kind>(signed_in: &SignedIn, person: &K, text: &Activation) -> Markup {
    let person = person.person();
    html! {
        section.card.danger-zone #activation {
            @if person.active {
                h2 { "Deactivate" }
                @if let Some(reason) = text.refused {
                    p #own-deactivate { (reason) }
                } @else {
                    p { (text.deactivating) }
                    (ui::post_form(&(K::PATHS.deactivate)(person.id), signed_in, html! {
                        button.danger type="submit" { "Deactivate " (text.noun) }
                    }))
                }
            } @else {
                h2 { "Reactivate" }
                p { (text.reactivating) }
                (ui::post_form(&(K::PATHS.reactivate)(person.id), signed_in, html! {
                    button type="submit" { "Reactivate " (text.noun) }
                }))
            }
        }
    }
}
