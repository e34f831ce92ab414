//! Reading usage back: the request log page by page, hourly sums from the
//! raw rows, request counts per key, field reads and field reach.

use super::{REQUEST_ID_PREFIX, SeriesRow};
use crate::{Db, StoreError, now_ms, on_pool};
use std::collections::{BTreeMap, HashMap};
use tessera_core::id::{OrganizationId, first_id_at};
use tessera_core::permissions::{Access, PermissionSet};
use tessera_core::usage::{
    Granularity, GroupBy, LATENCY_BUCKETS, LatencyHistogram, is_error, latency_bucket,
};

/// One row of the request log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoggedRequest {
    pub id: String,
    pub at: i64,
    pub key_id: Option<String>,
    pub client_id: Option<String>,
    pub method: String,
    pub route: String,
    pub status: i64,
    pub latency_ms: i64,
    pub client_ip: String,
    pub request_id: String,
    /// Comma-separated field names, for data reads.
    pub fields: Option<String>,
}

/// What the request log is searched for; every `None` means "any".
#[derive(Debug, Clone)]
pub struct RequestFilter<'a> {
    pub organization_id: &'a OrganizationId,
    pub key_id: Option<&'a str>,
    pub status: Option<i64>,
    pub route: Option<&'a str>,
    /// Requests at or after this time (Unix ms).
    pub from: Option<i64>,
    /// Requests before this time (Unix ms).
    pub to: Option<i64>,
    /// Keyset pagination: only requests older than this log id.
    pub before_id: Option<&'a str>,
    pub limit: i64,
}

/// Sorts after every request id.
const ABOVE_EVERY_ID: &str = "~";

/// The `[lowest, above)` id range of requests between `from` and `to`.
fn id_range(from: Option<i64>, to: Option<i64>) -> (String, String) {
    let lowest = from.map_or_else(String::new, |t| first_id_at(REQUEST_ID_PREFIX, t));
    let above = to.map_or_else(
        || ABOVE_EVERY_ID.to_owned(),
        |t| first_id_at(REQUEST_ID_PREFIX, t),
    );
    (lowest, above)
}

/// The organisation's requests matching `filter`, newest first: one
/// backward walk of the `(organization_id, id)` index.
pub async fn list_requests(
    db: &Db,
    filter: &RequestFilter<'_>,
) -> Result<Vec<LoggedRequest>, StoreError> {
    let (lowest, mut above) = id_range(filter.from, filter.to);
    if let Some(before) = filter.before_id.filter(|b| *b < above.as_str()) {
        before.clone_into(&mut above);
    }
    let rows = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT id, at, key_id, client_id, method, route, status, latency_ms, client_ip, request_id, fields
         FROM usage_requests
         WHERE organization_id = $1 AND id < $2 AND id >= $3
           AND ($4 IS NULL OR key_id = $4) AND ($5 IS NULL OR status = $5) AND ($6 IS NULL OR route = $6)
         ORDER BY id DESC LIMIT $7",
    )
    .bind(filter.organization_id.as_str())
    .bind(&above)
    .bind(&lowest)
    .bind(filter.key_id)
    .bind(filter.status)
    .bind(filter.route)
    .bind(filter.limit)
    .fetch_all(pool)
    .await?
    });
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct TimedRow {
    at: i64,
    key_id: Option<String>,
    client_id: Option<String>,
    route: String,
    status: i64,
    latency_ms: i64,
}

/// Hourly sums of an organisation's requests in `[from, to)`, from the raw
/// log (roll-ups are daily); the caller bounds the range.
pub async fn hourly_series(
    db: &Db,
    organization_id: &OrganizationId,
    (from, to): (i64, i64),
    group: Option<GroupBy>,
) -> Result<Vec<SeriesRow>, StoreError> {
    let (lowest, above) = id_range(Some(from), Some(to));
    let rows: Vec<TimedRow> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT at, key_id, client_id, route, status, latency_ms FROM usage_requests
         WHERE organization_id = $1 AND id < $2 AND id >= $3",
    )
    .bind(organization_id.as_str())
    .bind(&above)
    .bind(&lowest)
    .fetch_all(pool)
    .await?);
    let mut sums: BTreeMap<(i64, Option<String>), (i64, i64, LatencyHistogram)> = BTreeMap::new();
    for row in rows {
        let group = match group {
            None => None,
            Some(GroupBy::Key) => row.key_id,
            Some(GroupBy::Client) => row.client_id,
            Some(GroupBy::Route) => Some(row.route),
            Some(GroupBy::Status) => Some(row.status.to_string()),
        };
        let bucket = Granularity::Hour.bucket_start(row.at);
        let sum = sums
            .entry((bucket, group))
            .or_insert((0, 0, [0; LATENCY_BUCKETS]));
        sum.0 += 1;
        sum.1 += i64::from(u16::try_from(row.status).is_ok_and(is_error));
        sum.2[latency_bucket(row.latency_ms)] += 1;
    }
    Ok(sums
        .into_iter()
        .map(|((bucket, group), (requests, errors, latency))| SeriesRow {
            bucket,
            group,
            requests,
            errors,
            latency,
        })
        .collect())
}

