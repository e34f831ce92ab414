//! Organisations (tenants) and their settings.

use crate::error::one_row;
use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::id::{IdKind, OrganizationId, new_id};
use tessera_core::names::{DisplayName, Slug, Username};

/// Who may create API keys in an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCreationPolicy {
    AdministratorsOnly,
    Everyone,
}

impl KeyCreationPolicy {
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyCreationPolicy::AdministratorsOnly => "administrators",
            KeyCreationPolicy::Everyone => "everyone",
        }
    }

    fn parse(stored: &str) -> Result<Self, StoreError> {
        match stored {
            "administrators" => Ok(KeyCreationPolicy::AdministratorsOnly),
            "everyone" => Ok(KeyCreationPolicy::Everyone),
            other => Err(StoreError::Corrupt(format!(
                "unknown key creation policy '{other}'"
            ))),
        }
    }
}

/// An organisation's request budget: a token bucket refilled at
/// `per_second` and holding at most `burst` requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    pub const DEFAULT: RateLimit = RateLimit {
        per_second: 100,
        burst: 200,
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub key_creation: KeyCreationPolicy,
    pub rate_limit: RateLimit,
    /// New keys must expire within this many days (a key's optional expiry,
    /// made mandatory by the organisation); `None`: no limit.
    pub max_key_lifetime_days: Option<u32>,
    /// CIDR ranges a new key gets when it is created without its own list.
    pub default_ip_allowlist: Option<Vec<String>>,
    /// Administrators must use two-factor sign-in before anything else.
    pub administrators_need_two_factor: bool,
    pub created_at: i64,
}

/// The longest lifetime an organisation may require of its keys, in days.
pub const MAX_KEY_LIFETIME_DAYS: u32 = 3650;

/// What an administrator sets on the organisation settings page: the rules
/// for new API keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    pub key_creation: KeyCreationPolicy,
    pub max_key_lifetime_days: Option<u32>,
    pub default_ip_allowlist: Option<Vec<String>>,
}

impl Organization {
    pub fn key_policy(&self) -> KeyPolicy {
        KeyPolicy {
            key_creation: self.key_creation,
            max_key_lifetime_days: self.max_key_lifetime_days,
            default_ip_allowlist: self.default_ip_allowlist.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct OrganizationRow {
    id: String,
    slug: String,
    name: String,
    key_creation: String,
    rate_limit_per_second: i64,
    rate_limit_burst: i64,
    max_key_lifetime_days: Option<i64>,
    default_ip_allowlist: Option<String>,
    administrators_need_two_factor: bool,
    created_at: i64,
}

impl TryFrom<OrganizationRow> for Organization {
    type Error = StoreError;

    fn try_from(row: OrganizationRow) -> Result<Self, StoreError> {
        let bounded = |v: i64| {
            u32::try_from(v)
                .map_err(|_| StoreError::Corrupt(format!("rate limit {v} out of range")))
        };
        let max_key_lifetime_days = row
            .max_key_lifetime_days
            .map(|days| {
                u32::try_from(days)
                    .map_err(|_| StoreError::Corrupt(format!("key lifetime {days} out of range")))
            })
            .transpose()?;
        let default_ip_allowlist = row
            .default_ip_allowlist
            .map(|json| {
                serde_json::from_str::<Vec<String>>(&json).map_err(|e| {
                    StoreError::Corrupt(format!("organisation {} allow-list: {e}", row.id))
                })
            })
            .transpose()?;
        Ok(Organization {
            key_creation: KeyCreationPolicy::parse(&row.key_creation)?,
            max_key_lifetime_days,
            default_ip_allowlist,
            rate_limit: RateLimit {
                per_second: bounded(row.rate_limit_per_second)?,
                burst: bounded(row.rate_limit_burst)?,
            },
            id: row.id.into(),
            slug: row.slug,
            name: row.name,
            administrators_need_two_factor: row.administrators_need_two_factor,
            created_at: row.created_at,
        })
    }
}

macro_rules! columns_sql {
    () => {
        "id, slug, name, key_creation, rate_limit_per_second, rate_limit_burst,
         max_key_lifetime_days, default_ip_allowlist, administrators_need_two_factor, created_at"
    };
}

/// A user to create together with a new organisation, with its
/// `Administrator` role.
#[derive(Debug, Clone, Copy)]
pub struct FirstAdministrator<'a> {
    pub username: &'a Username,
    pub password_hash: &'a str,
}

/// Creates an organisation with its built-in `Administrator` and
/// `Employee` roles and, optionally, its first administrator: a taken slug
/// or username (`StoreError::Conflict`) fails the whole transaction.
/// Returns the organisation's id and the administrator's account id.
pub async fn create(
    tx: &mut Tx,
    slug: &Slug,
    name: &DisplayName,
    administrator: Option<FirstAdministrator<'_>>,
) -> Result<(OrganizationId, Option<String>), StoreError> {
    let id = OrganizationId::new();
    let account_id = administrator.map(|_| new_id(IdKind::Account));
    let now = now_ms();
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO organizations (id, slug, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(id.as_str())
        .bind(slug.as_str())
        .bind(name.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let mut administrator_role = None;
        for (role_name, kind) in crate::roles::BUILT_IN {
            let role_id = new_id(IdKind::Role);
            sqlx::query(
                "INSERT INTO roles (id, organization_id, name, kind, permissions, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&role_id)
            .bind(id.as_str())
            .bind(role_name)
            .bind(kind.as_str())
            .bind(kind.initial_permissions())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            if kind == crate::roles::RoleKind::Administrator {
                administrator_role = Some(role_id);
            }
        }
        if let (Some(administrator), Some(account_id)) = (administrator, &account_id) {
            sqlx::query(
                "INSERT INTO accounts (id, username, password_hash, is_operator, organization_id, role_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(account_id)
            .bind(administrator.username.as_str())
            .bind(administrator.password_hash)
            .bind(false)
            .bind(id.as_str())
            .bind(&administrator_role)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    });
    Ok((id, account_id))
}

pub async fn find_by_slug(db: &Db, slug: &str) -> Result<Option<Organization>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns_sql!(),
        " FROM organizations WHERE slug = $1"
    );
    let row: Option<OrganizationRow> = crate::fetch_optional(db, sql, slug).await?;
    row.map(Organization::try_from).transpose()
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<Organization>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns_sql!(),
        " FROM organizations WHERE id = $1"
    );
    let row: Option<OrganizationRow> = crate::fetch_optional(db, sql, id).await?;
    row.map(Organization::try_from).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Organization>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns_sql!(),
        " FROM organizations ORDER BY slug"
    );
    let rows: Vec<OrganizationRow> =
        on_pool!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
    rows.into_iter().map(Organization::try_from).collect()
}

/// Sets an organisation's rate limit.
pub async fn set_rate_limit(tx: &mut Tx, id: &str, limit: RateLimit) -> Result<(), StoreError> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE organizations SET rate_limit_per_second = $1, rate_limit_burst = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(i64::from(limit.per_second))
        .bind(i64::from(limit.burst))
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    one_row(changed)
}

