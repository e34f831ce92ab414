//! Writing records: every write takes the transaction of the change it
//! belongs to, and the caller commits only when the outcome is a success.

use super::{
    CreateOutcome, DeleteOutcome, IdempotentAnswer, NewRecord, StoredRecord, UpdateOutcome,
};
use crate::{StoreError, Tx, on_tx};
use sqlx::QueryBuilder;
use std::collections::HashSet;
use tessera_core::id::OrganizationId;
use tessera_core::records::{self, Data};
use tessera_core::resources::{self, Resource};

/// Rows per multi-row INSERT: well under both backends' parameter limits.
const RECORDS_PER_STATEMENT: usize = 200;
const INDEX_ROWS_PER_STATEMENT: usize = 500;

/// Ids among `references` (target resource, id) that name no record of
/// the organisation; `known` holds ids already checked or created earlier
/// in the same change.
async fn missing_references<'a>(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    references: Vec<(&'static str, &'a str)>,
    known: &mut HashSet<&'a str>,
) -> Result<Vec<String>, StoreError> {
    let mut missing: Vec<String> = Vec::new();
    for (target, id) in references {
        if known.contains(id) {
            continue;
        }
        let exists: Option<String> = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "SELECT id FROM records WHERE id = $1 AND organization_id = $2 AND resource = $3",
            )
            .bind(id)
            .bind(organization_id.as_str())
            .bind(target)
            .fetch_optional(&mut *conn)
            .await?
        });
        if exists.is_some() {
            known.insert(id);
        } else {
            missing.push(id.to_owned());
        }
    }
    Ok(missing)
}

