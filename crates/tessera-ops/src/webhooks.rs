//! Webhook endpoints: administrators create, change, rotate, test, replay
//! and recover them; the delivery worker records attempts and disables an
//! endpoint that is gone or keeps failing. Each is one audited change.

use crate::{Change, OpError, Ops, Refusal};
use serde_json::{Value, json};
use std::net::IpAddr;
use tessera_core::audit::{Actor, AuditEvent};
use tessera_core::id::{EndpointId, EventId, MessageId, OrganizationId};
use tessera_core::webhooks::destination::{AllowedNetworks, Destination, DestinationHost};
use tessera_core::webhooks::events::{TEST_EVENT, message_body};
use tessera_core::webhooks::{EventFilter, FieldLimits, SigningSecret};
use tessera_store::webhooks::delivery::{
    self, Attempt, NewEvent, NewMessage, SettledAttempt, Settlement,
};
use tessera_store::webhooks::{self, Endpoint};
use tessera_store::{StoreError, format_ms, now_ms};

/// The operator's rules for where webhooks may go.
#[derive(Debug, Clone, Default)]
pub struct WebhookRules {
    pub allowed_networks: AllowedNetworks,
}

/// The longest overlap of a rotation, as for API clients.
pub const MAX_OVERLAP_HOURS: u32 = 7 * 24;
const HOUR_MS: i64 = 3_600_000;
/// An endpoint failing this long without a success is disabled.
pub const FAILING_DISABLES_AFTER_MS: i64 = 5 * 24 * HOUR_MS;

