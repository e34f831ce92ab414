//! What a signed-in person changes about their own account: password,
//! sessions, two-factor sign-in and app passwords. Each change is audited
//! under the person's own name.

use crate::auth::{APP_PASSWORD_LOOKUP_CHARS, APP_PASSWORD_PREFIX, APP_PASSWORD_SECRET_CHARS};
use crate::{OpError, Ops, Refusal};
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::secret::random_base62;
use tessera_store::{StoreError, accounts, app_passwords, sessions, two_factor};

/// Whose account a change is about, and how the audit log names them.
pub struct Own<'a> {
    pub actor: &'a Actor,
    pub account_id: &'a str,
    pub organization_id: Option<&'a OrganizationId>,
}

impl Own<'_> {
    async fn commit(self, change: crate::Change<'_>, event: AuditEvent) -> Result<(), StoreError> {
        change
            .commit_audited(
                self.actor,
                self.organization_id,
                Some(self.account_id),
                event,
            )
            .await
    }
}

/// Sets the person's new password (already checked against the policy and
/// hashed) and ends every other session of theirs: whoever else might be
/// signed in with the old password is signed out. Returns how many ended.
pub async fn change_password(
    ops: &Ops,
    own: Own<'_>,
    password_hash: &str,
    current_session: &str,
) -> Result<u64, StoreError> {
    let mut change = ops.change().await?;
    let ended =
        accounts::change_own_password(change.tx(), own.account_id, password_hash, current_session)
            .await?;
    let event = AuditEvent::PasswordChanged {
        other_sessions_ended: ended,
    };
    own.commit(change, event).await?;
    Ok(ended)
}

/// "Sign out everywhere else": ends every session of the person but this one.
pub async fn end_other_sessions(
    ops: &Ops,
    own: Own<'_>,
    current_session: &str,
) -> Result<u64, StoreError> {
    let mut change = ops.change().await?;
    let ended = sessions::delete_others(change.tx(), own.account_id, current_session).await?;
    own.commit(change, AuditEvent::SessionsEnded { count: ended })
        .await?;
    Ok(ended)
}

/// Turns two-factor sign-in on with the secret the enrolment page showed
/// (confirmed by a code of `step`) and stores the recovery codes' hashes.
/// Refused when the page's secret is no longer the pending one.
pub async fn enable_two_factor(
    ops: &Ops,
    own: Own<'_>,
    secret: &str,
    step: i64,
    recovery_code_hashes: &[String],
) -> Result<(), OpError> {
    let mut change = ops.change().await?;
    if !two_factor::enable(change.tx(), own.account_id, secret, step).await? {
        return Err(Refusal::conflict(
            "code",
            "This enrolment page is out of date (it was opened again elsewhere); reload it and scan the new code.",
        )
        .into());
    }
    two_factor::replace_recovery_codes(change.tx(), own.account_id, recovery_code_hashes).await?;
    own.commit(change, AuditEvent::TwoFactorEnabled {}).await?;
    Ok(())
}

/// Turns two-factor sign-in off (confirmed with a code or the password),
/// forgetting the secret, recovery codes and app passwords.
pub async fn disable_two_factor(
    ops: &Ops,
    own: Own<'_>,
    confirmed_with: &'static str,
) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    two_factor::disable(change.tx(), own.account_id).await?;
    own.commit(change, AuditEvent::TwoFactorDisabled { confirmed_with })
        .await
}

/// Replaces the recovery codes (the old ones stop working).
pub async fn regenerate_recovery_codes(
    ops: &Ops,
    own: Own<'_>,
    recovery_code_hashes: &[String],
) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    two_factor::replace_recovery_codes(change.tx(), own.account_id, recovery_code_hashes).await?;
    own.commit(change, AuditEvent::RecoveryCodesRegenerated {})
        .await
}

/// A new app password: shown once, stored as an Argon2id hash.
pub struct NewAppPassword {
    pub id: String,
    pub password: String,
}

/// The most app passwords one account may hold.
pub const MAX_APP_PASSWORDS: usize = 20;

/// Creates an app password named `name`, hashed with the same Argon2id as
/// passwords (off the async workers).
pub async fn create_app_password(
    ops: &Ops,
    own: Own<'_>,
    name: &str,
) -> Result<NewAppPassword, OpError> {
    let existing = app_passwords::list(ops.db(), own.account_id).await?;
    if existing.len() >= MAX_APP_PASSWORDS {
        return Err(Refusal::invalid(
            "name",
            format!("You have {MAX_APP_PASSWORDS} app passwords, the most one account may hold; revoke one you no longer use."),
        )
        .into());
    }
    if existing.iter().any(|p| p.name == name) {
        return Err(Refusal::conflict(
            "name",
            format!("You already have an app password named “{name}”."),
        )
        .into());
    }
    let lookup = random_base62(APP_PASSWORD_LOOKUP_CHARS);
    let password = format!(
        "{APP_PASSWORD_PREFIX}{lookup}_{}",
        random_base62(APP_PASSWORD_SECRET_CHARS)
    );
    let to_hash = password.clone();
    let password_hash =
        tokio::task::spawn_blocking(move || tessera_core::password::hash_secret(&to_hash))
            .await
            .map_err(|e| {
                StoreError::Read(format!("hashing an app password did not finish: {e}"))
            })?;
    let mut change = ops.change().await?;
    let id =
        app_passwords::create(change.tx(), own.account_id, name, &lookup, &password_hash).await?;
    let event = AuditEvent::AppPasswordCreated {
        name: name.to_owned(),
    };
    own.commit(change, event).await?;
    Ok(NewAppPassword { id, password })
}

/// Revokes one of the person's app passwords: the next request with it is refused.
pub async fn revoke_app_password(ops: &Ops, own: Own<'_>, id: &str) -> Result<(), OpError> {
    let mut change = ops.change().await?;
    let Some(name) = app_passwords::delete(change.tx(), own.account_id, id).await? else {
        return Err(OpError::NotFound);
    };
    own.commit(change, AuditEvent::AppPasswordRevoked { name })
        .await?;
    Ok(())
}
