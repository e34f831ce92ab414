//! Accounts that sign in with a password: operators and organisation users.

use crate::error::one_row;
use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::id::{AccountId, OrganizationId, RoleId};
use tessera_core::id::{IdKind, new_id};
use tessera_core::names::Username;

/// What sign-in needs to know about an account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: AccountId,
    pub username: String,
    pub password_hash: String,
    pub is_operator: bool,
    pub organization_id: Option<OrganizationId>,
    pub active: bool,
    /// Signing in takes a TOTP code too; HTTP Basic takes an app password.
    pub two_factor: bool,
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    id: String,
    username: String,
    password_hash: String,
    is_operator: bool,
    organization_id: Option<String>,
    active: bool,
    totp_enabled_at: Option<i64>,
}

impl From<CredentialsRow> for Credentials {
    fn from(row: CredentialsRow) -> Self {
        Credentials {
            id: row.id.into(),
            username: row.username,
            password_hash: row.password_hash,
            is_operator: row.is_operator,
            organization_id: row.organization_id.map(OrganizationId::from),
            active: row.active,
            two_factor: row.totp_enabled_at.is_some(),
        }
    }
}

/// An account as the console shows it: who, where, with which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub username: String,
    pub active: bool,
    pub membership: Membership,
    /// Whether two-factor sign-in is on for this account.
    pub two_factor: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    Operator,
    Member {
        organization_id: OrganizationId,
        organization_slug: String,
        organization_name: String,
        role_id: RoleId,
        role_name: String,
        is_administrator: bool,
        /// The organisation requires administrators to use two-factor sign-in.
        administrators_need_two_factor: bool,
    },
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    username: String,
    active: bool,
    is_operator: bool,
    organization_id: Option<String>,
    organization_slug: Option<String>,
    organization_name: Option<String>,
    role_id: Option<String>,
    role_name: Option<String>,
    role_kind: Option<String>,
    administrators_need_two_factor: Option<bool>,
    totp_enabled_at: Option<i64>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<Self, StoreError> {
        let membership = if row.is_operator {
            Membership::Operator
        } else {
            match (
                row.organization_id,
                row.organization_slug,
                row.organization_name,
                row.role_id,
                row.role_name,
            ) {
                (
                    Some(organization_id),
                    Some(organization_slug),
                    Some(organization_name),
                    Some(role_id),
                    Some(role_name),
                ) => Membership::Member {
                    organization_id: organization_id.into(),
                    organization_slug,
                    organization_name,
                    role_id: role_id.into(),
                    role_name,
                    is_administrator: row.role_kind.as_deref() == Some("administrator"),
                    administrators_need_two_factor: row
                        .administrators_need_two_factor
                        .unwrap_or(false),
                },
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "account {} has no organisation or role",
                        row.id
                    )));
                }
            }
        };
        Ok(Account {
            id: row.id.into(),
            username: row.username,
            active: row.active,
            membership,
            two_factor: row.totp_enabled_at.is_some(),
        })
    }
}

macro_rules! account_select_sql {
    () => {
        "SELECT a.id, a.username, a.active, a.is_operator, a.organization_id,
        o.slug AS organization_slug, o.name AS organization_name,
        a.role_id, r.name AS role_name, r.kind AS role_kind,
        o.administrators_need_two_factor, a.totp_enabled_at
    FROM accounts a
    LEFT JOIN organizations o ON o.id = a.organization_id
    LEFT JOIN roles r ON r.id = a.role_id"
    };
}

pub async fn create_operator(
    tx: &mut Tx,
    username: &Username,
    password_hash: &str,
) -> Result<String, StoreError> {
    insert(tx, username, password_hash, None).await
}

pub async fn create_user(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    role_id: &str,
    username: &Username,
    password_hash: &str,
) -> Result<String, StoreError> {
    insert(
        tx,
        username,
        password_hash,
        Some((organization_id, role_id)),
    )
    .await
}

async fn insert(
    tx: &mut Tx,
    username: &Username,
    password_hash: &str,
    membership: Option<(&str, &str)>,
) -> Result<String, StoreError> {
    let id = new_id(IdKind::Account);
    let now = now_ms();
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO accounts (id, username, password_hash, is_operator, organization_id, role_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(username.as_str())
        .bind(password_hash)
        .bind(membership.is_none())
        .bind(membership.map(|(org, _)| org))
        .bind(membership.map(|(_, role)| role))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    });
    Ok(id)
}

/// The account a username names, compared case-insensitively like the
/// unique index on `lower(username)` (usernames are ASCII, so both
/// backends' `lower` agree).
pub async fn credentials_by_username(
    db: &Db,
    username: &str,
) -> Result<Option<Credentials>, StoreError> {
    let row: Option<CredentialsRow> = on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, username, password_hash, is_operator, organization_id, active, totp_enabled_at
             FROM accounts WHERE lower(username) = lower($1)",
        )
        .bind(username)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(Credentials::from))
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<Account>, StoreError> {
    let sql = concat!(account_select_sql!(), " WHERE a.id = $1");
    let row: Option<AccountRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.map(Account::try_from).transpose()
}

/// The account a username names, compared case-insensitively.
pub async fn find_by_username(db: &Db, username: &str) -> Result<Option<Account>, StoreError> {
    let sql = concat!(
        account_select_sql!(),
        " WHERE lower(a.username) = lower($1)"
    );
    let row: Option<AccountRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(username)
        .fetch_optional(pool)
        .await?);
    row.map(Account::try_from).transpose()
}

pub async fn list_for_organization(
    db: &Db,
    organization_id: &OrganizationId,
) -> Result<Vec<Account>, StoreError> {
    let sql = concat!(
        account_select_sql!(),
        " WHERE a.organization_id = $1 ORDER BY a.username"
    );
    let rows: Vec<AccountRow> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(organization_id.as_str())
        .fetch_all(pool)
        .await?);
    rows.into_iter().map(Account::try_from).collect()
}

pub(crate) async fn end_sessions(tx: &mut Tx, account_id: &str) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Sets a new password chosen by an administrator and ends every console
/// session of the user.
pub async fn reset_password(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    id: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3 AND organization_id = $4",
        )
        .bind(password_hash)
        .bind(now_ms())
        .bind(id)
        .bind(organization_id.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    one_row(changed)?;
    end_sessions(tx, id).await
}

/// An organisation user as the console lists them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserSummary {
    #[sqlx(try_from = "String")]
    pub id: AccountId,
    pub username: String,
    #[sqlx(try_from = "String")]
    pub role_id: RoleId,
    pub role_name: String,
    pub active: bool,
    pub created_at: i64,
    /// Keys the user owns that can still be used.
    pub live_keys: i64,
}

pub async fn set_password_hash(db: &Db, id: &str, password_hash: &str) -> Result<(), StoreError> {
    let changed = on_pool!(db, |pool| {
        sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    one_row(changed)
}

/// Sets the account's own new password and ends every other console
/// session of it (the one that asked stays); returns how many ended.
pub async fn change_own_password(
    tx: &mut Tx,
    id: &str,
    password_hash: &str,
    keep_session: &str,
) -> Result<u64, StoreError> {
    let changed = on_tx!(tx, |conn| {
        sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    one_row(changed)?;
    crate::sessions::delete_others(tx, id, keep_session).await
}

/// The credentials of an account by id (for a check of its own password).
pub async fn credentials_by_id(db: &Db, id: &str) -> Result<Option<Credentials>, StoreError> {
    let row: Option<CredentialsRow> = on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, username, password_hash, is_operator, organization_id, active, totp_enabled_at
             FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(Credentials::from))
}
