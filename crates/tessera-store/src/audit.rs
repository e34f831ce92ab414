//! The audit log: who did what, when, from where.

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
pub use tessera_core::audit::Actor;
use tessera_core::audit::{AuditEvent, LoggedAction};
use tessera_core::id::OrganizationId;
use tessera_core::id::{IdKind, new_id};

/// One audit entry to write: who did what to which target.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// `None` for the deployment's own entries (operators, clients).
    pub organization_id: Option<&'a OrganizationId>,
    pub actor: &'a Actor,
    pub target: Option<&'a str>,
    pub event: &'a AuditEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub organization_id: Option<OrganizationId>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: LoggedAction,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub details: Option<String>,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: String,
    organization_id: Option<String>,
    actor_kind: String,
    actor_id: Option<String>,
    actor_name: String,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    details: Option<String>,
    created_at: i64,
}

impl From<EntryRow> for Entry {
    fn from(row: EntryRow) -> Entry {
        Entry {
            action: LoggedAction::parse(&row.action),
            id: row.id,
            organization_id: row.organization_id.map(OrganizationId::from),
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            actor_name: row.actor_name,
            target: row.target,
            ip: row.ip,
            details: row.details,
            created_at: row.created_at,
        }
    }
}

fn entries(rows: Vec<EntryRow>) -> Vec<Entry> {
    rows.into_iter().map(Entry::from).collect()
}

/// Writes an entry in `tx`, so it commits with the change it describes.
pub async fn record(tx: &mut Tx, entry: NewEntry<'_>) -> Result<(), StoreError> {
    let details = entry.event.details().map(|d| d.to_string());
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO audit_log (id, organization_id, actor_kind, actor_id, actor_name, action, target, ip, details, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new_id(IdKind::AuditEntry))
        .bind(entry.organization_id.map(OrganizationId::as_str))
        .bind(entry.actor.kind.as_str())
        .bind(entry.actor.id.as_deref())
        .bind(&entry.actor.name)
        .bind(entry.event.action().as_str())
        .bind(entry.target)
        .bind(entry.actor.ip.as_deref())
        .bind(&details)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

macro_rules! select_sql {
    () => {
        "SELECT id, organization_id, actor_kind, actor_id, actor_name, action, target, ip, details, created_at FROM audit_log"
    };
}

/// The newest entries first, across the deployment.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Entry>, StoreError> {
    let sql = concat!(select_sql!(), " ORDER BY id DESC LIMIT $1");
    let rows = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(limit)
        .fetch_all(pool)
        .await?);
    Ok(entries(rows))
}

/// The newest entries of one organisation first.
pub async fn for_organization(
    db: &Db,
    organization_id: &OrganizationId,
    limit: i64,
) -> Result<Vec<Entry>, StoreError> {
    let sql = concat!(
        select_sql!(),
        " WHERE organization_id = $1 ORDER BY id DESC LIMIT $2"
    );
    let rows = on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id.as_str())
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    Ok(entries(rows))
}

/// What the audit log page asks for. Every `None` means "any".
#[derive(Debug, Default, Clone)]
pub struct AuditFilter<'a> {
    /// `None`: every organisation's entries and the deployment's own
    /// (operators only).
    pub organization_id: Option<&'a OrganizationId>,
    /// The actor's name, matched exactly but ignoring ASCII case.
    pub actor: Option<&'a str>,
    /// An action (`api_key.created`), or a family of actions when it ends
    /// with `.` or `.*` (`api_key.` matches every `api_key.…` action).
    pub action: Option<&'a str>,
    /// The exact target id.
    pub target: Option<&'a str>,
    /// Entries at or after this time (Unix ms).
    pub from_ms: Option<i64>,
    /// Entries before this time (Unix ms).
    pub until_ms: Option<i64>,
    /// Keyset pagination: only entries older than the entry with this id
    /// (entry ids sort by creation time).
    pub before_id: Option<&'a str>,
    /// Keyset pagination the other way: only entries newer than the entry
    /// with this id, the `limit` oldest of them (still returned newest
    /// first). Ignored when `before_id` is given.
    pub after_id: Option<&'a str>,
    pub limit: i64,
}

