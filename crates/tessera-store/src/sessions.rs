//! Console sessions, kept server-side so signing out (or deactivating an
//! account) ends them at once on every instance.

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    pub account_id: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub account_id: &'a str,
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    pub expires_at: i64,
}

pub async fn create(tx: &mut Tx, session: &NewSession<'_>) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, csrf_token, ip, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.token_hash)
        .bind(session.account_id)
        .bind(session.csrf_token)
        .bind(session.ip)
        .bind(now_ms())
        .bind(session.expires_at)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// The live session with this token hash, if it has not expired and its
/// account is still active.
pub async fn find_live(db: &Db, token_hash: &str) -> Result<Option<Session>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT s.account_id, s.csrf_token, s.expires_at FROM sessions s
             JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await?
    }))
}

pub async fn delete(tx: &mut Tx, token_hash: &str) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn delete_expired(db: &Db) -> Result<u64, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected()
    }))
}
