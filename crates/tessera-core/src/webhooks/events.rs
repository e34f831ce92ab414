//! Event types, subscriptions and payloads.
//!
//! Every change the operations layer makes becomes one event. Record events
//! are named `<resource>.created|updated|deleted`; the others are fixed.
//! An endpoint subscribes with exact types or wildcards (`employees.*`,
//! `*`) and may limit the record fields its payloads carry; the payload it
//! is sent is derived here, so the API, the console and the feed agree.

use crate::records::visible_fields;
use crate::resources::{self, RESOURCES, Resource};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const RECORD_ACTIONS: [&str; 3] = ["created", "updated", "deleted"];

/// Events about keys and clients, which only webhooks carry (never the feed).
pub const ACCESS_EVENTS: &[&str] = &[
    "api_key.created",
    "api_key.revoked",
    "api_key.leaked",
    "api_key.revoked_all",
    "api_client.blocked",
    "api_client.unblocked",
];

/// Sent to one endpoint on request, whatever it subscribes to.
pub const TEST_EVENT: &str = "webhook.test";

/// Every event type, records first, in a stable order (the console's
/// picker and the API description list them so).
pub fn event_types() -> Vec<String> {
    let records = RESOURCES
        .iter()
        .flat_map(|r| RECORD_ACTIONS.map(|action| format!("{}.{action}", r.name)));
    records
        .chain(ACCESS_EVENTS.iter().map(|t| (*t).to_owned()))
        .chain(std::iter::once(TEST_EVENT.to_owned()))
        .collect()
}

/// The families of events, the part before the dot.
fn is_family(name: &str) -> bool {
    resources::resource(name).is_some() || matches!(name, "api_key" | "api_client" | "webhook")
}

fn is_event_type(name: &str) -> bool {
    match name.split_once('.') {
        Some((family, action)) if resources::resource(family).is_some() => {
            RECORD_ACTIONS.contains(&action)
        }
        _ => ACCESS_EVENTS.contains(&name) || name == TEST_EVENT,
    }
}

/// What an endpoint subscribes to: exact event types, `family.*`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    pub fn everything() -> EventFilter {
        EventFilter(vec!["*".to_owned()])
    }

    /// The filter, or the patterns that name no event.
    pub fn parse(patterns: &[String]) -> Result<EventFilter, Vec<String>> {
        let unknown: Vec<String> = patterns
            .iter()
            .filter(|p| {
                let p = p.as_str();
                !(p == "*" || p.strip_suffix(".*").is_some_and(is_family) || is_event_type(p))
            })
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        if patterns.is_empty() {
            return Err(vec![String::new()]);
        }
        let mut kept: Vec<String> = patterns.to_vec();
        kept.dedup();
        Ok(EventFilter(kept))
    }

    pub fn matches(&self, event_type: &str) -> bool {
        self.0
            .iter()
            .any(|pattern| match pattern.strip_suffix(".*") {
                _ if pattern == "*" => true,
                Some(family) => event_type
                    .strip_prefix(family)
                    .is_some_and(|rest| rest.starts_with('.')),
                None => pattern == event_type,
            })
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }
}

/// The record fields an endpoint's payloads carry, per resource; a resource
/// not named is sent whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldLimits(BTreeMap<String, BTreeSet<String>>);

