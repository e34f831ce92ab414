//! What an organisation's users and bot users share: a role of the
//! organisation, and being active or not. The caller logs the access change
//! (their keys change with either).

use crate::error::one_row;
use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::id::OrganizationId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A person who signs in (`accounts`).
    User,
    /// A bot user, who only owns keys (`bot_users`).
    Bot,
}

/// Gives a member another role of the same organisation. Not found unless
/// both the member and the role belong to the organisation.
pub async fn set_role(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    kind: MemberKind,
    id: &str,
    role_id: &str,
) -> Result<(), StoreError> {
    macro_rules! set_role_sql {
        ($table:literal) => {
            concat!(
                "UPDATE ",
                $table,
                " SET role_id = $1, updated_at = $2
                 WHERE id = $3 AND organization_id = $4
                   AND EXISTS (SELECT 1 FROM roles WHERE id = $1 AND organization_id = $4)"
            )
        };
    }
    let sql = match kind {
        MemberKind::User => set_role_sql!("accounts"),
        MemberKind::Bot => set_role_sql!("bot_users"),
    };
    let updated = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(role_id)
            .bind(now_ms())
            .bind(id)
            .bind(organization_id.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    one_row(updated)
}

/// Deactivates or reactivates a member: an inactive member's keys are
/// refused, and deactivating a user ends their console sessions (they would
/// otherwise come back on reactivation).
pub async fn set_active(
    tx: &mut Tx,
    organization_id: &OrganizationId,
    kind: MemberKind,
    id: &str,
    active: bool,
) -> Result<(), StoreError> {
    let sql = match kind {
        MemberKind::User => {
            "UPDATE accounts SET active = $1, updated_at = $2 WHERE id = $3 AND organization_id = $4"
        }
        MemberKind::Bot => {
            "UPDATE bot_users SET active = $1, updated_at = $2 WHERE id = $3 AND organization_id = $4"
        }
    };
    let updated = on_tx!(tx, |conn| {
        sqlx::query(sql)
            .bind(active)
            .bind(now_ms())
            .bind(id)
            .bind(organization_id.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    one_row(updated)?;
    if kind == MemberKind::User && !active {
        crate::accounts::end_sessions(tx, id).await?;
    }
    Ok(())
}

/// The summaries of an organisation's users or bot users (table `m`): the
/// given columns, their role, whether active, when created and how many of
/// the keys they own can still be used (`$1` is now). `$2` is the
/// organisation, `$3` one member's id or NULL for all of them.
macro_rules! summaries_sql {
    ($columns:literal, $table:literal, $owner_column:literal, $order:literal) => {
        concat!(
            "SELECT ",
            $columns,
            ", m.role_id, r.name AS role_name, m.active, m.created_at,
                    (SELECT COUNT(*) FROM api_keys k WHERE k.",
            $owner_column,
            " = m.id AND k.revoked_at IS NULL
                        AND (k.expires_at IS NULL OR k.expires_at > $1)) AS live_keys
             FROM ",
            $table,
            " m JOIN roles r ON r.id = m.role_id
             WHERE m.organization_id = $2 AND ($3 IS NULL OR m.id = $3)
             ORDER BY ",
            $order
        )
    };
}

/// A summary of a user or a bot user, read by one `summaries_sql!`
/// statement.
pub trait MemberSummary:
    Send
    + Unpin
    + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
{
    const SUMMARIES: &'static str;
}

impl MemberSummary for crate::accounts::UserSummary {
    const SUMMARIES: &'static str = summaries_sql!(
        "m.id, m.username",
        "accounts",
        "owner_account_id",
        "m.username"
    );
}

impl MemberSummary for crate::bots::BotSummary {
    const SUMMARIES: &'static str = summaries_sql!(
        "m.id, m.organization_id, m.name",
        "bot_users",
        "owner_bot_id",
        "m.name"
    );
}

async fn summaries<T: MemberSummary>(
    db: &Db,
    organization_id: &OrganizationId,
    id: Option<&str>,
) -> Result<Vec<T>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(T::SUMMARIES)
            .bind(now_ms())
            .bind(organization_id.as_str())
            .bind(id)
            .fetch_all(pool)
            .await?
    }))
}

/// An organisation's users (or bot users) with their roles and live key
/// counts, by name.
pub async fn list<T: MemberSummary>(
    db: &Db,
    organization_id: &OrganizationId,
) -> Result<Vec<T>, StoreError> {
    summaries(db, organization_id, None).await
}

/// One user (or bot user) of the organisation, if they belong to it.
pub async fn find<T: MemberSummary>(
    db: &Db,
    organization_id: &OrganizationId,
    id: &str,
) -> Result<Option<T>, StoreError> {
    Ok(summaries(db, organization_id, Some(id)).await?.pop())
}
