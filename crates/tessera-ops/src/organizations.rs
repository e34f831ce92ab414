//! Organisations: creating one (with its first administrator, optionally),
//! its rate limit and its rules for new keys.

use crate::people::username_taken;
use crate::{OpError, Ops, Refusal};
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{Actor, AuditEvent, RateFigures, Transition};
use tessera_core::id::OrganizationId;
use tessera_core::names::{DisplayName, Slug, Username};
use tessera_store::organizations::{self, FirstAdministrator, KeyPolicy, Organization, RateLimit};
use tessera_store::{StoreError, roles};

/// A new organisation's id and, when one was asked for, its first
/// administrator's account id.
pub struct CreatedOrganization {
    pub id: OrganizationId,
    pub administrator_id: Option<String>,
}

/// Creates an organisation with its built-in roles and, optionally, its
/// first administrator, all or nothing.
pub async fn create(
    ops: &Ops,
    actor: &Actor,
    slug: &Slug,
    name: &DisplayName,
    administrator: Option<(&Username, &str)>,
) -> Result<CreatedOrganization, OpError> {
    let mut change = ops.change().await?;
    let first = administrator.map(|(username, password_hash)| FirstAdministrator {
        username,
        password_hash,
    });
    let (id, administrator_id) = match organizations::create(change.tx(), slug, name, first).await {
        Err(StoreError::Conflict(violation)) => {
            return Err(match administrator {
                Some((username, _)) if violation.0.contains("username") => username_taken(username),
                _ => Refusal::conflict(
                    "slug",
                    format!("An organization with the slug '{slug}' already exists."),
                ),
            }
            .into());
        }
        other => other?,
    };
    let event = AuditEvent::OrganizationCreated {
        slug: slug.as_str().to_owned(),
        name: name.as_str().to_owned(),
        first_administrator: administrator.map(|(username, _)| username.as_str().to_owned()),
    };
    change.audit(actor, Some(&id), Some(&id), event).await?;
    if let (Some((username, _)), Some(account_id)) = (administrator, &administrator_id) {
        let event = AuditEvent::UserCreated {
            username: username.as_str().to_owned(),
            role: roles::ADMINISTRATOR.to_owned(),
        };
        change
            .audit(actor, Some(&id), Some(account_id), event)
            .await?;
    }
    change.commit().await?;
    Ok(CreatedOrganization {
        id,
        administrator_id,
    })
}

/// Sets the organisation's rate limit; every instance applies it within a
/// second through the access-change log.
pub async fn set_rate_limit(
    ops: &Ops,
    actor: &Actor,
    organization: &Organization,
    limit: RateLimit,
) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    organizations::set_rate_limit(change.tx(), &organization.id, limit).await?;
    change
        .access_changed(AccessChange::Organization(organization.id.to_string()))
        .await?;
    let event = AuditEvent::RateLimitChanged {
        rate: limit.per_second,
        burst: limit.burst,
        previous: RateFigures {
            rate: organization.rate_limit.per_second,
            burst: organization.rate_limit.burst,
        },
    };
    change
        .commit_audited(actor, Some(&organization.id), Some(&organization.id), event)
        .await
}

/// Replaces the organisation's rules for new keys, audited setting by
/// setting; `false` when nothing changed.
pub async fn set_key_policy(
    ops: &Ops,
    actor: &Actor,
    organization: &Organization,
    policy: &KeyPolicy,
) -> Result<bool, StoreError> {
    let before = organization.key_policy();
    if before == *policy {
        return Ok(false);
    }
    let mut change = ops.change().await?;
    organizations::set_key_policy(change.tx(), &organization.id, policy).await?;
    let event = AuditEvent::OrganizationSettingsChanged {
        key_creation: Transition::of(before.key_creation.as_str(), policy.key_creation.as_str()),
        max_key_lifetime_days: Transition::of(
            before.max_key_lifetime_days,
            policy.max_key_lifetime_days,
        ),
        default_ip_allowlist: Transition::of(
            before.default_ip_allowlist,
            policy.default_ip_allowlist.clone(),
        ),
        administrators_need_two_factor: None,
    };
    change
        .commit_audited(actor, Some(&organization.id), Some(&organization.id), event)
        .await?;
    Ok(true)
}

/// Who may create keys (`tessera admin set-key-creation`): the one setting
/// of the key policy the command line changes, audited as its own action.
pub async fn set_key_creation(
    ops: &Ops,
    actor: &Actor,
    organization: &Organization,
    key_creation: organizations::KeyCreationPolicy,
) -> Result<(), StoreError> {
    let policy = KeyPolicy {
        key_creation,
        ..organization.key_policy()
    };
    let mut change = ops.change().await?;
    organizations::set_key_policy(change.tx(), &organization.id, &policy).await?;
    let event = AuditEvent::KeyCreationPolicyChanged {
        who: key_creation.as_str(),
        previous: organization.key_creation.as_str(),
    };
    change
        .commit_audited(actor, Some(&organization.id), Some(&organization.id), event)
        .await
}

/// Whether the organisation's administrators must use two-factor sign-in;
/// `false` when it already was so.
pub async fn set_administrators_need_two_factor(
    ops: &Ops,
    actor: &Actor,
    organization: &Organization,
    required: bool,
) -> Result<bool, StoreError> {
    let Some(transition) = Transition::of(organization.administrators_need_two_factor, required)
    else {
        return Ok(false);
    };
    let mut change = ops.change().await?;
    organizations::set_administrators_need_two_factor(change.tx(), &organization.id, required)
        .await?;
    let event = AuditEvent::OrganizationSettingsChanged {
        key_creation: None,
        max_key_lifetime_days: None,
        default_ip_allowlist: None,
        administrators_need_two_factor: Some(transition),
    };
    change
        .commit_audited(actor, Some(&organization.id), Some(&organization.id), event)
        .await?;
    Ok(true)
}