/// The conditions and order every search statement shares. `$1` is the
/// id bound: the caller binds `before_id`, `after_id` or, for the first
/// page, a string above every id, which keeps the condition a plain range
/// the indexes answer on both backends.
macro_rules! search_sql {
    ($bound:literal, $order:literal, $scope:literal) => {
        concat!(
            select_sql!(),
            " WHERE id ",
            $bound,
            " $1",
            $scope,
            " AND ($2 IS NULL OR lower(actor_name) = lower($2))
              AND ($3 IS NULL OR action = $3)
              AND ($4 IS NULL OR substr(action, 1, length($4)) = $4)
              AND ($5 IS NULL OR target = $5)
              AND ($6 IS NULL OR created_at >= $6)
              AND ($7 IS NULL OR created_at < $7)
            ORDER BY id ",
            $order,
            " LIMIT $8"
        )
    };
}

/// Sorts after every id (ids are a lowercase prefix, `_` and base32).
const ABOVE_EVERY_ID: &str = "~";

/// The entries matching `filter`, newest first, in one statement. An
/// organisation's search has its own statement with a plain equality on
/// the organisation, so it walks the `(organization_id, id)` index instead
/// of the whole log.
pub async fn search(db: &Db, filter: &AuditFilter<'_>) -> Result<Vec<Entry>, StoreError> {
    let (exact_action, action_prefix) = match filter.action {
        Some(action) if action.ends_with(".*") => (None, Some(&action[..action.len() - 1])),
        Some(action) if action.ends_with('.') => (None, Some(action)),
        other => (other, None),
    };
    let newer = filter.before_id.is_none() && filter.after_id.is_some();
    let sql = match (filter.organization_id, newer) {
        (Some(_), false) => search_sql!("<", "DESC", " AND organization_id = $9"),
        (None, false) => search_sql!("<", "DESC", ""),
        (Some(_), true) => search_sql!(">", "ASC", " AND organization_id = $9"),
        (None, true) => search_sql!(">", "ASC", ""),
    };
    let bound = match (filter.before_id, filter.after_id) {
        (Some(before), _) => before,
        (None, Some(after)) => after,
        (None, None) => ABOVE_EVERY_ID,
    };
    let rows: Vec<EntryRow> = on_pool!(db, |pool| {
        let query = sqlx::query_as(sql)
            .bind(bound)
            .bind(filter.actor)
            .bind(exact_action)
            .bind(action_prefix)
            .bind(filter.target)
            .bind(filter.from_ms)
            .bind(filter.until_ms)
            .bind(filter.limit);
        match filter.organization_id {
            Some(organization_id) => query.bind(organization_id.as_str()),
            None => query,
        }
        .fetch_all(pool)
        .await?
    });
    let mut found = entries(rows);
    if newer {
        found.reverse();
    }
    Ok(found)
}

/// The names of the things audit entries point at, by id: keys, roles,
/// users, bots, API clients, webhook endpoints (their URL) and
/// organisations. An id missing from the answer names something deleted.
pub async fn target_names(
    db: &Db,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    const NAMED: [(&str, &str); 7] = [
        ("api_keys", "name"),
        ("roles", "name"),
        ("accounts", "username"),
        ("bot_users", "name"),
        ("api_clients", "name"),
        ("webhook_endpoints", "url"),
        ("organizations", "name"),
    ];
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, String)> = on_pool!(db, |pool| {
        let mut select = sqlx::QueryBuilder::new("");
        for (i, (table, column)) in NAMED.iter().enumerate() {
            if i > 0 {
                select.push(" UNION ALL ");
            }
            select.push(format!("SELECT id, {column} FROM {table} WHERE id IN ("));
            let mut bound = select.separated(", ");
            for id in ids {
                bound.push_bind(*id);
            }
            select.push(")");
        }
        select.build_query_as().fetch_all(pool).await?
    });
    Ok(rows.into_iter().collect())
}