/// Requests per key of the organisation since `since` (Unix ms, rounded
/// down to its day), from the roll-ups.
pub async fn requests_since(
    db: &Db,
    organization_id: &OrganizationId,
    since: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT key_id, CAST(SUM(requests) AS BIGINT) FROM usage_daily
         WHERE organization_id = $1 AND day >= $2 AND key_id <> '' GROUP BY key_id",
    )
    .bind(organization_id.as_str())
    .bind(Granularity::Day.bucket_start(since))
    .fetch_all(pool)
    .await?);
    Ok(rows.into_iter().collect())
}

/// How many answers one key received with a field on one day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FieldReads {
    pub key_id: String,
    pub day: i64,
    pub reads: i64,
}

/// Which keys received `field` of `resource` since `since`, per day,
/// newest day first.
pub async fn read_counts(
    db: &Db,
    organization_id: &OrganizationId,
    (resource, field): (&str, &str),
    since: i64,
) -> Result<Vec<FieldReads>, StoreError> {
    Ok(on_pool!(db, |pool| sqlx::query_as(
        "SELECT key_id, day, reads FROM usage_field_reads
         WHERE organization_id = $1 AND resource = $2 AND field = $3 AND day >= $4
         ORDER BY day DESC, key_id",
    )
    .bind(organization_id.as_str())
    .bind(resource)
    .bind(field)
    .bind(Granularity::Day.bucket_start(since))
    .fetch_all(pool)
    .await?))
}

/// An unrevoked key with what it may do now: its grant ∩ its owner's
/// current role, as verification computes it.
#[derive(Debug, Clone)]
pub struct KeyReach {
    pub id: String,
    pub name: String,
    pub owner_kind: &'static str,
    pub owner_name: String,
    /// Unexpired, and its owner active: a request with it would pass.
    pub usable: bool,
    pub effective: Access,
}

#[derive(sqlx::FromRow)]
struct ReachRow {
    id: String,
    name: String,
    owner_bot_id: Option<String>,
    owner_name: String,
    owner_active: bool,
    owner_role_permissions: Option<String>,
    permissions: Option<String>,
    linked_role_id: Option<String>,
    linked_role_permissions: Option<String>,
    expires_at: Option<i64>,
}

fn stored_access(key: &str, json: Option<&str>) -> Result<Access, StoreError> {
    let set = json
        .map(serde_json::from_str::<PermissionSet>)
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("key {key}: {e}")))?;
    Ok(Access::from_stored(set))
}

/// Every unrevoked key of the organisation with its effective access.
pub async fn key_reach(
    db: &Db,
    organization_id: &OrganizationId,
) -> Result<Vec<KeyReach>, StoreError> {
    let rows: Vec<ReachRow> = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT k.id, k.name, k.owner_bot_id,
                COALESCE(a.username, b.name) AS owner_name,
                COALESCE(a.active, b.active) AS owner_active,
                owner_role.permissions AS owner_role_permissions,
                k.permissions, k.role_id AS linked_role_id, linked_role.permissions AS linked_role_permissions,
                k.expires_at
         FROM api_keys k
         LEFT JOIN accounts a ON a.id = k.owner_account_id
         LEFT JOIN bot_users b ON b.id = k.owner_bot_id
         JOIN roles owner_role ON owner_role.id = COALESCE(a.role_id, b.role_id)
         LEFT JOIN roles linked_role ON linked_role.id = k.role_id
         WHERE k.organization_id = $1 AND k.revoked_at IS NULL
         ORDER BY k.id",
    )
    .bind(organization_id.as_str())
    .fetch_all(pool)
    .await?
    });
    let now = now_ms();
    rows.into_iter()
        .map(|row| {
            let grant = match row.linked_role_id {
                Some(_) => row.linked_role_permissions.as_deref(),
                None => row.permissions.as_deref(),
            };
            let effective = stored_access(&row.id, grant)?.intersect(&stored_access(
                &row.id,
                row.owner_role_permissions.as_deref(),
            )?);
            Ok(KeyReach {
                usable: row.owner_active && row.expires_at.is_none_or(|t| t > now),
                owner_kind: if row.owner_bot_id.is_some() {
                    "bot"
                } else {
                    "user"
                },
                id: row.id,
                name: row.name,
                owner_name: row.owner_name,
                effective,
            })
        })
        .collect()
}

/// Requests and errors per organisation since `since`, busiest first: the
/// operator's view.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrganizationTotals {
    pub slug: String,
    pub name: String,
    pub requests: i64,
    pub errors: i64,
}

pub async fn organization_totals(
    db: &Db,
    since: i64,
) -> Result<Vec<OrganizationTotals>, StoreError> {
    Ok(on_pool!(db, |pool| sqlx::query_as(
        "SELECT o.slug, o.name, CAST(SUM(u.requests) AS BIGINT) AS requests,
                CAST(SUM(CASE WHEN u.status >= 400 THEN u.requests ELSE 0 END) AS BIGINT) AS errors
         FROM usage_daily u JOIN organizations o ON o.id = u.organization_id
         WHERE u.day >= $1
         GROUP BY o.slug, o.name ORDER BY requests DESC, o.slug",
    )
    .bind(Granularity::Day.bucket_start(since))
    .fetch_all(pool)
    .await?))
}
