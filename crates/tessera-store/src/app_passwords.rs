//! App passwords: what an account with two-factor sign-in presents to the
//! key-management API's HTTP Basic instead of its own password. Stored as
//! Argon2id hashes; the public `lookup` part finds the one row to check.

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::id::{IdKind, new_id};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppPassword {
    pub id: String,
    pub name: String,
    pub lookup: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn create(
    tx: &mut Tx,
    account_id: &str,
    name: &str,
    lookup: &str,
    password_hash: &str,
) -> Result<String, StoreError> {
    let id = new_id(IdKind::AppPassword);
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO app_passwords (id, account_id, name, lookup, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(name)
        .bind(lookup)
        .bind(password_hash)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

/// The account's app passwords, newest first.
pub async fn list(db: &Db, account_id: &str) -> Result<Vec<AppPassword>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, lookup, created_at, last_used_at FROM app_passwords
             WHERE account_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(account_id)
        .fetch_all(pool)
        .await?
    }))
}

/// The id and Argon2id hash of the account's app password with this lookup.
pub async fn hash_by_lookup(
    db: &Db,
    account_id: &str,
    lookup: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, password_hash FROM app_passwords WHERE account_id = $1 AND lookup = $2",
        )
        .bind(account_id)
        .bind(lookup)
        .fetch_optional(pool)
        .await?
    }))
}

pub async fn record_use(db: &Db, id: &str) -> Result<(), StoreError> {
    on_pool!(db, |pool| {
        sqlx::query("UPDATE app_passwords SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Deletes one of the account's app passwords; its name if it existed.
pub async fn delete(tx: &mut Tx, account_id: &str, id: &str) -> Result<Option<String>, StoreError> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "DELETE FROM app_passwords WHERE account_id = $1 AND id = $2 RETURNING name",
        )
        .bind(account_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    }))
}
