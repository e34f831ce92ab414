//! Every change of Tessera's state, in one place.
//!
//! An operation validates its input, then writes in one transaction the
//! change itself, the access-change entry that tells every instance's key
//! cache to forget what it held, and the typed audit entry; after the commit
//! it invalidates this instance's cache at once. The console, the API and
//! the command line call the same operation, so a rule or an audit detail
//! cannot differ between them. [`Change`] is the one path every write takes,
//! so the events a change causes (and the webhook messages they queue, see
//! [`outbox`]) commit with it or not at all.

pub mod account;
pub mod auth;
pub mod clients;
pub mod keys;
pub mod organizations;
mod outbox;
pub mod people;
pub mod records;
pub mod roles;
pub mod webhooks;

use outbox::PendingEvent;
use std::sync::Arc;
use tessera_access::keys::AccessEngine;
use tessera_core::ErrorCode;
use tessera_core::access_change::AccessChange;
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::OrganizationId;
use tessera_store::audit::{self, NewEntry};
use tessera_store::{Db, StoreError, Tx, access_changes};

/// The operations of one process: its database and, in a server, the key
/// cache to invalidate at once. At the command line there is no cache; the
/// access-change log reaches the servers.
#[derive(Clone)]
pub struct Ops {
    db: Db,
    cache: Option<Arc<AccessEngine>>,
    webhook_rules: Arc<webhooks::WebhookRules>,
    /// Woken when a change queued webhook messages, so this instance's
    /// delivery worker attempts them at once instead of at its next poll.
    outbox: Arc<tokio::sync::Notify>,
}

impl Ops {
    pub fn new(db: Db, cache: Arc<AccessEngine>) -> Ops {
        Ops {
            cache: Some(cache),
            ..Ops::without_cache(db)
        }
    }

    /// Operations for a process that verifies no keys (the command line).
    pub fn without_cache(db: Db) -> Ops {
        Ops {
            db,
            cache: None,
            webhook_rules: Arc::default(),
            outbox: Arc::default(),
        }
    }

    /// The operator's rules for webhook destinations.
    pub fn with_webhook_rules(self, rules: webhooks::WebhookRules) -> Ops {
        Ops {
            webhook_rules: Arc::new(rules),
            ..self
        }
    }

    pub fn webhook_rules(&self) -> &webhooks::WebhookRules {
        &self.webhook_rules
    }

    /// Notified whenever a change of this process queued webhook messages.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Seconds until the address may check keys again, while it is
    /// throttled for failing too often (servers only: the command line has
    /// no such counter).
    pub(crate) fn key_checks_throttled(&self, ip: Option<&str>) -> Option<u64> {
        let ip = ip?.parse().ok()?;
        self.cache.as_ref()?.key_checks_throttled(ip)
    }

    pub(crate) fn record_failed_key_check(&self, ip: Option<&str>) {
        if let (Some(cache), Some(Ok(ip))) = (&self.cache, ip.map(str::parse)) {
            cache.record_failed_key_check(ip);
        }
    }

    /// Opens the transaction of one change.
    pub(crate) async fn change(&self) -> Result<Change<'_>, StoreError> {
        Ok(Change {
            ops: self,
            tx: self.db.begin().await?,
            invalidations: Vec::new(),
            events: Vec::new(),
            queued_messages: 0,
        })
    }

    /// Records an event that changes nothing else (a failed sign-in).
    pub async fn audit_only(
        &self,
        actor: &Actor,
        organization_id: Option<&OrganizationId>,
        target: Option<&str>,
        event: AuditEvent,
    ) -> Result<(), StoreError> {
        let mut change = self.change().await?;
        change.audit(actor, organization_id, target, event).await?;
        change.commit().await
    }
}

/// One change in the making: everything written through it commits together
/// or not at all (dropping it rolls back).
pub(crate) struct Change<'o> {
    ops: &'o Ops,
    tx: Tx,
    invalidations: Vec<AccessChange>,
    events: Vec<PendingEvent>,
    queued_messages: usize,
}

impl Change<'_> {
    pub(crate) fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Logs that what keys may do has changed, for every instance; this
    /// instance's cache forgets it as soon as the change commits.
    pub(crate) async fn access_changed(&mut self, change: AccessChange) -> Result<(), StoreError> {
        access_changes::record(&mut self.tx, &change).await?;
        self.invalidations.push(change);
        Ok(())
    }

    pub(crate) async fn audit(
        &mut self,
        actor: &Actor,
        organization_id: Option<&OrganizationId>,
        target: Option<&str>,
        event: AuditEvent,
    ) -> Result<(), StoreError> {
        audit::record(
            &mut self.tx,
            NewEntry {
                organization_id,
                actor,
                target,
                event: &event,
            },
        )
        .await
    }

    /// Writes the change's audit entry and commits.
    pub(crate) async fn commit_audited(
        mut self,
        actor: &Actor,
        organization_id: Option<&OrganizationId>,
        target: Option<&str>,
        event: AuditEvent,
    ) -> Result<(), StoreError> {
        self.audit(actor, organization_id, target, event).await?;
        self.commit().await
    }

    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        self.write_events().await?;
        self.tx.commit().await?;
        if let Some(cache) = &self.ops.cache {
            for change in &self.invalidations {
                cache.apply(change);
            }
        }
        if self.queued_messages > 0 {
            self.ops.outbox.notify_one();
        }
        Ok(())
    }
}

/// Why an operation did not happen, in terms every front end can show: a
/// refusal names the input it is about, so the API answers with a problem
/// and the console shows the message beside the field.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("not found")]
    NotFound,
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refusal> for OpError {
    fn from(refusal: Refusal) -> Self {
        OpError::Refused(refusal)
    }
}

#[derive(Debug, Clone)]
pub struct Refusal {
    /// The input the refusal is about, named as the API names it
    /// (`name`, `expires_at`, …).
    pub input: &'static str,
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// Seconds after which trying again may succeed (a throttled caller).
    pub retry_after: Option<u64>,
}

impl Refusal {
    fn new(input: &'static str, code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            input,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn invalid(input: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(input, ErrorCode::InvalidRequest, message)
    }

    pub fn denied(input: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(input, ErrorCode::PermissionDenied, message)
    }

    pub fn conflict(input: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(input, ErrorCode::Conflict, message)
    }

    pub fn throttled(input: &'static str, retry_after: u64) -> Refusal {
        Refusal {
            retry_after: Some(retry_after),
            ..Refusal::new(
                input,
                ErrorCode::RateLimited,
                format!(
                    "Too many failed key checks from this address; retry in {}.",
                    tessera_core::error_code::seconds(retry_after)
                ),
            )
        }
    }

    pub fn with_details(self, details: serde_json::Value) -> Refusal {
        Refusal {
            details: Some(details),
            ..self
        }
    }
}
