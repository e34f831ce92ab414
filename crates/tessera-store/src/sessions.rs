//! Console sessions, kept server-side so signing out (or deactivating an
//! account) ends them at once on every instance.

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    pub account_id: String,
    pub csrf_token: String,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub last_seen_at: Option<i64>,
}

impl Session {
    /// Whether [`touch`] has something to record: the address changed, or
    /// the last record is older than a minute.
    pub fn needs_touch(&self, ip: &str) -> bool {
        self.ip.as_deref() != Some(ip)
            || self
                .last_seen_at
                .is_none_or(|seen| seen < now_ms() - LAST_SEEN_RESOLUTION_MS)
    }
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub account_id: &'a str,
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    /// The browser's `User-Agent`, cut to [`USER_AGENT_CHARS`].
    pub user_agent: Option<&'a str>,
    pub expires_at: i64,
}

/// How much of a `User-Agent` is kept: enough to name the browser and system.
pub const USER_AGENT_CHARS: usize = 256;

/// How often a session's `last_seen_at` is written: once a minute at most,
/// so browsing does not write on every page.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

pub async fn create(tx: &mut Tx, session: &NewSession<'_>) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(session.token_hash)
        .bind(session.account_id)
        .bind(session.csrf_token)
        .bind(session.ip)
        .bind(
            session
                .user_agent
                .map(|ua| ua.chars().take(USER_AGENT_CHARS).collect::<String>()),
        )
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
            "SELECT s.account_id, s.csrf_token, s.expires_at, s.ip, s.last_seen_at FROM sessions s
             JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await?
    }))
}

/// Notes that a session was used now, from this address (called when
/// [`Session::needs_touch`], so browsing writes at most once a minute).
pub async fn touch(db: &Db, token_hash: &str, ip: &str) -> Result<(), StoreError> {
    on_pool!(db, |pool| {
        sqlx::query("UPDATE sessions SET last_seen_at = $1, ip = $2 WHERE token_hash = $3")
            .bind(now_ms())
            .bind(ip)
            .bind(token_hash)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// A live session as its owner's session list shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionSummary {
    pub token_hash: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub expires_at: i64,
}

/// An account's live sessions, the most recently used first.
pub async fn list_for_account(
    db: &Db,
    account_id: &str,
) -> Result<Vec<SessionSummary>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT token_hash, ip, user_agent, created_at, last_seen_at, expires_at FROM sessions
             WHERE account_id = $1 AND expires_at > $2
             ORDER BY COALESCE(last_seen_at, created_at) DESC, created_at DESC",
        )
        .bind(account_id)
        .bind(now_ms())
        .fetch_all(pool)
        .await?
    }))
}

/// Ends every session of an account but `keep` (the one asking); returns
/// how many live ones ended.
pub async fn delete_others(tx: &mut Tx, account_id: &str, keep: &str) -> Result<u64, StoreError> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2 AND expires_at > $3",
        )
        .bind(account_id)
        .bind(keep)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?
        .rows_affected()
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
