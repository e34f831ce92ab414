//! Issuing, rolling and revoking API keys: the rules the key-management API,
//! the console and the command line share. Callers turn their input (JSON, a
//! form) into a [`KeyRequest`]; a refusal names the input it is about.

use crate::{Change, OpError, Ops, Refusal};
use serde_json::json;
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{Actor, AuditEvent, OwnerName};
use tessera_core::id::{AccountId, KeyId, OrganizationId, RoleId};
use tessera_core::names::DisplayName;
use tessera_core::permissions::{Access, PermissionSet};
use tessera_core::secret::{self, SecretHash, SecretKind};
use tessera_store::api_keys::{self, ApiKey, NewApiKey, Owner, RevocationReason};
use tessera_store::organizations::{KeyCreationPolicy, Organization, RateLimit};
use tessera_store::roles::Role;
use tessera_store::{StoreError, api_clients, bots, format_ms, now_ms, organizations, roles};

mod allowlist;
mod revocation;
pub use allowlist::IpAllowlist;
use revocation::revoke_in;
pub use revocation::{KeyRef, report_leak, revoke, revoke_all, revoke_itself};

pub const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The person creating a key, as far as the rules care.
pub struct Issuer<'a> {
    pub account_id: &'a AccountId,
    pub username: &'a str,
    pub organization_id: &'a OrganizationId,
    pub role: &'a Role,
    pub actor: Actor,
}

/// What the key may do.
pub enum RequestedAccess {
    /// No grant: everything the owner can do.
    Everything,
    /// Follow a role of the organisation, named.
    Role(String),
    Inline(PermissionSet),
}

pub struct KeyRequest {
    pub name: String,
    /// The bot user that will own the key; `None` for the issuer.
    pub bot: Option<String>,
    pub access: RequestedAccess,
    pub expires_at: Option<i64>,
    pub ip_allowlist: Option<IpAllowlist>,
    pub client_id: Option<String>,
    /// A caller-chosen key in GUID form instead of a generated one.
    pub custom_key: Option<String>,
    pub rate_limit: Option<RateLimit>,
}

pub struct IssuedKey {
    pub key: ApiKey,
    /// The raw key, shown once.
    pub raw: String,
}

