//! Audit entries as people read them, shared by the console's audit log,
//! its CSV export and `GET /api/v1/audit`, so the three cannot disagree:
//! each target's name (looked up now; a deleted target keeps only its id)
//! and the stored details as one line of text.

use crate::api::usage::csv_cell;
use crate::console::permission_form;
use serde_json::{Map, Value};
use tessera_core::audit::AuditAction;
use tessera_core::permissions::{Access, PermissionSet};
use tessera_store::audit::{self, Entry};
use tessera_store::{Db, StoreError, format_ms};

/// Most entries one CSV export holds (newest first); a wider export is
/// narrowed with the date filters or paged through the API.
pub const EXPORT_LIMIT: i64 = 10_000;

/// One audit entry with what the reader needs beside it.
pub struct AuditRow {
    pub entry: Entry,
    /// The target's current name; `None` when there is no target or it is
    /// gone.
    pub target_name: Option<String>,
    /// The organisation's slug, on the deployment-wide log.
    pub organization: Option<String>,
    /// The details as text: `owner: acme-admin (user)`.
    pub details: String,
}

/// `entries` with their targets' names.
pub async fn readable(db: &Db, entries: Vec<Entry>) -> Result<Vec<AuditRow>, StoreError> {
    let ids: Vec<&str> = entries.iter().filter_map(|e| e.target.as_deref()).collect();
    let names = audit::target_names(db, &ids).await?;
    Ok(entries
        .into_iter()
        .map(|entry| AuditRow {
            target_name: entry.target.as_ref().and_then(|id| names.get(id).cloned()),
            organization: None,
            details: entry.details.as_deref().map(describe).unwrap_or_default(),
            entry,
        })
        .collect())
}

/// The columns of every audit CSV; the deployment's log adds
/// `organization` first.
const CSV_COLUMNS: &str = "id,time,actor,actor_type,action,target_id,target_name,ip,details";

/// The rows as CSV (RFC 4180, CRLF), with a header line.
pub fn csv(rows: &[AuditRow], with_organization: bool) -> String {
    let mut body = String::with_capacity(160 * (rows.len() + 1));
    if with_organization {
        body.push_str("organization,");
    }
    body.push_str(CSV_COLUMNS);
    body.push_str("\r\n");
    for row in rows {
        let entry = &row.entry;
        let mut cells = Vec::with_capacity(10);
        if with_organization {
            cells.push(row.organization.clone().unwrap_or_default());
        }
        cells.extend([
            entry.id.clone(),
            format_ms(entry.created_at),
            entry.actor_name.clone(),
            entry.actor_kind.clone(),
            entry.action.as_str().to_owned(),
            entry.target.clone().unwrap_or_default(),
            row.target_name.clone().unwrap_or_default(),
            entry.ip.clone().unwrap_or_default(),
            row.details.clone(),
        ]);
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        body.push_str(&line.join(","));
        body.push_str("\r\n");
    }
    body
}

/// Stored details (a JSON object) as one line of text: `name: value`
/// pairs in name order separated by `;`, field names in words, nested values in words
/// too (`owner: acme-admin (user)`, `rate 2/s, burst 5 (was 100/s, burst
/// 200)`, `key creation: administrators → everyone`).
pub fn describe(stored: &str) -> String {
    match serde_json::from_str::<Value>(stored) {
        Ok(Value::Object(members)) => describe_members(&members),
        Ok(other) => words(&other),
        Err(_) => stored.to_owned(),
    }
}

fn describe_members(members: &Map<String, Value>) -> String {
    if let Some(rate) = rate_limit(members) {
        let mut text = rate;
        if let Some(previous) = members
            .get("previous")
            .and_then(Value::as_object)
            .and_then(rate_limit)
        {
            text.push_str(&format!(" (was {previous})"));
        }
        return text;
    }
    let mut parts = Vec::new();
    for (name, value) in members {
        if name == "previous" || name.starts_with("previous_") {
            continue;
        }
        let mut part = format!("{}: {}", label(name), words_of(name, value));
        let previous = members.get(&format!("previous_{name}")).or_else(|| {
            (members.len() == 2)
                .then(|| members.get("previous"))
                .flatten()
        });
        if let Some(previous) = previous.filter(|p| *p != value) {
            part.push_str(&format!(" (was {})", words_of(name, previous)));
        }
        parts.push(part);
    }
    parts.join("; ")
}

/// `rate 2/s, burst 5` when `members` holds a rate limit's figures.
fn rate_limit(members: &Map<String, Value>) -> Option<String> {
    let rate = members.get("rate")?.as_u64()?;
    let burst = members.get("burst")?.as_u64()?;
    Some(format!("rate {rate}/s, burst {burst}"))
}

/// A field name in words: `first_administrator` → `first administrator`.
fn label(name: &str) -> String {
    name.replace('_', " ")
}

/// Fields whose values are codes from a fixed list, shown in words.
const CODED: [&str; 6] = [
    "expected_volume",
    "by",
    "reason",
    "who",
    "key_creation",
    "previous",
];

