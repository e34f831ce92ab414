//! The access change log: appended in the same transaction as any change
//! that can alter a key's verdict, read by every instance to invalidate its
//! key cache. On PostgreSQL a trigger also pushes each row to listeners
//! (`LISTEN tessera_access_changes`).

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::access_change::AccessChange;

pub const CHANNEL: &str = "tessera_access_changes";

/// Appends `change` using `executor` (a transaction, so the entry commits
/// with the change it describes).
macro_rules! record_change {
    ($executor:expr, $change:expr) => {
        sqlx::query("INSERT INTO access_changes (scope, target, created_at) VALUES ($1, $2, $3)")
            .bind($change.scope())
            .bind($change.target())
            .bind($crate::now_ms())
            .execute($executor)
    };
}

/// Appends `change` in `tx`, so the entry commits with the change it
/// describes.
pub async fn record(tx: &mut Tx, change: &AccessChange) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        record_change!(&mut *conn, change).await?;
    });
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub seq: i64,
    pub change: AccessChange,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    seq: i64,
    scope: String,
    target: String,
}

/// What every instance runs each poll interval: one range read of the
/// primary key (the tests check the query plan on both backends).
pub const SINCE_QUERY: &str =
    "SELECT seq, scope, target FROM access_changes WHERE seq > $1 ORDER BY seq LIMIT 10000";

/// Deletes what is older than `$1` (Unix ms): a range read of
/// `access_changes_by_created_at`.
pub const PRUNE_QUERY: &str = "DELETE FROM access_changes WHERE created_at < $1";

/// Changes with a sequence number above `after`, oldest first.
pub async fn since(db: &Db, after: i64) -> Result<Vec<LoggedChange>, StoreError> {
    let rows: Vec<ChangeRow> = on_pool!(db, |pool| {
        sqlx::query_as(SINCE_QUERY)
            .bind(after)
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            AccessChange::from_parts(&row.scope, &row.target).map(|change| LoggedChange {
                seq: row.seq,
                change,
            })
        })
        .collect())
}

/// The newest sequence number, or 0 when the log is empty.
pub async fn latest_seq(db: &Db) -> Result<i64, StoreError> {
    let latest: Option<i64> = on_pool!(db, |pool| {
        sqlx::query_scalar("SELECT MAX(seq) FROM access_changes")
            .fetch_one(pool)
            .await?
    });
    Ok(latest.unwrap_or(0))
}

/// Deletes entries older than `age_ms`; every instance has long applied them.
pub async fn prune(db: &Db, age_ms: i64) -> Result<u64, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query(PRUNE_QUERY)
            .bind(now_ms() - age_ms)
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

/// A PostgreSQL listener on the change channel, or `None` on SQLite.
pub async fn listen(db: &Db) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
    match db {
        Db::Sqlite(_) => Ok(None),
        Db::Postgres(pool) => {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(CHANNEL).await?;
            Ok(Some(listener))
        }
    }
}