/// What an administrator sends to create or change an endpoint; on a
/// change, what is absent stays as it was.
#[derive(Debug, Default)]
pub struct EndpointRequest {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(None)` removes the limits.
    pub fields: Option<Option<Value>>,
    pub enabled: Option<bool>,
}

/// Who manages the endpoints: an administrator of the organisation.
pub struct Manager<'a> {
    pub organization_id: &'a OrganizationId,
    pub actor: &'a Actor,
}

impl Manager<'_> {
    /// Commits `change` with its audit entry: this administrator's act on
    /// the endpoint `target`.
    async fn commit(
        &self,
        change: Change<'_>,
        target: &str,
        event: AuditEvent,
    ) -> Result<(), StoreError> {
        change
            .commit_audited(self.actor, Some(self.organization_id), Some(target), event)
            .await
    }
}

/// Checks a URL against the destination rules, resolving a host name to
/// check where it points (a name that does not resolve yet is accepted:
/// every delivery checks again).
pub async fn check_url(rules: &WebhookRules, raw: &str) -> Result<String, Refusal> {
    let refuse = |reason: String| Refusal::invalid("url", format!("url is refused: {reason}."));
    let destination = Destination::parse(raw.trim(), &rules.allowed_networks)
        .map_err(|e| refuse(e.to_string()))?;
    if let DestinationHost::Name(name) = destination.host() {
        let found = tokio::net::lookup_host((name.as_str(), destination.port())).await;
        if let Ok(addresses) = found {
            let addresses: Vec<IpAddr> = addresses.map(|a| a.ip()).collect();
            destination
                .check_resolved(&addresses, &rules.allowed_networks)
                .map_err(|e| refuse(e.to_string()))?;
        }
    }
    Ok(destination.url().to_string())
}

fn parse_events(events: &[String]) -> Result<EventFilter, Refusal> {
    EventFilter::parse(events).map_err(|unknown| {
        Refusal::invalid(
            "events",
            format!(
                "events must list event types or wildcards (employees.*, *); unknown: {}",
                unknown.join(", ")
            ),
        )
        .with_details(json!({"unknown": unknown}))
    })
}

fn parse_fields(value: &Value) -> Result<FieldLimits, Refusal> {
    FieldLimits::parse(value).map_err(|problems| {
        Refusal::invalid(
            "fields",
            format!("fields is refused: {}.", problems.join("; ")),
        )
        .with_details(json!({"problems": problems}))
    })
}

/// An endpoint just created, with its secret (also readable later by an
/// administrator, audited).
pub struct CreatedEndpoint {
    pub endpoint: Endpoint,
    pub secret: String,
}

pub async fn create(
    ops: &Ops,
    manager: &Manager<'_>,
    request: EndpointRequest,
) -> Result<CreatedEndpoint, OpError> {
    let raw_url = request
        .url
        .as_deref()
        .ok_or_else(|| Refusal::invalid("url", "url is required."))?;
    let url = check_url(&ops.webhook_rules, raw_url).await?;
    let filter = match &request.events {
        Some(events) => parse_events(events)?,
        None => EventFilter::everything(),
    };
    let fields = match request.fields.flatten() {
        Some(value) => Some(parse_fields(&value)?.to_json().to_string()),
        None => None,
    };
    let secret = SigningSecret::generate().expose();
    let now = now_ms();
    let endpoint = Endpoint {
        id: EndpointId::new(),
        organization_id: manager.organization_id.clone(),
        url,
        description: request.description.unwrap_or_default().trim().to_owned(),
        events: json!(filter.patterns()).to_string(),
        fields,
        enabled: request.enabled.unwrap_or(true),
        disabled_reason: None,
        disabled_at: None,
        secret: secret.clone(),
        previous_secret: None,
        previous_secret_until: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    let mut change = ops.change().await?;
    webhooks::insert(change.tx(), &endpoint).await?;
    let event = AuditEvent::WebhookEndpointCreated {
        url: endpoint.url.clone(),
        events: filter.patterns().to_vec(),
    };
    manager.commit(change, &endpoint.id, event).await?;
    Ok(CreatedEndpoint { endpoint, secret })
}

async fn existing(
    change: &mut Change<'_>,
    manager: &Manager<'_>,
    id: &str,
) -> Result<Endpoint, OpError> {
    webhooks::get_for_update(change.tx(), manager.organization_id, id)
        .await?
        .ok_or(OpError::NotFound)
}

pub async fn update(
    ops: &Ops,
    manager: &Manager<'_>,
    id: &str,
    request: EndpointRequest,
) -> Result<Endpoint, OpError> {
    let url = match &request.url {
        Some(raw) => Some(check_url(&ops.webhook_rules, raw).await?),
        None => None,
    };
    let events = request.events.as_deref().map(parse_events).transpose()?;
    let fields = match &request.fields {
        Some(Some(value)) => Some(Some(parse_fields(value)?.to_json().to_string())),
        Some(None) => Some(None),
        None => None,
    };
    let mut change = ops.change().await?;
    let mut endpoint = existing(&mut change, manager, id).await?;
    let mut changed = Vec::new();
    if let Some(url) = url.filter(|u| *u != endpoint.url) {
        endpoint.url = url;
        changed.push("url");
    }
    if let Some(description) = request
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| *d != endpoint.description)
    {
        endpoint.description = description;
        changed.push("description");
    }
    if let Some(filter) = events {
        let events = json!(filter.patterns()).to_string();
        if events != endpoint.events {
            endpoint.events = events;
            changed.push("events");
        }
    }
    if let Some(fields) = fields.filter(|f| *f != endpoint.fields) {
        endpoint.fields = fields;
        changed.push("fields");
    }
    if let Some(enabled) = request.enabled {
        // Enabling again is how an administrator brings back an endpoint
        // Tessera disabled: it starts afresh.
        if enabled != endpoint.enabled || (enabled && endpoint.disabled_reason.is_some()) {
            endpoint.enabled = enabled;
            endpoint.disabled_reason = None;
            endpoint.disabled_at = (!enabled).then(now_ms);
            endpoint.failing_since = None;
            changed.push("enabled");
        }
    }
    if changed.is_empty() {
        return Ok(endpoint);
    }
    endpoint.updated_at = now_ms();
    webhooks::save(change.tx(), &endpoint).await?;
    let event = AuditEvent::WebhookEndpointUpdated {
        url: endpoint.url.clone(),
        changed,
    };
    manager.commit(change, id, event).await?;
    Ok(endpoint)
}

pub async fn delete(ops: &Ops, manager: &Manager<'_>, id: &str) -> Result<(), OpError> {
    let mut change = ops.change().await?;
    let endpoint = existing(&mut change, manager, id).await?;
    webhooks::delete(change.tx(), manager.organization_id, id).await?;
    let event = AuditEvent::WebhookEndpointDeleted { url: endpoint.url };
    manager.commit(change, id, event).await?;
    Ok(())
}

/// Replaces the secret; the old one keeps signing for `overlap_hours`.
pub async fn rotate_secret(
    ops: &Ops,
    manager: &Manager<'_>,
    id: &str,
    overlap_hours: u32,
) -> Result<String, OpError> {
    if overlap_hours > MAX_OVERLAP_HOURS {
        return Err(Refusal::invalid(
            "overlap_hours",
            format!("overlap_hours must be between 0 and {MAX_OVERLAP_HOURS}."),
        )
        .into());
    }
    let mut change = ops.change().await?;
    let mut endpoint = existing(&mut change, manager, id).await?;
    let secret = SigningSecret::generate().expose();
    let now = now_ms();
    endpoint.previous_secret = (overlap_hours > 0).then(|| endpoint.secret.clone());
    endpoint.previous_secret_until =
        (overlap_hours > 0).then(|| now + i64::from(overlap_hours) * HOUR_MS);
    endpoint.secret = secret.clone();
    endpoint.updated_at = now;
    webhooks::save(change.tx(), &endpoint).await?;
    let event = AuditEvent::WebhookSecretRotated { overlap_hours };
    manager.commit(change, id, event).await?;
    Ok(secret)
}

/// The current secret, shown to an administrator; the reveal is audited.
pub async fn reveal_secret(ops: &Ops, manager: &Manager<'_>, id: &str) -> Result<String, OpError> {
    let mut change = ops.change().await?;
    let endpoint = existing(&mut change, manager, id).await?;
    manager
        .commit(change, id, AuditEvent::WebhookSecretRevealed {})
        .await?;
    Ok(endpoint.secret)
}

/// Queues a `webhook.test` event for this endpoint alone, whatever it
/// subscribes to; returns the message id.
pub async fn send_test(ops: &Ops, manager: &Manager<'_>, id: &str) -> Result<MessageId, OpError> {
    let mut change = ops.change().await?;
    let endpoint = existing(&mut change, manager, id).await?;
    let now = now_ms();
    let event_id = EventId::new();
    let message_id = MessageId::new();
    let data = json!({
        "organization": manager.organization_id.as_str(),
        "endpoint_id": endpoint.id.as_str(),
        "message": "A test event sent from Tessera.",
    });
    let event = NewEvent {
        id: event_id.as_str(),
        organization_id: manager.organization_id.as_str(),
        event_type: TEST_EVENT,
        resource: None,
        data: data.to_string(),
        created_at: now,
    };
    let message = NewMessage {
        id: message_id.to_string(),
        endpoint_id: endpoint.id.as_str(),
        organization_id: manager.organization_id.as_str(),
        event_id: event_id.as_str(),
        event_type: TEST_EVENT,
        body: message_body(TEST_EVENT, now, &data),
        created_at: now,
    };
    // Like every event, it takes its position in the organisation's order
    // (docs/sync.md): the feed's `after=now` starts from the newest one.
    tessera_store::events::hold_event_order(change.tx(), manager.organization_id.as_str()).await?;
    delivery::insert_events(change.tx(), &[event]).await?;
    delivery::insert_messages(change.tx(), &[message]).await?;
    change.queued_messages += 1;
    let audit = AuditEvent::WebhookTestSent {
        message_id: message_id.to_string(),
    };
    manager.commit(change, id, audit).await?;
    Ok(message_id)
}

/// Sends one message again now, with the same `webhook-id`.
pub async fn replay(
    ops: &Ops,
    manager: &Manager<'_>,
    endpoint_id: &str,
    message_id: &str,
) -> Result<(), OpError> {
    let mut change = ops.change().await?;
    existing(&mut change, manager, endpoint_id).await?;
    let queued = delivery::requeue(
        change.tx(),
        manager.organization_id,
        endpoint_id,
        message_id,
        now_ms(),
    )
    .await?;
    if !queued {
        return Err(OpError::NotFound);
    }
    change.queued_messages += 1;
    let event = AuditEvent::WebhookMessageReplayed {
        message_id: message_id.to_owned(),
    };
    manager.commit(change, endpoint_id, event).await?;
    Ok(())
}

/// Queues again every message that failed since `since`; how many.
pub async fn recover(
    ops: &Ops,
    manager: &Manager<'_>,
    endpoint_id: &str,
    since: i64,
) -> Result<u64, OpError> {
    let mut change = ops.change().await?;
    existing(&mut change, manager, endpoint_id).await?;
    let count = delivery::recover(
        change.tx(),
        manager.organization_id,
        endpoint_id,
        since,
        now_ms(),
    )
    .await?;
    change.queued_messages += usize::try_from(count).unwrap_or(usize::MAX);
    let event = AuditEvent::WebhookMessagesRecovered {
        since: format_ms(since),
        count,
    };
    manager.commit(change, endpoint_id, event).await?;
    Ok(count)
}

/// How an attempt went for its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointHealth {
    Succeeded,
    Failed,
    /// It answered 410 Gone: disable at once.
    Gone,
}

/// One attempt as the delivery worker reports it.
pub struct AttemptReport {
    pub endpoint_id: String,
    pub message_id: String,
    pub attempt: Attempt,
    pub settlement: Settlement,
    pub health: EndpointHealth,
    /// Whether the endpoint was failing when the worker last read it.
    pub was_failing: bool,
}

/// Records the worker's attempts in one change, settles their messages,
/// and keeps each endpoint's health: an endpoint that is gone, or has
/// failed for five days without a success, is disabled (audited, as
/// Tessera's own act).
pub async fn record_attempts(ops: &Ops, reports: &[AttemptReport]) -> Result<(), StoreError> {
    let mut change = ops.change().await?;
    let settled: Vec<SettledAttempt<'_>> = reports
        .iter()
        .map(|r| SettledAttempt {
            message_id: &r.message_id,
            attempt: &r.attempt,
            settlement: r.settlement,
        })
        .collect();
    delivery::record_attempts(change.tx(), &settled).await?;
    // The common case, a success for a healthy endpoint, changes nothing.
    for report in reports
        .iter()
        .filter(|r| r.health != EndpointHealth::Succeeded || r.was_failing)
    {
        keep_health(&mut change, report).await?;
    }
    change.commit().await
}

async fn keep_health(change: &mut Change<'_>, report: &AttemptReport) -> Result<(), StoreError> {
    let Some(mut endpoint) = webhooks::get_by_id(change.tx(), &report.endpoint_id).await? else {
        return Ok(());
    };
    let now = report.attempt.at;
    let reason = match report.health {
        EndpointHealth::Succeeded => {
            endpoint.failing_since = None;
            None
        }
        EndpointHealth::Gone => Some("gone"),
        EndpointHealth::Failed => {
            let since = *endpoint.failing_since.get_or_insert(now);
            (now - since >= FAILING_DISABLES_AFTER_MS).then_some("failing")
        }
    };
    let disabling = reason.is_some() && endpoint.disabled_reason.is_none();
    if disabling {
        endpoint.disabled_reason = reason.map(str::to_owned);
        endpoint.disabled_at = Some(now);
    }
    webhooks::save(change.tx(), &endpoint).await?;
    if let (true, Some(reason)) = (disabling, reason) {
        let event = AuditEvent::WebhookEndpointDisabled {
            url: endpoint.url.clone(),
            reason,
        };
        change
            .audit(
                &Actor::system(),
                Some(&endpoint.organization_id),
                Some(&report.endpoint_id),
                event,
            )
            .await?;
        tracing::warn!(endpoint_id = %report.endpoint_id, reason, "webhook endpoint disabled");
    }
    Ok(())
}
