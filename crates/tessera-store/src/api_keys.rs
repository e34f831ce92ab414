//! API keys. Only the SHA-256 of a key is stored.

use crate::organizations::RateLimit;
use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::id::{AccountId, BotId, KeyId, OrganizationId, RoleId};
use tessera_core::permissions::{Access, PermissionSet};
use tessera_core::secret::SecretHash;

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Account(AccountId),
    Bot(BotId),
}

impl Owner {
    pub fn kind(&self) -> &'static str {
        match self {
            Owner::Account(_) => "user",
            Owner::Bot(_) => "bot",
        }
    }
}

/// Why a key stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    Revoked,
    RevokedAll,
    Leaked,
    RevokedItself,
}

impl RevocationReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Revoked => "revoked",
            RevocationReason::RevokedAll => "revoked_all",
            RevocationReason::Leaked => "leaked",
            RevocationReason::RevokedItself => "revoked_itself",
        }
    }
}

pub struct NewApiKey<'a> {
    pub organization_id: &'a str,
    pub name: &'a str,
    pub key_hash: &'a SecretHash,
    pub hint: &'a str,
    pub owner: &'a Owner,
    pub created_by: &'a str,
    pub permissions: Option<&'a PermissionSet>,
    pub role_id: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub ip_allowlist: Option<&'a [String]>,
    pub client_id: Option<&'a str>,
    /// A limit for this key alone, on top of its organisation's.
    pub rate_limit: Option<RateLimit>,
}

/// A key as it is listed and shown (never with its raw value).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: KeyId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub hint: String,
    pub owner: Owner,
    pub owner_name: String,
    /// The key's own grant; `None` with no role means full access.
    pub permissions: Option<PermissionSet>,
    pub role_id: Option<RoleId>,
    pub role_name: Option<String>,
    pub expires_at: Option<i64>,
    pub ip_allowlist: Option<Vec<String>>,
    pub client_id: Option<String>,
    pub rate_limit: Option<RateLimit>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
}

impl ApiKey {
    /// `active`, `expired` or `revoked`, as lists and the API show it.
    pub fn status(&self, now_ms: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|t| t <= now_ms) {
            "expired"
        } else {
            "active"
        }
    }
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: String,
    organization_id: String,
    name: String,
    hint: String,
    owner_account_id: Option<String>,
    owner_bot_id: Option<String>,
    owner_name: String,
    permissions: Option<String>,
    role_id: Option<String>,
    role_name: Option<String>,
    expires_at: Option<i64>,
    ip_allowlist: Option<String>,
    client_id: Option<String>,
    rate_limit_per_second: Option<i64>,
    rate_limit_burst: Option<i64>,
    created_at: i64,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
}

fn owner_of(id: &str, account: Option<String>, bot: Option<String>) -> Result<Owner, StoreError> {
    match (account, bot) {
        (Some(account), None) => Ok(Owner::Account(account.into())),
        (None, Some(bot)) => Ok(Owner::Bot(bot.into())),
        _ => Err(StoreError::Corrupt(format!("key {id} has no single owner"))),
    }
}

fn key_rate_limit(per_second: Option<i64>, burst: Option<i64>) -> Option<RateLimit> {
    match (per_second, burst) {
        (Some(per_second), Some(burst)) => Some(RateLimit {
            per_second: u32::try_from(per_second).ok()?,
            burst: u32::try_from(burst).ok()?,
        }),
        _ => None,
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    id: &str,
    json: Option<String>,
) -> Result<Option<T>, StoreError> {
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(format!("key {id}: {e}")))
    })
    .transpose()
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;

    fn try_from(row: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKey {
            owner: owner_of(&row.id, row.owner_account_id, row.owner_bot_id)?,
            permissions: parse_json(&row.id, row.permissions)?,
            ip_allowlist: parse_json(&row.id, row.ip_allowlist)?,
            id: row.id.into(),
            organization_id: row.organization_id.into(),
            name: row.name,
            hint: row.hint,
            owner_name: row.owner_name,
            role_id: row.role_id.map(RoleId::from),
            role_name: row.role_name,
            expires_at: row.expires_at,
            client_id: row.client_id,
            rate_limit: key_rate_limit(row.rate_limit_per_second, row.rate_limit_burst),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            last_used_ip: row.last_used_ip,
            revoked_at: row.revoked_at,
            revoked_reason: row.revoked_reason,
        })
    }
}

