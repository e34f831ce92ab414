//! The audit log page, shared by `settings::audit` and `operator::audit`:
//! who did what, when, from where. Administrators see their organisation's
//! entries; operators see the whole deployment's, optionally narrowed to
//! one organisation. The filters are a GET form, so a filtered page is a
//! link that can be shared or bookmarked; pages are keyed by entry id both
//! ways ("Newer entries", "Older entries"), and "Download CSV" exports
//! every entry the filters match (up to [`EXPORT_LIMIT`]).

use super::form::FormErrors;
use super::pages::{PageResult, Section, page};
use super::paths;
use super::session::SignedIn;
use super::ui::{self, error_summary, text_input, time::timestamp, unprocessable};
use crate::AppState;
use crate::audit_view::{self, AuditRow, EXPORT_LIMIT, action_choices, is_action_filter};
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use maud::{Markup, html};
use std::collections::HashMap;
use tessera_store::audit::{self, AuditFilter};
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
    /// Where the same filters download as CSV.
    pub export_path: &'static str,
    pub organizations: Option<&'a [Organization]>,
}

impl View<'_> {
    /// The organisation slug of each row, on the deployment-wide log.
    fn name_organizations(&self, rows: &mut [AuditRow]) {
        let Some(organizations) = self.organizations else {
            return;
        };
        for row in rows {
            row.organization = row.entry.organization_id.as_ref().and_then(|id| {
                organizations
                    .iter()
                    .find(|o| &o.id == id)
                    .map(|o| o.slug.clone())
            });
        }
    }
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
    let paging_newer = filter.before_id.is_none() && filter.after_id.is_some();
    let mut entries = audit::search(
        state.db(),
        &AuditFilter {
            limit: PAGE_SIZE as i64 + 1,
            ..filter
        },
    )
    .await?;
    let more = entries.len() > PAGE_SIZE;
    if paging_newer {
        // The newest of the fetched entries lie beyond this page.
        let extra = entries.len().saturating_sub(PAGE_SIZE);
        entries.drain(..extra);
    } else {
        entries.truncate(PAGE_SIZE);
    }
    let first = entries.first().map(|e| e.id.clone());
    let last = entries.last().map(|e| e.id.clone());
    let mut rows = audit_view::readable(state.db(), entries).await?;
    view.name_organizations(&mut rows);
    let results = Results {
        // Paging towards newer entries came from an older page, which is
        // still there; paging back from a newer page, newer ones exist.
        older_than: if paging_newer || more { last } else { None },
        newer_than: if paging_newer && !more {
            None
        } else if paging_newer || filter.before_id.is_some() {
            first
        } else {
            None
        },
        rows,
    };
    let body = body(view, signed_in, typed, &errors, Some(&results));
    Ok(page("Audit log", signed_in, Section::AuditLog, body).into_response())
}

/// Every entry the filters match, newest first, as a CSV download; the
/// page's own paging position is ignored.
pub async fn export(
    state: &AppState,
    signed_in: &SignedIn,
    view: &View<'_>,
    typed: &Typed,
    filter: AuditFilter<'_>,
    errors: FormErrors,
) -> PageResult {
    if !errors.is_empty() {
        return show(state, signed_in, view, typed, filter, errors).await;
    }
    let entries = audit::search(
        state.db(),
        &AuditFilter {
            before_id: None,
            after_id: None,
            limit: EXPORT_LIMIT,
            ..filter
        },
    )
    .await?;
    let mut rows = audit_view::readable(state.db(), entries).await?;
    view.name_organizations(&mut rows);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
            ),
        ],
        audit_view::csv(&rows, view.organizations.is_some()),
    )
        .into_response())
}

struct Results {
    rows: Vec<AuditRow>,
    /// The id to continue from, when older entries exist.
    older_than: Option<String>,
    /// The id to go back from, when newer entries exist.
    newer_than: Option<String>,
}

/// The filters exactly as they arrived, to show them back.
pub struct Typed {
    actor: String,
    action: String,
    from: String,
    to: String,
    pub organization: String,
    before: String,
    after: String,
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
            after: field("after"),
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
        if !self.action.is_empty() && !is_action_filter(&self.action) {
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
        if [&self.before, &self.after]
            .iter()
            .any(|id| !id.is_empty() && !is_entry_id(id))
        {
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
            after_id: non_empty(&self.after),
            limit: PAGE_SIZE as i64,
        };
        (filter, errors)
    }