/// Replaces the organisation's rules for new API keys. Keys that exist are
/// not touched, so no key cache needs to hear of it.
/// Whether the organisation's administrators must use two-factor sign-in.
pub async fn set_administrators_need_two_factor(
    tx: &mut Tx,
    id: &str,
    required: bool,
) -> Result<(), StoreError> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE organizations SET administrators_need_two_factor = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(required)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    one_row(changed)
}

pub async fn set_key_policy(tx: &mut Tx, id: &str, policy: &KeyPolicy) -> Result<(), StoreError> {
    let allowlist = policy
        .default_ip_allowlist
        .as_ref()
        .map(|list| serde_json::to_string(list).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE organizations SET key_creation = $1, max_key_lifetime_days = $2,
                    default_ip_allowlist = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(policy.key_creation.as_str())
        .bind(policy.max_key_lifetime_days.map(i64::from))
        .bind(&allowlist)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    one_row(changed)
}

/// An organisation with the counts the operator's list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationSummary {
    pub organization: Organization,
    pub users: i64,
    /// Keys neither revoked nor expired at the time of the query.
    pub active_keys: i64,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    #[sqlx(flatten)]
    organization: OrganizationRow,
    users: i64,
    active_keys: i64,
}

/// Every organisation, by slug, with its user and active key counts.
pub async fn list_with_counts(db: &Db) -> Result<Vec<OrganizationSummary>, StoreError> {
    let sql = concat!(
        "SELECT ",
        columns_sql!(),
        ",
        (SELECT COUNT(*) FROM accounts a WHERE a.organization_id = organizations.id) AS users,
        (SELECT COUNT(*) FROM api_keys k WHERE k.organization_id = organizations.id
            AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $1)) AS active_keys
        FROM organizations ORDER BY slug"
    );
    let rows: Vec<SummaryRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(now_ms())
        .fetch_all(pool)
        .await?);
    rows.into_iter()
        .map(|row| {
            Ok(OrganizationSummary {
                organization: Organization::try_from(row.organization)?,
                users: row.users,
                active_keys: row.active_keys,
            })
        })
        .collect()
}
