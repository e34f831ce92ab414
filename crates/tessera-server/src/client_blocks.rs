//! An organisation blocking or unblocking an API client: the rule
//! the connected-clients API and the console page share. Requests read the
//! block from the database (like the client credential itself), so a change
//! holds on every instance from the next request, with no cache to
//! invalidate.

use serde_json::json;
use tessera_core::audit::AuditAction;
use tessera_store::api_clients::ApiClient;
use tessera_store::audit::{self, Actor, NewEntry};
use tessera_store::{Db, StoreError, client_connections, now_ms};

/// Blocks or unblocks `client` for the organisation and audits the change;
/// `false` when it was already so (blocking twice keeps the first time and
/// writes no second entry).
pub async fn set_blocked(
    db: &Db,
    organization_id: &str,
    client: &ApiClient,
    blocked: bool,
    actor: &Actor,
    ip: &str,
) -> Result<bool, StoreError> {
    if client_connections::is_blocked(db, organization_id, &client.id).await? == blocked {
        return Ok(false);
    }
    client_connections::set_blocked(db, organization_id, &client.id, blocked.then(now_ms)).await?;
    audit::record(
        db,
        NewEntry {
            organization_id: Some(organization_id),
            actor,
            action: if blocked {
                AuditAction::ClientBlocked
            } else {
                AuditAction::ClientUnblocked
            },
            target: Some(&client.id),
            ip: Some(ip),
            details: Some(json!({"name": client.name})),
        },
    )
    .await?;
    Ok(true)
}
