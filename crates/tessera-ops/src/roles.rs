//! Custom roles of an organisation. A change to a role reaches every key
//! of its holders and every key linked to it from the next request.

use crate::{OpError, Ops, Refusal};
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::names::DisplayName;
use tessera_core::permissions::{Access, PermissionSet};
use tessera_store::StoreError;
use tessera_store::roles::{self, Deletion, Role};

fn name_taken(name: &DisplayName) -> Refusal {
    Refusal::conflict("name", format!("There is already a role named '{name}'."))
}

fn stored(access: &Access) -> serde_json::Value {
    serde_json::json!(access.to_stored())
}

pub async fn create(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    name: &DisplayName,
    permissions: &PermissionSet,
) -> Result<String, OpError> {
    let mut change = ops.change().await?;
    let id = match roles::create(change.tx(), organization_id, name, permissions).await {
        Err(StoreError::Conflict(_)) => return Err(name_taken(name).into()),
        other => other?,
    };
    let event = AuditEvent::RoleCreated {
        name: name.as_str().to_owned(),
        permissions: serde_json::json!(permissions),
    };
    change
        .commit_audited(actor, Some(organization_id), Some(&id), event)
        .await?;
    Ok(id)
}

/// Renames `role` and replaces its permissions (the built-in `Employee`
/// keeps its name).
pub async fn update(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    role: &Role,
    name: &DisplayName,
    access: &Access,
) -> Result<(), OpError> {
    let mut change = ops.change().await?;
    match roles::update(change.tx(), organization_id, &role.id, name, access).await {
        Err(StoreError::Conflict(_)) => return Err(name_taken(name).into()),
        Err(StoreError::NotFound) => return Err(OpError::NotFound),
        other => other?,
    }
    change
        .access_changed(AccessChange::Organization(organization_id.to_string()))
        .await?;
    let event = AuditEvent::RoleUpdated {
        name: name.as_str().to_owned(),
        previous_name: role.name.clone(),
        permissions: stored(access),
        previous_permissions: stored(&role.access),
    };
    change
        .commit_audited(actor, Some(organization_id), Some(&role.id), event)
        .await?;
    Ok(())
}

/// Deletes `role` unless someone still holds it or a usable key follows it.
pub async fn delete(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    role: &Role,
) -> Result<Deletion, StoreError> {
    let mut change = ops.change().await?;
    let deletion = roles::delete(change.tx(), organization_id, &role.id).await?;
    if deletion == Deletion::Deleted {
        change
            .access_changed(AccessChange::Organization(organization_id.to_string()))
            .await?;
        let event = AuditEvent::RoleDeleted {
            name: role.name.clone(),
            permissions: stored(&role.access),
        };
        change
            .audit(actor, Some(organization_id), Some(&role.id), event)
            .await?;
        change.commit().await?;
    }
    Ok(deletion)
}
