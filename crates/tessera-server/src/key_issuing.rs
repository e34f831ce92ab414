//! Issuing and revoking API keys: the rules the key-management API and the
//! console share. Callers turn their input (JSON, a form) into a [`KeyRequest`];
//! a refusal names the input it is about, so the API can answer with a
//! problem and the console can show the message beside the field.

use crate::AppState;
use ipnet::IpNet;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::str::FromStr;
use tessera_core::ErrorCode;
use tessera_core::access_change::AccessChange;
use tessera_core::audit::AuditAction;
use tessera_core::names::DisplayName;
use tessera_core::permissions::{Access, PermissionSet};
use tessera_core::secret::{self, SecretHash, SecretKind};
use tessera_store::api_keys::{self, ApiKey, NewApiKey, Owner};
use tessera_store::audit::{self, Actor, NewEntry};
use tessera_store::organizations::{KeyCreationPolicy, Organization, RateLimit};
use tessera_store::roles::Role;
use tessera_store::{StoreError, api_clients, bots, organizations, roles};

/// The person creating a key, as far as the rules care.
pub struct Issuer<'a> {
    pub account_id: &'a str,
    pub username: &'a str,
    pub organization_id: &'a str,
    pub role: &'a Role,
    pub actor: Actor,
    pub ip: String,
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
    /// Already normalised with [`parse_allowlist`].
    pub ip_allowlist: Option<Vec<String>>,
    pub client_id: Option<String>,
    /// A caller-chosen key in GUID form instead of a generated one.
    pub custom_key: Option<String>,
    pub rate_limit: Option<RateLimit>,
}

/// The input a refusal is about, named as the key-management API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Name,
    Owner,
    Access,
    ExpiresAt,
    IpAllowlist,
    Client,
    CustomKey,
    Policy,
}

#[derive(Debug, Clone)]
pub struct Refusal {
    pub input: Input,
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
}

impl Refusal {
    fn invalid(input: Input, message: impl Into<String>) -> Refusal {
        Refusal {
            input,
            code: ErrorCode::InvalidRequest,
            message: message.into(),
            details: None,
        }
    }

    fn denied(input: Input, message: impl Into<String>) -> Refusal {
        Refusal {
            input,
            code: ErrorCode::PermissionDenied,
            message: message.into(),
            details: None,
        }
    }
}

pub enum IssueError {
    Refused(Refusal),
    Store(StoreError),
}

impl From<StoreError> for IssueError {
    fn from(err: StoreError) -> Self {
        IssueError::Store(err)
    }
}

impl From<Refusal> for IssueError {
    fn from(refusal: Refusal) -> Self {
        IssueError::Refused(refusal)
    }
}

impl From<IssueError> for crate::ApiError {
    fn from(err: IssueError) -> Self {
        match err {
            IssueError::Store(err) => err.into(),
            IssueError::Refused(refusal) => {
                let error = crate::ApiError::new(refusal.code, refusal.message);
                match refusal.details {
                    Some(details) => error.with_details(details),
                    None => error,
                }
            }
        }
    }
}

pub struct IssuedKey {
    pub key: ApiKey,
    /// The raw key, shown once.
    pub raw: String,
}