impl FieldLimits {
    /// Parses `{"employees": ["id", "first_name"]}`, or lists what is wrong
    /// (unknown resources and fields, values that are not lists of names).
    pub fn parse(value: &Value) -> Result<FieldLimits, Vec<String>> {
        let Some(object) = value.as_object() else {
            return Err(vec![
                "fields must be an object of resource names to lists of field names".to_owned(),
            ]);
        };
        let mut limits = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, fields) in object {
            let Some(resource) = resources::resource(name) else {
                problems.push(format!("'{name}' is not a resource"));
                continue;
            };
            let Some(list) = fields.as_array() else {
                problems.push(format!("fields.{name} must be a list of field names"));
                continue;
            };
            let mut kept = BTreeSet::new();
            for field in list {
                match field.as_str() {
                    Some(f) if resource.field(f).is_some() => {
                        kept.insert(f.to_owned());
                    }
                    Some(f) => problems.push(format!("'{f}' is not a field of {name}")),
                    None => problems.push(format!("fields.{name} must hold field names")),
                }
            }
            limits.insert(name.clone(), kept);
        }
        if problems.is_empty() {
            Ok(FieldLimits(limits))
        } else {
            Err(problems)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn for_resource(&self, resource: &str) -> Option<&BTreeSet<String>> {
        self.0.get(resource)
    }

    pub fn to_json(&self) -> Value {
        json!(self.0)
    }
}

/// One change to a record, as every event about it describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordChange {
    pub organization: String,
    pub resource: &'static Resource,
    pub id: String,
    /// For updates: the fields whose value changed.
    pub changed_fields: Option<Vec<String>>,
    /// The record after the change, as the data API shows it with every
    /// field; `None` once deleted.
    pub record: Option<Map<String, Value>>,
}

impl RecordChange {
    /// The change as [`EventData::full`] stored it, or `None` when `data`
    /// is not a record event of `resource`.
    pub fn from_stored(resource: &'static Resource, data: &Value) -> Option<RecordChange> {
        let changed_fields = match data.get("changed_fields") {
            None => None,
            Some(names) => Some(
                names
                    .as_array()?
                    .iter()
                    .map(|name| name.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()?,
            ),
        };
        let record = match data.get("record")? {
            Value::Null => None,
            Value::Object(record) => Some(record.clone()),
            _ => return None,
        };
        Some(RecordChange {
            organization: data.get("organization")?.as_str()?.to_owned(),
            resource,
            id: data.get("id")?.as_str()?.to_owned(),
            changed_fields,
            record,
        })
    }
}

/// What an event says.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    Record(RecordChange),
    /// Events about keys, clients and endpoints: sent as they are.
    Other(Value),
}

impl EventData {
    /// The resource of a record event.
    pub fn resource(&self) -> Option<&'static Resource> {
        match self {
            EventData::Record(change) => Some(change.resource),
            EventData::Other(_) => None,
        }
    }

    /// Everything the event says, as stored.
    pub fn full(&self) -> Value {
        self.limited(None).unwrap_or(Value::Null)
    }

    /// What a reader limited to `readable` fields of the record's resource
    /// is told (`None` = every field), or nothing when an update changed
    /// only fields it cannot see.
    pub fn limited(&self, readable: Option<&BTreeSet<String>>) -> Option<Value> {
        let change = match self {
            EventData::Other(value) => return Some(value.clone()),
            EventData::Record(change) => change,
        };
        let visible: BTreeSet<&str> = visible_fields(change.resource, readable, None)
            .into_iter()
            .map(|f| f.name)
            .collect();
        let mut data = json!({
            "organization": change.organization,
            "resource": change.resource.name,
            "id": change.id,
        });
        if let Some(changed) = &change.changed_fields {
            let seen: Vec<&String> = changed
                .iter()
                .filter(|f| visible.contains(f.as_str()))
                .collect();
            if seen.is_empty() {
                return None;
            }
            data["changed_fields"] = json!(seen);
        }
        data["record"] = match &change.record {
            Some(record) => Value::Object(
                record
                    .iter()
                    .filter(|(name, _)| visible.contains(name.as_str()))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            ),
            None => Value::Null,
        };
        Some(data)
    }
}

/// The fields of `after` whose value differs from `before`, in declaration
/// order.
pub fn changed_fields(
    resource: &Resource,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<String> {
    resource
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|name| !matches!(*name, "id" | "created_at" | "updated_at"))
        .filter(|name| before.get(*name) != after.get(*name))
        .map(str::to_owned)
        .collect()
}