    /// The query string of this search at another page: `before` or
    /// `after` an entry, or (both `None`) the newest entries.
    fn link(&self, path: &str, before: Option<&str>, after: Option<&str>) -> String {
        let pairs = [
            ("organization", self.organization.as_str()),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
            ("before", before.unwrap_or("")),
            ("after", after.unwrap_or("")),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", paths::percent_encode(value)))
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
            div.actions.filter-actions {
                button type="submit" { "Filter" }
                a.button.secondary href=(view.path) { "Clear" }
            }
        }
    }
}

fn entries_table(view: &View<'_>, results: &Results) -> Markup {
    html! {
        @if results.rows.is_empty() {
            p #no-entries { "No entries match these filters." }
        } @else {
            div.table-wrap tabindex="0" {
                table.stack #audit-entries {
                    thead {
                        tr {
                            th scope="col" { "Time" }
                            @if view.organizations.is_some() { th scope="col" { "Organisation" } }
                            th scope="col" { "Actor" }
                            th scope="col" { "Action" }
                            th scope="col" { "Target" }
                            th scope="col" { "IP" }
                            th scope="col" { "Details" }
                        }
                    }
                    tbody {
                        @for row in &results.rows {
                            @let entry = &row.entry;
                            tr id=(entry.id) {
                                td.nowrap data-label="Time" { (timestamp(entry.created_at)) }
                                @if view.organizations.is_some() {
                                    td data-label="Organisation" {
                                        @match &row.organization {
                                            Some(slug) => code.nowrap { (slug) },
                                            None => span.hint { "deployment" },
                                        }
                                    }
                                }
                                td data-label="Actor" {
                                    span.actor { (entry.actor_name) } " " span.hint.actor-kind { "(" (entry.actor_kind.replace('_', " ")) ")" }
                                }
                                td data-label="Action" { code.action.nowrap { (entry.action) } }
                                td.target data-label="Target" { (target(row)) }
                                td.nowrap data-label="IP" { @if let Some(ip) = &entry.ip { (ip) } }
                                td data-label="Details" {
                                    @if !row.details.is_empty() { span.details { (row.details) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A target by its name with its id beside it (and in the tooltip); a
/// target that no longer exists shows only its id.
fn target(row: &AuditRow) -> Markup {
    html! {
        @if let Some(id) = &row.entry.target {
            @match &row.target_name {
                Some(name) => {
                    span.target-name title=(id) { (name) }
                    " " code.target-id.nowrap { (id) }
                }
                None => { code.target-id.nowrap title="No longer exists" { (id) } }
            }
        }
    }
}

fn pagination(view: &View<'_>, typed: &Typed, results: &Results) -> Markup {
    let paged = !typed.before.is_empty() || !typed.after.is_empty();
    html! {
        nav.actions.pages aria-label="Audit log pages" {
            @if paged {
                a.button.secondary #newest-entries href=(typed.link(view.path, None, None)) { "Newest entries" }
            }
            @if let Some(newer_than) = &results.newer_than {
                a.button.secondary #newer-entries href=(typed.link(view.path, None, Some(newer_than))) { "← Newer entries" }
            }
            @if let Some(older_than) = &results.older_than {
                a.button.secondary #older-entries href=(typed.link(view.path, Some(older_than), None)) { "Older entries →" }
            }
            @if !results.rows.is_empty() {
                a.button.secondary #export-csv href=(typed.link(view.export_path, None, None)) download { "Download CSV" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            after: String::new(),
        };
        assert_eq!(
            typed.link(paths::ORGANIZATION_AUDIT, Some("aud_y"), None),
            "/settings/audit?actor=admin%20acme&action=api_key.%2A&from=2025-01-01&before=aud_y"
        );
        assert_eq!(
            typed.link(paths::ORGANIZATION_AUDIT, None, None),
            "/settings/audit?actor=admin%20acme&action=api_key.%2A&from=2025-01-01"
        );
    }
}