macro_rules! key_select {
    () => {
        "SELECT k.id, k.organization_id, k.name, k.hint, k.owner_account_id, k.owner_bot_id,
                COALESCE(a.username, b.name) AS owner_name, k.permissions, k.role_id, r.name AS role_name,
                k.expires_at, k.ip_allowlist, k.client_id, k.rate_limit_per_second, k.rate_limit_burst,
                k.created_at, k.last_used_at, k.last_used_ip,
                k.revoked_at, k.revoked_reason
         FROM api_keys k
         LEFT JOIN accounts a ON a.id = k.owner_account_id
         LEFT JOIN bot_users b ON b.id = k.owner_bot_id
         LEFT JOIN roles r ON r.id = k.role_id"
    };
}

/// Inserts a key and returns its id.
pub async fn create(tx: &mut Tx, key: &NewApiKey<'_>) -> Result<KeyId, StoreError> {
    let id = KeyId::new();
    let permissions = key
        .permissions
        .map(|p| serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    let ip_allowlist = key
        .ip_allowlist
        .map(|l| serde_json::to_string(l).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    let (owner_account, owner_bot) = match key.owner {
        Owner::Account(id) => (Some(id.as_str()), None),
        Owner::Bot(id) => (None, Some(id.as_str())),
    };
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO api_keys (id, organization_id, name, key_hash, hint, owner_account_id, owner_bot_id, created_by,
                                   permissions, role_id, expires_at, ip_allowlist, client_id, created_at,
                                   rate_limit_per_second, rate_limit_burst)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(id.as_str())
        .bind(key.organization_id)
        .bind(key.name)
        .bind(key.key_hash.as_str())
        .bind(key.hint)
        .bind(owner_account)
        .bind(owner_bot)
        .bind(key.created_by)
        .bind(&permissions)
        .bind(key.role_id)
        .bind(key.expires_at)
        .bind(&ip_allowlist)
        .bind(key.client_id)
        .bind(now_ms())
        .bind(key.rate_limit.map(|l| i64::from(l.per_second)))
        .bind(key.rate_limit.map(|l| i64::from(l.burst)))
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

pub async fn find(
    db: &Db,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<Option<ApiKey>, StoreError> {
    let sql = concat!(key_select!(), " WHERE k.organization_id = $1 AND k.id = $2");
    let row: Option<ApiKeyRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(organization_id.as_str())
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.map(ApiKey::try_from).transpose()
}

/// One page of an organisation's keys in id order, after `cursor`, optionally
/// only those owned by one account.
pub async fn list(
    db: &Db,
    organization_id: &OrganizationId,
    owner_account_id: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<ApiKey>, StoreError> {
    let sql = concat!(
        key_select!(),
        " WHERE k.organization_id = $1 AND k.id > $2 AND ($3 IS NULL OR k.owner_account_id = $3)
          ORDER BY k.id LIMIT $4"
    );
    let rows: Vec<ApiKeyRow> = on_pool!(db, |pool| {
        sqlx::query_as(sql)
            .bind(organization_id.as_str())
            .bind(cursor.unwrap_or(""))
            .bind(owner_account_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(ApiKey::try_from).collect()
}

/// What revoking a key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    AlreadyRevoked,
    NoSuchKey,
}

/// Revokes one key of the organisation.
pub async fn revoke(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    id: &str,
    reason: RevocationReason,
) -> Result<Revocation, StoreError> {
    Ok(on_tx!(tx, |conn| {
        let exists: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT revoked_at FROM api_keys WHERE organization_id = $1 AND id = $2",
        )
        .bind(organization_id.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        match exists {
            None => Revocation::NoSuchKey,
            Some(Some(_)) => Revocation::AlreadyRevoked,
            Some(None) => {
                sqlx::query("UPDATE api_keys SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL")
                    .bind(now_ms())
                    .bind(reason.as_str())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Revocation::Revoked
            }
        }
    }))
}

/// Makes a live key stop working at `at` (the end of a roll's overlap),
/// unless it already ends earlier. Returns `false` if there is no such key.
pub async fn end_at(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    id: &str,
    at: i64,
) -> Result<bool, StoreError> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE api_keys SET expires_at = $1
             WHERE organization_id = $2 AND id = $3 AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(at)
        .bind(organization_id.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            > 0
    }))
}

/// Revokes every active key of an organisation; returns how many.
pub async fn revoke_all(tx: &mut Tx, organization_id: &OrganizationId) -> Result<u64, StoreError> {
    Ok(on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE api_keys SET revoked_at = $1, revoked_reason = $2 WHERE organization_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(RevocationReason::RevokedAll.as_str())
        .bind(organization_id.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected()
    }))
}

/// A key found by its hash (leak reports): its id, organisation and name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyLocation {
    #[sqlx(try_from = "String")]
    pub id: KeyId,
    #[sqlx(try_from = "String")]
    pub organization_id: OrganizationId,
    pub name: String,
}

/// The key with this hash, whoever holds it.
pub async fn locate_by_hash(
    db: &Db,
    key_hash: &SecretHash,
) -> Result<Option<KeyLocation>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as("SELECT id, organization_id, name FROM api_keys WHERE key_hash = $1")
            .bind(key_hash.as_str())
            .fetch_optional(pool)
            .await?
    }))
}

