//! The outbox and its delivery: events and messages written with the change
//! that caused them, leases that let one instance at a time attempt a
//! message, attempts with their outcome, the message log, and pruning.

use crate::{Backend, Db, StoreError, Tx, on_pool, on_tx};
use sqlx::QueryBuilder;
use tessera_core::id::OrganizationId;

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters.
const ROWS_PER_STATEMENT: usize = 500;

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub event_type: &'a str,
    pub resource: Option<&'static str>,
    pub data: String,
    pub created_at: i64,
}

pub struct NewMessage<'a> {
    pub id: String,
    pub endpoint_id: &'a str,
    pub organization_id: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub body: String,
    pub created_at: i64,
}

pub async fn insert_events(tx: &mut Tx, events: &[NewEvent<'_>]) -> Result<(), StoreError> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO webhook_events (id, organization_id, event_type, resource, data, created_at) ",
            );
            insert.push_values(chunk, |mut row, event| {
                row.push_bind(event.id)
                    .push_bind(event.organization_id)
                    .push_bind(event.event_type)
                    .push_bind(event.resource)
                    .push_bind(&event.data)
                    .push_bind(event.created_at);
            });
            insert.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Queues messages for an attempt at once.
pub async fn insert_messages(tx: &mut Tx, messages: &[NewMessage<'_>]) -> Result<(), StoreError> {
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO webhook_messages (id, endpoint_id, organization_id, event_id, event_type,
                     body, next_attempt_at, created_at) ",
            );
            insert.push_values(chunk, |mut row, message| {
                row.push_bind(&message.id)
                    .push_bind(message.endpoint_id)
                    .push_bind(message.organization_id)
                    .push_bind(message.event_id)
                    .push_bind(message.event_type)
                    .push_bind(&message.body)
                    .push_bind(message.created_at)
                    .push_bind(message.created_at);
            });
            insert.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Active endpoints with a message due at `now` that no instance holds.
/// Asked per endpoint (an index probe each), not by scanning every due
/// message: after an outage thousands may be due at once.
pub async fn due_endpoints(db: &Db, now: i64) -> Result<Vec<String>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT e.id FROM webhook_endpoints e
             WHERE e.enabled AND e.disabled_reason IS NULL
               AND EXISTS (SELECT 1 FROM webhook_messages m
                           WHERE m.endpoint_id = e.id AND m.status = 'pending'
                             AND m.next_attempt_at <= $1
                             AND (m.leased_until IS NULL OR m.leased_until < $1))",
        )
        .bind(now)
        .fetch_all(pool)
        .await?
    }))
}

/// When the next message no instance holds falls due, among active
/// endpoints' (a disabled endpoint's pending messages wait for it).
pub async fn next_due_at(db: &Db, now: i64) -> Result<Option<i64>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT MIN(m.next_attempt_at) FROM webhook_messages m
             JOIN webhook_endpoints e ON e.id = m.endpoint_id
             WHERE m.status = 'pending' AND (m.leased_until IS NULL OR m.leased_until < $1)
               AND e.enabled AND e.disabled_reason IS NULL",
        )
        .bind(now)
        .fetch_one(pool)
        .await?
    }))
}

/// A message this instance holds until its lease ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeasedMessage {
    pub id: String,
    pub event_type: String,
    pub body: String,
    pub failures: i64,
}

/// Takes up to `limit` due messages of one endpoint until `lease_until`,
/// oldest due first. On PostgreSQL, rows another instance is taking are
/// skipped, not waited for, so instances share the queue; SQLite has one
/// writer, so its UPDATE alone is atomic.
pub async fn lease(
    db: &Db,
    endpoint_id: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<LeasedMessage>, StoreError> {
    let skip_locked = match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE webhook_messages SET leased_until = $4
         WHERE id IN (SELECT id FROM webhook_messages
                      WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at <= $2
                        AND (leased_until IS NULL OR leased_until < $2)
                      ORDER BY next_attempt_at LIMIT $3 {skip_locked})
         RETURNING id, event_type, body, failures"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(endpoint_id)
            .bind(now)
            .bind(limit)
            .bind(lease_until)
            .fetch_all(pool)
            .await?
    }))
}

/// One attempt's outcome, as the message log shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Attempt {
    pub at: i64,
    pub status: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response: String,
}

/// What becomes of a message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Delivered,
    RetryAt(i64),
    Failed,
}

/// One attempt to record and what becomes of its message.
pub struct SettledAttempt<'a> {
    pub message_id: &'a str,
    pub attempt: &'a Attempt,
    pub settlement: Settlement,
}

