use crate::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// `migrations`, accepting applied migrations it does not know (a newer
/// release's) instead of refusing to start.
fn tolerating_newer(migrations: &sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    let mut migrator =
        sqlx::migrate::Migrator::with_migrations(migrations.iter().cloned().collect());
    migrator.set_ignore_missing(true);
    migrator
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL Tessera knows how to use, parsed once at start-up.
#[derive(Clone)]
pub struct DatabaseUrl {
    backend: Backend,
    raw: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid database URL '{shown}': {reason}")]
pub struct DatabaseUrlError {
    shown: String,
    reason: String,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let fail = |reason: &str| DatabaseUrlError {
            shown: redact(raw),
            reason: reason.to_owned(),
        };
        let backend = if raw.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(raw).map_err(|e| fail(&e.to_string()))?;
            Backend::Sqlite
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            PgConnectOptions::from_str(raw).map_err(|e| fail(&e.to_string()))?;
            Backend::Postgres
        } else {
            return Err(fail(
                "expected sqlite://PATH or postgres://USER@HOST/DATABASE",
            ));
        };
        Ok(DatabaseUrl {
            backend,
            raw: raw.to_owned(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The full URL, password included: for connecting, never for printing.
    pub fn expose(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The URL with any password replaced, safe for logs and error messages.
fn redact(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_owned();
    };
    let rest = &raw[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &raw[..scheme_end + 3],
                &rest[..colon],
                &rest[at..]
            ),
            None => raw.to_owned(),
        },
        None => raw.to_owned(),
    }
}

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How SQLite makes a commit durable; PostgreSQL ignores it.
    pub sqlite_durability: SqliteDurability,
    /// How long a SQLite statement waits for another writer before
    /// failing with "database is locked"; PostgreSQL ignores it.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            sqlite_durability: SqliteDurability::Full,
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// SQLite's `synchronous` setting in WAL mode. Both survive a process
/// crash; only `Full` also keeps the last commits through a power loss or
/// an operating-system crash, at the cost of an fsync per commit
/// (docs/performance.md, "SQLite durability").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteDurability {
    Full,
    Normal,
}

impl SqliteDurability {
    fn synchronous(self) -> SqliteSynchronous {
        match self {
            SqliteDurability::Full => SqliteSynchronous::Full,
            SqliteDurability::Normal => SqliteSynchronous::Normal,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the database at {url}: {source}")]
pub struct ConnectError {
    url: String,
    source: sqlx::Error,
}

/// A pool on one of the supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the configured backend's pool. The body
/// is compiled once per backend, so the same query text and row types serve
/// both.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// A write transaction on one of the supported backends. Dropping it
/// without [`Tx::commit`] rolls everything back.
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection, compiled
/// once per backend like [`on_pool!`]. Write `&mut *$conn` for each query.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
            $crate::Tx::Postgres(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
        }
    };
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(transaction) => transaction.commit().await?,
            Tx::Postgres(transaction) => transaction.commit().await?,
        }
        Ok(())
    }
}

impl Db {
    /// Opens a pool (creating a SQLite file if needed) and checks that the
    /// database answers.
    pub async fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Db, ConnectError> {
        let fail = |source| ConnectError {
            url: url.to_string(),
            source,
        };
        match url.backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(&url.raw)
                    .map_err(fail)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(settings.sqlite_durability.synchronous())
                    .busy_timeout(settings.sqlite_busy_timeout)
                    .foreign_keys(true);
                let in_memory = url.raw.contains(":memory:") || url.raw.contains("mode=memory");
                // Every connection to an in-memory database would see a
                // database of its own, so such a pool keeps exactly one.
                let max = if in_memory {
                    1
                } else {
                    settings.max_connections
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .min_connections(if in_memory { 1 } else { 0 })
                    .idle_timeout(if in_memory {
                        None
                    } else {
                        Some(Duration::from_secs(600))
                    })
                    .max_lifetime(if in_memory {
                        None
                    } else {
                        Some(Duration::from_secs(1800))
                    })
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(fail)?;
                Ok(Db::Sqlite(pool))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(&url.raw).map_err(fail)?;
                let pool = PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(fail)?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Opens a write transaction: every change, its access-change entry,
    /// its audit entry and (later) its events commit together or not at all.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with(self.begin_write()).await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin_with(self.begin_write()).await?),
        })
    }

    /// The statement that opens a transaction which reads before it writes.
    /// On SQLite it takes the write lock up front: a deferred transaction
    /// that read before another connection committed could not upgrade to a
    /// writer (SQLITE_BUSY) and would fail instead of waiting its turn.
    pub(crate) fn begin_write(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "BEGIN IMMEDIATE",
            Db::Postgres(_) => "BEGIN",
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations. Safe to run again, and on PostgreSQL safe
    /// to run from several instances at once (sqlx takes an advisory lock).
    ///
    /// A database already migrated by a newer release is accepted, with a
    /// warning: migrations only expand the schema, and what a release
    /// stops using is removed one release later (docs/scaling.md), so this
    /// release still works on it. That lets an old instance restart in the
    /// middle of a rolling upgrade, and a release be rolled back.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let before = self.applied_migrations().await.unwrap_or(0);
        let migrator = tolerating_newer(match self {
            Db::Sqlite(_) => &SQLITE_MIGRATIONS,
            Db::Postgres(_) => &POSTGRES_MIGRATIONS,
        });
        match self {
            Db::Sqlite(pool) => migrator.run(pool).await?,
            Db::Postgres(pool) => migrator.run(pool).await?,
        }
        let newest_known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let newest_applied = self.newest_applied_migration().await?;
        if newest_applied > newest_known {
            tracing::warn!(
                newest_applied,
                newest_known,
                "the database was migrated by a newer release; this one works on its schema until the next release contracts it (docs/scaling.md)"
            );
        }
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn newest_applied_migration(&self) -> Result<i64, StoreError> {
        let newest: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok(newest.unwrap_or(0))
    }

    async fn applied_migrations(&self) -> Result<usize, StoreError> {
        let count: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok(count as usize)
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_when_a_url_is_shown() {
        let url = DatabaseUrl::parse("postgres://tessera:s3cret@db.internal:5432/tessera").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://tessera:***@db.internal:5432/tessera"
        );
        assert_eq!(
            format!("{url:?}"),
            "DatabaseUrl(postgres://tessera:***@db.internal:5432/tessera)"
        );
        assert_eq!(url.backend(), Backend::Postgres);
    }

    #[test]
    fn unsupported_urls_are_refused_with_the_expected_forms() {
        let err = DatabaseUrl::parse("mysql://root@localhost/db")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("expected sqlite://PATH or postgres://"),
            "{err}"
        );
        assert!(DatabaseUrl::parse("tessera.db").is_err());
        assert_eq!(
            DatabaseUrl::parse("sqlite://tessera.db").unwrap().backend(),
            Backend::Sqlite
        );
    }
}
