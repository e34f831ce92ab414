//! Two-factor sign-in: an account's TOTP secret (pending until confirmed),
//! the last step used, its recovery codes, and the sign-ins waiting for a
//! code between the password and the session.

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};

/// An account's two-factor state as the enrolment page and sign-in need it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TwoFactorState {
    /// The confirmed secret (base32): two-factor is on.
    pub totp_secret: Option<String>,
    /// A secret shown on the enrolment page, not yet confirmed with a code.
    pub totp_pending_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub totp_enabled_at: Option<i64>,
}

pub async fn state(db: &Db, account_id: &str) -> Result<Option<TwoFactorState>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT totp_secret, totp_pending_secret, totp_last_step, totp_enabled_at FROM accounts WHERE id = $1",
        )
        .bind(account_id)
        .fetch_optional(pool)
        .await?
    }))
}

/// Keeps the secret shown on the enrolment page until a code confirms it.
pub async fn set_pending_secret(db: &Db, account_id: &str, secret: &str) -> Result<(), StoreError> {
    on_pool!(db, |pool| {
        sqlx::query("UPDATE accounts SET totp_pending_secret = $1 WHERE id = $2")
            .bind(secret)
            .bind(account_id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Turns two-factor on with the pending secret, if it is still `secret`
/// (another tab may have replaced it); `false` otherwise.
pub async fn enable(
    tx: &mut Tx,
    account_id: &str,
    secret: &str,
    step: i64,
) -> Result<bool, StoreError> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE accounts SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
                    totp_last_step = $1, totp_enabled_at = $2, updated_at = $2
             WHERE id = $3 AND totp_pending_secret = $4",
        )
        .bind(step)
        .bind(now_ms())
        .bind(account_id)
        .bind(secret)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

/// Turns two-factor off: forgets the secret, the recovery codes and the app
/// passwords (which exist only for two-factor accounts).
pub async fn disable(tx: &mut Tx, account_id: &str) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE accounts SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL,
                    totp_enabled_at = NULL, updated_at = $1
             WHERE id = $2",
        )
        .bind(now_ms())
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM app_passwords WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Records that the code of `step` was used, only if no later or equal
/// step was: two requests racing with one code cannot both win.
pub async fn use_step(db: &Db, account_id: &str, step: i64) -> Result<bool, StoreError> {
    let changed = on_pool!(db, |pool| {
        sqlx::query(
            "UPDATE accounts SET totp_last_step = $1
             WHERE id = $2 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(account_id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

/// Replaces every recovery code of the account with these hashes.
pub async fn replace_recovery_codes(
    tx: &mut Tx,
    account_id: &str,
    code_hashes: &[String],
) -> Result<(), StoreError> {
    let now = now_ms();
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
        for hash in code_hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(account_id)
            .bind(hash)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    });
    Ok(())
}

/// Uses up a recovery code; `false` if it is not one of the account's
/// unused codes.
pub async fn use_recovery_code(
    tx: &mut Tx,
    account_id: &str,
    code_hash: &str,
) -> Result<bool, StoreError> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE recovery_codes SET used_at = $1
             WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now_ms())
        .bind(account_id)
        .bind(code_hash)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

/// Recovery codes the account has not used yet.
pub async fn unused_recovery_codes(db: &Db, account_id: &str) -> Result<i64, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(pool)
        .await?
    }))
}

/// A sign-in whose password was right, waiting for its code.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingSignIn {
    pub account_id: String,
    pub failed_codes: i64,
}

pub async fn create_pending(
    db: &Db,
    token_hash: &str,
    account_id: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    on_pool!(db, |pool| {
        sqlx::query("DELETE FROM pending_sign_ins WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?;
        sqlx::query(
            "INSERT INTO pending_sign_ins (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The pending sign-in of this token, if it has not expired.
pub async fn find_pending(db: &Db, token_hash: &str) -> Result<Option<PendingSignIn>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT account_id, failed_codes FROM pending_sign_ins WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await?
    }))
}

/// Counts a wrong code against the pending sign-in; returns the count.
pub async fn record_failed_code(db: &Db, token_hash: &str) -> Result<i64, StoreError> {
    let count: Option<i64> = on_pool!(db, |pool| {
        sqlx::query_scalar(
            "UPDATE pending_sign_ins SET failed_codes = failed_codes + 1 WHERE token_hash = $1 RETURNING failed_codes",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?
    });
    Ok(count.unwrap_or(i64::MAX))
}

pub async fn delete_pending(db: &Db, token_hash: &str) -> Result<(), StoreError> {
    on_pool!(db, |pool| {
        sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// [`unused_recovery_codes`] inside a change (after one was used).
pub async fn unused_recovery_codes_in(tx: &mut Tx, account_id: &str) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        )
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?
    }))
}
