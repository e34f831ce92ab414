//! Roles: named permission sets of an organisation.

use crate::error::one_row;
use crate::{Db, StoreError, Tx, on_pool, on_tx};
use std::collections::HashMap;
use tessera_core::id::{IdKind, new_id};
use tessera_core::id::{OrganizationId, RoleId};
use tessera_core::names::DisplayName;
use tessera_core::permissions::{Access, PermissionSet};

pub const ADMINISTRATOR: &str = "Administrator";
pub const EMPLOYEE: &str = "Employee";

/// Every organisation is created with these roles.
pub(crate) const BUILT_IN: [(&str, RoleKind); 2] = [
    (ADMINISTRATOR, RoleKind::Administrator),
    (EMPLOYEE, RoleKind::Employee),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    /// Everything, plus administration of the organisation.
    Administrator,
    /// Nothing until an administrator grants it.
    Employee,
    Custom,
}

impl RoleKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            RoleKind::Administrator => "administrator",
            RoleKind::Employee => "employee",
            RoleKind::Custom => "custom",
        }
    }

    fn parse(stored: &str) -> Result<Self, StoreError> {
        match stored {
            "administrator" => Ok(RoleKind::Administrator),
            "employee" => Ok(RoleKind::Employee),
            "custom" => Ok(RoleKind::Custom),
            other => Err(StoreError::Corrupt(format!("unknown role kind '{other}'"))),
        }
    }

    /// The stored permission JSON a role of this kind starts with.
    pub(crate) fn initial_permissions(self) -> Option<String> {
        match self {
            RoleKind::Administrator => None,
            RoleKind::Employee | RoleKind::Custom => Some("{}".to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: RoleId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub kind: RoleKind,
    pub access: Access,
}

impl Role {
    pub fn is_administrator(&self) -> bool {
        self.kind == RoleKind::Administrator
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RoleRow {
    id: String,
    organization_id: String,
    name: String,
    kind: String,
    permissions: Option<String>,
}

impl TryFrom<RoleRow> for Role {
    type Error = StoreError;

    fn try_from(row: RoleRow) -> Result<Self, StoreError> {
        let set = row
            .permissions
            .map(|json| {
                serde_json::from_str::<PermissionSet>(&json)
                    .map_err(|e| StoreError::Corrupt(format!("role {}: {e}", row.id)))
            })
            .transpose()?;
        Ok(Role {
            kind: RoleKind::parse(&row.kind)?,
            access: Access::from_stored(set),
            id: row.id.into(),
            organization_id: row.organization_id.into(),
            name: row.name,
        })
    }
}

macro_rules! columns_sql {
    () => {
        "id, organization_id, name, kind, permissions"
    };
}

const ROLE_BY_NAME: &str = concat!(
    "SELECT ",
    columns_sql!(),
    " FROM roles WHERE organization_id = $1 AND name = $2"
);
const ROLE_BY_ID: &str = concat!(
    "SELECT ",
    columns_sql!(),
    " FROM roles WHERE organization_id = $1 AND id = $2"
);

pub async fn find_by_name(
    db: &Db,
    organization_id: &OrganizationId,
    name: &str,
) -> Result<Option<Role>, StoreError> {
    find_one(db, ROLE_BY_NAME, organization_id, name).await
}

/// A role of the organisation; another organisation's is not found.
pub async fn find_by_id(
    db: &Db,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<Option<Role>, StoreError> {
    find_one(db, ROLE_BY_ID, organization_id, id).await
}

async fn find_one(
    db: &Db,
    sql: &'static str,
    organization_id: &OrganizationId,
    value: &str,
) -> Result<Option<Role>, StoreError> {
    let row: Option<RoleRow> = on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id.as_str())
            .bind(value)
            .fetch_optional(pool)
            .await?
    });
    row.map(Role::try_from).transpose()
}

pub async fn list(db: &Db, organization_id: &OrganizationId) -> Result<Vec<Role>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns_sql!(),
        " FROM roles WHERE organization_id = $1 ORDER BY name"
    );
    let rows: Vec<RoleRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(organization_id.as_str())
        .fetch_all(pool)
        .await?);
    rows.into_iter().map(Role::try_from).collect()
}