/// The body of a webhook message: `{"type", "timestamp", "data"}` as
/// Standard Webhooks describes it.
pub fn message_body(event_type: &str, created_at_ms: i64, data: &Value) -> String {
    let timestamp =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(created_at_ms) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default();
    json!({"type": event_type, "timestamp": timestamp, "data": data}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> EventFilter {
        let owned: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        EventFilter::parse(&owned).expect("a valid filter")
    }

    #[test]
    fn wildcards_match_their_family_only() {
        let employees = filter(&["employees.*"]);
        assert!(employees.matches("employees.created"));
        assert!(!employees.matches("employees_x.created"));
        assert!(!employees.matches("time-off.created"));
        assert!(filter(&["*"]).matches("api_key.revoked"));
        assert!(filter(&["api_key.leaked"]).matches("api_key.leaked"));
        assert!(!filter(&["api_key.leaked"]).matches("api_key.revoked"));
    }

    #[test]
    fn unknown_patterns_are_named() {
        let bad = vec!["employees.hired".to_owned(), "payroll.*".to_owned()];
        assert_eq!(EventFilter::parse(&bad), Err(bad.clone()));
        assert!(EventFilter::parse(&[]).is_err());
    }

    #[test]
    fn every_listed_type_is_accepted_and_matched_by_star() {
        let types = event_types();
        assert_eq!(types.len(), RESOURCES.len() * 3 + ACCESS_EVENTS.len() + 1);
        let parsed = EventFilter::parse(&types).expect("every type is valid");
        assert!(types.iter().all(|t| parsed.matches(t)));
    }

    fn employee_update() -> EventData {
        let record: Map<String, Value> = serde_json::from_value(json!({
            "id": "emp_1", "first_name": "Ada", "last_name": "Lovelace", "iban": "GB00"
        }))
        .unwrap();
        EventData::Record(RecordChange {
            organization: "org_1".to_owned(),
            resource: resources::resource("employees").unwrap(),
            id: "emp_1".to_owned(),
            changed_fields: Some(vec!["iban".to_owned()]),
            record: Some(record),
        })
    }

    #[test]
    fn limits_narrow_the_snapshot_and_hide_unseen_updates() {
        let data = employee_update();
        let full = data.full();
        assert_eq!(full["record"]["iban"], "GB00");
        assert_eq!(full["changed_fields"], json!(["iban"]));
        let names: BTreeSet<String> = ["first_name".to_owned()].into();
        assert_eq!(data.limited(Some(&names)), None);
        let with_iban: BTreeSet<String> = ["iban".to_owned()].into();
        let limited = data.limited(Some(&with_iban)).unwrap();
        assert_eq!(limited["record"], json!({"id": "emp_1", "iban": "GB00"}));
    }

    #[test]
    fn a_stored_change_reads_back_as_it_was_written() {
        let data = employee_update();
        let EventData::Record(change) = &data else {
            unreachable!("employee_update is a record event")
        };
        let again = RecordChange::from_stored(change.resource, &data.full());
        assert_eq!(again.as_ref(), Some(change));
        let deleted = json!({"organization": "org_1", "resource": "employees", "id": "emp_1", "record": null});
        let gone = RecordChange::from_stored(change.resource, &deleted).unwrap();
        assert_eq!((gone.record, gone.changed_fields), (None, None));
        assert_eq!(
            RecordChange::from_stored(change.resource, &json!({"a": 1})),
            None
        );
    }

    #[test]
    fn field_limits_name_every_unknown_resource_and_field() {
        let problems =
            FieldLimits::parse(&json!({"employees": ["id", "shoe_size"], "payroll": []}))
                .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        let limits = FieldLimits::parse(&json!({"employees": ["id", "first_name"]})).unwrap();
        assert_eq!(limits.for_resource("employees").map(BTreeSet::len), Some(2));
        assert_eq!(limits.for_resource("sectors"), None);
    }

    #[test]
    fn the_body_follows_standard_webhooks() {
        let body = message_body("webhook.test", 0, &json!({"a": 1}));
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["type"], "webhook.test");
        assert_eq!(parsed["timestamp"], "1970-01-01T00:00:00Z");
        assert_eq!(parsed["data"], json!({"a": 1}));
    }
}