/// Everything verification needs about a key, read in one indexed lookup.
#[derive(Debug, Clone)]
pub struct KeyForVerification {
    pub id: KeyId,
    pub name: String,
    pub organization_id: OrganizationId,
    pub organization_slug: String,
    pub owner: Owner,
    pub owner_name: String,
    pub owner_active: bool,
    /// The owner's role's current access.
    pub owner_access: Access,
    /// The key's grant: its own set, its linked role's current set, or full.
    pub key_access: Access,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub ip_allowlist: Option<Vec<String>>,
    pub client_id: Option<String>,
    pub organization_rate_limit: RateLimit,
    pub key_rate_limit: Option<RateLimit>,
}

#[derive(sqlx::FromRow)]
struct VerificationRow {
    id: String,
    name: String,
    organization_id: String,
    organization_slug: String,
    rate_limit_per_second: i64,
    rate_limit_burst: i64,
    owner_account_id: Option<String>,
    owner_bot_id: Option<String>,
    owner_name: String,
    owner_active: bool,
    owner_role_permissions: Option<String>,
    permissions: Option<String>,
    linked_role_id: Option<String>,
    linked_role_permissions: Option<String>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    ip_allowlist: Option<String>,
    client_id: Option<String>,
    key_rate_limit_per_second: Option<i64>,
    key_rate_limit_burst: Option<i64>,
}

/// One indexed lookup by hash; the joins are primary-key lookups.
const VERIFICATION_READ: &str = "SELECT k.id, k.name, k.organization_id, o.slug AS organization_slug,
        o.rate_limit_per_second, o.rate_limit_burst,
        k.owner_account_id, k.owner_bot_id,
        COALESCE(a.username, b.name) AS owner_name,
        COALESCE(a.active, b.active) AS owner_active,
        owner_role.permissions AS owner_role_permissions,
        k.permissions, k.role_id AS linked_role_id, linked_role.permissions AS linked_role_permissions,
        k.expires_at, k.revoked_at, k.ip_allowlist, k.client_id,
        k.rate_limit_per_second AS key_rate_limit_per_second, k.rate_limit_burst AS key_rate_limit_burst
     FROM api_keys k
     JOIN organizations o ON o.id = k.organization_id
     LEFT JOIN accounts a ON a.id = k.owner_account_id
     LEFT JOIN bot_users b ON b.id = k.owner_bot_id
     JOIN roles owner_role ON owner_role.id = COALESCE(a.role_id, b.role_id)
     LEFT JOIN roles linked_role ON linked_role.id = k.role_id
     WHERE k.key_hash = $1";

