//! Records of the data API: every create, update and delete, from the API
//! and from `tessera import`, is one change that writes its events
//! (`<resource>.created|updated|deleted`) with it.

use crate::outbox::snapshot;
use crate::{Change, Ops};
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_core::records::Data;
use tessera_core::resources::Resource;
use tessera_core::webhooks::events::changed_fields;
use tessera_store::records::{
    self, CreateOutcome, DeleteOutcome, IdempotentAnswer, NewRecord, UpdateOutcome,
};
use tessera_store::{StoreError, now_ms};

/// Creates `new` records, all or none; with `answer`, the idempotent answer
/// commits with them.
pub async fn create(
    ops: &Ops,
    organization_id: &OrganizationId,
    resource: &'static Resource,
    new: &[NewRecord],
    now: i64,
    answer: Option<&IdempotentAnswer<'_>>,
) -> Result<CreateOutcome, StoreError> {
    let mut change = ops.change().await?;
    let outcome = records::create(change.tx(), organization_id, resource, new, now, answer).await?;
    if outcome == CreateOutcome::Created {
        emit_created(&mut change, organization_id, resource, new, now).await?;
        change.commit().await?;
    }
    Ok(outcome)
}

/// Records written before their events are flushed in one go, so a large
/// import does not hold every payload in memory at once.
const EVENTS_PER_WRITE: usize = 1_000;

async fn emit_created(
    change: &mut Change<'_>,
    organization_id: &OrganizationId,
    resource: &'static Resource,
    new: &[NewRecord],
    now: i64,
) -> Result<(), StoreError> {
    for chunk in new.chunks(EVENTS_PER_WRITE) {
        for record in chunk {
            let after = snapshot(resource, &record.id, &record.data, now, now);
            change.emit_record(
                organization_id,
                resource,
                "created",
                &record.id,
                (None, Some(after)),
                now,
            );
        }
        change.write_events().await?;
    }
    Ok(())
}

/// A file of records to import, as the audit log names it.
pub struct Import<'a> {
    pub resource: &'static Resource,
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
        emit_created(
            &mut change,
            organization_id,
            import.resource,
            import.records,
            now,
        )
        .await?;
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

/// A record's data before and after an update.
pub struct Revision<'a> {
    pub before: &'a Data,
    pub after: &'a Data,
    /// The version `before` was read at: the update happens only if the
    /// record is still there.
    pub expected_version: i64,
}

/// Replaces a record's data if it is still at the version it was read at.
pub async fn update(
    ops: &Ops,
    organization_id: &OrganizationId,
    resource: &'static Resource,
    id: &str,
    revision: Revision<'_>,
    now: i64,
) -> Result<UpdateOutcome, StoreError> {
    let mut change = ops.change().await?;
    let outcome = records::update(
        change.tx(),
        organization_id,
        resource,
        id,
        revision.after,
        revision.expected_version,
        now,
    )
    .await?;
    if let UpdateOutcome::Updated(record) = &outcome {
        let changed = changed_fields(resource, revision.before, &record.data);
        let after = snapshot(
            resource,
            id,
            &record.data,
            record.created_at,
            record.updated_at,
        );
        change.emit_record(
            organization_id,
            resource,
            "updated",
            id,
            (Some(changed), Some(after)),
            now,
        );
        change.commit().await?;
    }
    Ok(outcome)
}

/// Deletes a record unless another record still refers to it.
pub async fn delete(
    ops: &Ops,
    organization_id: &OrganizationId,
    resource: &'static Resource,
    id: &str,
) -> Result<DeleteOutcome, StoreError> {
    let mut change = ops.change().await?;
    let outcome = records::delete(change.tx(), organization_id, resource, id).await?;
    if outcome == DeleteOutcome::Deleted {
        change.emit_record(
            organization_id,
            resource,
            "deleted",
            id,
            (None, None),
            now_ms(),
        );
        change.commit().await?;
    }
    Ok(outcome)
}
