//! API clients: integrating companies' identities.

use crate::{Db, StoreError, Tx, now_ms, on_pool, on_tx};
use tessera_core::id::ClientId;
use tessera_core::names::DisplayName;
use tessera_core::secret::{self, GeneratedSecret, SecretHash, SecretKind};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiClient {
    #[sqlx(try_from = "String")]
    pub id: ClientId,
    pub name: String,
    pub credential_hint: String,
    pub active: bool,
    pub created_at: i64,
}

/// A client just created, with its credential: the only moment the raw
/// `ck_…` exists outside the integrator's hands.
/// Its `Debug` output redacts the credential.
#[derive(Debug)]
pub struct NewClient {
    pub client: ApiClient,
    pub credential: GeneratedSecret,
}

pub(crate) const INSERT_CLIENT: &str =
    "INSERT INTO api_clients (id, name, credential_hash, credential_hint, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5)";

impl NewClient {
    /// A new client named `name` with a freshly generated credential, not
    /// yet stored: [`create`] and approving an application store it.
    pub(crate) fn generate(name: &DisplayName) -> NewClient {
        let credential = secret::generate(SecretKind::ClientCredential);
        NewClient {
            client: ApiClient {
                id: ClientId::new(),
                name: name.as_str().to_owned(),
                credential_hint: credential.hint.clone(),
                active: true,
                created_at: now_ms(),
            },
            credential,
        }
    }
}

/// Creates a client with a new credential (`tessera admin create-client`
/// and the operator's console page). A taken name is
/// [`StoreError::Conflict`]: client names are unique.
pub async fn create(tx: &mut Tx, name: &DisplayName) -> Result<NewClient, StoreError> {
    let new = NewClient::generate(name);
    on_tx!(tx, |conn| {
        sqlx::query(INSERT_CLIENT)
            .bind(new.client.id.as_str())
            .bind(&new.client.name)
            .bind(new.credential.hash.as_str())
            .bind(&new.client.credential_hint)
            .bind(new.client.created_at)
            .execute(&mut *conn)
            .await?;
    });
    Ok(new)
}

/// A client as the operator lists it: how many organisations have used it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClientOverview {
    #[sqlx(try_from = "String")]
    pub id: ClientId,
    pub name: String,
    pub credential_hint: String,
    pub active: bool,
    pub created_at: i64,
    pub organizations: i64,
}

/// Every client, newest first, with the number of organisations whose keys
/// it has used.
pub async fn list(db: &Db) -> Result<Vec<ClientOverview>, StoreError> {
    Ok(on_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT a.id, a.name, a.credential_hint, a.active, a.created_at,
                    (SELECT COUNT(*) FROM client_connections c
                     WHERE c.client_id = a.id AND c.request_count > 0) AS organizations
             FROM api_clients a ORDER BY a.id DESC",
        )
        .fetch_all(pool)
        .await?
    }))
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
    tx: &mut Tx,
    id: &str,
    credential_hash: &SecretHash,
    credential_hint: &str,
    previous_valid_until: i64,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let changed = on_tx!(tx, |conn| {
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
        .execute(&mut *conn)
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
pub async fn set_active(tx: &mut Tx, id: &str, active: bool) -> Result<bool, StoreError> {
    let now = now_ms();
    let changed = on_tx!(tx, |conn| {
        sqlx::query("UPDATE api_clients SET active = $1, updated_at = $2 WHERE id = $3")
            .bind(active)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}