fn stored_json(access: &Access) -> Result<Option<String>, StoreError> {
    access
        .to_stored()
        .map(|set| serde_json::to_string(set).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// Creates a custom role. A name the organisation already uses is a
/// [`StoreError::Conflict`].
pub async fn create(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    name: &DisplayName,
    permissions: &PermissionSet,
) -> Result<String, StoreError> {
    let id = new_id(IdKind::Role);
    let json =
        serde_json::to_string(permissions).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let now = crate::now_ms();
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO roles (id, organization_id, name, kind, permissions, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(organization_id.as_str())
        .bind(name.as_str())
        .bind(RoleKind::Custom.as_str())
        .bind(&json)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

/// Renames a custom role and replaces its permissions in one step (the
/// built-in `Employee` keeps its name: pass it unchanged). A taken name is
/// a [`StoreError::Conflict`]; the `Administrator` role, or another
/// organisation's, is not found.
pub async fn update(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    role_id: &str,
    name: &DisplayName,
    access: &Access,
) -> Result<(), StoreError> {
    let json = stored_json(access)?;
    let updated = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE roles SET name = CASE WHEN kind = 'custom' THEN $1 ELSE name END,
                    permissions = $2, updated_at = $3
             WHERE id = $4 AND organization_id = $5 AND kind <> 'administrator'",
        )
        .bind(name.as_str())
        .bind(&json)
        .bind(crate::now_ms())
        .bind(role_id)
        .bind(organization_id.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    one_row(updated)
}

/// Who depends on a role: people and bot users holding it, and keys linked
/// to it that can still be used (neither revoked nor expired).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleUsage {
    pub users: i64,
    pub bots: i64,
    pub keys: i64,
}

impl RoleUsage {
    pub fn is_unused(&self) -> bool {
        self.users == 0 && self.bots == 0 && self.keys == 0
    }
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    role_id: String,
    user_count: i64,
    bot_count: i64,
    key_count: i64,
}

impl From<&UsageRow> for RoleUsage {
    fn from(row: &UsageRow) -> Self {
        RoleUsage {
            users: row.user_count,
            bots: row.bot_count,
            keys: row.key_count,
        }
    }
}

macro_rules! usage_sql {
    ($filter:literal) => {
        concat!(
            "SELECT r.id AS role_id,
                (SELECT COUNT(*) FROM accounts a WHERE a.role_id = r.id) AS user_count,
                (SELECT COUNT(*) FROM bot_users b WHERE b.role_id = r.id) AS bot_count,
                (SELECT COUNT(*) FROM api_keys k WHERE k.role_id = r.id AND k.revoked_at IS NULL
                    AND (k.expires_at IS NULL OR k.expires_at > $2)) AS key_count
             FROM roles r WHERE ",
            $filter
        )
    };
}

/// How each role of an organisation is used, by role id.
pub async fn usage(
    db: &Db,
    organization_id: &OrganizationId,
) -> Result<HashMap<String, RoleUsage>, StoreError> {
    let rows: Vec<UsageRow> = on_pool!(db, |pool| {
        sqlx::query_as(usage_sql!("r.organization_id = $1"))
            .bind(organization_id.as_str())
            .bind(crate::now_ms())
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|row| (row.role_id.clone(), RoleUsage::from(&row)))
        .collect())
}

/// What became of a request to delete a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// Still held or linked; nothing was deleted.
    InUse(RoleUsage),
}

/// Deletes a custom role nobody uses, checked in the same transaction.
/// Keys that were linked to it but can no longer be used (revoked or
/// expired) keep, as their own grant, the permissions the role had, so
/// their history still shows what they could do. Built-in roles and other
/// organisations' roles are not found.
pub async fn delete(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    role_id: &str,
) -> Result<Deletion, StoreError> {
    on_tx!(tx, |conn| {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM roles WHERE id = $1 AND organization_id = $2 AND kind = 'custom'",
        )
        .bind(role_id)
        .bind(organization_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        let row: UsageRow = sqlx::query_as(usage_sql!("r.id = $1"))
            .bind(role_id)
            .bind(crate::now_ms())
            .fetch_one(&mut *conn)
            .await?;
        let usage = RoleUsage::from(&row);
        if !usage.is_unused() {
            return Ok(Deletion::InUse(usage));
        }
        sqlx::query(
            "UPDATE api_keys SET permissions = (SELECT permissions FROM roles WHERE id = $1), role_id = NULL
             WHERE role_id = $1",
        )
        .bind(role_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM roles WHERE id = $1")
            .bind(role_id)
            .execute(&mut *conn)
            .await?;
    });
    Ok(Deletion::Deleted)
}
