//! Which API clients have used an organisation's keys, and the
//! organisation's blocks.

use crate::{Db, StoreError, Tx, on_pool, on_tx};
use std::collections::{BTreeMap, BTreeSet};
use tessera_core::id::OrganizationId;

/// One request an API client made with one of the organisation's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUse {
    pub organization_id: String,
    pub client_id: String,
    pub key_id: String,
    pub at: i64,
}

/// An API client as one organisation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub client_id: String,
    pub client_name: String,
    pub first_used_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub request_count: i64,
    pub blocked_at: Option<i64>,
    /// The organisation's keys the client has used, by id.
    pub key_ids: Vec<String>,
}

#[derive(Default)]
struct Tally<'a> {
    requests: i64,
    first: i64,
    last: i64,
    keys: BTreeSet<&'a str>,
}

/// Adds `uses` (in any order, any mix of organisations) to the counts.
pub async fn record_uses(db: &Db, uses: &[ClientUse]) -> Result<(), StoreError> {
    let mut tallies: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    for u in uses {
        let tally = tallies
            .entry((&u.organization_id, &u.client_id))
            .or_insert_with(|| Tally {
                first: u.at,
                last: u.at,
                ..Tally::default()
            });
        tally.requests += 1;
        tally.first = tally.first.min(u.at);
        tally.last = tally.last.max(u.at);
        tally.keys.insert(&u.key_id);
    }
    // One transaction, so a reader never sees a use counted without the
    // keys it was made with.
    let mut tx = db.begin().await?;
    for ((organization_id, client_id), tally) in &tallies {
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO client_connections
                     (organization_id, client_id, first_used_at, last_used_at, request_count)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (organization_id, client_id) DO UPDATE SET
                     first_used_at = COALESCE(client_connections.first_used_at, excluded.first_used_at),
                     last_used_at = CASE
                         WHEN client_connections.last_used_at > excluded.last_used_at
                         THEN client_connections.last_used_at ELSE excluded.last_used_at END,
                     request_count = client_connections.request_count + excluded.request_count",
            )
            .bind(organization_id)
            .bind(client_id)
            .bind(tally.first)
            .bind(tally.last)
            .bind(tally.requests)
            .execute(&mut *conn)
            .await?;
            for key_id in &tally.keys {
                sqlx::query(
                    "INSERT INTO client_connection_keys (organization_id, client_id, key_id)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(organization_id)
                .bind(client_id)
                .bind(key_id)
                .execute(&mut *conn)
                .await?;
            }
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Whether the organisation has blocked the client.
pub async fn is_blocked(
    db: &Db,
    organization_id: &OrganizationId,
    client_id: &str,
) -> Result<bool, StoreError> {
    let blocked: Option<Option<i64>> = on_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT blocked_at FROM client_connections WHERE organization_id = $1 AND client_id = $2",
        )
        .bind(organization_id.as_str())
        .bind(client_id)
        .fetch_optional(pool)
        .await?
    });
    Ok(blocked.flatten().is_some())
}

/// Blocks (`Some(when)`) or unblocks (`None`) a client for one organisation.
/// Requests read the block from the database, so it holds on every
/// instance from the next request on. A client may be blocked before it
/// has ever connected.
pub async fn set_blocked(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    client_id: &str,
    blocked_at: Option<i64>,
) -> Result<(), StoreError> {
    let sql = match blocked_at {
        Some(_) => {
            "INSERT INTO client_connections (organization_id, client_id, blocked_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (organization_id, client_id) DO UPDATE SET blocked_at = excluded.blocked_at"
        }
        None => {
            "UPDATE client_connections SET blocked_at = $3
             WHERE organization_id = $1 AND client_id = $2"
        }
    };
    on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(organization_id.as_str())
            .bind(client_id)
            .bind(blocked_at)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// The organisation's connected clients, most recently used first.
pub async fn list(
    db: &Db,
    organization_id: &OrganizationId,
) -> Result<Vec<Connection>, StoreError> {
    type Row = (String, String, Option<i64>, Option<i64>, i64, Option<i64>);
    let rows: Vec<Row> = on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT c.client_id, a.name, c.first_used_at, c.last_used_at, c.request_count, c.blocked_at
             FROM client_connections c JOIN api_clients a ON a.id = c.client_id
             WHERE c.organization_id = $1
             ORDER BY c.last_used_at DESC NULLS LAST, c.client_id",
        )
        .bind(organization_id.as_str())
        .fetch_all(pool)
        .await?
    });
    let keys: Vec<(String, String)> = on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT client_id, key_id FROM client_connection_keys
             WHERE organization_id = $1 ORDER BY key_id",
        )
        .bind(organization_id.as_str())
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(client_id, client_name, first_used_at, last_used_at, request_count, blocked_at)| {
                let key_ids = keys
                    .iter()
                    .filter(|(client, _)| *client == client_id)
                    .map(|(_, key)| key.clone())
                    .collect();
                Connection {
                    client_id,
                    client_name,
                    first_used_at,
                    last_used_at,
                    request_count,
                    blocked_at,
                    key_ids,
                }
            },
        )
        .collect())
}