/// Writes `rows` (record id, field, value) into `record_index`.
async fn insert_index_rows(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    resource: &str,
    rows: &[(&str, &'static str, String)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(INDEX_ROWS_PER_STATEMENT) {
        on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO record_index (organization_id, resource, field, value, record_id) ",
            );
            insert.push_values(chunk, |mut row, (record_id, field, value)| {
                row.push_bind(organization_id.as_str())
                    .push_bind(resource)
                    .push_bind(*field)
                    .push_bind(value.as_str())
                    .push_bind(*record_id);
            });
            insert.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Inserts the records' rows in multi-row statements; `progress` hears how
/// many are written after each.
async fn insert_rows(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    resource: &Resource,
    new: &[NewRecord],
    now: i64,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<(), StoreError> {
    let serialized: Vec<String> = new
        .iter()
        .map(|r| serde_json::to_string(&r.data))
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut written = 0;
    for (chunk, bodies) in new
        .chunks(RECORDS_PER_STATEMENT)
        .zip(serialized.chunks(RECORDS_PER_STATEMENT))
    {
        on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO records (id, organization_id, resource, data, version, created_at, updated_at) ",
            );
            insert.push_values(chunk.iter().zip(bodies), |mut row, (record, body)| {
                row.push_bind(record.id.as_str())
                    .push_bind(organization_id.as_str())
                    .push_bind(resource.name)
                    .push_bind(body.as_str())
                    .push_bind(1_i64)
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.build().execute(&mut *conn).await?;
        });
        written += chunk.len();
        progress(written);
    }
    Ok(())
}

async fn insert_contents(tx: &mut Tx, new: &[NewRecord]) -> Result<(), StoreError> {
    for record in new {
        if let Some(content) = &record.content {
            on_tx!(tx, |conn| {
                sqlx::query("INSERT INTO document_contents (record_id, content) VALUES ($1, $2)")
                    .bind(record.id.as_str())
                    .bind(content.as_slice())
                    .execute(&mut *conn)
                    .await?;
            });
        }
    }
    Ok(())
}

/// Stores the answer to a create sent with an idempotency key; `false` when
/// the key was taken meanwhile.
async fn store_answer(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    answer: &IdempotentAnswer<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let stored = on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO idempotency_keys (api_key_id, idempotency_key, organization_id, request_hash,
                                           status, location, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(answer.api_key_id)
        .bind(answer.idempotency_key)
        .bind(organization_id.as_str())
        .bind(answer.request_hash)
        .bind(i64::from(answer.status))
        .bind(answer.location)
        .bind(answer.body)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    });
    match stored.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Creates `new` records of `resource` in `tx`, all or none (the caller
/// commits only on [`CreateOutcome::Created`]): every reference must name a
/// record of the organisation (or one created earlier in the same call).
/// With `answer`, the idempotent answer is stored in the same transaction.
pub async fn create(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    resource: &Resource,
    new: &[NewRecord],
    now: i64,
    answer: Option<&IdempotentAnswer<'_>>,
) -> Result<CreateOutcome, StoreError> {
    create_reporting(tx, organization_id, resource, new, now, answer, &mut |_| {}).await
}

/// [`create`] for long imports: `progress` hears how many records have been
/// written so far, after each batch, while the one transaction is open.
pub async fn create_reporting(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    resource: &Resource,
    new: &[NewRecord],
    now: i64,
    answer: Option<&IdempotentAnswer<'_>>,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<CreateOutcome, StoreError> {
    let mut known: HashSet<&str> = HashSet::new();
    let mut missing = Vec::new();
    for record in new {
        let references = records::references(resource, &record.data);
        missing.extend(missing_references(tx, organization_id, references, &mut known).await?);
        known.insert(record.id.as_str());
    }
    if !missing.is_empty() {
        missing.dedup();
        return Ok(CreateOutcome::MissingReferences(missing));
    }
    insert_rows(tx, organization_id, resource, new, now, progress).await?;
    let index_rows: Vec<(&str, &'static str, String)> = new
        .iter()
        .flat_map(|r| {
            records::index_entries(resource, &r.data)
                .into_iter()
                .map(move |(field, value)| (r.id.as_str(), field, value))
        })
        .collect();
    insert_index_rows(tx, organization_id, resource.name, &index_rows).await?;
    insert_contents(tx, new).await?;
    if let Some(answer) = answer
        && !store_answer(tx, organization_id, answer, now).await?
    {
        return Ok(CreateOutcome::IdempotencyKeyTaken);
    }
    Ok(CreateOutcome::Created)
}

/// Replaces a record's data if it is still at `expected_version` (the
/// caller commits only on [`UpdateOutcome::Updated`]).
pub async fn update(
    tx: &mut Tx,
    organization_id: &OrganizationId,
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
    let references = records::references(resource, data);
    let missing = missing_references(tx, organization_id, references, &mut HashSet::new()).await?;
    if !missing.is_empty() {
        return Ok(UpdateOutcome::MissingReferences(missing));
    }
    let updated: Option<(i64, i64)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "UPDATE records SET data = $1, version = version + 1, updated_at = $2
             WHERE id = $3 AND organization_id = $4 AND resource = $5 AND version = $6
             RETURNING version, created_at",
        )
        .bind(body.as_str())
        .bind(now)
        .bind(id)
        .bind(organization_id.as_str())
        .bind(resource.name)
        .bind(expected_version)
        .fetch_optional(&mut *conn)
        .await?
    });
    let Some((version, created_at)) = updated else {
        let exists: Option<String> = on_tx!(tx, |conn| {
            sqlx::query_scalar(
                "SELECT id FROM records WHERE id = $1 AND organization_id = $2 AND resource = $3",
            )
            .bind(id)
            .bind(organization_id.as_str())
            .bind(resource.name)
            .fetch_optional(&mut *conn)
            .await?
        });
        return Ok(if exists.is_some() {
            UpdateOutcome::VersionMismatch
        } else {
            UpdateOutcome::NotFound
        });
    };
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM record_index WHERE record_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    });
    insert_index_rows(tx, organization_id, resource.name, &index_rows).await?;
    Ok(UpdateOutcome::Updated(StoredRecord {
        id: id.to_owned(),
        data: data.clone(),
        version,
        created_at,
        updated_at: now,
    }))
}

/// Deletes a record unless another record still refers to it (the caller
/// commits only on [`DeleteOutcome::Deleted`]).
pub async fn delete(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    resource: &Resource,
    id: &str,
) -> Result<DeleteOutcome, StoreError> {
    let referrers = resources::referrers(resource.name);
    on_tx!(tx, |conn| {
        let counts: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT resource, field, COUNT(*) FROM record_index
             WHERE organization_id = $1 AND value = $2 AND record_id <> $2
             GROUP BY resource, field ORDER BY resource, field",
        )
        .bind(organization_id.as_str())
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let referenced: Vec<_> = counts
            .into_iter()
            .filter(|(r, f, _)| referrers.iter().any(|(rr, rf)| rr == r && rf == f))
            .collect();
        let deleted = sqlx::query(
            "DELETE FROM records WHERE id = $1 AND organization_id = $2 AND resource = $3",
        )
        .bind(id)
        .bind(organization_id.as_str())
        .bind(resource.name)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if deleted == 0 {
            return Ok(DeleteOutcome::NotFound);
        }
        if !referenced.is_empty() {
            return Ok(DeleteOutcome::Referenced(referenced));
        }
        Ok(DeleteOutcome::Deleted)
    })
}
