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
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Databases a thread keeps a connection to; a server has one, a test
/// process many.
const CONNECTIONS_PER_THREAD: usize = 4;

thread_local! {
    static CONNECTIONS: RefCell<Vec<(PathBuf, Connection)>> = const { RefCell::new(Vec::new()) };
}

/// The database file behind a pool, if it is a file (in-memory databases
/// are private to their connection and must go through the pool).
pub(crate) fn file_of(pool: &sqlx::SqlitePool) -> Option<PathBuf> {
    let options = pool.connect_options();
    let path = options.get_filename();
    let text = path.to_string_lossy();
    (!text.contains(":memory:") && !text.starts_with("file:")).then(|| path.to_owned())
}

/// Runs `read` with this thread's connection to `path`.
pub(crate) fn read<T>(
    path: &Path,
    read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    CONNECTIONS
        .with(|cell| {
            let mut connections = cell.borrow_mut();
            let index = match connections.iter().position(|(p, _)| p == path) {
                Some(index) => index,
                None => {
                    let connection = open(path)?;
                    if connections.len() >= CONNECTIONS_PER_THREAD {
                        connections.remove(0);
                    }
                    connections.push((path.to_owned(), connection));
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
