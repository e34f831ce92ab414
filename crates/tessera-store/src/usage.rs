//! Usage analytics (SPEC §10, docs/usage.md): the raw request log, its
//! daily roll-ups with latency histograms, and per-day field reads.
//!
//! Everything here is written by the usage writer in batches: one
//! transaction per batch, multi-row statements, roll-ups added to with
//! `ON CONFLICT … DO UPDATE` so that several instances can write at once.

use crate::{Db, StoreError, Tx, on_pool, on_tx};
use sqlx::AssertSqlSafe;
use std::collections::BTreeMap;
use tessera_core::id::{OrganizationId, first_id_at, prefixed_id_at};
use tessera_core::usage::{
    Granularity, GroupBy, LATENCY_BUCKETS, LatencyHistogram, latency_bucket,
};

mod reads;
mod sqlite_writer;
pub use reads::{
    FieldReads, KeyReach, LoggedRequest, OrganizationTotals, RequestFilter, hourly_series,
    key_reach, list_requests, organization_totals, read_counts, requests_since,
};
pub use sqlite_writer::SqliteUsageWriter;

/// The prefix of request log ids; ids carry the request's time.
pub const REQUEST_ID_PREFIX: &str = "req";

/// The fields a data read returned, of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldsRead {
    pub resource: &'static str,
    pub fields: Vec<&'static str>,
}

/// Every field an answer carried: one resource's for the data API, several
/// for the events feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldsReturned(pub Vec<FieldsRead>);

impl FieldsReturned {
    /// The request log's `fields`: the names of one resource's fields, or
    /// `resource.field` when the answer held several resources.
    fn logged(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => None,
            [one] => Some(one.fields.join(",")),
            many => Some(
                many.iter()
                    .flat_map(|read| read.fields.iter().map(|f| format!("{}.{f}", read.resource)))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }
}

/// One request, as the server saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: i64,
    pub organization_id: Option<OrganizationId>,
    pub key_id: Option<String>,
    pub client_id: Option<String>,
    pub method: &'static str,
    pub route: String,
    pub status: u16,
    pub latency_ms: i64,
    pub client_ip: String,
    pub request_id: String,
    pub fields: FieldsReturned,
}

/// The histogram columns of `usage_daily`, in bucket order.
const LATENCY_COLUMNS: [&str; LATENCY_BUCKETS] = [
    "latency_le_1ms",
    "latency_le_2ms",
    "latency_le_5ms",
    "latency_le_10ms",
    "latency_le_25ms",
    "latency_le_50ms",
    "latency_le_100ms",
    "latency_le_250ms",
    "latency_le_500ms",
    "latency_le_1000ms",
    "latency_le_2500ms",
    "latency_le_10000ms",
    "latency_over_10000ms",
];

/// Rows per multi-row statement: well under both backends' limits on bound
/// parameters (SQLite 32766, PostgreSQL 65535).
const ROWS_PER_STATEMENT: usize = 200;

/// `(organization, day, key, client, route, status)`; '' for no key/client.
/// Borrowed from the batch, so summing costs no allocation per record.
type DailyKey<'a> = (&'a str, i64, &'a str, &'a str, &'a str, i64);
/// `(organization, resource, field, day, key)`.
type FieldReadKey<'a> = (&'a str, &'static str, &'static str, i64, &'a str);

/// A batch's sums: its daily roll-up rows and its field reads, each in key
/// order.
struct BatchSums<'a> {
    daily: Vec<(DailyKey<'a>, (i64, LatencyHistogram))>,
    reads: Vec<(FieldReadKey<'a>, i64)>,
}

fn summarize(batch: &[RequestRecord]) -> BatchSums<'_> {
    let mut daily: BTreeMap<DailyKey<'_>, (i64, LatencyHistogram)> = BTreeMap::new();
    let mut reads: BTreeMap<FieldReadKey<'_>, i64> = BTreeMap::new();
    for record in batch {
        let Some(organization) = &record.organization_id else {
            continue;
        };
        let day = Granularity::Day.bucket_start(record.at);
        let key_id = record.key_id.as_deref().unwrap_or_default();
        let sums = daily
            .entry((
                organization.as_str(),
                day,
                key_id,
                record.client_id.as_deref().unwrap_or_default(),
                &record.route,
                i64::from(record.status),
            ))
            .or_insert((0, [0; LATENCY_BUCKETS]));
        sums.0 += 1;
        sums.1[latency_bucket(record.latency_ms)] += 1;
        let reads_of_key = record.fields.0.iter().filter(|_| !key_id.is_empty());
        for read in reads_of_key {
            for field in &read.fields {
                let key = (organization.as_str(), read.resource, *field, day, key_id);
                *reads.entry(key).or_insert(0) += 1;
            }
        }
    }
    BatchSums {
        daily: daily.into_iter().collect(),
        reads: reads.into_iter().collect(),
    }
}

