//! The outbox: every change's events, and one message per endpoint that
//! subscribes to each, written in the change's own transaction. A change
//! that commits always yields its messages; one that rolls back never does.

use crate::Change;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use tessera_core::id::{EventId, MessageId, OrganizationId};
use tessera_core::records::{Data, RecordView, visible_fields};
use tessera_core::resources::Resource;
use tessera_core::webhooks::events::message_body;
use tessera_core::webhooks::{EventData, EventFilter, FieldLimits, RecordChange};
use tessera_store::events as feed;
use tessera_store::webhooks::delivery::{self, NewEvent, NewMessage};
use tessera_store::webhooks::{self, Endpoint};
use tessera_store::{StoreError, Tx, format_ms};

/// Events held by a change until it writes them.
pub(crate) struct PendingEvent {
    pub organization_id: OrganizationId,
    pub event_type: String,
    pub data: EventData,
    pub created_at: i64,
}

/// An endpoint's subscription, parsed once per change.
struct Subscriber {
    endpoint: Endpoint,
    filter: EventFilter,
    limits: FieldLimits,
}

/// A record as the data API shows it with every field, for payloads.
pub(crate) fn snapshot(
    resource: &'static Resource,
    id: &str,
    data: &Data,
    created_at: i64,
    updated_at: i64,
) -> Map<String, Value> {
    let fields = visible_fields(resource, None, None);
    let (created_at, updated_at) = (format_ms(created_at), format_ms(updated_at));
    let view = RecordView {
        fields: &fields,
        id,
        created_at: &created_at,
        updated_at: &updated_at,
        data,
    };
    match serde_json::to_value(view) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

impl Change<'_> {
    /// Queues an event; it is written with the change.
    pub(crate) fn emit(
        &mut self,
        organization_id: &OrganizationId,
        event_type: String,
        data: EventData,
        now: i64,
    ) {
        self.events.push(PendingEvent {
            organization_id: organization_id.clone(),
            event_type,
            data,
            created_at: now,
        });
    }

    /// `<resource>.created|updated|deleted` for one record.
    pub(crate) fn emit_record(
        &mut self,
        organization_id: &OrganizationId,
        resource: &'static Resource,
        action: &str,
        id: &str,
        change: (Option<Vec<String>>, Option<Map<String, Value>>),
        now: i64,
    ) {
        let (changed_fields, record) = change;
        let data = EventData::Record(RecordChange {
            organization: organization_id.to_string(),
            resource,
            id: id.to_owned(),
            changed_fields,
            record,
        });
        self.emit(
            organization_id,
            format!("{}.{action}", resource.name),
            data,
            now,
        );
    }

    /// An event about keys or clients: `{"organization", <what>: {...}}`.
    pub(crate) fn emit_access(
        &mut self,
        organization_id: &OrganizationId,
        event_type: &str,
        subject: (&str, Value),
        now: i64,
    ) {
        let mut data = json!({"organization": organization_id.as_str()});
        data[subject.0] = subject.1;
        self.emit(
            organization_id,
            event_type.to_owned(),
            EventData::Other(data),
            now,
        );
    }

    /// Writes the queued events and their messages; returns how many
    /// messages were queued.
    pub(crate) async fn write_events(&mut self) -> Result<usize, StoreError> {
        if self.events.is_empty() {
            return Ok(0);
        }
        let pending = std::mem::take(&mut self.events);
        let mut subscribers: BTreeMap<OrganizationId, Vec<Subscriber>> = BTreeMap::new();
        for event in &pending {
            if !subscribers.contains_key(&event.organization_id) {
                let found = subscribers_of(&mut self.tx, &event.organization_id).await?;
                subscribers.insert(event.organization_id.clone(), found);
            }
        }
        let ids: Vec<String> = pending
            .iter()
            .map(|_| EventId::new().into_string())
            .collect();
        let mut events = Vec::with_capacity(pending.len());
        let mut messages = Vec::new();
        for (event, id) in pending.iter().zip(&ids) {
            events.push(NewEvent {
                id,
                organization_id: event.organization_id.as_str(),
                event_type: &event.event_type,
                resource: event.data.resource().map(|r| r.name),
                data: event.data.full().to_string(),
                created_at: event.created_at,
            });
            let resource = event.data.resource().map(|r| r.name).unwrap_or_default();
            for subscriber in &subscribers[&event.organization_id] {
                if !subscriber.filter.matches(&event.event_type) {
                    continue;
                }
                let Some(data) = event.data.limited(subscriber.limits.for_resource(resource))
                else {
                    continue;
                };
                messages.push(NewMessage {
                    id: MessageId::new().into_string(),
                    endpoint_id: subscriber.endpoint.id.as_str(),
                    organization_id: event.organization_id.as_str(),
                    event_id: id,
                    event_type: &event.event_type,
                    body: message_body(&event.event_type, event.created_at, &data),
                    created_at: event.created_at,
                });
            }
        }
        // Sequence numbers are taken in the insert below: from here to the
        // commit, no other writer of these organisations may take any.
        for organization_id in subscribers.keys() {
            feed::hold_event_order(&mut self.tx, organization_id.as_str()).await?;
        }
        delivery::insert_events(&mut self.tx, &events).await?;
        delivery::insert_messages(&mut self.tx, &messages).await?;
        self.queued_messages += messages.len();
        Ok(messages.len())
    }
}

async fn subscribers_of(
    tx: &mut Tx,
    organization_id: &OrganizationId,
) -> Result<Vec<Subscriber>, StoreError> {
    webhooks::active(tx, organization_id)
        .await?
        .into_iter()
        .map(|endpoint| {
            Ok(Subscriber {
                filter: endpoint.event_filter()?,
                limits: endpoint.field_limits()?,
                endpoint,
            })
        })
        .collect()
}