/// Whether this person may create keys at all in their organisation.
pub async fn may_create_keys(
    ops: &Ops,
    issuer_role: &Role,
    organization_id: &OrganizationId,
) -> Result<bool, StoreError> {
    if issuer_role.is_administrator() {
        return Ok(true);
    }
    let organization = organizations::find_by_id(ops.db(), organization_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(allows_key_creation(issuer_role, &organization))
}

fn allows_key_creation(issuer_role: &Role, organization: &Organization) -> bool {
    issuer_role.is_administrator() || organization.key_creation == KeyCreationPolicy::Everyone
}

/// Applies the organisation's rules for new keys: a maximum lifetime refuses
/// keys without an expiry or expiring later; a default allow-list is given to
/// keys requested without their own. Returns the allow-list the key gets.
fn apply_key_policy(
    organization: &Organization,
    expires_at: Option<i64>,
    ip_allowlist: Option<IpAllowlist>,
    now: i64,
) -> Result<Option<IpAllowlist>, Refusal> {
    if let Some(days) = organization.max_key_lifetime_days {
        let latest = now + i64::from(days) * DAY_MS;
        let problem = match expires_at {
            None => Some("set an expiry"),
            Some(expires_at) if expires_at > latest => Some("choose an expiry"),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            let unit = if days == 1 { "day" } else { "days" };
            return Err(Refusal::invalid(
                "expires_at",
                format!(
                    "This organization requires API keys to expire within {days} {unit}: {problem} no later than {}.",
                    format_ms(latest)
                ),
            )
            .with_details(json!({
                "max_key_lifetime_days": days,
                "latest_expires_at": format_ms(latest),
            })));
        }
    }
    Ok(ip_allowlist.or_else(|| {
        organization
            .default_ip_allowlist
            .clone()
            .map(IpAllowlist::from_stored)
    }))
}

/// A key request checked against every rule, ready to be written.
struct CheckedKey {
    name: DisplayName,
    owner: Owner,
    owner_name: String,
    stored_permissions: Option<PermissionSet>,
    role_id: Option<RoleId>,
    expires_at: Option<i64>,
    ip_allowlist: Option<IpAllowlist>,
    client_id: Option<String>,
    rate_limit: Option<RateLimit>,
    raw: String,
    hash: SecretHash,
    hint: String,
}

/// The key's owner, its name, and the role that bounds what the key can
/// do (the issuer's own for a personal key, the bot's for a bot's key).
async fn resolve_owner(
    ops: &Ops,
    issuer: &Issuer<'_>,
    bot: Option<&str>,
) -> Result<(Owner, String, Role), OpError> {
    match bot {
        None => Ok((
            Owner::Account(issuer.account_id.clone()),
            issuer.username.to_owned(),
            issuer.role.clone(),
        )),
        Some(_) if !issuer.role.is_administrator() => Err(Refusal::denied(
            "owner",
            "Only administrators may create keys for bot users.",
        )
        .into()),
        Some(bot_name) => {
            let bot = bots::find_by_name(ops.db(), issuer.organization_id, bot_name)
                .await?
                .filter(|b| b.active)
                .ok_or_else(|| {
                    Refusal::invalid(
                        "owner",
                        format!("There is no active bot user named '{bot_name}'."),
                    )
                })?;
            let role = roles::find_by_id(ops.db(), issuer.organization_id, &bot.role_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            Ok((Owner::Bot(bot.id), bot.name, role))
        }
    }
}

/// Refuses a key with its own grant that could do nothing: what it uses is
/// its grant intersected with its owner's role, and a key answered 403 on
/// every call would blame itself rather than the role that empties it.
/// A key following a role (its owner's, or a linked one) is not refused:
/// it tracks that role's edits, so it may be made before the role is
/// given access.
fn refuse_useless(
    grant: &Access,
    follows_role: bool,
    owner_name: &str,
    owner_role: &Role,
) -> Result<(), Refusal> {
    let own_grant = matches!(grant, Access::Limited(_)) && !follows_role;
    let effective = grant.intersect(&owner_role.access);
    if !own_grant || !matches!(&effective, Access::Limited(set) if set.is_empty()) {
        return Ok(());
    }
    Err(Refusal::invalid(
        "access",
        format!(
            "This key could do nothing: its owner {owner_name} has the role '{}', which grants none of what the key asks for. Give the owner a role with access to those resources first (edit the role under Roles, or give the user or bot another role).",
            owner_role.name
        ),
    )
    .with_details(json!({"owner": owner_name, "owner_role": owner_role.name})))
}

/// The grant the key gets and the role it follows, if any; never more than
/// its creator holds.
async fn resolve_grant(
    ops: &Ops,
    issuer: &Issuer<'_>,
    access: RequestedAccess,
) -> Result<(Access, Option<Role>), OpError> {
    let (grant, role) = match access {
        RequestedAccess::Everything => (Access::Full, None),
        RequestedAccess::Inline(set) => (Access::Limited(set), None),
        RequestedAccess::Role(role_name) => {
            let role = roles::find_by_name(ops.db(), issuer.organization_id, &role_name)
                .await?
                .ok_or_else(|| {
                    Refusal::invalid("access", format!("There is no role named '{role_name}'."))
                })?;
            (role.access.clone(), Some(role))
        }
    };
    // A key with no permissions and no role means "everything my owner can
    // do"; an explicit grant must not exceed what its creator holds.
    let explicit = !matches!(grant, Access::Full) || role.is_some();
    if explicit && !grant.is_within(&issuer.role.access) {
        return Err(Refusal::denied(
            "access",
            "A key cannot be granted more than its creator holds.",
        )
        .with_details(json!({"creator_role": issuer.role.name}))
        .into());
    }
    Ok((grant, role))
}

async fn check_client(ops: &Ops, client_id: Option<&str>) -> Result<(), OpError> {
    let Some(client_id) = client_id else {
        return Ok(());
    };
    let known = api_clients::find_by_id(ops.db(), client_id)
        .await?
        .is_some_and(|c| c.active);
    if known {
        Ok(())
    } else {
        Err(Refusal::invalid(
            "client_id",
            format!("There is no active API client '{client_id}'."),
        )
        .into())
    }
}

/// A generated key, or the caller's GUID in canonical form.
fn mint_secret(custom_key: Option<&str>) -> Result<(String, SecretHash, String), Refusal> {
    match custom_key {
        None => {
            let generated = secret::generate(SecretKind::ApiKey);
            Ok((generated.raw, generated.hash, generated.hint))
        }
        Some(custom) => {
            let guid = secret::canonical_guid(custom)
                .map_err(|e| Refusal::invalid("custom_key", format!("custom_key: {e}")))?;
            if secret::is_guessable_guid(&guid) {
                return Err(Refusal::invalid(
                    "custom_key",
                    "custom_key: this GUID is too easy to guess (a documentation example, or too little variety); use a randomly generated one (version 4).",
                ));
            }
            let hash = SecretHash::of(&guid);
            let hint = secret::hint(&guid);
            Ok((guid, hash, hint))
        }
    }
}

async fn check_request(
    ops: &Ops,
    issuer: &Issuer<'_>,
    request: KeyRequest,
) -> Result<CheckedKey, OpError> {
    let organization = organizations::find_by_id(ops.db(), issuer.organization_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !allows_key_creation(issuer.role, &organization) {
        return Err(Refusal::denied(
            "policy",
            "Only administrators may create API keys in this organization.",
        )
        .into());
    }
    let name =
        DisplayName::parse(&request.name).map_err(|e| Refusal::invalid("name", e.to_string()))?;
    let (owner, owner_name, owner_role) =
        resolve_owner(ops, issuer, request.bot.as_deref()).await?;
    let (grant, role) = resolve_grant(ops, issuer, request.access).await?;
    refuse_useless(&grant, role.is_some(), &owner_name, &owner_role)?;
    let now = now_ms();
    if request.expires_at.is_some_and(|at| at <= now) {
        return Err(Refusal::invalid("expires_at", "The expiry must be in the future.").into());
    }
    let ip_allowlist =
        apply_key_policy(&organization, request.expires_at, request.ip_allowlist, now)?;
    check_client(ops, request.client_id.as_deref()).await?;
    if request.custom_key.is_some()
        && let Some(seconds) = ops.key_checks_throttled(issuer.actor.ip.as_deref())
    {
        return Err(Refusal::throttled("custom_key", seconds).into());
    }
    let (raw, hash, hint) = mint_secret(request.custom_key.as_deref())?;
    let stored_permissions = match (grant, &role) {
        (Access::Limited(set), None) => Some(set),
        _ => None,
    };
    Ok(CheckedKey {
        name,
        owner,
        owner_name,
        stored_permissions,
        role_id: role.map(|r| r.id),
        expires_at: request.expires_at,
        ip_allowlist,
        client_id: request.client_id,
        rate_limit: request.rate_limit,
        raw,
        hash,
        hint,
    })
}

/// Writes a checked key in `change`, audited; returns its id.
async fn insert(
    change: &mut Change<'_>,
    issuer: &Issuer<'_>,
    key: &CheckedKey,
) -> Result<KeyId, OpError> {
    let created = api_keys::create(
        change.tx(),
        &NewApiKey {
            organization_id: issuer.organization_id,
            name: key.name.as_str(),
            key_hash: &key.hash,
            hint: &key.hint,
            owner: &key.owner,
            created_by: issuer.account_id,
            permissions: key.stored_permissions.as_ref(),
            role_id: key.role_id.as_deref(),
            expires_at: key.expires_at,
            ip_allowlist: key.ip_allowlist.as_ref().map(IpAllowlist::ranges),
            client_id: key.client_id.as_deref(),
            rate_limit: key.rate_limit,
        },
    )
    .await;
    let id = match created {
        // A taken custom key is a failed key check for the address, like an
        // unknown key presented to the API: otherwise creating keys would be
        // an unthrottled way to test guesses.
        Err(StoreError::Conflict(_)) => {
            change
                .ops
                .record_failed_key_check(issuer.actor.ip.as_deref());
            return Err(Refusal::conflict(
                "custom_key",
                "This custom key cannot be used; choose another, randomly generated GUID.",
            )
            .into());
        }
        other => other?,
    };
    change.emit_access(
        issuer.organization_id,
        "api_key.created",
        key_subject(&id, key.name.as_str(), key.owner.kind(), &key.owner_name),
        now_ms(),
    );
    change
        .audit(
            &issuer.actor,
            Some(issuer.organization_id),
            Some(&id),
            AuditEvent::KeyCreated {
                name: key.name.as_str().to_owned(),
                owner: OwnerName {
                    kind: key.owner.kind(),
                    name: key.owner_name.clone(),
                },
            },
        )
        .await?;
    Ok(id)
}

async fn issued(
    ops: &Ops,
    organization_id: &OrganizationId,
    id: KeyId,
    raw: String,
) -> Result<IssuedKey, OpError> {
    let key = api_keys::find(ops.db(), organization_id, &id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(IssuedKey { key, raw })
}

/// Checks the request against the rules and creates the key, audited.
pub async fn issue(
    ops: &Ops,
    issuer: &Issuer<'_>,
    request: KeyRequest,
) -> Result<IssuedKey, OpError> {
    let checked = check_request(ops, issuer, request).await?;
    let mut change = ops.change().await?;
    let id = insert(&mut change, issuer, &checked).await?;
    change.commit().await?;
    issued(ops, issuer.organization_id, id, checked.raw).await
}

/// Replaces `key` with a new one of the same name, owner, grant, expiry,
/// allow-list, client and rate limit. The old key stops at once
/// (`overlap_hours` 0) or at the end of the overlap; all in one change.
pub async fn roll(
    ops: &Ops,
    issuer: &Issuer<'_>,
    key: &ApiKey,
    overlap_hours: u32,
) -> Result<IssuedKey, OpError> {
    let access = match (&key.role_name, &key.permissions) {
        (Some(role_name), _) => RequestedAccess::Role(role_name.clone()),
        (None, Some(set)) => RequestedAccess::Inline(set.clone()),
        (None, None) => RequestedAccess::Everything,
    };
    let request = KeyRequest {
        name: key.name.clone(),
        bot: matches!(key.owner, Owner::Bot(_)).then(|| key.owner_name.clone()),
        access,
        expires_at: key.expires_at,
        ip_allowlist: key.ip_allowlist.clone().map(IpAllowlist::from_stored),
        client_id: key.client_id.clone(),
        custom_key: None,
        rate_limit: key.rate_limit,
    };
    let checked = check_request(ops, issuer, request).await?;
    let mut change = ops.change().await?;
    let replacement = insert(&mut change, issuer, &checked).await?;
    if overlap_hours == 0 {
        revoke_in(
            &mut change,
            key.into(),
            &issuer.actor,
            RevocationReason::Revoked,
            None,
        )
        .await?;
    } else {
        let ends_at = now_ms() + i64::from(overlap_hours) * HOUR_MS;
        api_keys::end_at(change.tx(), &key.organization_id, &key.id, ends_at).await?;
        change
            .access_changed(AccessChange::Key(key.id.to_string()))
            .await?;
    }
    change
        .commit_audited(
            &issuer.actor,
            Some(&key.organization_id),
            Some(&key.id),
            AuditEvent::KeyRolled {
                replaced_by: replacement.to_string(),
                overlap_hours,
            },
        )
        .await?;
    issued(ops, issuer.organization_id, replacement, checked.raw).await
}

/// What key events say about the key: never its secret.
fn key_subject(
    id: &str,
    name: &str,
    owner_kind: &str,
    owner_name: &str,
) -> (&'static str, serde_json::Value) {
    let owner = json!({"type": owner_kind, "name": owner_name});
    ("key", json!({"id": id, "name": name, "owner": owner}))
}
