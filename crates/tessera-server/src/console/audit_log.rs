//! The audit log page, shared by `settings::audit` and `operator::audit`:
//! who did what, when, from where. Administrators see their organisation's
//! entries; operators see the whole deployment's, optionally narrowed to
//! one organisation. The filters are a
//! GET form, so a filtered page is a link that can be shared or bookmarked,
//! and pages are keyed by entry id ("Older entries").

use super::form::FormErrors;
use super::pages::{PageResult, Section, page};
use super::session::SignedIn;
use super::ui::{self, error_summary, text_input, time::precise_timestamp, unprocessable};
use crate::AppState;
use axum::extract::Query;
use axum::response::IntoResponse;
use maud::{Markup, html};
use std::collections::HashMap;
use tessera_core::audit::AuditAction;
use tessera_store::audit::{self, AuditFilter, Entry};
use tessera_store::organizations::Organization;
use time::Date;
use time::macros::format_description;

const PAGE_SIZE: usize = 50;
const MAX_ACTOR_CHARS: usize = 100;

/// The query string of the page, as typed.
pub type RawQuery = Query<HashMap<String, String>>;

/// Where the page lives and, for operators, the organisations to choose from.
pub struct View<'a> {
    pub path: &'static str,
    pub organizations: Option<&'a [Organization]>,
}

pub async fn show(
    state: &AppState,
    signed_in: &SignedIn,
    view: &View<'_>,
    typed: &Typed,
    filter: AuditFilter<'_>,
    errors: FormErrors,
) -> PageResult {
    if !errors.is_empty() {
        let body = body(view, signed_in, typed, &errors, None);
        return Ok(unprocessable(page(
            "Audit log",
            signed_in,
            Section::AuditLog,
            body,
        )));
    }
    let mut entries = audit::search(
        state.db(),
        &AuditFilter {
            limit: PAGE_SIZE as i64 + 1,
            ..filter
        },
    )
    .await?;
    let older = entries.len() > PAGE_SIZE;
    entries.truncate(PAGE_SIZE);
    let results = Results {
        older_than: older
            .then(|| entries.last().map(|e| e.id.clone()))
            .flatten(),
        entries,
    };
    let body = body(view, signed_in, typed, &errors, Some(&results));
    Ok(page("Audit log", signed_in, Section::AuditLog, body).into_response())
}

struct Results {
    entries: Vec<Entry>,
    /// The id to continue from, when older entries exist.
    older_than: Option<String>,
}

/// The filters exactly as they arrived, to show them back.
pub struct Typed {
    actor: String,
    action: String,
    from: String,
    to: String,
    pub organization: String,
    before: String,
}

impl Typed {
    pub fn from_query(query: &HashMap<String, String>, with_organization: bool) -> Typed {
        let field = |name: &str| query.get(name).map_or("", |v| v.trim()).to_owned();
        Typed {
            actor: field("actor"),
            action: field("action"),
            from: field("from"),
            to: field("to"),
            organization: if with_organization {
                field("organization")
            } else {
                String::new()
            },
            before: field("before"),
        }
    }