fn words_of(name: &str, value: &Value) -> String {
    match value {
        Value::String(text) if CODED.contains(&name) => text.replace('_', " "),
        Value::Object(_) if name.ends_with("permissions") => permissions(value),
        other => words(other),
    }
}

/// A role's permissions as the console summarises them.
fn permissions(value: &Value) -> String {
    match serde_json::from_value::<PermissionSet>(value.clone()) {
        Ok(set) => permission_form::summary(&Access::Limited(set)),
        Err(_) => words(value),
    }
}

fn words(value: &Value) -> String {
    match value {
        Value::Null => "none".to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(words).collect::<Vec<_>>().join(", "),
        Value::Object(members) => {
            if let (Some(Value::String(kind)), Some(Value::String(name)), 2) =
                (members.get("type"), members.get("name"), members.len())
            {
                return format!("{name} ({kind})");
            }
            if let (Some(from), Some(to), 2) =
                (members.get("from"), members.get("to"), members.len())
            {
                return format!("{} → {}", coded_words(from), coded_words(to));
            }
            if let Some(rate) = rate_limit(members) {
                return rate;
            }
            members
                .iter()
                .map(|(name, value)| format!("{} {}", label(name), words_of(name, value)))
                .collect::<Vec<_>>()
                .join(", ")
        }
        other => other.to_string(),
    }
}

/// A transition's side: codes such as `administrators_only` in words.
fn coded_words(value: &Value) -> String {
    match value {
        Value::String(text) => text.replace('_', " "),
        other => words(other),
    }
}

/// One option of the action filter.
pub struct ActionChoice {
    pub value: String,
    pub label: String,
}

/// The action filter's options, shared by the console and the API:
/// every known action, then every family of two or more actions
/// (`api_key.*`), which the store matches by prefix.
pub fn action_choices() -> Vec<ActionChoice> {
    let mut choices: Vec<ActionChoice> = AuditAction::ALL
        .iter()
        .map(|a| ActionChoice {
            value: a.as_str().to_owned(),
            label: a.as_str().to_owned(),
        })
        .collect();
    let mut families: Vec<&str> = AuditAction::ALL
        .iter()
        .filter_map(|a| a.as_str().rsplit_once('.').map(|(family, _)| family))
        .collect();
    families.sort_unstable();
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for family in families {
        match counted.last_mut() {
            Some((last, count)) if *last == family => *count += 1,
            _ => counted.push((family, 1)),
        }
    }
    choices.extend(
        counted
            .into_iter()
            .filter(|(_, count)| *count > 1)
            .map(|(family, _)| ActionChoice {
                value: format!("{family}.*"),
                label: format!("{family}.* (every {family} action)"),
            }),
    );
    choices
}

/// Whether `value` is one of the action filter's options.
pub fn is_action_filter(value: &str) -> bool {
    action_choices().iter().any(|c| c.value == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_words() {
        assert_eq!(
            describe(r#"{"name":"sync","owner":{"type":"user","name":"acme-admin"}}"#),
            "name: sync; owner: acme-admin (user)"
        );
        assert_eq!(
            describe(r#"{"rate":2,"burst":5,"previous":{"rate":100,"burst":200}}"#),
            "rate 2/s, burst 5 (was rate 100/s, burst 200)"
        );
        assert_eq!(
            describe(r#"{"company":"Globex","expected_volume":"under_10k"}"#),
            "company: Globex; expected volume: under 10k"
        );
        assert_eq!(
            describe(r#"{"who":"everyone","previous":"administrators"}"#),
            "who: everyone (was administrators)"
        );
        assert_eq!(
            describe(r#"{"username":"bob","role":"Manager","previous_role":"Employee"}"#),
            "role: Manager (was Employee); username: bob"
        );
        assert_eq!(
            describe(r#"{"max_key_lifetime_days":{"from":null,"to":90}}"#),
            "max key lifetime days: none → 90"
        );
        assert_eq!(
            describe(r#"{"url":"https://x.test/h","events":["employee.*","api_key.revoked"]}"#),
            "events: employee.*, api_key.revoked; url: https://x.test/h"
        );
        assert_eq!(describe("not json"), "not json");
    }

    #[test]
    fn csv_holds_one_line_per_entry() {
        let row = AuditRow {
            entry: Entry {
                id: "aud_1".into(),
                organization_id: None,
                actor_kind: "user".into(),
                actor_id: None,
                actor_name: "acme-admin".into(),
                action: tessera_core::audit::LoggedAction::parse("api_key.created"),
                target: Some("key_1".into()),
                ip: Some("127.0.0.1".into()),
                details: None,
                created_at: 0,
            },
            target_name: Some("sync, nightly".into()),
            organization: None,
            details: "name: sync; nightly".into(),
        };
        assert_eq!(
            csv(&[row], false),
            "id,time,actor,actor_type,action,target_id,target_name,ip,details\r\n\
             aud_1,1970-01-01T00:00:00Z,acme-admin,user,api_key.created,key_1,\"sync, nightly\",127.0.0.1,name: sync; nightly\r\n"
        );
    }
}