/// Records attempts and settles their messages: one multi-row insert, and
/// one update for all delivered messages (the common case).
pub async fn record_attempts(
    tx: &mut Tx,
    settled: &[SettledAttempt<'_>],
) -> Result<(), StoreError> {
    for chunk in settled.chunks(ROWS_PER_STATEMENT) {
        on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO webhook_attempts (message_id, at, status, latency_ms, error, response) ",
            );
            insert.push_values(chunk, |mut row, one| {
                row.push_bind(one.message_id)
                    .push_bind(one.attempt.at)
                    .push_bind(one.attempt.status)
                    .push_bind(one.attempt.latency_ms)
                    .push_bind(&one.attempt.error)
                    .push_bind(&one.attempt.response);
            });
            insert.build().execute(&mut *conn).await?;
            let delivered: Vec<&str> = chunk
                .iter()
                .filter(|one| one.settlement == Settlement::Delivered)
                .map(|one| one.message_id)
                .collect();
            if !delivered.is_empty() {
                let mut update = QueryBuilder::new(
                    "UPDATE webhook_messages SET status = 'delivered', next_attempt_at = NULL,
                         leased_until = NULL
                     WHERE id IN (",
                );
                let mut ids = update.separated(", ");
                for id in delivered {
                    ids.push_bind(id);
                }
                update.push(")");
                update.build().execute(&mut *conn).await?;
            }
            for one in chunk
                .iter()
                .filter(|one| one.settlement != Settlement::Delivered)
            {
                let (status, next_attempt_at) = match one.settlement {
                    Settlement::RetryAt(at) => ("pending", Some(at)),
                    _ => ("failed", None),
                };
                sqlx::query(
                    "UPDATE webhook_messages SET status = $2, next_attempt_at = $3,
                         leased_until = NULL, failures = failures + 1
                     WHERE id = $1",
                )
                .bind(one.message_id)
                .bind(status)
                .bind(next_attempt_at)
                .execute(&mut *conn)
                .await?;
            }
        });
    }
    Ok(())
}

/// A message as the log lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub body: String,
    pub status: String,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub attempts: i64,
}

const MESSAGE_COLUMNS: &str = "m.id, m.endpoint_id, m.event_id, m.event_type, m.body, m.status, \
     m.next_attempt_at, m.created_at, \
     (SELECT COUNT(*) FROM webhook_attempts a WHERE a.message_id = m.id) AS attempts";

/// What the message log is narrowed to.
#[derive(Debug, Default)]
pub struct MessageFilter<'a> {
    pub status: Option<&'a str>,
    pub event_type: Option<&'a str>,
    /// Newest first: only messages older than this id.
    pub before: Option<&'a str>,
}

pub async fn list_messages(
    db: &Db,
    organization_id: &OrganizationId,
    endpoint_id: &str,
    filter: &MessageFilter<'_>,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM webhook_messages m
         WHERE m.organization_id = $1 AND m.endpoint_id = $2
           AND ($3 IS NULL OR m.status = $3) AND ($4 IS NULL OR m.event_type = $4)
           AND ($5 IS NULL OR m.id < $5)
         ORDER BY m.id DESC LIMIT $6"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(organization_id.as_str())
            .bind(endpoint_id)
            .bind(filter.status)
            .bind(filter.event_type)
            .bind(filter.before)
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}

pub async fn get_message(
    db: &Db,
    organization_id: &OrganizationId,
    endpoint_id: &str,
    id: &str,
) -> Result<Option<(Message, Vec<Attempt>)>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM webhook_messages m
         WHERE m.organization_id = $1 AND m.endpoint_id = $2 AND m.id = $3"
    );
    on_pool!(db, |pool| {
        let message: Option<Message> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(organization_id.as_str())
            .bind(endpoint_id)
            .bind(id)
            .fetch_optional(pool)
            .await?;
        let Some(message) = message else {
            return Ok(None);
        };
        let attempts = sqlx::query_as(
            "SELECT at, status, latency_ms, error, response FROM webhook_attempts
             WHERE message_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        Ok(Some((message, attempts)))
    })
}

/// Queues one message for an attempt now, with a fresh schedule; false when
/// the endpoint has no such message.
pub async fn requeue(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    endpoint_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE webhook_messages SET status = 'pending', next_attempt_at = $4, failures = 0,
                 leased_until = NULL
             WHERE organization_id = $1 AND endpoint_id = $2 AND id = $3",
        )
        .bind(organization_id.as_str())
        .bind(endpoint_id)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(changed > 0)
}

/// Queues again every failed message of the endpoint created since `since`;
/// how many.
pub async fn recover(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    endpoint_id: &str,
    since: i64,
    now: i64,
) -> Result<u64, StoreError> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE webhook_messages SET status = 'pending', next_attempt_at = $4, failures = 0,
                 leased_until = NULL
             WHERE organization_id = $1 AND endpoint_id = $2 AND status = 'failed'
               AND created_at >= $3",
        )
        .bind(organization_id.as_str())
        .bind(endpoint_id)
        .bind(since)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    }))
}

/// Deliveries of the last day per endpoint of the organisation:
/// (endpoint id, successful attempts, attempts).
pub async fn attempts_since(
    db: &Db,
    organization_id: &OrganizationId,
    since: i64,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT m.endpoint_id,
                    SUM(CASE WHEN a.error IS NULL THEN 1 ELSE 0 END), COUNT(*)
             FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
             WHERE m.organization_id = $1 AND a.at >= $2
             GROUP BY m.endpoint_id",
        )
        .bind(organization_id.as_str())
        .bind(since)
        .fetch_all(pool)
        .await?
    }))
}

/// Deletes messages (with their attempts) and events created before
/// `before`; how many messages and events went. The feed notes how far
/// each organisation's events went, so older cursors answer 410.
pub async fn prune(db: &Db, before: i64) -> Result<(u64, u64), StoreError> {
    let messages = on_pool!(db, |pool| {
        sqlx::query("DELETE FROM webhook_messages WHERE created_at < $1")
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected()
    });
    let events = crate::events::prune(db, before).await?;
    Ok((messages, events))
}
