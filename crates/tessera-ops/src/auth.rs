//! Passwords and console sessions: one password check for the console's
//! sign-in and the key-management API's HTTP Basic authentication, so both
//! throttle, verify and audit failures the same way.

use crate::Ops;
use std::net::IpAddr;
use std::sync::Arc;
use tessera_access::throttle::PasswordThrottle;
use tessera_core::audit::{Actor, ActorKind, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::secret::SecretHash;
use tessera_core::two_factor::{RecoveryCode, TotpSecret};
use tessera_store::accounts::{self, Credentials};
use tessera_store::sessions::{self, NewSession};
use tessera_store::{StoreError, app_passwords, two_factor};
use tokio::sync::Semaphore;

/// Why a password check failed, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    UnknownUsername,
    WrongPassword,
    AccountDeactivated,
    /// HTTP Basic with the password of an account that uses two-factor
    /// sign-in: only its app passwords are accepted there.
    AppPasswordRequired,
    /// A wrong TOTP or recovery code after the right password.
    WrongCode,
}

impl SignInRefusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            SignInRefusal::UnknownUsername => "unknown_username",
            SignInRefusal::WrongPassword => "wrong_password",
            SignInRefusal::AccountDeactivated => "account_deactivated",
            SignInRefusal::AppPasswordRequired => "app_password_required",
            SignInRefusal::WrongCode => "wrong_code",
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

/// Where a password is presented: the console's sign-in takes the
/// account's password (and then a code, with two-factor on); the
/// key-management API's HTTP Basic takes an app password instead for an
/// account with two-factor sign-in, so its password alone never suffices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordUse {
    ConsoleSignIn,
    HttpBasic,
}

/// What the presented password is checked against.
enum Expected {
    AccountPassword,
    /// HTTP Basic for a two-factor account with something shaped like an
    /// app password: the one it names (id and hash), if it exists.
    AppPassword(Option<(String, String)>),
    /// HTTP Basic for a two-factor account with anything else.
    AppPasswordInstead,
}

/// App passwords read `tap_<lookup>_<secret>`.
pub const APP_PASSWORD_PREFIX: &str = "tap_";
pub const APP_PASSWORD_LOOKUP_CHARS: usize = 8;
pub const APP_PASSWORD_SECRET_CHARS: usize = 32;

