//! Records of the data API: every create, update and delete, from the API
//! and from `tessera import`, is one change, so what must commit with each
//! (webhook events) has one place to be written.

use crate::Ops;
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::records::Data;
use tessera_core::resources::Resource;
use tessera_store::StoreError;
use tessera_store::records::{
    self, CreateOutcome, DeleteOutcome, IdempotentAnswer, NewRecord, UpdateOutcome,
};

/// Creates `new` records, all or none; with `answer`, the idempotent answer
/// commits with them.
pub async fn create(
    ops: &Ops,
    organization_id: &OrganizationId,
    resource: &Resource,
    new: &[NewRecord],
    now: i64,
    answer: Option<&IdempotentAnswer<'_>>,
) -> Result<CreateOutcome, StoreError> {
    let mut change = ops.change().await?;
    let outcome = records::create(change.tx(), organization_id, resource, new, now, answer).await?;
    if outcome == CreateOutcome::Created {
        change.commit().await?;
    }
    Ok(outcome)
}

/// A file of records to import, as the audit log names it.
pub struct Import<'a> {
    pub resource: &'a Resource,
    pub records: &'a [NewRecord],
    pub file: String,
}

/// Imports a file's records in one transaction, audited with them;
/// `progress` hears how many are written so far.
pub async fn import(
    ops: &Ops,
    actor: &Actor,
    organization_id: &OrganizationId,
    import: Import<'_>,
    now: i64,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<CreateOutcome, StoreError> {
    let mut change = ops.change().await?;
    let outcome = records::create_reporting(
        change.tx(),
        organization_id,
        import.resource,
        import.records,
        now,
        None,
        progress,
    )
    .await?;
    if outcome == CreateOutcome::Created {
        let event = AuditEvent::RecordsImported {
            resource: import.resource.name,
            count: import.records.len(),
            file: import.file,
        };
        change
            .audit(
                actor,
                Some(organization_id),
                Some(import.resource.name),
                event,
            )
            .await?;
        change.commit().await?;
    }
    Ok(outcome)
}

/// Replaces a record's data if it is still at `expected_version`.
pub async fn update(
    ops: &Ops,
    organization_id: &OrganizationId,
    resource: &Resource,
    id: &str,
    data: &Data,
    expected_version: i64,
    now: i64,
) -> Result<UpdateOutcome, StoreError> {
    let mut change = ops.change().await?;
    let outcome = records::update(
        change.tx(),
        organization_id,
        resource,
        id,
        data,
        expected_version,
        now,
    )
    .await?;
    if let UpdateOutcome::Updated(_) = outcome {
        change.commit().await?;
    }
    Ok(outcome)
}

/// Deletes a record unless another record still refers to it.
pub async fn delete(
    ops: &Ops,
    organization_id: &OrganizationId,
    resource: &Resource,
    id: &str,
) -> Result<DeleteOutcome, StoreError> {
    let mut change = ops.change().await?;
    let outcome = records::delete(change.tx(), organization_id, resource, id).await?;
    if outcome == DeleteOutcome::Deleted {
        change.commit().await?;
    }
    Ok(outcome)
}
