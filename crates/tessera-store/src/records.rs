//! Records of the data API, for every declared resource.
//!
//! A record's declared fields are stored as one JSON object, already
//! validated by `tessera_core::records`; filterable values and references
//! are copied into `record_index`, which serves equality filters and
//! reference checks on both backends with the same SQL. Every function
//! takes the organisation id: no call can reach another tenant's rows.

use crate::{Db, StoreError, on_pool, sqlite_reads};
use rusqlite::OptionalExtension;
use sqlx::{AssertSqlSafe, QueryBuilder};
use std::collections::HashSet;
use tessera_core::records::{self, Data};
use tessera_core::resources::{self, Resource};

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

#[derive(Debug)]
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

    if let Some(file) = sqlite_file(db) {
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
    organization_id: &str,
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
    organization_id: &str,
    resource: &str,
    id: &str,
) -> Result<Option<RecordText>, StoreError> {
    Ok(match sqlite_file(db) {
        Some(file) => sqlite_reads::read(&file, |connection| {
            connection
                .prepare_cached(GET_RECORD)?
                .query_row([id, organization_id, resource], record_row)
                .optional()
        })?,
        None => on_pool!(db, |pool| {
            sqlx::query_as(GET_RECORD)
                .bind(id)
                .bind(organization_id)
                .bind(resource)
                .fetch_optional(pool)
                .await?
        }),
    })
}

/// The SQLite file record reads can use directly (see `sqlite_reads`).
fn sqlite_file(db: &Db) -> Option<sqlite_reads::SqliteFile> {
    match db {
        Db::Sqlite(pool) => sqlite_reads::SqliteFile::of(pool),
        Db::Postgres(_) => None,
    }
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

/// Rows per multi-row INSERT: well under both backends' parameter limits.
const RECORDS_PER_STATEMENT: usize = 200;
const INDEX_ROWS_PER_STATEMENT: usize = 500;

/// Ids among `references` (target resource, id) that name no record of
/// the organisation, looked up with `$executor` (the write transaction).
macro_rules! missing_references {
    ($executor:expr, $organization_id:expr, $references:expr, $known:expr) => {{
        let mut missing: Vec<String> = Vec::new();
        for (target, id) in $references {
            if $known.contains(id) {
                continue;
            }
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT id FROM records WHERE id = $1 AND organization_id = $2 AND resource = $3",
            )
            .bind(id)
            .bind($organization_id)
            .bind(target)
            .fetch_optional(&mut *$executor)
            .await?;
            if exists.is_some() {
                $known.insert(id);
            } else {
                missing.push(id.to_owned());
            }
        }
        missing
    }};
}

/// Writes `rows` (record id, field, value) into `record_index`.
macro_rules! insert_index_rows {
    ($executor:expr, $organization_id:expr, $resource:expr, $rows:expr) => {
        for chunk in $rows.chunks(INDEX_ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO record_index (organization_id, resource, field, value, record_id) ",
            );
            insert.push_values(chunk, |mut row, (record_id, field, value)| {
                row.push_bind($organization_id)
                    .push_bind($resource)
                    .push_bind(*field)
                    .push_bind(value.as_str())
                    .push_bind(*record_id);
            });
            insert.build().execute(&mut *$executor).await?;
        }
    };
}

/// Creates `new` records of `resource` in one transaction, all or none:
/// every reference must name a record of the organisation (or one created
/// earlier in the same call). With `answer`, the idempotent answer is
/// stored in the same transaction.
pub async fn create(
    db: &Db,
    organization_id: &str,
    resource: &Resource,
    new: &[NewRecord],
    now: i64,
    answer: Option<&IdempotentAnswer<'_>>,
) -> Result<CreateOutcome, StoreError> {
    create_reporting(db, organization_id, resource, new, now, answer, &mut |_| {}).await
}

