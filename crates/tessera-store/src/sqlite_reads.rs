//! Record reads on SQLite without sqlx's connection thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and passes every
//! query and its rows across channels; for the one-row primary-key lookup
//! behind `GET /api/v1/{resource}/{id}` those two thread wake-ups cost
//! several times the query itself (measured: about 70 % of the request's
//! CPU time, docs/performance.md). Record reads therefore run on the
//! calling thread, over a connection that thread keeps. In WAL mode readers
//! neither wait for writers nor miss committed writes, so this changes the
//! cost of an answer, never the answer.

use crate::StoreError;
use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;
use std::cell::RefCell;
use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Databases a thread keeps a connection to; a server has one, a test
/// process many.
const CONNECTIONS_PER_THREAD: usize = 4;

thread_local! {
    static CONNECTIONS: RefCell<Vec<(OsString, Connection)>> = const { RefCell::new(Vec::new()) };
}

/// The database file behind a SQLite pool.
pub(crate) struct SqliteFile(Arc<SqliteConnectOptions>);

impl SqliteFile {
    /// The pool's file, if it is one (in-memory databases are private to
    /// their connection and must go through the pool).
    pub(crate) fn of(pool: &sqlx::SqlitePool) -> Option<SqliteFile> {
        let options = pool.connect_options();
        let name = options.get_filename().as_os_str().as_encoded_bytes();
        let in_memory =
            name.starts_with(b"file:") || name.windows(b":memory:".len()).any(|w| w == b":memory:");
        (!in_memory).then_some(SqliteFile(options))
    }

    /// The database's file, if it is a SQLite file.
    pub(crate) fn of_db(db: &crate::Db) -> Option<SqliteFile> {
        match db {
            crate::Db::Sqlite(pool) => SqliteFile::of(pool),
            crate::Db::Postgres(_) => None,
        }
    }

    fn path(&self) -> &Path {
        self.0.get_filename()
    }

    /// A connection that may write, for a background writer that keeps it
    /// (the usage writer): `synchronous` as `PRAGMA synchronous` reads on
    /// the pool, and waiting up to `lock_wait` for the write lock.
    pub(crate) fn open_writer(
        &self,
        synchronous: i64,
        lock_wait: Duration,
    ) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            self.path(),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(lock_wait)?;
        connection.pragma_update(None, "synchronous", synchronous)?;
        connection.set_prepared_statement_cache_capacity(8);
        Ok(connection)
    }
}

/// Runs `read` with this thread's connection to `file`.
pub(crate) fn read<T>(
    file: &SqliteFile,
    read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let path = file.path();
    CONNECTIONS
        .with(|cell| {
            let mut connections = cell.borrow_mut();
            // Compared as bytes: `Path` equality walks components.
            let index = match connections
                .iter()
                .position(|(p, _)| p.as_os_str() == path.as_os_str())
            {
                Some(index) => index,
                None => {
                    let connection = open(path)?;
                    if connections.len() >= CONNECTIONS_PER_THREAD {
                        connections.remove(0);
                    }
                    connections.push((path.as_os_str().to_owned(), connection));
                    connections.len() - 1
                }
            };
            read(&connections[index].1)
        })
        .map_err(|err| StoreError::Read(err.to_string()))
}
fn open(path: &Path) -> rusqlite::Result<Connection> {
    // Read-write without create: a WAL reader must be able to map the
    // shared-memory index; `query_only` keeps this connection from writing.
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(2))?;
    connection.pragma_update(None, "query_only", true)?;
    // Pages are read through a memory map instead of a system call each.
    connection.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}
