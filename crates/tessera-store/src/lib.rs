//! Tessera's storage: connection pools, migrations and repositories.
//!
//! One set of repository functions serves both SQLite (the embedded default)
//! and PostgreSQL (scale-out). Queries are written once in the SQL both
//! dialects accept, with `$n` placeholders, and the [`on_pool!`] macro runs
//! each against whichever pool is configured; the migrations are the only
//! place the dialects are written separately. Times are stored as Unix
//! milliseconds so they compare and sort the same way on both.

pub mod access_changes;
pub mod accounts;
pub mod api_clients;
pub mod api_keys;
pub mod app_passwords;
pub mod audit;
pub mod bots;
pub mod client_applications;
pub mod client_connections;
mod db;
mod error;
pub mod events;
pub mod members;
pub mod organizations;
pub mod records;
pub mod roles;
pub mod sessions;
mod sqlite_reads;
pub mod two_factor;
pub mod usage;
pub mod webhooks;

pub use db::{
    Backend, ConnectError, DatabaseUrl, DatabaseUrlError, Db, PoolSettings, SqliteDurability, Tx,
};
pub use error::StoreError;
pub use sqlx::postgres::PgListener;

/// The row a one-parameter statement finds, if any.
pub(crate) async fn fetch_optional<R>(
    db: &Db,
    sql: &'static str,
    value: &str,
) -> Result<Option<R>, StoreError>
where
    R: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(value)
        .fetch_optional(pool)
        .await?))
}

/// The current time in Unix milliseconds, the unit of every stored time.
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Formats stored Unix milliseconds as RFC 3339 (UTC).
pub fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