/// Whether this person may create keys at all in their organisation.
pub async fn may_create_keys(
    state: &AppState,
    issuer_role: &Role,
    organization_id: &str,
) -> Result<bool, StoreError> {
    if issuer_role.is_administrator() {
        return Ok(true);
    }
    let organization = organizations::find_by_id(state.db(), organization_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(allows_key_creation(issuer_role, &organization))
}

fn allows_key_creation(issuer_role: &Role, organization: &Organization) -> bool {
    issuer_role.is_administrator() || organization.key_creation == KeyCreationPolicy::Everyone
}

pub const DAY_MS: i64 = 86_400_000;

/// Applies the organisation's rules for new keys (console ▸ Organisation):
/// a maximum lifetime refuses keys without an expiry or expiring later; a
/// default allow-list is given to keys requested without their own. Returns
/// the allow-list the key gets.
fn apply_key_policy(
    organization: &Organization,
    expires_at: Option<i64>,
    ip_allowlist: Option<Vec<String>>,
    now: i64,
) -> Result<Option<Vec<String>>, Refusal> {
    if let Some(days) = organization.max_key_lifetime_days {
        let latest = now + i64::from(days) * DAY_MS;
        let problem = match expires_at {
            None => Some("set an expiry"),
            Some(expires_at) if expires_at > latest => Some("choose an expiry"),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            let unit = if days == 1 { "day" } else { "days" };
            return Err(Refusal {
                details: Some(json!({
                    "max_key_lifetime_days": days,
                    "latest_expires_at": tessera_store::format_ms(latest),
                })),
                ..Refusal::invalid(
                    Input::ExpiresAt,
                    format!(
                        "This organization requires API keys to expire within {days} {unit}: {problem} no later than {}.",
                        tessera_store::format_ms(latest)
                    ),
                )
            });
        }
    }
    Ok(ip_allowlist.or_else(|| organization.default_ip_allowlist.clone()))
}

/// Checks the request against the rules and creates the key, audited.
pub async fn issue(
    state: &AppState,
    issuer: &Issuer<'_>,
    request: KeyRequest,
) -> Result<IssuedKey, IssueError> {
    let db = state.db();
    let administrator = issuer.role.is_administrator();
    let organization = organizations::find_by_id(db, issuer.organization_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !allows_key_creation(issuer.role, &organization) {
        return Err(Refusal::denied(
            Input::Policy,
            "Only administrators may create API keys in this organization.",
        )
        .into());
    }
    let name = DisplayName::parse(&request.name)
        .map_err(|e| Refusal::invalid(Input::Name, e.to_string()))?;

    let (owner, owner_name) = match &request.bot {
        None => (
            Owner::Account(issuer.account_id.to_owned()),
            issuer.username.to_owned(),
        ),
        Some(_) if !administrator => {
            return Err(Refusal::denied(
                Input::Owner,
                "Only administrators may create keys for bot users.",
            )
            .into());
        }
        Some(bot_name) => {
            let bot = bots::find_by_name(db, issuer.organization_id, bot_name)
                .await?
                .filter(|b| b.active)
                .ok_or_else(|| {
                    Refusal::invalid(
                        Input::Owner,
                        format!("There is no active bot user named '{bot_name}'."),
                    )
                })?;
            (Owner::Bot(bot.id), bot.name)
        }
    };

    let (grant, role) = match request.access {
        RequestedAccess::Everything => (Access::Full, None),
        RequestedAccess::Inline(set) => (Access::Limited(set), None),
        RequestedAccess::Role(role_name) => {
            let role = roles::find_by_name(db, issuer.organization_id, &role_name)
                .await?
                .ok_or_else(|| {
                    Refusal::invalid(
                        Input::Access,
                        format!("There is no role named '{role_name}'."),
                    )
                })?;
            (role.access.clone(), Some(role))
        }
    };
    // A key with no permissions and no role means "everything my owner can
    // do"; an explicit grant must not exceed what its creator holds.
    let explicit = !matches!(grant, Access::Full) || role.is_some();
    if explicit && !grant.is_within(&issuer.role.access) {
        return Err(Refusal {
            details: Some(json!({"creator_role": issuer.role.name})),
            ..Refusal::denied(
                Input::Access,
                "A key cannot be granted more than its creator holds.",
            )
        }
        .into());
    }
    let now = tessera_store::now_ms();
    if let Some(expires_at) = request.expires_at
        && expires_at <= now
    {
        return Err(Refusal::invalid(Input::ExpiresAt, "The expiry must be in the future.").into());
    }
    let ip_allowlist =
        apply_key_policy(&organization, request.expires_at, request.ip_allowlist, now)?;
    if let Some(client_id) = &request.client_id {
        let known = api_clients::find_by_id(db, client_id)
            .await?
            .is_some_and(|c| c.active);
        if !known {
            return Err(Refusal::invalid(
                Input::Client,
                format!("There is no active API client '{client_id}'."),
            )
            .into());
        }
    }
    let (raw, hash, hint) = match &request.custom_key {
        None => {
            let generated = secret::generate(SecretKind::ApiKey);
            (generated.raw, generated.hash, generated.hint)
        }
        Some(custom) => {
            let guid = secret::canonical_guid(custom)
                .map_err(|e| Refusal::invalid(Input::CustomKey, format!("custom_key: {e}")))?;
            let hash = SecretHash::of(&guid);
            let hint = secret::hint(&guid);
            (guid, hash, hint)
        }
    };

    let stored_permissions = match (&grant, &role) {
        (Access::Limited(set), None) => Some(set),
        _ => None,
    };
    let created = api_keys::create(
        db,
        &NewApiKey {
            organization_id: issuer.organization_id,
            name: name.as_str(),
            key_hash: &hash,
            hint: &hint,
            owner: &owner,
            created_by: issuer.account_id,
            permissions: stored_permissions,
            role_id: role.as_ref().map(|r| r.id.as_str()),
            expires_at: request.expires_at,
            ip_allowlist: ip_allowlist.as_deref(),
            client_id: request.client_id.as_deref(),
            rate_limit: request.rate_limit,
        },
    )
    .await;
    let key = match created {
        Err(StoreError::Conflict(_)) => {
            return Err(Refusal {
                input: Input::CustomKey,
                code: ErrorCode::Conflict,
                message: "This custom key is already in use; choose another GUID.".to_owned(),
                details: None,
            }
            .into());
        }
        other => other?,
    };
    audit::record(
        db,
        NewEntry {
            organization_id: Some(issuer.organization_id),
            actor: &issuer.actor,
            action: AuditAction::KeyCreated,
            target: Some(&key.id),
            ip: Some(&issuer.ip),
            details: Some(
                json!({"name": key.name, "owner": {"type": key.owner.kind(), "name": owner_name}}),
            ),
        },
    )
    .await?;
    Ok(IssuedKey { key, raw })
}

/// CIDR ranges (IPv4 and IPv6) or single addresses, normalised to CIDR;
/// on failure, the entries that are neither.
pub fn parse_allowlist<'a>(
    entries: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, Vec<String>> {
    let mut bad = Vec::new();
    let mut ranges = Vec::new();
    for entry in entries {
        let entry = entry.trim();
        let parsed = IpNet::from_str(entry).or_else(|_| IpAddr::from_str(entry).map(IpNet::from));
        match parsed {
            Ok(net) => ranges.push(net.trunc().to_string()),
            Err(_) => bad.push(entry.to_owned()),
        }
    }
    if bad.is_empty() { Ok(ranges) } else { Err(bad) }
}

/// Revokes one key now, on this instance at once and on the others through
/// the change log; audited unless it was already revoked.
pub async fn revoke(
    state: &AppState,
    key: &ApiKey,
    actor: &Actor,
    ip: &str,
) -> Result<(), StoreError> {
    api_keys::revoke(
        state.db(),
        &key.organization_id,
        &key.id,
        api_keys::RevocationReason::Revoked,
    )
    .await?;
    state.access().apply(&AccessChange::Key(key.id.clone()));
    if key.revoked_at.is_none() {
        audit::record(
            state.db(),
            NewEntry {
                organization_id: Some(&key.organization_id),
                actor,
                action: AuditAction::KeyRevoked,
                target: Some(&key.id),
                ip: Some(ip),
                details: Some(json!({"name": key.name})),
            },
        )
        .await?;
    }
    Ok(())
}

/// Revokes every key of an organisation; returns how many were live.
pub async fn revoke_all(
    state: &AppState,
    organization_id: &str,
    actor: &Actor,
    ip: &str,
) -> Result<u64, StoreError> {
    let revoked = api_keys::revoke_all(state.db(), organization_id).await?;
    state
        .access()
        .apply(&AccessChange::Organization(organization_id.to_owned()));
    audit::record(
        state.db(),
        NewEntry {
            organization_id: Some(organization_id),
            actor,
            action: AuditAction::KeysRevokedAll,
            target: Some(organization_id),
            ip: Some(ip),
            details: Some(json!({"revoked": revoked})),
        },
    )
    .await?;
    Ok(revoked)
}
