//! The audit log: who did what, when, from where.

use crate::{Db, StoreError, now_ms, on_pool};
use tessera_core::audit::{ActorKind, AuditAction};
use tessera_core::id::{IdKind, new_id};

/// Who performed an audited action.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: String,
}

impl Actor {
    pub fn command_line() -> Actor {
        Actor {
            kind: ActorKind::CommandLine,
            id: None,
            name: "tessera admin".to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub organization_id: Option<&'a str>,
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub target: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub organization_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub details: Option<String>,
    pub created_at: i64,
}

pub async fn record(db: &Db, entry: NewEntry<'_>) -> Result<(), StoreError> {
    let details = entry.details.map(|d| d.to_string());
    on_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO audit_log (id, organization_id, actor_kind, actor_id, actor_name, action, target, ip, details, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(new_id(IdKind::AuditEntry))
        .bind(entry.organization_id)
        .bind(entry.actor.kind.as_str())
        .bind(entry.actor.id.as_deref())
        .bind(&entry.actor.name)
        .bind(entry.action.as_str())
        .bind(entry.target)
        .bind(entry.ip)
        .bind(&details)
        .bind(now_ms())
        .execute(pool)
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
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// The newest entries of one organisation first.
pub async fn for_organization(
    db: &Db,
    organization_id: &str,
    limit: i64,
) -> Result<Vec<Entry>, StoreError> {
    let sql = concat!(
        select_sql!(),
        " WHERE organization_id = $1 ORDER BY id DESC LIMIT $2"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}

/// The newest entries about one target (a key, a client) of an organisation.
pub async fn for_target(
    db: &Db,
    organization_id: &str,
    target: &str,
    limit: i64,
) -> Result<Vec<Entry>, StoreError> {
    let sql = concat!(
        select_sql!(),
        " WHERE organization_id = $1 AND target = $2 ORDER BY id DESC LIMIT $3"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id)
            .bind(target)
            .bind(limit)
            .fetch_all(pool)
            .await?
    }))
}