/// Writes a batch: its raw rows, and its sums into the daily roll-ups and
/// field reads, in one transaction. Roll-up rows are written in key order
/// so that instances writing at once never deadlock on PostgreSQL. (On a
/// SQLite file the server writes through [`SqliteUsageWriter`] instead.)
pub async fn write_batch(db: &Db, batch: &[RequestRecord]) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let sums = summarize(batch);
    let mut tx = db.begin().await?;
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        insert_requests(&mut tx, chunk).await?;
    }
    for chunk in sums.daily.chunks(ROWS_PER_STATEMENT) {
        add_to_daily(&mut tx, chunk).await?;
    }
    for chunk in sums.reads.chunks(ROWS_PER_STATEMENT) {
        add_field_reads(&mut tx, chunk).await?;
    }
    tx.commit().await
}

/// `($1, $2, …), ($n+1, …)` for `rows` rows of `columns` values each.
/// The statements of this module are built only from this, column names
/// and fixed text; every value is bound, which is why they are SQL-safe.
fn placeholders(rows: usize, columns: usize) -> String {
    let mut text = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        text.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            text.push('$');
            text.push_str(&(row * columns + column + 1).to_string());
        }
        text.push(')');
    }
    text
}

async fn insert_requests(tx: &mut Tx, rows: &[RequestRecord]) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO usage_requests (id, organization_id, at, key_id, client_id, method, route, status, latency_ms, client_ip, request_id, fields) VALUES {}",
        placeholders(rows.len(), 12)
    );
    on_tx!(tx, |conn| {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in rows {
            query = query
                .bind(prefixed_id_at(REQUEST_ID_PREFIX, row.at))
                .bind(row.organization_id.as_ref().map(OrganizationId::as_str))
                .bind(row.at)
                .bind(row.key_id.as_deref())
                .bind(row.client_id.as_deref())
                .bind(row.method)
                .bind(&row.route)
                .bind(i64::from(row.status))
                .bind(row.latency_ms)
                .bind(&row.client_ip)
                .bind(&row.request_id)
                .bind(row.fields.logged());
        }
        query.execute(&mut *conn).await?;
    });
    Ok(())
}