impl VerificationRow {
    /// The row from a SQLite read, columns in `VERIFICATION_READ`'s order.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(VerificationRow {
            id: row.get(0)?,
            name: row.get(1)?,
            organization_id: row.get(2)?,
            organization_slug: row.get(3)?,
            rate_limit_per_second: row.get(4)?,
            rate_limit_burst: row.get(5)?,
            owner_account_id: row.get(6)?,
            owner_bot_id: row.get(7)?,
            owner_name: row.get(8)?,
            owner_active: row.get(9)?,
            owner_role_permissions: row.get(10)?,
            permissions: row.get(11)?,
            linked_role_id: row.get(12)?,
            linked_role_permissions: row.get(13)?,
            expires_at: row.get(14)?,
            revoked_at: row.get(15)?,
            ip_allowlist: row.get(16)?,
            client_id: row.get(17)?,
            key_rate_limit_per_second: row.get(18)?,
            key_rate_limit_burst: row.get(19)?,
        })
    }
}

/// Everything verification needs about the key with this hash. On a SQLite
/// file the read runs on the calling thread (see `sqlite_reads`): a cache
/// miss then costs the lookup itself, not two thread hand-offs.
pub async fn for_verification(
    db: &Db,
    key_hash: &SecretHash,
) -> Result<Option<KeyForVerification>, StoreError> {
    let row: Option<VerificationRow> = match crate::sqlite_reads::SqliteFile::of_db(db) {
        Some(file) => crate::sqlite_reads::read(&file, |connection| {
            use rusqlite::OptionalExtension;
            connection
                .prepare_cached(VERIFICATION_READ)?
                .query_row([key_hash.as_str()], VerificationRow::from_sqlite)
                .optional()
        })?,
        None => on_pool!(db, |pool| {
            sqlx::query_as(VERIFICATION_READ)
                .bind(key_hash.as_str())
                .fetch_optional(pool)
                .await?
        }),
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let access = |json: Option<String>| -> Result<Access, StoreError> {
        Ok(Access::from_stored(parse_json::<PermissionSet>(
            &row.id, json,
        )?))
    };
    let key_access = match row.linked_role_id {
        Some(_) => access(row.linked_role_permissions.clone())?,
        None => access(row.permissions.clone())?,
    };
    Ok(Some(KeyForVerification {
        owner: owner_of(
            &row.id,
            row.owner_account_id.clone(),
            row.owner_bot_id.clone(),
        )?,
        owner_access: access(row.owner_role_permissions.clone())?,
        key_access,
        ip_allowlist: parse_json(&row.id, row.ip_allowlist.clone())?,
        id: row.id.into(),
        name: row.name,
        organization_id: row.organization_id.into(),
        organization_slug: row.organization_slug,
        organization_rate_limit: key_rate_limit(
            Some(row.rate_limit_per_second),
            Some(row.rate_limit_burst),
        )
        .unwrap_or(RateLimit::DEFAULT),
        key_rate_limit: key_rate_limit(row.key_rate_limit_per_second, row.key_rate_limit_burst),
        owner_name: row.owner_name,
        owner_active: row.owner_active,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        client_id: row.client_id,
    }))
}

/// One observed use of a key.
#[derive(Debug, Clone)]
pub struct KeyUse {
    pub key_id: String,
    pub at: i64,
    pub ip: String,
}

/// Records the latest use of many keys in one transaction.
pub async fn record_uses(db: &Db, uses: &[KeyUse]) -> Result<(), StoreError> {
    if uses.is_empty() {
        return Ok(());
    }
    on_pool!(db, |pool| {
        let mut tx = pool.begin().await?;
        for key_use in uses {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $1, last_used_ip = $2
                 WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $1)",
            )
            .bind(key_use.at)
            .bind(&key_use.ip)
            .bind(&key_use.key_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}