/// The lookup part of something shaped like an app password.
fn app_password_lookup(password: &str) -> Option<&str> {
    let rest = password.strip_prefix(APP_PASSWORD_PREFIX)?;
    let (lookup, secret) = rest.split_once('_')?;
    let base62 = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    (lookup.len() == APP_PASSWORD_LOOKUP_CHARS
        && secret.len() == APP_PASSWORD_SECRET_CHARS
        && base62(lookup)
        && base62(secret))
    .then_some(lookup)
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
    used_for: PasswordUse,
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
    let expected = match &credentials {
        Some(account) if used_for == PasswordUse::HttpBasic && account.two_factor => {
            match app_password_lookup(&password) {
                Some(lookup) => Expected::AppPassword(
                    app_passwords::hash_by_lookup(ops.db(), &account.id, lookup).await?,
                ),
                None => Expected::AppPasswordInstead,
            }
        }
        _ => Expected::AccountPassword,
    };
    let app_password_id = match &expected {
        Expected::AppPassword(Some((id, _))) => Some(id.clone()),
        _ => None,
    };
    // The slot moves into the blocking task: a caller that goes away
    // mid-check does not free it while Argon2 still runs.
    let verdict = tokio::task::spawn_blocking(move || {
        let verdict = verify(credentials, &password, expected);
        drop(slot);
        verdict
    })
    .await
    .map_err(|e| StoreError::Read(format!("password check did not finish: {e}")))?;
    match verdict {
        Ok(account) => {
            attempt.accepted();
            if let Some(id) = app_password_id {
                app_passwords::record_use(ops.db(), &id).await?;
            }
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

/// One Argon2 check whatever is expected, so timing tells nothing apart.
fn verify(
    credentials: Option<Credentials>,
    password: &str,
    expected: Expected,
) -> Result<Credentials, Refused> {
    use tessera_core::password::{verify_against_dummy, verify_password};
    let Some(account) = credentials else {
        verify_against_dummy(password);
        return Err((SignInRefusal::UnknownUsername, None));
    };
    let matches = match &expected {
        Expected::AccountPassword | Expected::AppPasswordInstead => {
            verify_password(password, &account.password_hash)
        }
        Expected::AppPassword(Some((_, hash))) => verify_password(password, hash),
        Expected::AppPassword(None) => {
            verify_against_dummy(password);
            false
        }
    };
    match (matches, account.active, expected) {
        (true, true, Expected::AppPasswordInstead) => {
            Err((SignInRefusal::AppPasswordRequired, Some(account)))
        }
        (true, true, _) => Ok(account),
        (true, false, _) => Err((SignInRefusal::AccountDeactivated, Some(account))),
        (false, _, _) => Err((SignInRefusal::WrongPassword, Some(account))),
    }
}

/// Wrong codes a pending sign-in allows before the password must be typed again.
pub const CODES_PER_PENDING_SIGN_IN: i64 = 5;

pub enum CodeCheck {
    /// The code was right: start the session.
    Accepted {
        account: Credentials,
        second_factor: &'static str,
    },
    /// Wrong; the same pending sign-in may try again.
    Refused,
    /// No pending sign-in (expired, used, or out of tries): sign in again.
    Expired,
    Throttled {
        retry_after_seconds: u64,
    },
}

/// The throttle key of an account's codes: apart from its password's, so a
/// right password does not clear the backoff of wrong codes.
fn code_throttle_key(username: &str) -> String {
    format!("two-factor:{username}")
}

/// Checks the second step of a sign-in: a TOTP code (never one of a step
/// already used) or an unused recovery code, for the pending sign-in the
/// token names. Wrong codes count against the same backoff and per-address
/// limit as passwords (under their own key), and a pending sign-in ends
/// after [`CODES_PER_PENDING_SIGN_IN`] wrong ones.
pub async fn check_code(
    ops: &Ops,
    gate: &PasswordGate,
    pending_token_hash: &str,
    typed: &str,
    ip: IpAddr,
    unix_seconds: u64,
) -> Result<CodeCheck, StoreError> {
    let db = ops.db();
    let Some(pending) = two_factor::find_pending(db, pending_token_hash).await? else {
        return Ok(CodeCheck::Expired);
    };
    let account = accounts::credentials_by_id(db, &pending.account_id).await?;
    let (Some(account), Some(state)) = (account, two_factor::state(db, &pending.account_id).await?)
    else {
        return Ok(CodeCheck::Expired);
    };
    let secret = state
        .totp_secret
        .as_deref()
        .and_then(TotpSecret::from_base32);
    let (true, Some(secret)) = (account.active, secret) else {
        two_factor::delete_pending(db, pending_token_hash).await?;
        return Ok(CodeCheck::Expired);
    };
    let attempt = match gate
        .throttle
        .reserve(&code_throttle_key(&account.username), ip)
    {
        Ok(attempt) => attempt,
        Err(throttled) => {
            let retry_after_seconds = throttled.retry_after_seconds();
            let event = AuditEvent::LoginThrottled {
                retry_after_seconds,
            };
            let actor = actor_of(&account, ip);
            ops.audit_only(&actor, account.organization_id.as_ref(), None, event)
                .await?;
            return Ok(CodeCheck::Throttled {
                retry_after_seconds,
            });
        }
    };
    let last_step = state.totp_last_step.and_then(|s| u64::try_from(s).ok());
    let checked = SecondFactor {
        secret: &secret,
        last_step,
        typed,
        unix_seconds,
    };
    if let Some(second_factor) = checked.verify(ops, &account, ip).await? {
        attempt.accepted();
        two_factor::delete_pending(db, pending_token_hash).await?;
        return Ok(CodeCheck::Accepted {
            account,
            second_factor,
        });
    }
    drop(attempt);
    let failed = two_factor::record_failed_code(db, pending_token_hash).await?;
    let event = AuditEvent::LoginFailed {
        reason: SignInRefusal::WrongCode.as_str(),
    };
    ops.audit_only(
        &actor_of(&account, ip),
        account.organization_id.as_ref(),
        None,
        event,
    )
    .await?;
    if failed >= CODES_PER_PENDING_SIGN_IN {
        two_factor::delete_pending(db, pending_token_hash).await?;
        return Ok(CodeCheck::Expired);
    }
    Ok(CodeCheck::Refused)
}

/// A typed code and what it is checked against.
struct SecondFactor<'a> {
    secret: &'a TotpSecret,
    last_step: Option<u64>,
    typed: &'a str,
    unix_seconds: u64,
}

impl SecondFactor<'_> {
    /// Which second factor the typed code is, if it is right: a TOTP code
    /// of a step not used yet (the step is recorded) or an unused recovery
    /// code (used up).
    async fn verify(
        &self,
        ops: &Ops,
        account: &Credentials,
        ip: IpAddr,
    ) -> Result<Option<&'static str>, StoreError> {
        if let Some(step) = self
            .secret
            .verify(self.typed, self.unix_seconds, self.last_step)
        {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            let fresh = two_factor::use_step(ops.db(), &account.id, step).await?;
            return Ok(fresh.then_some("totp"));
        }
        match RecoveryCode::hash(self.typed) {
            Some(hash) => Ok(use_recovery_code(ops, account, &hash, ip)
                .await?
                .then_some("recovery_code")),
            None => Ok(None),
        }
    }
}

/// Uses up a recovery code, audited with how many are left.
async fn use_recovery_code(
    ops: &Ops,
    account: &Credentials,
    hash: &SecretHash,
    ip: IpAddr,
) -> Result<bool, StoreError> {
    let mut change = ops.change().await?;
    if !two_factor::use_recovery_code(change.tx(), &account.id, hash.as_str()).await? {
        return Ok(false);
    }
    let remaining = two_factor::unused_recovery_codes_in(change.tx(), &account.id).await?;
    let event = AuditEvent::RecoveryCodeUsed {
        remaining: u64::try_from(remaining).unwrap_or(0),
    };
    change
        .commit_audited(
            &actor_of(account, ip),
            account.organization_id.as_ref(),
            Some(&account.id),
            event,
        )
        .await?;
    Ok(true)
}

/// Starts a console session for an account whose password was accepted.
pub async fn start_session(
    ops: &Ops,
    account: &Credentials,
    session: &NewSession<'_>,
    ip: IpAddr,
    second_factor: Option<&'static str>,
) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    sessions::create(change.tx(), session).await?;
    let actor = actor_of(account, ip);
    change
        .commit_audited(
            &actor,
            account.organization_id.as_ref(),
            None,
            AuditEvent::LoginSucceeded { second_factor },
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