async fn add_to_daily(
    tx: &mut Tx,
    rows: &[(DailyKey<'_>, (i64, LatencyHistogram))],
) -> Result<(), StoreError> {
    let histogram_columns = LATENCY_COLUMNS.join(", ");
    let mut additions = String::from("requests = usage_daily.requests + excluded.requests");
    for column in LATENCY_COLUMNS {
        additions.push_str(&format!(
            ", {column} = usage_daily.{column} + excluded.{column}"
        ));
    }
    let sql = format!(
        "INSERT INTO usage_daily (organization_id, day, key_id, client_id, route, status, requests, {histogram_columns})
         VALUES {}
         ON CONFLICT (organization_id, day, key_id, client_id, route, status) DO UPDATE SET {additions}",
        placeholders(rows.len(), 7 + LATENCY_BUCKETS)
    );
    on_tx!(tx, |conn| {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((organization, day, key, client, route, status), (requests, histogram)) in rows {
            query = query
                .bind(organization)
                .bind(day)
                .bind(key)
                .bind(client)
                .bind(route)
                .bind(status)
                .bind(requests);
            for count in histogram {
                query = query.bind(count);
            }
        }
        query.execute(&mut *conn).await?;
    });
    Ok(())
}

async fn add_field_reads(tx: &mut Tx, rows: &[(FieldReadKey<'_>, i64)]) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO usage_field_reads (organization_id, resource, field, day, key_id, reads)
         VALUES {}
         ON CONFLICT (organization_id, resource, field, day, key_id)
         DO UPDATE SET reads = usage_field_reads.reads + excluded.reads",
        placeholders(rows.len(), 6)
    );
    on_tx!(tx, |conn| {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((organization, resource, field, day, key), count) in rows {
            query = query
                .bind(organization)
                .bind(*resource)
                .bind(*field)
                .bind(day)
                .bind(key)
                .bind(count);
        }
        query.execute(&mut *conn).await?;
    });
    Ok(())
}

/// Deletes raw rows older than `raw_before` and roll-ups and field reads
/// of days before `rollups_before` (both Unix ms). Idempotent, so any
/// number of instances may run it. Returns the raw rows deleted.
pub async fn prune(db: &Db, raw_before: i64, rollups_before: i64) -> Result<u64, StoreError> {
    // Ids start with the request's time, so the primary key finds the
    // old rows without an index on `at`.
    let first_kept = first_id_at(REQUEST_ID_PREFIX, raw_before);
    let deleted = on_pool!(db, |pool| {
        let raw = sqlx::query("DELETE FROM usage_requests WHERE id < $1")
            .bind(&first_kept)
            .execute(pool)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM usage_daily WHERE day < $1")
            .bind(rollups_before)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM usage_field_reads WHERE day < $1")
            .bind(rollups_before)
            .execute(pool)
            .await?;
        raw
    });
    Ok(deleted)
}

/// One bucket of one group in the usage API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRow {
    pub bucket: i64,
    /// The key id, client id, route or status; `None` for requests without
    /// a key or a client.
    pub group: Option<String>,
    pub requests: i64,
    pub errors: i64,
    pub latency: LatencyHistogram,
}

#[derive(sqlx::FromRow)]
struct DailySumRow {
    bucket: i64,
    grp: String,
    requests: i64,
    errors: i64,
    #[sqlx(flatten)]
    histogram: HistogramRow,
}

/// The histogram columns summed, under fixed names.
#[derive(sqlx::FromRow)]
struct HistogramRow {
    h0: i64,
    h1: i64,
    h2: i64,
    h3: i64,
    h4: i64,
    h5: i64,
    h6: i64,
    h7: i64,
    h8: i64,
    h9: i64,
    h10: i64,
    h11: i64,
    h12: i64,
}

impl HistogramRow {
    fn buckets(&self) -> LatencyHistogram {
        [
            self.h0, self.h1, self.h2, self.h3, self.h4, self.h5, self.h6, self.h7, self.h8,
            self.h9, self.h10, self.h11, self.h12,
        ]
    }
}

/// The column rows are grouped by; without a grouping, one constant group.
fn group_column(group: Option<GroupBy>) -> &'static str {
    match group {
        None => "''",
        Some(GroupBy::Key) => "key_id",
        Some(GroupBy::Client) => "client_id",
        Some(GroupBy::Route) => "route",
        Some(GroupBy::Status) => "CAST(status AS TEXT)",
    }
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// Daily sums of an organisation's requests (of one key, if given) in
/// `[from, to)`, per day and group, from the roll-ups: one range scan of
/// their primary key, however many raw rows the days held.
pub async fn daily_series(
    db: &Db,
    organization_id: &OrganizationId,
    (from, to): (i64, i64),
    group: Option<GroupBy>,
    key_id: Option<&str>,
) -> Result<Vec<SeriesRow>, StoreError> {
    // PostgreSQL refuses a constant in GROUP BY, so "no grouping" groups
    // by the day alone.
    let grouping = if group.is_some() {
        format!(", {}", group_column(group))
    } else {
        String::new()
    };
    let group = group_column(group);
    let mut histogram = String::new();
    for (n, column) in LATENCY_COLUMNS.iter().enumerate() {
        histogram.push_str(&format!(", CAST(SUM({column}) AS BIGINT) AS h{n}"));
    }
    let sql = format!(
        "SELECT day AS bucket, {group} AS grp, CAST(SUM(requests) AS BIGINT) AS requests,
                CAST(SUM(CASE WHEN status >= 400 THEN requests ELSE 0 END) AS BIGINT) AS errors{histogram}
         FROM usage_daily
         WHERE organization_id = $1 AND day >= $2 AND day < $3 AND ($4 IS NULL OR key_id = $4)
         GROUP BY day{grouping} ORDER BY day{grouping}"
    );
    let rows: Vec<DailySumRow> = on_pool!(db, |pool| sqlx::query_as(AssertSqlSafe(sql))
        .bind(organization_id.as_str())
        .bind(Granularity::Day.bucket_start(from))
        .bind(to)
        .bind(key_id)
        .fetch_all(pool)
        .await?);
    Ok(rows
        .into_iter()
        .map(|row| SeriesRow {
            latency: row.histogram.buckets(),
            bucket: row.bucket,
            group: non_empty(row.grp),
            requests: row.requests,
            errors: row.errors,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value_of_every_row() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(1, 1), "($1)");
    }
}
