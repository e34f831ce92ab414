//! API clients: operators create, disable and rotate them and decide
//! companies' applications; organisations block them. Requests read
//! clients and blocks from the database, so every change holds on every
//! instance from the next request, with no cache to invalidate.

use crate::{Change, OpError, Ops, Refusal};
use serde_json::json;
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::names::DisplayName;
use tessera_core::secret::{self, SecretKind};
use tessera_store::api_clients::{self, ApiClient, NewClient};
use tessera_store::client_applications::{self, Application, Decided, NewApplication};
use tessera_store::{StoreError, client_connections, now_ms};

/// Blocks or unblocks `client` for the organisation, audited; `false` when
/// it was already so (blocking twice keeps the first time and writes no
/// second entry).
pub async fn set_blocked(
    ops: &Ops,
    organization_id: &OrganizationId,
    client: &ApiClient,
    blocked: bool,
    actor: &Actor,
) -> Result<bool, StoreError> {
    if client_connections::is_blocked(ops.db(), organization_id, &client.id).await? == blocked {
        return Ok(false);
    }
    let mut change = ops.change().await?;
    client_connections::set_blocked(
        change.tx(),
        organization_id,
        &client.id,
        blocked.then(now_ms),
    )
    .await?;
    let event_type = if blocked {
        "api_client.blocked"
    } else {
        "api_client.unblocked"
    };
    let subject = json!({"id": client.id.as_str(), "name": client.name});
    change.emit_access(organization_id, event_type, ("client", subject), now_ms());
    let name = client.name.clone();
    let event = if blocked {
        AuditEvent::ClientBlocked { name }
    } else {
        AuditEvent::ClientUnblocked { name }
    };
    change
        .commit_audited(actor, Some(organization_id), Some(&client.id), event)
        .await?;
    Ok(true)
}

/// Creates an API client with a new credential, shown once. `application`
/// is the reference of the application it answers, if any.
pub async fn create(ops: &Ops, actor: &Actor, name: &DisplayName) -> Result<NewClient, OpError> {
    let mut change = ops.change().await?;
    let new = match api_clients::create(change.tx(), name).await {
        Err(StoreError::Conflict(_)) => return Err(client_name_taken(name).into()),
        other => other?,
    };
    audit_created(&mut change, actor, &new, None).await?;
    change.commit().await?;
    Ok(new)
}

fn client_name_taken(name: &DisplayName) -> Refusal {
    Refusal::conflict(
        "name",
        format!("An API client named '{name}' already exists."),
    )
}

async fn audit_created(
    change: &mut Change<'_>,
    actor: &Actor,
    new: &NewClient,
    application: Option<&str>,
) -> Result<(), StoreError> {
    let event = AuditEvent::ClientCreated {
        name: new.client.name.clone(),
        application: application.map(str::to_owned),
    };
    change.audit(actor, None, Some(&new.client.id), event).await
}

/// Turns a client on or off everywhere, from the next request on.
pub async fn set_active(
    ops: &Ops,
    actor: &Actor,
    client_id: &str,
    active: bool,
) -> Result<(), OpError> {
    let client = api_clients::find_by_id(ops.db(), client_id)
        .await?
        .ok_or(OpError::NotFound)?;
    let mut change = ops.change().await?;
    if !api_clients::set_active(change.tx(), client_id, active).await? {
        return Err(OpError::NotFound);
    }
    let name = client.name;
    let event = if active {
        AuditEvent::ClientEnabled { name }
    } else {
        AuditEvent::ClientDisabled { name }
    };
    change
        .commit_audited(actor, None, Some(client_id), event)
        .await?;
    Ok(())
}

/// A client's new credential, shown once, and when the one it replaces
/// stops working.
pub struct RotatedCredential {
    pub raw: String,
    pub previous_valid_until: i64,
}

/// Gives a client a new credential; the current one keeps working for
/// `overlap_hours`, any older one stops now.
pub async fn rotate(
    ops: &Ops,
    actor: &Actor,
    client_id: &str,
    overlap_hours: u32,
) -> Result<RotatedCredential, OpError> {
    let credential = secret::generate(SecretKind::ClientCredential);
    let previous_valid_until = now_ms() + i64::from(overlap_hours) * 3_600_000;
    let mut change = ops.change().await?;
    let rotated = api_clients::rotate_credential(
        change.tx(),
        client_id,
        &credential.hash,
        &credential.hint,
        previous_valid_until,
    )
    .await?;
    if !rotated {
        return Err(OpError::NotFound);
    }
    let event = AuditEvent::ClientRotated { overlap_hours };
    change
        .commit_audited(actor, None, Some(client_id), event)
        .await?;
    Ok(RotatedCredential {
        raw: credential.raw,
        previous_valid_until,
    })
}

/// Stores a company's application for a client, audited with the applicant
/// as actor.
pub async fn submit_application(
    ops: &Ops,
    applicant: &Actor,
    new: &NewApplication<'_>,
) -> Result<Application, StoreError> {
    let mut change = ops.change().await?;
    let application = client_applications::submit(change.tx(), new).await?;
    let event = AuditEvent::ClientApplicationSubmitted {
        company: application.company.clone(),
        expected_volume: application.expected_volume.as_str(),
    };
    change
        .commit_audited(applicant, None, Some(&application.reference), event)
        .await?;
    Ok(application)
}

/// Approves an application: creates its client (named `client_name`) and
/// links it, in one change. Deciding an application twice finds it decided.
pub async fn approve_application(
    ops: &Ops,
    actor: &Actor,
    application: &Application,
    client_name: &DisplayName,
) -> Result<Decided<NewClient>, OpError> {
    let reference = application.reference.as_str();
    let mut change = ops.change().await?;
    let decided = match client_applications::approve(
        change.tx(),
        reference,
        client_name,
        &actor.name,
    )
    .await
    {
        Err(StoreError::Conflict(_)) => return Err(client_name_taken(client_name).into()),
        other => other?,
    };
    let Decided::Done(new) = decided else {
        return Ok(decided);
    };
    audit_created(&mut change, actor, &new, Some(reference)).await?;
    let event = AuditEvent::ClientApplicationApproved {
        company: application.company.clone(),
        client_id: new.client.id.to_string(),
    };
    change
        .commit_audited(actor, None, Some(reference), event)
        .await?;
    Ok(Decided::Done(new))
}

/// Rejects an application with a reason the applicant will read.
pub async fn reject_application(
    ops: &Ops,
    actor: &Actor,
    application: &Application,
    reason: &str,
) -> Result<Decided<()>, StoreError> {
    let reference = application.reference.as_str();
    let mut change = ops.change().await?;
    let decided = client_applications::reject(change.tx(), reference, reason, &actor.name).await?;
    if let Decided::Done(()) = decided {
        let event = AuditEvent::ClientApplicationRejected {
            company: application.company.clone(),
            reason: reason.to_owned(),
        };
        change.audit(actor, None, Some(reference), event).await?;
        change.commit().await?;
    }
    Ok(decided)
}
