//! Records of the data API, for every declared resource.
//!
//! A record's declared fields are stored as one JSON object, already
//! validated by `tessera_core::records`; filterable values and references
//! are copied into `record_index`, which serves equality filters and
//! reference checks on both backends with the same SQL. Every function
//! takes the organisation id: no call can reach another tenant's rows.

use crate::{Db, StoreError, on_pool, sqlite_reads};
use rusqlite::OptionalExtension;
use sqlx::AssertSqlSafe;
use tessera_core::id::OrganizationId;

mod writes;
use tessera_core::records::{self, Data};
pub use writes::{create, create_reporting, delete, update};

/// A record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: String,
    pub data: Data,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A record as read, its fields still the stored JSON text: reads that
/// only answer with it need not build a `Data` tree (see
/// `tessera_core::records::StoredFields`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecordText {
    pub id: String,
    pub data: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RecordText {
    /// The stored fields read in place.
    pub fn fields(&self) -> Result<records::StoredFields<'_>, StoreError> {
        records::StoredFields::parse(&self.data).map_err(|e| self.corrupt(e))
    }

    fn corrupt(&self, err: serde_json::Error) -> StoreError {
        StoreError::Corrupt(format!("record {}: {err}", self.id))
    }
}

impl TryFrom<RecordText> for StoredRecord {
    type Error = StoreError;

    fn try_from(row: RecordText) -> Result<Self, StoreError> {
        let data = serde_json::from_str(&row.data).map_err(|e| row.corrupt(e))?;
        Ok(StoredRecord {
            id: row.id,
            data,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A record to create; its id and data come from the caller, who renders
/// the answer before the write (see [`IdempotentAnswer`]).
pub struct NewRecord {
    pub id: String,
    pub data: Data,
    /// The file of a document.
    pub content: Option<Vec<u8>>,
}

/// The answer to a POST sent with an `Idempotency-Key`, stored in the same
/// transaction as the record it created.
pub struct IdempotentAnswer<'a> {
    pub api_key_id: &'a str,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    pub status: u16,
    pub location: Option<&'a str>,
    pub body: &'a str,
}

/// A stored idempotent answer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: i64,
    pub location: Option<String>,
    pub body: String,
    pub created_at: i64,
}

/// How long idempotent answers are kept.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// References to records that do not exist in the organisation.
    MissingReferences(Vec<String>),
    /// Another request with the same idempotency key won the race.
    IdempotencyKeyTaken,
}

#[derive(Debug)]
pub enum UpdateOutcome {
    Updated(StoredRecord),
    NotFound,
    /// The record changed since the version the caller read.
    VersionMismatch,
    MissingReferences(Vec<String>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    NotFound,
    /// Records that still refer to it: (resource, field, how many).
    Referenced(Vec<(String, String, i64)>),
}

/// One page of a resource's records, ordered by id.
pub struct ListQuery<'a> {
    pub organization_id: &'a str,
    pub resource: &'a str,
    /// Only records with an id after this one (the cursor).
    pub after: Option<&'a str>,
    /// Only records updated at or after this time (Unix ms).
    pub updated_since: Option<i64>,
    /// Equality filters: (field, value in its indexed form).
    pub filters: &'a [(&'static str, String)],
    pub limit: i64,
}

/// A value bound to a dynamically built query.
enum Bind<'a> {
    Text(&'a str),
    Integer(i64),
}

