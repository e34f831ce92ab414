//! People of an organisation: users who sign in and bot users who only own
//! keys. One set of operations serves both, so their rules cannot drift.

use crate::{Change, OpError, Ops, Refusal};
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::names::{DisplayName, Username};
use tessera_store::accounts::UserSummary;
use tessera_store::bots::Bot;
use tessera_store::roles::Role;
use tessera_store::{StoreError, accounts, bots, members};

pub use tessera_store::members::MemberKind as PersonKind;

/// A user or bot user as it is now, before a change.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub kind: PersonKind,
    pub id: &'a str,
    /// The username of a user, the name of a bot user.
    pub name: &'a str,
    pub active: bool,
    pub role_id: &'a str,
    pub role_name: &'a str,
}

impl<'a> From<&'a UserSummary> for Person<'a> {
    fn from(user: &'a UserSummary) -> Self {
        Person {
            kind: PersonKind::User,
            id: &user.id,
            name: &user.username,
            active: user.active,
            role_id: &user.role_id,
            role_name: &user.role_name,
        }
    }
}

impl<'a> From<&'a Bot> for Person<'a> {
    fn from(bot: &'a Bot) -> Self {
        Person {
            kind: PersonKind::Bot,
            id: &bot.id,
            name: &bot.name,
            active: bot.active,
            role_id: &bot.role_id,
            role_name: &bot.role_name,
        }
    }
}

pub async fn create_user(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    role: &Role,
    username: &Username,
    password_hash: &str,
) -> Result<String, OpError> {
    let mut change = ops.change().await?;
    let created = accounts::create_user(
        change.tx(),
        organization_id,
        &role.id,
        username,
        password_hash,
    )
    .await;
    let id = match created {
        Err(StoreError::Conflict(_)) => return Err(username_taken(username).into()),
        other => other?,
    };
    let event = AuditEvent::UserCreated {
        username: username.as_str().to_owned(),
        role: role.name.clone(),
    };
    change
        .commit_audited(actor, Some(organization_id), Some(&id), event)
        .await?;
    Ok(id)
}

pub(crate) fn username_taken(username: &Username) -> Refusal {
    Refusal::conflict(
        "username",
        format!("The username '{username}' is already taken."),
    )
}

pub async fn create_bot(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    role: &Role,
    name: &DisplayName,
) -> Result<String, OpError> {
    let mut change = ops.change().await?;
    let id = match bots::create(change.tx(), organization_id, &role.id, name).await {
        Err(StoreError::Conflict(_)) => {
            return Err(Refusal::conflict(
                "name",
                format!("There is already a bot user named '{name}'."),
            )
            .into());
        }
        other => other?,
    };
    let event = AuditEvent::BotCreated {
        name: name.as_str().to_owned(),
        role: role.name.clone(),
    };
    change
        .commit_audited(actor, Some(organization_id), Some(&id), event)
        .await?;
    Ok(id)
}

/// Deactivates or reactivates a person; their keys stop or resume at once
/// on every instance. `false` when they already were so (nothing audited).
pub async fn set_active(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    person: Person<'_>,
    active: bool,
) -> Result<bool, StoreError> {
    if person.active == active {
        return Ok(false);
    }
    let mut change = ops.change().await?;
    let name = person.name.to_owned();
    members::set_active(change.tx(), organization_id, person.kind, person.id, active).await?;
    let event = match (person.kind, active) {
        (PersonKind::User, true) => AuditEvent::UserReactivated { username: name },
        (PersonKind::User, false) => AuditEvent::UserDeactivated { username: name },
        (PersonKind::Bot, true) => AuditEvent::BotReactivated { name },
        (PersonKind::Bot, false) => AuditEvent::BotDeactivated { name },
    };
    commit_keys_change(change, actor, organization_id, person.id, event).await?;
    Ok(true)
}

/// Gives a person another role of the organisation; their keys are bounded
/// by it from the next request on every instance. `false` when they
/// already hold it.
pub async fn set_role(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    person: Person<'_>,
    role: &Role,
) -> Result<bool, StoreError> {
    if role.id == *person.role_id {
        return Ok(false);
    }
    let mut change = ops.change().await?;
    let (name, role_name, previous_role) = (
        person.name.to_owned(),
        role.name.clone(),
        person.role_name.to_owned(),
    );
    members::set_role(
        change.tx(),
        organization_id,
        person.kind,
        person.id,
        &role.id,
    )
    .await?;
    let event = match person.kind {
        PersonKind::User => AuditEvent::UserRoleChanged {
            username: name,
            role: role_name,
            previous_role,
        },
        PersonKind::Bot => AuditEvent::BotRoleChanged {
            name,
            role: role_name,
            previous_role,
        },
    };
    commit_keys_change(change, actor, organization_id, person.id, event).await?;
    Ok(true)
}

/// Commits a change to what a person's keys may do: every instance's cache
/// forgets the organisation's keys.
async fn commit_keys_change(
    mut change: Change<'_>,
    actor: &Actor,
    organization_id: &OrganizationId,
    person_id: &str,
    event: AuditEvent,
) -> Result<(), StoreError> {
    change
        .access_changed(AccessChange::Organization(organization_id.to_string()))
        .await?;
    change
        .commit_audited(actor, Some(organization_id), Some(person_id), event)
        .await
}

/// Sets a password an administrator chose and ends the user's sessions.
pub async fn reset_password(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    user_id: &str,
    username: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    accounts::reset_password(change.tx(), organization_id, user_id, password_hash).await?;
    let event = AuditEvent::UserPasswordReset {
        username: username.to_owned(),
    };
    change
        .commit_audited(actor, Some(organization_id), Some(user_id), event)
        .await
}

/// Creates an operator of the deployment.
pub async fn create_operator(
    ops: &Ops,
    actor: &Actor,
    username: &Username,
    password_hash: &str,
) -> Result<String, OpError> {
    let mut change = ops.change().await?;
    let id = match accounts::create_operator(change.tx(), username, password_hash).await {
        Err(StoreError::Conflict(_)) => return Err(username_taken(username).into()),
        other => other?,
    };
    let event = AuditEvent::OperatorCreated {
        username: username.as_str().to_owned(),
    };
    change.commit_audited(actor, None, Some(&id), event).await?;
    Ok(id)
}
