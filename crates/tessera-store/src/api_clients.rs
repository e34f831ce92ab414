//! API clients: integrating companies' identities (SPEC §4). This issue
//! stores them; verification comes with the API client feature.

use crate::{Db, StoreError, now_ms, on_pool};
use tessera_core::id::{IdKind, new_id};
use tessera_core::names::DisplayName;
use tessera_core::secret::SecretHash;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiClient {
    pub id: String,
    pub name: String,
    pub credential_hint: String,
    pub active: bool,
    pub created_at: i64,
}

pub async fn create(
    db: &Db,
    name: &DisplayName,
    credential_hash: &SecretHash,
    credential_hint: &str,
) -> Result<ApiClient, StoreError> {
    let id = new_id(IdKind::ApiClient);
    let now = now_ms();
    on_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO api_clients (id, name, credential_hash, credential_hint, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(&id)
        .bind(name.as_str())
        .bind(credential_hash.as_str())
        .bind(credential_hint)
        .bind(now)
        .execute(pool)
        .await?;
    });
    Ok(ApiClient {
        id,
        name: name.as_str().to_owned(),
        credential_hint: credential_hint.to_owned(),
        active: true,
        created_at: now,
    })
}

/// The client whose current credential, or previous one still within its
/// overlap, has this hash.
pub async fn find_by_credential(
    db: &Db,
    credential_hash: &SecretHash,
) -> Result<Option<ApiClient>, StoreError> {
    let now = now_ms();
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, credential_hint, active, created_at FROM api_clients
             WHERE credential_hash = $1
                OR (previous_credential_hash = $1 AND previous_credential_expires_at > $2)",
        )
        .bind(credential_hash.as_str())
        .bind(now)
        .fetch_optional(pool)
        .await?
    }))
}

/// Gives a client a new credential; the current one keeps working until
/// `previous_valid_until` (Unix ms; now or earlier ends it at once), and
/// any older one stops. `false` when no client has `id`.
pub async fn rotate_credential(
    db: &Db,
    id: &str,
    credential_hash: &SecretHash,
    credential_hint: &str,
    previous_valid_until: i64,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let changed = on_pool!(db, |pool| {
        sqlx::query(
            "UPDATE api_clients
             SET previous_credential_hash = credential_hash,
                 previous_credential_expires_at = $1,
                 credential_hash = $2, credential_hint = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(previous_valid_until)
        .bind(credential_hash.as_str())
        .bind(credential_hint)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<ApiClient>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, credential_hint, active, created_at FROM api_clients WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    }))
}

/// Turns a client on or off everywhere; `false` when no client has `id`.
/// Client credentials are looked up on every request, so the change holds
/// on every instance from the next request on.
pub async fn set_active(db: &Db, id: &str, active: bool) -> Result<bool, StoreError> {
    let now = now_ms();
    let changed = on_pool!(db, |pool| {
        sqlx::query("UPDATE api_clients SET active = $1, updated_at = $2 WHERE id = $3")
            .bind(active)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}
