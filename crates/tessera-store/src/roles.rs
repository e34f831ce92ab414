//! Roles: named permission sets of an organisation (SPEC §2).

use crate::{Db, StoreError, on_pool};
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
    pub id: String,
    pub organization_id: String,
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
            id: row.id,
            organization_id: row.organization_id,
            name: row.name,
        })
    }
}

macro_rules! columns_sql {
    () => {
        "id, organization_id, name, kind, permissions"
    };
}

pub async fn find_by_name(
    db: &Db,
    organization_id: &str,
    name: &str,
) -> Result<Option<Role>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns_sql!(),
        " FROM roles WHERE organization_id = $1 AND name = $2"
    );
    let row: Option<RoleRow> = on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id)
            .bind(name)
            .fetch_optional(pool)
            .await?
    });
    row.map(Role::try_from).transpose()
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<Role>, StoreError> {
    let sql = concat!("SELECT ", columns_sql!(), " FROM roles WHERE id = $1");
    let row: Option<RoleRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.map(Role::try_from).transpose()
}

pub async fn list(db: &Db, organization_id: &str) -> Result<Vec<Role>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns_sql!(),
        " FROM roles WHERE organization_id = $1 ORDER BY name"
    );
    let rows: Vec<RoleRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(organization_id)
        .fetch_all(pool)
        .await?);
    rows.into_iter().map(Role::try_from).collect()
}

/// Replaces a custom role's permissions. Keys of its holders and keys linked
/// to it change at once, so the change is logged for every key cache.
pub async fn set_permissions(db: &Db, role_id: &str, access: &Access) -> Result<(), StoreError> {
    let json = access
        .to_stored()
        .map(|set| serde_json::to_string(set).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    let organization_id: Option<String> = on_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        let organization_id: Option<String> = sqlx::query_scalar(
            "UPDATE roles SET permissions = $1, updated_at = $2 WHERE id = $3 AND kind <> 'administrator' RETURNING organization_id",
        )
        .bind(&json)
        .bind(crate::now_ms())
        .bind(role_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(org) = &organization_id {
            let change = tessera_core::access_change::AccessChange::Organization(org.clone());
            crate::access_changes::record_change!(&mut *tx, change).await?;
        }
        tx.commit().await?;
        organization_id
    });
    organization_id.map(|_| ()).ok_or(StoreError::NotFound)
}