pub async fn list(db: &Db, query: &ListQuery<'_>) -> Result<Vec<RecordText>, StoreError> {
    let mut sql = "SELECT r.id, r.data, r.version, r.created_at, r.updated_at FROM records r
         WHERE r.organization_id = $1 AND r.resource = $2 AND r.id > $3"
        .to_owned();
    let mut binds = vec![
        Bind::Text(query.organization_id),
        Bind::Text(query.resource),
        Bind::Text(query.after.unwrap_or("")),
    ];
    if let Some(since) = query.updated_since {
        binds.push(Bind::Integer(since));
        sql.push_str(&format!(" AND r.updated_at >= ${}", binds.len()));
    }
    for (field, value) in query.filters {
        binds.push(Bind::Text(field));
        binds.push(Bind::Text(value));
        sql.push_str(&format!(
            " AND r.id IN (SELECT i.record_id FROM record_index i
                WHERE i.organization_id = $1 AND i.resource = $2 AND i.field = ${} AND i.value = ${})",
            binds.len() - 1,
            binds.len()
        ));
    }
    binds.push(Bind::Integer(query.limit));
    sql.push_str(&format!(" ORDER BY r.id LIMIT ${}", binds.len()));

    if let Some(file) = sqlite_reads::SqliteFile::of_db(db) {
        let rows = sqlite_reads::read(&file, |connection| {
            let mut statement = connection.prepare_cached(&sql)?;
            let values = binds.iter().map(|bind| match bind {
                Bind::Text(text) => rusqlite::types::Value::Text((*text).to_owned()),
                Bind::Integer(n) => rusqlite::types::Value::Integer(*n),
            });
            statement
                .query_map(rusqlite::params_from_iter(values), record_row)?
                .collect::<rusqlite::Result<Vec<RecordText>>>()
        })?;
        return Ok(rows);
    }
    Ok(on_pool!(db, |pool| {
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for bind in &binds {
            q = match bind {
                Bind::Text(text) => q.bind(*text),
                Bind::Integer(n) => q.bind(*n),
            };
        }
        q.fetch_all(pool).await?
    }))
}

const GET_RECORD: &str = "SELECT r.id, r.data, r.version, r.created_at, r.updated_at FROM records r
     WHERE r.id = $1 AND r.organization_id = $2 AND r.resource = $3";

pub async fn get(
    db: &Db,
    organization_id: &OrganizationId,
    resource: &str,
    id: &str,
) -> Result<Option<StoredRecord>, StoreError> {
    get_text(db, organization_id, resource, id)
        .await?
        .map(StoredRecord::try_from)
        .transpose()
}

/// [`get`] without parsing the fields.
pub async fn get_text(
    db: &Db,
    organization_id: &OrganizationId,
    resource: &str,
    id: &str,
) -> Result<Option<RecordText>, StoreError> {
    Ok(match sqlite_reads::SqliteFile::of_db(db) {
        Some(file) => sqlite_reads::read(&file, |connection| {
            connection
                .prepare_cached(GET_RECORD)?
                .query_row([id, organization_id, resource], record_row)
                .optional()
        })?,
        None => on_pool!(db, |pool| {
            sqlx::query_as(GET_RECORD)
                .bind(id)
                .bind(organization_id.as_str())
                .bind(resource)
                .fetch_optional(pool)
                .await?
        }),
    })
}

fn record_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordText> {
    Ok(RecordText {
        id: row.get(0)?,
        data: row.get(1)?,
        version: row.get(2)?,
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
    })
}

/// The file of a document of the organisation.
pub async fn document_content(
    db: &Db,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT c.content FROM document_contents c JOIN records r ON r.id = c.record_id
             WHERE c.record_id = $1 AND r.organization_id = $2",
        )
        .bind(id)
        .bind(organization_id.as_str())
        .fetch_optional(pool)
        .await?
    }))
}

/// The stored answer for a key's idempotency key, if it is younger than
/// [`IDEMPOTENCY_WINDOW_MS`].
pub async fn idempotent_answer(
    db: &Db,
    api_key_id: &str,
    idempotency_key: &str,
    now: i64,
) -> Result<Option<StoredAnswer>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT request_hash, status, location, body, created_at FROM idempotency_keys
             WHERE api_key_id = $1 AND idempotency_key = $2 AND created_at > $3",
        )
        .bind(api_key_id)
        .bind(idempotency_key)
        .bind(now - IDEMPOTENCY_WINDOW_MS)
        .fetch_optional(pool)
        .await?
    }))
}

/// Forgets idempotent answers older than the window.
pub async fn prune_idempotent_answers(db: &Db, now: i64) -> Result<u64, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
            .bind(now - IDEMPOTENCY_WINDOW_MS)
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

/// How many records of `resource` the organisation has.
pub async fn count(
    db: &Db,
    organization_id: &OrganizationId,
    resource: &str,
) -> Result<i64, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM records WHERE organization_id = $1 AND resource = $2",
        )
        .bind(organization_id.as_str())
        .bind(resource)
        .fetch_one(pool)
        .await?
    }))
}
