//! The usage writer's path on a SQLite file: a connection of its own, one
//! prepared single-row statement per table reused for every row, on a
//! blocking thread.
//!
//! Through sqlx each batch became multi-row statements of 200 rows whose
//! 2,400 arguments were copied and handed to sqlx's connection thread; the
//! writer then managed about 9,000 rows a second while busy and fell behind
//! the server's peak (docs/performance.md, "Usage recording"). SQLite's own
//! cost for a prepared insert is a few microseconds.

use super::{BatchSums, LATENCY_COLUMNS, REQUEST_ID_PREFIX, RequestRecord, StoreError, summarize};
use crate::Db;
use crate::sqlite_reads::SqliteFile;
use rusqlite::{Connection, TransactionBehavior, params};
use std::time::Duration;
use tessera_core::id::prefixed_id_at;

/// How long a batch waits for the database's single write lock: a batch
/// is never urgent, and giving up would lose it.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(30);

const INSERT_REQUEST: &str = "INSERT INTO usage_requests (id, organization_id, at, key_id, client_id, method, route, status, latency_ms, client_ip, request_id, fields)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const ADD_FIELD_READS: &str =
    "INSERT INTO usage_field_reads (organization_id, resource, field, day, key_id, reads)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (organization_id, resource, field, day, key_id)
     DO UPDATE SET reads = usage_field_reads.reads + excluded.reads";

/// Writes usage batches to one SQLite file. Blocking: run it on a thread
/// that may block (`spawn_blocking`).
pub struct SqliteUsageWriter {
    connection: Connection,
    add_to_daily: String,
}

impl SqliteUsageWriter {
    /// A writer for `db` if it is a SQLite file (`None` otherwise). It
    /// commits as durably as the pool does: the same `synchronous`.
    pub async fn open(db: &Db) -> Result<Option<SqliteUsageWriter>, StoreError> {
        let (Db::Sqlite(pool), Some(file)) = (db, SqliteFile::of_db(db)) else {
            return Ok(None);
        };
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await?;
        let connection = file
            .open_writer(synchronous, WRITE_LOCK_WAIT)
            .map_err(write_failed)?;
        Ok(Some(SqliteUsageWriter {
            connection,
            add_to_daily: add_to_daily_statement(),
        }))
    }

    /// Writes a batch and its sums in one transaction.
    pub fn write_batch(&mut self, batch: &[RequestRecord]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let sums = summarize(batch);
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(write_failed)?;
        write_rows(&tx, batch, &sums, &self.add_to_daily).map_err(write_failed)?;
        tx.commit().map_err(write_failed)
    }
}

fn write_rows(
    tx: &rusqlite::Transaction<'_>,
    batch: &[RequestRecord],
    sums: &BatchSums<'_>,
    add_to_daily: &str,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(INSERT_REQUEST)?;
    for row in batch {
        insert.execute(params![
            prefixed_id_at(REQUEST_ID_PREFIX, row.at),
            row.organization_id.as_ref().map(|id| id.as_str()),
            row.at,
            row.key_id,
            row.client_id,
            row.method,
            row.route,
            i64::from(row.status),
            row.latency_ms,
            row.client_ip,
            row.request_id,
            row.fields.logged(),
        ])?;
    }
    let mut daily = tx.prepare_cached(add_to_daily)?;
    for ((organization, day, key, client, route, status), (requests, histogram)) in &sums.daily {
        let mut values: Vec<&dyn rusqlite::ToSql> =
            vec![organization, day, key, client, route, status, requests];
        values.extend(histogram.iter().map(|count| count as &dyn rusqlite::ToSql));
        daily.execute(values.as_slice())?;
    }
    let mut reads = tx.prepare_cached(ADD_FIELD_READS)?;
    for ((organization, resource, field, day, key), count) in &sums.reads {
        reads.execute(params![organization, resource, field, day, key, count])?;
    }
    Ok(())
}

/// The roll-up upsert: a row's request count and histogram are added to
/// the day's row, or start it.
fn add_to_daily_statement() -> String {
    let columns = LATENCY_COLUMNS.join(", ");
    let values: Vec<String> = (1..=7 + LATENCY_COLUMNS.len())
        .map(|n| format!("?{n}"))
        .collect();
    let mut additions = String::from("requests = usage_daily.requests + excluded.requests");
    for column in LATENCY_COLUMNS {
        additions.push_str(&format!(
            ", {column} = usage_daily.{column} + excluded.{column}"
        ));
    }
    format!(
        "INSERT INTO usage_daily (organization_id, day, key_id, client_id, route, status, requests, {columns})
         VALUES ({})
         ON CONFLICT (organization_id, day, key_id, client_id, route, status) DO UPDATE SET {additions}",
        values.join(", ")
    )
}

fn write_failed(err: rusqlite::Error) -> StoreError {
    StoreError::Write(err.to_string())
}
