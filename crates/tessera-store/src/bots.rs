//! Bot users: non-login service accounts of an organisation that own keys
//! made for integrations.

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::id::{BotId, OrganizationId, RoleId};
use tessera_core::id::{IdKind, new_id};
use tessera_core::names::DisplayName;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Bot {
    #[sqlx(try_from = "String")]
    pub id: BotId,
    #[sqlx(try_from = "String")]
    pub organization_id: OrganizationId,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role_id: RoleId,
    pub role_name: String,
    pub active: bool,
}

macro_rules! select_sql {
    () => {
        "SELECT b.id, b.organization_id, b.name, b.role_id, r.name AS role_name, b.active
    FROM bot_users b JOIN roles r ON r.id = b.role_id"
    };
}

/// Inserts a bot user and returns its id.
pub async fn create(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    role_id: &str,
    name: &DisplayName,
) -> Result<String, StoreError> {
    let id = new_id(IdKind::Bot);
    let now = now_ms();
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO bot_users (id, organization_id, name, role_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(organization_id.as_str())
        .bind(name.as_str())
        .bind(role_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

pub async fn find_by_name(
    db: &Db,
    organization_id: &OrganizationId,
    name: &str,
) -> Result<Option<Bot>, StoreError> {
    let sql = concat!(
        select_sql!(),
        " WHERE b.organization_id = $1 AND b.name = $2"
    );
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id.as_str())
            .bind(name)
            .fetch_optional(pool)
            .await?
    }))
}

pub async fn list(db: &Db, organization_id: &OrganizationId) -> Result<Vec<Bot>, StoreError> {
    let sql = concat!(
        select_sql!(),
        " WHERE b.organization_id = $1 ORDER BY b.name"
    );
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(organization_id.as_str())
        .fetch_all(pool)
        .await?))
}

pub async fn find_by_id(
    db: &Db,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<Option<Bot>, StoreError> {
    let sql = concat!(select_sql!(), " WHERE b.organization_id = $1 AND b.id = $2");
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id.as_str())
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
