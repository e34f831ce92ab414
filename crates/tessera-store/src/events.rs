//! The events feed's reads (SPEC §9): an organisation's events in order,
//! how far pruning has gone, and the secret its cursors are signed with.
//!
//! The order is `webhook_events.seq`, and it has no gaps: a reader never
//! sees an event while one before it in the order is still to commit. On
//! SQLite every write transaction holds the database's one write lock from
//! its start (`BEGIN IMMEDIATE`), so sequence order is commit order. On
//! PostgreSQL [`hold_event_order`] makes each organisation's writers take
//! their sequence numbers and commit one at a time; docs/sync.md gives the
//! argument.

use crate::{Backend, Db, StoreError, Tx, on_pool, on_tx};
use sqlx::QueryBuilder;

/// Advisory locks are named by two numbers: this one says "event order",
/// the other is the organisation's hash.
const EVENT_ORDER_LOCK_CLASS: i32 = 7_201;

/// One stored event, before any reader's field limits.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub resource: Option<String>,
    pub data: String,
    pub created_at: i64,
}

pub struct FeedQuery<'a> {
    pub organization_id: &'a str,
    /// Only events after this position.
    pub after: i64,
    /// Only these types (none: nothing).
    pub event_types: &'a [String],
    pub limit: i64,
}

/// The next events of an organisation after a position, oldest first.
pub async fn after(db: &Db, query: &FeedQuery<'_>) -> Result<Vec<StoredEvent>, StoreError> {
    if query.event_types.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_pool!(db, |pool| {
        let mut select = QueryBuilder::new(
            "SELECT seq, id, event_type, resource, data, created_at FROM webhook_events
             WHERE organization_id = ",
        );
        select
            .push_bind(query.organization_id)
            .push(" AND seq > ")
            .push_bind(query.after)
            .push(" AND event_type IN (");
        let mut types = select.separated(", ");
        for event_type in query.event_types {
            types.push_bind(event_type);
        }
        select.push(") ORDER BY seq LIMIT ").push_bind(query.limit);
        select.build_query_as().fetch_all(pool).await?
    }))
}

/// The position of an organisation's newest event (0 when it has none).
pub async fn newest(db: &Db, organization_id: &str) -> Result<i64, StoreError> {
    let newest: Option<i64> = on_pool!(db, |pool| {
        sqlx::query_scalar("SELECT MAX(seq) FROM webhook_events WHERE organization_id = $1")
            .bind(organization_id)
            .fetch_one(pool)
            .await?
    });
    Ok(newest.unwrap_or(0))
}

/// The position up to which an organisation's events have been pruned
/// (0 when none have).
pub async fn pruned_through(db: &Db, organization_id: &str) -> Result<i64, StoreError> {
    let horizon: Option<i64> = on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT pruned_through FROM event_feed_horizons WHERE organization_id = $1",
        )
        .bind(organization_id)
        .fetch_optional(pool)
        .await?
    });
    Ok(horizon.unwrap_or(0))
}

/// Makes this transaction the only one of the organisation's writers
/// between taking sequence numbers and committing (PostgreSQL; SQLite's
/// write lock already is). Held until the transaction ends, and taken last,
/// after the change's own rows, so it waits on nothing a waiter holds.
pub async fn hold_event_order(tx: &mut Tx, organization_id: &str) -> Result<(), StoreError> {
    if let Tx::Postgres(transaction) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(EVENT_ORDER_LOCK_CLASS)
            .bind(organization_id)
            .execute(&mut **transaction)
            .await?;
    }
    Ok(())
}

/// Deletes events created before `before`, noting for each organisation
/// the newest position removed; returns how many went.
pub(crate) async fn prune(db: &Db, before: i64) -> Result<u64, StoreError> {
    match db.backend() {
        // One statement, so an event cannot be removed without its
        // organisation's horizon moving past it.
        Backend::Postgres => Ok(on_pool!(db, |pool| {
            let removed: i64 = sqlx::query_scalar(
                "WITH gone AS (DELETE FROM webhook_events WHERE created_at < $1
                               RETURNING organization_id, seq),
                      marked AS (INSERT INTO event_feed_horizons (organization_id, pruned_through)
                                 SELECT organization_id, MAX(seq) FROM gone GROUP BY organization_id
                                 ON CONFLICT (organization_id) DO UPDATE SET pruned_through =
                                     GREATEST(event_feed_horizons.pruned_through, excluded.pruned_through)
                                 RETURNING 1)
                 SELECT COUNT(*) FROM gone",
            )
            .bind(before)
            .fetch_one(pool)
            .await?;
            u64::try_from(removed).unwrap_or(0)
        })),
        // SQLite's write transaction excludes every other writer between
        // the two statements.
        Backend::Sqlite => {
            let mut tx = db.begin().await?;
            let removed = on_tx!(&mut tx, |conn| {
                sqlx::query(
                    "INSERT INTO event_feed_horizons (organization_id, pruned_through)
                     SELECT organization_id, MAX(seq) FROM webhook_events WHERE created_at < $1
                     GROUP BY organization_id
                     ON CONFLICT (organization_id) DO UPDATE SET pruned_through =
                         MAX(event_feed_horizons.pruned_through, excluded.pruned_through)",
                )
                .bind(before)
                .execute(&mut *conn)
                .await?;
                sqlx::query("DELETE FROM webhook_events WHERE created_at < $1")
                    .bind(before)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected()
            });
            tx.commit().await?;
            Ok(removed)
        }
    }
}

/// The deployment's secret called `name`, made from `fresh` by the first
/// instance that asks; every later ask, from any instance, gets that one.
pub async fn deployment_secret(
    db: &Db,
    name: &str,
    fresh: &str,
    now: i64,
) -> Result<String, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO deployment_secrets (name, secret, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .bind(now)
        .execute(pool)
        .await?;
        sqlx::query_scalar("SELECT secret FROM deployment_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?
    }))
}