/// [`create`] for long imports: `progress` hears how many records have been
/// written so far, after each batch, while the one transaction is open.
pub async fn create_reporting(
    db: &Db,
    organization_id: &str,
    resource: &Resource,
    new: &[NewRecord],
    now: i64,
    answer: Option<&IdempotentAnswer<'_>>,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<CreateOutcome, StoreError> {
    let serialized: Vec<String> = new
        .iter()
        .map(|r| serde_json::to_string(&r.data))
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let index_rows: Vec<(&str, &'static str, String)> = new
        .iter()
        .flat_map(|r| {
            records::index_entries(resource, &r.data)
                .into_iter()
                .map(move |(field, value)| (r.id.as_str(), field, value))
        })
        .collect();
    on_pool!(db, |pool| {
        let mut tx = pool.begin_with(db.begin_write()).await?;
        let mut known: HashSet<&str> = HashSet::new();
        let mut missing = Vec::new();
        for record in new {
            let references = records::references(resource, &record.data);
            missing.extend(missing_references!(tx, organization_id, references, known));
            known.insert(record.id.as_str());
        }
        if !missing.is_empty() {
            missing.dedup();
            return Ok(CreateOutcome::MissingReferences(missing));
        }
        let mut written = 0;
        for (chunk, bodies) in new
            .chunks(RECORDS_PER_STATEMENT)
            .zip(serialized.chunks(RECORDS_PER_STATEMENT))
        {
            let mut insert = QueryBuilder::new(
                "INSERT INTO records (id, organization_id, resource, data, version, created_at, updated_at) ",
            );
            insert.push_values(chunk.iter().zip(bodies), |mut row, (record, body)| {
                row.push_bind(record.id.as_str())
                    .push_bind(organization_id)
                    .push_bind(resource.name)
                    .push_bind(body.as_str())
                    .push_bind(1_i64)
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.build().execute(&mut *tx).await?;
            written += chunk.len();
            progress(written);
        }
        insert_index_rows!(tx, organization_id, resource.name, index_rows);
        for record in new {
            if let Some(content) = &record.content {
                sqlx::query("INSERT INTO document_contents (record_id, content) VALUES ($1, $2)")
                    .bind(record.id.as_str())
                    .bind(content.as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some(answer) = answer {
            let stored = sqlx::query(
                "INSERT INTO idempotency_keys (api_key_id, idempotency_key, organization_id, request_hash,
                                               status, location, body, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(answer.api_key_id)
            .bind(answer.idempotency_key)
            .bind(organization_id)
            .bind(answer.request_hash)
            .bind(i64::from(answer.status))
            .bind(answer.location)
            .bind(answer.body)
            .bind(now)
            .execute(&mut *tx)
            .await;
            match stored.map_err(StoreError::from) {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => return Ok(CreateOutcome::IdempotencyKeyTaken),
                Err(err) => return Err(err),
            }
        }
        tx.commit().await?;
        Ok(CreateOutcome::Created)
    })
}

/// Replaces a record's data if it is still at `expected_version`.
pub async fn update(
    db: &Db,
    organization_id: &str,
    resource: &Resource,
    id: &str,
    data: &Data,
    expected_version: i64,
    now: i64,
) -> Result<UpdateOutcome, StoreError> {
    let body = serde_json::to_string(data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let index_rows: Vec<(&str, &'static str, String)> = records::index_entries(resource, data)
        .into_iter()
        .map(|(field, value)| (id, field, value))
        .collect();
    on_pool!(db, |pool| {
        let mut tx = pool.begin_with(db.begin_write()).await?;
        let mut known: HashSet<&str> = HashSet::new();
        let missing = missing_references!(
            tx,
            organization_id,
            records::references(resource, data),
            known
        );
        if !missing.is_empty() {
            return Ok(UpdateOutcome::MissingReferences(missing));
        }
        let updated: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE records SET data = $1, version = version + 1, updated_at = $2
             WHERE id = $3 AND organization_id = $4 AND resource = $5 AND version = $6
             RETURNING version, created_at",
        )
        .bind(body.as_str())
        .bind(now)
        .bind(id)
        .bind(organization_id)
        .bind(resource.name)
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((version, created_at)) = updated else {
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT id FROM records WHERE id = $1 AND organization_id = $2 AND resource = $3",
            )
            .bind(id)
            .bind(organization_id)
            .bind(resource.name)
            .fetch_optional(&mut *tx)
            .await?;
            return Ok(if exists.is_some() {
                UpdateOutcome::VersionMismatch
            } else {
                UpdateOutcome::NotFound
            });
        };
        sqlx::query("DELETE FROM record_index WHERE record_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_index_rows!(tx, organization_id, resource.name, index_rows);
        tx.commit().await?;
        Ok(UpdateOutcome::Updated(StoredRecord {
            id: id.to_owned(),
            data: data.clone(),
            version,
            created_at,
            updated_at: now,
        }))
    })
}

/// Deletes a record unless another record still refers to it.
pub async fn delete(
    db: &Db,
    organization_id: &str,
    resource: &Resource,
    id: &str,
) -> Result<DeleteOutcome, StoreError> {
    let referrers = resources::referrers(resource.name);
    on_pool!(db, |pool| {
        let mut tx = pool.begin_with(db.begin_write()).await?;
        let counts: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT resource, field, COUNT(*) FROM record_index
             WHERE organization_id = $1 AND value = $2 AND record_id <> $2
             GROUP BY resource, field ORDER BY resource, field",
        )
        .bind(organization_id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let referenced: Vec<_> = counts
            .into_iter()
            .filter(|(r, f, _)| referrers.iter().any(|(rr, rf)| rr == r && rf == f))
            .collect();
        let deleted = sqlx::query(
            "DELETE FROM records WHERE id = $1 AND organization_id = $2 AND resource = $3",
        )
        .bind(id)
        .bind(organization_id)
        .bind(resource.name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Ok(DeleteOutcome::NotFound);
        }
        if !referenced.is_empty() {
            return Ok(DeleteOutcome::Referenced(referenced));
        }
        tx.commit().await?;
        Ok(DeleteOutcome::Deleted)
    })
}

/// The file of a document of the organisation.
pub async fn document_content(
    db: &Db,
    organization_id: &str,
    id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT c.content FROM document_contents c JOIN records r ON r.id = c.record_id
             WHERE c.record_id = $1 AND r.organization_id = $2",
        )
        .bind(id)
        .bind(organization_id)
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
pub async fn count(db: &Db, organization_id: &str, resource: &str) -> Result<i64, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM records WHERE organization_id = $1 AND resource = $2",
        )
        .bind(organization_id)
        .bind(resource)
        .fetch_one(pool)
        .await?
    }))
}
