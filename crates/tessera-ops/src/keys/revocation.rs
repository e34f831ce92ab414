//! Revoking keys: one, a key itself, all of an organisation's, and a key
//! reported leaked.

use crate::Change;
use crate::Ops;
use serde_json::json;
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::secret::SecretHash;
use tessera_store::api_keys::{self, ApiKey, Revocation, RevocationReason};
use tessera_store::{StoreError, now_ms};

/// A key as revoking it needs it.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'a> {
    pub organization_id: &'a OrganizationId,
    pub id: &'a str,
    pub name: &'a str,
}

impl<'a> From<&'a ApiKey> for KeyRef<'a> {
    fn from(key: &'a ApiKey) -> Self {
        KeyRef {
            organization_id: &key.organization_id,
            id: &key.id,
            name: &key.name,
        }
    }
}

/// Revokes within `change`; audited only when the key was live.
pub(super) async fn revoke_in(
    change: &mut Change<'_>,
    key: KeyRef<'_>,
    actor: &Actor,
    reason: RevocationReason,
    by: Option<&'static str>,
) -> Result<Revocation, StoreError> {
    let revocation = api_keys::revoke(change.tx(), key.organization_id, key.id, reason).await?;
    if revocation == Revocation::Revoked {
        change
            .access_changed(AccessChange::Key(key.id.to_owned()))
            .await?;
        change.emit_access(
            key.organization_id,
            "api_key.revoked",
            ("key", json!({"id": key.id, "name": key.name})),
            now_ms(),
        );
        change
            .audit(
                actor,
                Some(key.organization_id),
                Some(key.id),
                AuditEvent::KeyRevoked {
                    name: key.name.to_owned(),
                    by,
                },
            )
            .await?;
    }
    Ok(revocation)
}

/// Revokes one key now, on this instance at once and on the others through
/// the change log; audited unless it was already revoked.
pub async fn revoke(ops: &Ops, key: KeyRef<'_>, actor: &Actor) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    revoke_in(&mut change, key, actor, RevocationReason::Revoked, None).await?;
    change.commit().await
}

/// A key revoking itself (`DELETE /api/v1/me`); `actor` is the key.
pub async fn revoke_itself(ops: &Ops, key: KeyRef<'_>, actor: &Actor) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    revoke_in(
        &mut change,
        key,
        actor,
        RevocationReason::RevokedItself,
        Some("itself"),
    )
    .await?;
    change.commit().await
}

/// Revokes every key of an organisation; returns how many were live.
pub async fn revoke_all(
    ops: &Ops,
    organization_id: &OrganizationId,
    actor: &Actor,
) -> Result<u64, StoreError> {
    let mut change = ops.change().await?;
    let revoked = api_keys::revoke_all(change.tx(), organization_id).await?;
    change
        .access_changed(AccessChange::Organization(organization_id.to_string()))
        .await?;
    change.emit_access(
        organization_id,
        "api_key.revoked_all",
        ("revoked", json!(revoked)),
        now_ms(),
    );
    change
        .commit_audited(
            actor,
            Some(organization_id),
            Some(organization_id),
            AuditEvent::KeysRevokedAll { revoked },
        )
        .await?;
    Ok(revoked)
}

/// Revokes the key with this hash, whoever holds it, when someone reports it
/// leaked; `source` is where it was seen. `false` when no key has this hash
/// (the reporter is told the same either way).
pub async fn report_leak(
    ops: &Ops,
    hash: &SecretHash,
    source: Option<String>,
    reporter: &Actor,
) -> Result<bool, StoreError> {
    let Some(key) = api_keys::locate_by_hash(ops.db(), hash).await? else {
        return Ok(false);
    };
    let mut change = ops.change().await?;
    let revocation = api_keys::revoke(
        change.tx(),
        &key.organization_id,
        &key.id,
        RevocationReason::Leaked,
    )
    .await?;
    if revocation == Revocation::Revoked {
        change
            .access_changed(AccessChange::Key(key.id.to_string()))
            .await?;
    }
    change.emit_access(
        &key.organization_id,
        "api_key.leaked",
        (
            "key",
            json!({"id": key.id, "name": key.name, "source": source}),
        ),
        now_ms(),
    );
    change
        .commit_audited(
            reporter,
            Some(&key.organization_id),
            Some(&key.id),
            AuditEvent::KeyLeaked {
                name: key.name.clone(),
                source,
            },
        )
        .await?;
    tracing::warn!(key_id = %key.id, "API key reported as leaked and revoked");
    Ok(true)
}