    /// The search these filters ask for (without the organisation), and
    /// what is wrong with them, field by field.
    pub fn parse(&self) -> (AuditFilter<'_>, FormErrors) {
        let mut errors = FormErrors::default();
        if self.actor.chars().count() > MAX_ACTOR_CHARS {
            errors.add(
                "actor",
                format!("An actor's name is at most {MAX_ACTOR_CHARS} characters."),
            );
        }
        if !self.action.is_empty() && !action_choices().iter().any(|c| c.value == self.action) {
            errors.add("action", "Choose an action from the list.");
        }
        let from = parse_date(&self.from, "from", "start", &mut errors);
        let to = parse_date(&self.to, "to", "end", &mut errors);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            errors.add(
                "to",
                "The end date is before the start date. Choose an end date on or after it.",
            );
        }
        if !self.before.is_empty() && !is_entry_id(&self.before) {
            errors.add(
                "before",
                "This page link is damaged. Start again from the newest entries.",
            );
        }
        let filter = AuditFilter {
            organization_id: None,
            actor: non_empty(&self.actor),
            action: non_empty(&self.action),
            target: None,
            from_ms: from.map(start_of_day_ms),
            // The end date is inclusive: entries before the next midnight.
            until_ms: to.map(|to| to.next_day().map_or(i64::MAX, start_of_day_ms)),
            before_id: non_empty(&self.before),
            limit: PAGE_SIZE as i64,
        };
        (filter, errors)
    }

    /// The query string of this search, with `before` replaced.
    fn link(&self, path: &str, before: Option<&str>) -> String {
        let pairs = [
            ("organization", self.organization.as_str()),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
            ("before", before.unwrap_or("")),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

fn parse_date(
    typed: &str,
    field: &'static str,
    which: &str,
    errors: &mut FormErrors,
) -> Option<Date> {
    if typed.is_empty() {
        return None;
    }
    match Date::parse(typed, format_description!("[year]-[month]-[day]")) {
        Ok(date) => Some(date),
        Err(_) => {
            errors.add(
                field,
                format!(
                    "'{typed}' is not a date. Enter the {which} date as YYYY-MM-DD, for example 2025-03-31."
                ),
            );
            None
        }
    }
}

fn start_of_day_ms(date: Date) -> i64 {
    date.midnight().assume_utc().unix_timestamp() * 1000
}

/// Whether `value` looks like an audit entry id (`aud_` + 26 base32 chars).
fn is_entry_id(value: &str) -> bool {
    value.strip_prefix("aud_").is_some_and(|rest| {
        rest.len() == 26
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// One option of the action filter.
struct ActionChoice {
    value: String,
    label: String,
}

/// Every known action, then every family of two or more actions
/// (`api_key.*`), which the store matches by prefix.
fn action_choices() -> Vec<ActionChoice> {
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

fn body(
    view: &View<'_>,
    signed_in: &SignedIn,
    typed: &Typed,
    errors: &FormErrors,
    results: Option<&Results>,
) -> Markup {
    let deployment_wide = view.organizations.is_some();
    html! {
        section.card {
            div.page-head {
                h1 { "Audit log" }
            }
            p.hint {
                @if deployment_wide {
                    "Everything recorded on this deployment: sign-ins, organisations, rate limits, API clients and keys. Times are UTC."
                } @else if let Ok(member) = signed_in.member() {
                    "What happened in " (member.organization_name) ": sign-ins, keys, roles, users and settings. Times are UTC."
                }
            }
            (error_summary(errors))
            @if let Some(message) = errors.get("before") {
                p.error #before { (message) " " a href=(view.path) { "Newest entries" } }
            }
            (filter_form(view, typed, errors))
        }
        @if let Some(results) = results {
            section.card {
                (entries_table(view, results))
                (pagination(view, typed, results))
            }
        }
    }
}

fn filter_form(view: &View<'_>, typed: &Typed, errors: &FormErrors) -> Markup {
    let choices = action_choices();
    let typed_action_known = choices.iter().any(|c| c.value == typed.action);
    html! {
        form.filters #audit-filters method="get" action=(view.path) {
            @if let Some(organizations) = view.organizations {
                (ui::select("organization", "Organisation", None, errors, html! {
                    option value="" { "Every organisation" }
                    @for organization in organizations {
                        option value=(organization.slug) selected[organization.slug == typed.organization] {
                            (organization.name) " (" (organization.slug) ")"
                        }
                    }
                    @if errors.get("organization").is_some() {
                        option value=(typed.organization) selected { (typed.organization) }
                    }
                }))
            }
            (text_input("actor", "Actor", &typed.actor, errors, None))
            (ui::select("action", "Action", None, errors, html! {
                option value="" { "Any action" }
                @if !typed_action_known && !typed.action.is_empty() {
                    option value=(typed.action) selected { (typed.action) }
                }
                @for choice in &choices {
                    option value=(choice.value) selected[choice.value == typed.action] { (choice.label) }
                }
            }))
            (ui::date_input("from", "From", &typed.from, errors, None))
            (ui::date_input("to", "To (inclusive)", &typed.to, errors, None))
            div.actions {
                button type="submit" { "Filter" }
                a.button.secondary href=(view.path) { "Clear" }
            }
        }
    }
}

fn entries_table(view: &View<'_>, results: &Results) -> Markup {
    let organization_slug = |id: Option<&str>| -> Option<&str> {
        let organizations = view.organizations?;
        let id = id?;
        organizations
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.slug.as_str())
    };
    html! {
        @if results.entries.is_empty() {
            p #no-entries { "No entries match these filters." }
        } @else {
            div.table-wrap {
                table.stack #audit-entries {
                    thead {
                        tr {
                            th scope="col" { "Time (UTC)" }
                            @if view.organizations.is_some() { th scope="col" { "Organisation" } }
                            th scope="col" { "Actor" }
                            th scope="col" { "Action" }
                            th scope="col" { "Target" }
                            th scope="col" { "IP" }
                            th scope="col" { "Details" }
                        }
                    }
                    tbody {
                        @for entry in &results.entries {
                            tr id=(entry.id) {
                                td data-label="Time" {
                                    (precise_timestamp(entry.created_at))
                                }
                                @if view.organizations.is_some() {
                                    td data-label="Organisation" {
                                        @match organization_slug(entry.organization_id.as_deref()) {
                                            Some(slug) => code { (slug) },
                                            None => span.hint { "deployment" },
                                        }
                                    }
                                }
                                td data-label="Actor" {
                                    span.actor { (entry.actor_name) } " " span.status { (entry.actor_kind.replace('_', " ")) }
                                }
                                td data-label="Action" { code.action { (entry.action) } }
                                td data-label="Target" {
                                    @if let Some(target) = &entry.target { code { (target) } }
                                }
                                td data-label="IP" { @if let Some(ip) = &entry.ip { (ip) } }
                                td data-label="Details" {
                                    @if let Some(details) = &entry.details { span.details { (compact_details(details)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn pagination(view: &View<'_>, typed: &Typed, results: &Results) -> Markup {
    html! {
        @if results.older_than.is_some() || !typed.before.is_empty() {
            nav.actions aria-label="Audit log pages" {
                @if !typed.before.is_empty() {
                    a.button.secondary #newest-entries href=(typed.link(view.path, None)) { "Newest entries" }
                }
                @if let Some(older_than) = &results.older_than {
                    a.button.secondary #older-entries href=(typed.link(view.path, Some(older_than))) { "Older entries" }
                }
            }
        }
    }
}

/// Stored details (a JSON object) as one line: `name: value, …` in name
/// order, with nested values as compact JSON.
fn compact_details(stored: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(stored) {
        Ok(serde_json::Value::Object(members)) => members
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => format!("{name}: {text}"),
                other => format!("{name}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Ok(other) => other.to_string(),
        Err(_) => stored.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::paths;

    #[test]
    fn details_are_one_line() {
        assert_eq!(
            compact_details(
                r#"{"rate":5,"burst":10,"previous":{"rate":100,"burst":200},"who":"everyone"}"#
            ),
            r#"burst: 10, previous: {"burst":200,"rate":100}, rate: 5, who: everyone"#
        );
        assert_eq!(compact_details("not json"), "not json");
    }

    #[test]
    fn families_of_actions_are_offered_once() {
        let values: Vec<String> = action_choices().into_iter().map(|c| c.value).collect();
        for family in [
            "api_key.*",
            "api_client.*",
            "login.*",
            "organization.*",
            "user.*",
        ] {
            assert_eq!(
                values.iter().filter(|v| *v == family).count(),
                1,
                "{family}"
            );
        }
        // A family of one action, or an action without a family, is not offered.
        assert!(!values.iter().any(|v| v == "operator.*" || v == "logout.*"));
    }

    #[test]
    fn links_keep_the_filters() {
        let typed = Typed {
            actor: "admin acme".into(),
            action: "api_key.*".into(),
            from: "2025-01-01".into(),
            to: String::new(),
            organization: String::new(),
            before: "aud_x".into(),
        };
        assert_eq!(
            typed.link(paths::ORGANIZATION_AUDIT, Some("aud_y")),
            "/settings/audit?actor=admin%20acme&action=api_key.%2A&from=2025-01-01&before=aud_y"
        );
        assert_eq!(
            typed.link(paths::ORGANIZATION_AUDIT, None),
            "/settings/audit?actor=admin%20acme&action=api_key.%2A&from=2025-01-01"
        );
    }
}
