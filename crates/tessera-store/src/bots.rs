//! Bot users: non-login service accounts of an organisation that own keys
//! made for integrations.

use crate::{Db, StoreError, now_ms, on_pool};
use tessera_core::access_change::AccessChange;
use tessera_core::id::{IdKind, new_id};
use tessera_core::names::DisplayName;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Bot {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub role_id: String,
    pub role_name: String,
    pub active: bool,
}

macro_rules! select_sql {
    () => {
        "SELECT b.id, b.organization_id, b.name, b.role_id, r.name AS role_name, b.active
    FROM bot_users b JOIN roles r ON r.id = b.role_id"
    };
}

pub async fn create(
    db: &Db,
    organization_id: &str,
    role_id: &str,
    name: &DisplayName,
) -> Result<Bot, StoreError> {
    let id = new_id(IdKind::Bot);
    let now = now_ms();
    on_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO bot_users (id, organization_id, name, role_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(organization_id)
        .bind(name.as_str())
        .bind(role_id)
        .bind(now)
        .execute(pool)
        .await?;
    });
    find_by_name(db, organization_id, name.as_str())
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn find_by_name(
    db: &Db,
    organization_id: &str,
    name: &str,
) -> Result<Option<Bot>, StoreError> {
    let sql = concat!(
        select_sql!(),
        " WHERE b.organization_id = $1 AND b.name = $2"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id)
            .bind(name)
            .fetch_optional(pool)
            .await?
    }))
}

pub async fn list(db: &Db, organization_id: &str) -> Result<Vec<Bot>, StoreError> {
    let sql = concat!(
        select_sql!(),
        " WHERE b.organization_id = $1 ORDER BY b.name"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(organization_id)
        .fetch_all(pool)
        .await?))
}

pub async fn find_by_id(
    db: &Db,
    organization_id: &str,
    id: &str,
) -> Result<Option<Bot>, StoreError> {
    let sql = concat!(select_sql!(), " WHERE b.organization_id = $1 AND b.id = $2");
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// A bot user as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BotSummary {
    #[sqlx(flatten)]
    pub bot: Bot,
    pub created_at: i64,
    /// Keys the bot owns that can still be used.
    pub live_keys: i64,
}

macro_rules! summary_sql {
    ($filter:literal) => {
        concat!(
            "SELECT b.id, b.organization_id, b.name, b.role_id, r.name AS role_name, b.active, b.created_at,
                    (SELECT COUNT(*) FROM api_keys k WHERE k.owner_bot_id = b.id AND k.revoked_at IS NULL
                        AND (k.expires_at IS NULL OR k.expires_at > $1)) AS live_keys
             FROM bot_users b JOIN roles r ON r.id = b.role_id
             WHERE b.organization_id = $2",
            $filter
        )
    };
}

/// An organisation's bot users with their live key counts, by name.
pub async fn summaries(db: &Db, organization_id: &str) -> Result<Vec<BotSummary>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(summary_sql!(" ORDER BY b.name"))
            .bind(now_ms())
            .bind(organization_id)
            .fetch_all(pool)
            .await?
    }))
}

pub async fn summary(
    db: &Db,
    organization_id: &str,
    id: &str,
) -> Result<Option<BotSummary>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(summary_sql!(" AND b.id = $3"))
            .bind(now_ms())
            .bind(organization_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Gives a bot user another role of its organisation; its keys are bounded
/// by the new role from the next request (logged for every key cache).
pub async fn set_role(
    db: &Db,
    organization_id: &str,
    id: &str,
    role_id: &str,
) -> Result<(), StoreError> {
    let updated = on_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE bot_users SET role_id = $1, updated_at = $2
             WHERE id = $3 AND organization_id = $4
               AND EXISTS (SELECT 1 FROM roles WHERE id = $1 AND organization_id = $4)",
        )
        .bind(role_id)
        .bind(now_ms())
        .bind(id)
        .bind(organization_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated > 0 {
            let change = AccessChange::Organization(organization_id.to_owned());
            crate::access_changes::record_change!(&mut *tx, change).await?;
        }
        tx.commit().await?;
        updated
    });
    if updated == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deactivates or reactivates a bot user. A deactivated bot's keys stop at
/// once (verification refuses keys of inactive owners), so the change is
/// logged for every key cache.
pub async fn set_active(
    db: &Db,
    organization_id: &str,
    id: &str,
    active: bool,
) -> Result<(), StoreError> {
    let updated = on_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE bot_users SET active = $1, updated_at = $2 WHERE id = $3 AND organization_id = $4",
        )
        .bind(active)
        .bind(now_ms())
        .bind(id)
        .bind(organization_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated > 0 {
            let change = AccessChange::Organization(organization_id.to_owned());
            crate::access_changes::record_change!(&mut *tx, change).await?;
        }
        tx.commit().await?;
        updated
    });
    if updated == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
