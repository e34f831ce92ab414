//! Passwords and console sessions: one password check for the console's
//! sign-in and the key-management API's HTTP Basic authentication, so both
//! throttle, verify and audit failures the same way.

use crate::Ops;
use std::net::IpAddr;
use std::sync::Arc;
use tessera_access::throttle::PasswordThrottle;
use tessera_core::audit::{Actor, ActorKind, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_store::StoreError;
use tessera_store::accounts::{self, Credentials};
use tessera_store::sessions::{self, NewSession};
use tokio::sync::Semaphore;

/// Why a password check failed, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    UnknownUsername,
    WrongPassword,
    AccountDeactivated,
}

impl SignInRefusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            SignInRefusal::UnknownUsername => "unknown_username",
            SignInRefusal::WrongPassword => "wrong_password",
            SignInRefusal::AccountDeactivated => "account_deactivated",
        }
    }
}

pub enum PasswordCheck {
    Accepted(Credentials),
    Refused(SignInRefusal),
    Throttled {
        retry_after_seconds: u64,
    },
    /// Every password-hashing slot was taken: nothing was checked or counted.
    Busy {
        retry_after_seconds: u64,
    },
}

/// How long a caller refused for want of a hashing slot is asked to wait:
/// a check takes tens of milliseconds, so slots free up quickly.
const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

/// What guards password checks: the failure throttle, and a bound on how
/// many Argon2 verifications (19 MiB and one core each) run at once, so a
/// flood of sign-ins cannot exhaust memory or starve the blocking pool.
pub struct PasswordGate {
    throttle: PasswordThrottle,
    hashing: Arc<Semaphore>,
}

impl PasswordGate {
    pub fn new(throttle: PasswordThrottle, concurrent_checks: usize) -> Self {
        PasswordGate {
            throttle,
            hashing: Arc::new(Semaphore::new(concurrent_checks.max(1))),
        }
    }

    pub fn throttle(&self) -> &PasswordThrottle {
        &self.throttle
    }
}

/// Who the audit log names for an account's own actions.
pub fn actor_of(account: &Credentials, ip: IpAddr) -> Actor {
    Actor {
        kind: if account.is_operator {
            ActorKind::Operator
        } else {
            ActorKind::User
        },
        id: Some(account.id.to_string()),
        name: account.username.clone(),
        ip: Some(ip.to_string()),
    }
}

/// Checks a username and password. The attempt is counted against the
/// address and the account's backoff from it before anything is verified
/// (refused at once while the address is throttled or the account is
/// backing off for it) and taken back if the password is right or no
/// hashing slot is free; otherwise it is verified off the async workers
/// (Argon2 is deliberately slow), an unknown username costing the same as a
/// wrong password. Failures and throttling are audited.
pub async fn check_password(
    ops: &Ops,
    gate: &PasswordGate,
    username: &str,
    password: String,
    ip: IpAddr,
) -> Result<PasswordCheck, StoreError> {
    let attempted_by = Actor::anonymous(
        username.chars().take(64).collect::<String>(),
        ip.to_string(),
    );
    let attempt = match gate.throttle.reserve(username, ip) {
        Ok(attempt) => attempt,
        Err(throttled) => {
            let retry_after_seconds = throttled.retry_after_seconds();
            let event = AuditEvent::LoginThrottled {
                retry_after_seconds,
            };
            ops.audit_only(&attempted_by, None, None, event).await?;
            return Ok(PasswordCheck::Throttled {
                retry_after_seconds,
            });
        }
    };
    let Ok(slot) = gate.hashing.clone().try_acquire_owned() else {
        attempt.refund();
        tracing::debug!("every password-hashing slot is taken; a password check was refused");
        return Ok(PasswordCheck::Busy {
            retry_after_seconds: BUSY_RETRY_AFTER_SECONDS,
        });
    };
    let credentials = accounts::credentials_by_username(ops.db(), username).await?;
    // The slot moves into the blocking task: a caller that goes away
    // mid-check does not free it while Argon2 still runs.
    let verdict = tokio::task::spawn_blocking(move || {
        let verdict = verify(credentials, &password);
        drop(slot);
        verdict
    })
    .await
    .map_err(|e| StoreError::Read(format!("password check did not finish: {e}")))?;
    match verdict {
        Ok(account) => {
            attempt.accepted();
            Ok(PasswordCheck::Accepted(account))
        }
        Err((reason, account)) => {
            drop(attempt);
            let actor = account
                .as_ref()
                .map_or(attempted_by, |account| actor_of(account, ip));
            let organization_id = account.as_ref().and_then(|a| a.organization_id.as_ref());
            let event = AuditEvent::LoginFailed {
                reason: reason.as_str(),
            };
            ops.audit_only(&actor, organization_id, None, event).await?;
            Ok(PasswordCheck::Refused(reason))
        }
    }
}

type Refused = (SignInRefusal, Option<Credentials>);

fn verify(credentials: Option<Credentials>, password: &str) -> Result<Credentials, Refused> {
    let Some(account) = credentials else {
        tessera_core::password::verify_against_dummy(password);
        return Err((SignInRefusal::UnknownUsername, None));
    };
    let matches = tessera_core::password::verify_password(password, &account.password_hash);
    match (matches, account.active) {
        (true, true) => Ok(account),
        (true, false) => Err((SignInRefusal::AccountDeactivated, Some(account))),
        (false, _) => Err((SignInRefusal::WrongPassword, Some(account))),
    }
}

/// Starts a console session for an account whose password was accepted.
pub async fn start_session(
    ops: &Ops,
    account: &Credentials,
    session: &NewSession<'_>,
    ip: IpAddr,
) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    sessions::create(change.tx(), session).await?;
    let actor = actor_of(account, ip);
    change
        .commit_audited(
            &actor,
            account.organization_id.as_ref(),
            None,
            AuditEvent::LoginSucceeded {},
        )
        .await
}

/// Ends a console session (signing out).
pub async fn end_session(
    ops: &Ops,
    token_hash: &str,
    actor: &Actor,
    organization_id: Option<&OrganizationId>,
) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    sessions::delete(change.tx(), token_hash).await?;
    change
        .commit_audited(actor, organization_id, None, AuditEvent::Logout {})
        .await
}
