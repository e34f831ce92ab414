//! The list of API keys: all of the organisation's for administrators,
//! one's own for everyone else. Live keys are shown by default; revoked
//! and expired keys have their own tabs. A GET form searches (name, hint,
//! owner) and filters (owner, expiring soon, unused); the server pages the
//! result and counts it, so a filtered page is a link.

use super::{EXPIRING_SOON_DAYS, expires_soon, key_access_summary, own_role, status_badges};
use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::flash::{Flash, Messages};
use crate::console::ui::{self, cell, notice, time};
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{Markup, html};
use std::collections::{BTreeSet, HashMap};
use tessera_ops::keys;
use tessera_store::api_keys::{self, ApiKey};
use tessera_store::now_ms;

const DONE: Messages = &[
    (
        "revoked",
        "The key was revoked. Requests with it are refused from now on.",
    ),
    (
        "revoked-all",
        "Every API key of the organisation was revoked.",
    ),
];

/// Most keys the console reads for one list; an organisation with more is
/// told so, and the key-management API lists them all.
const LIST_LIMIT: i64 = 10_000;

/// Keys per page.
const PAGE_SIZE: usize = 25;

/// A key counts as unused when it has not been used for this many days.
const UNUSED_DAYS: i64 = 30;

/// The tabs: which keys by their state.
const TABS: [(&str, &str); 4] = [
    ("live", "Live"),
    ("revoked", "Revoked"),
    ("expired", "Expired"),
    ("all", "All"),
];

/// The list's query string as typed; anything unknown is ignored.
struct ListQuery {
    search: String,
    owner: String,
    tab: &'static str,
    expiring: bool,
    unused: bool,
    page: usize,
}

impl ListQuery {
    fn read(query: &HashMap<String, String>) -> ListQuery {
        let text = |name: &str| query.get(name).map_or("", |v| v.trim()).to_owned();
        let tab = TABS
            .iter()
            .map(|(value, _)| *value)
            .find(|value| *value == text("status"))
            .unwrap_or("live");
        ListQuery {
            search: text("q"),
            owner: text("owner"),
            tab,
            expiring: !text("expiring").is_empty(),
            unused: !text("unused").is_empty(),
            page: text("page").parse().ok().filter(|p| *p >= 1).unwrap_or(1),
        }
    }

    /// The address of this list with another tab or page.
    fn link(&self, tab: &str, page: usize) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.search.is_empty() {
            pairs.push(("q", self.search.clone()));
        }
        if !self.owner.is_empty() {
            pairs.push(("owner", self.owner.clone()));
        }
        if tab != "live" {
            pairs.push(("status", tab.to_owned()));
        }
        if self.expiring {
            pairs.push(("expiring", "1".to_owned()));
        }
        if self.unused {
            pairs.push(("unused", "1".to_owned()));
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        if pairs.is_empty() {
            return paths::API_KEYS.to_owned();
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", paths::percent_encode(value)))
            .collect();
        format!("{}?{}", paths::API_KEYS, query.join("&"))
    }

    /// Whether `key` matches the search and filters (not the tab).
    fn matches(&self, key: &ApiKey, now: i64) -> bool {
        let search = self.search.to_lowercase();
        let found = search.is_empty()
            || [&key.name, &key.hint, &key.owner_name]
                .iter()
                .any(|text| text.to_lowercase().contains(&search));
        found
            && (self.owner.is_empty() || owner_value(key) == self.owner)
            && (!self.expiring || expires_soon(key, now))
            && (!self.unused || is_unused(key, now))
    }
}

/// Which tab a key belongs to.
fn tab_of(key: &ApiKey, now: i64) -> &'static str {
    match key.status(now) {
        "active" => "live",
        other => other,
    }
}

/// Live and never used, or not used for [`UNUSED_DAYS`].
pub(crate) fn is_unused(key: &ApiKey, now: i64) -> bool {
    key.status(now) == "active"
        && key
            .last_used_at
            .is_none_or(|at| at < now - UNUSED_DAYS * keys::DAY_MS)
}

/// The owner filter's value for a key: `user:name` or `bot:name`.
fn owner_value(key: &ApiKey) -> String {
    format!("{}:{}", key.owner.kind(), key.owner_name)
}

/// One page of the list, and the counts around it.
struct Listing<'k> {
    /// Whether the organisation (or the member) has any key at all.
    any: bool,
    owners: BTreeSet<(String, String)>,
    live_keys: usize,
    /// Keys matching the search and filters, per tab.
    counts: HashMap<&'static str, usize>,
    /// How many keys the current tab holds.
    total: usize,
    on_page: Vec<&'k ApiKey>,
    /// The position of the page's first key in the tab, from 0.
    start: usize,
    page_number: usize,
    pages: usize,
    truncated: bool,
}

impl<'k> Listing<'k> {
    fn new(keys: &'k [ApiKey], query: &ListQuery, truncated: bool, now: i64) -> Listing<'k> {
        let matching: Vec<&ApiKey> = keys.iter().filter(|k| query.matches(k, now)).collect();
        let counts = TABS
            .iter()
            .map(|(tab, _)| {
                let count = matching
                    .iter()
                    .filter(|k| *tab == "all" || tab_of(k, now) == *tab)
                    .count();
                (*tab, count)
            })
            .collect();
        let shown: Vec<&ApiKey> = matching
            .into_iter()
            .filter(|k| query.tab == "all" || tab_of(k, now) == query.tab)
            .collect();
        let pages = shown.len().div_ceil(PAGE_SIZE).max(1);
        let page_number = query.page.min(pages);
        let start = (page_number - 1) * PAGE_SIZE;
        Listing {
            any: !keys.is_empty(),
            owners: keys
                .iter()
                .map(|k| (owner_value(k), owner_label(k)))
                .collect(),
            live_keys: keys.iter().filter(|k| tab_of(k, now) == "live").count(),
            counts,
            total: shown.len(),
            on_page: shown.into_iter().skip(start).take(PAGE_SIZE).collect(),
            start,
            page_number,
            pages,
            truncated,
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(flash): Query<Flash>,
    Query(raw): Query<HashMap<String, String>>,
) -> PageResult {
    let member = signed_in.member()?;
    let query = ListQuery::read(&raw);
    let only_own = (!member.is_administrator).then_some(member.account.id.as_str());
    let mut keys = api_keys::list(
        state.db(),
        member.organization_id,
        only_own,
        None,
        LIST_LIMIT + 1,
    )
    .await?;
    let truncated = keys.len() as i64 > LIST_LIMIT;
    keys.truncate(LIST_LIMIT as usize);
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let now = now_ms();
    let listing = Listing::new(&keys, &query, truncated, now);
    let role = own_role(&state, &member).await?;
    let may_create = keys::may_create_keys(state.ops(), &role, member.organization_id).await?;
    let body = html! {
        div.page-head {
            h1 { "API keys" }
            @if may_create {
                a.button #generate-key href=(paths::NEW_KEY) { "Generate key" }
            }
        }
        (notice(flash.message(DONE)))
        @if !may_create {
            p.hint #creation-policy { "Only administrators can create API keys in this organisation. Ask one if you need a key." }
        }
        @if !member.is_administrator {
            p.hint { "You see the keys you own." }
        }
        @if listing.any {
            (keys_card(&query, &listing, member.is_administrator, now))
        } @else {
            section.card #no-keys {
                p { "There are no API keys yet. A key lets a program read and change this organisation's records through the API, with the permissions you choose." }
                p { a href="/docs" { "Read the API documentation" } " to see what a key can do." }
            }
        }
        @if member.is_administrator && listing.live_keys > 0 {
            section.card.danger-zone #revoke-all-card {
                h2 { "Revoke all keys" }
                p { "Stops every API key of " (member.organization_name) " at once. Integrations stop working until they get new keys. This cannot be undone." }
                a.button.danger #revoke-all href=(paths::REVOKE_ALL_KEYS) { "Revoke ALL keys" }
            }
        }
    };
    Ok(page("API keys", &signed_in, Section::ApiKeys, body).into_response())
}

/// The filters, the tabs and one page of keys.
fn keys_card(query: &ListQuery, listing: &Listing<'_>, by_owner: bool, now: i64) -> Markup {
    html! {
        section.card {
            (filter_form(query, &listing.owners, by_owner))
            nav aria-label="Keys by status" {
                ul.tabs {
                    @for (tab, label) in TABS {
                        li {
                            a href=(query.link(tab, 1)) aria-current=[(tab == query.tab).then_some("page")] id={ "tab-" (tab) } {
                                (label) " (" (listing.counts.get(tab).copied().unwrap_or(0)) ")"
                            }
                        }
                    }
                }
            }
            @if listing.on_page.is_empty() {
                p #no-matching-keys { "No keys match." }
            } @else {
                p.counts #key-count {
                    "Showing " (listing.start + 1) "–" (listing.start + listing.on_page.len()) " of " (ui::count(listing.total as i64, "key", "keys"))
                }
                (keys_table(&listing.on_page, now))
                (pagination(query, listing.page_number, listing.pages))
            }
            @if listing.truncated {
                p.hint { "The console reads the " (LIST_LIMIT) " oldest keys; the key-management API lists them all." }
            }
        }
    }
}

fn owner_label(key: &ApiKey) -> String {
    match key.owner.kind() {
        "bot" => format!("{} (bot)", key.owner_name),
        _ => key.owner_name.clone(),
    }
}

fn filter_form(query: &ListQuery, owners: &BTreeSet<(String, String)>, by_owner: bool) -> Markup {
    html! {
        form.filters #key-filters method="get" action=(paths::API_KEYS) role="search" {
            @if query.tab != "live" {
                input type="hidden" name="status" value=(query.tab);
            }
            div.field {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(query.search) placeholder="Name, key or owner";
            }
            @if by_owner {
                div.field {
                    label for="owner" { "Owner" }
                    select #owner name="owner" {
                        option value="" { "Anyone" }
                        @for (value, label) in owners {
                            option value=(value) selected[*value == query.owner] { (label) }
                        }
                    }
                }
            }
            label.check {
                input #expiring type="checkbox" name="expiring" value="1" checked[query.expiring];
                "Expiring within " (EXPIRING_SOON_DAYS) " days"
            }
            label.check {
                input #unused type="checkbox" name="unused" value="1" checked[query.unused];
                "Unused (30 days)"
            }
            div.actions {
                button #apply-filters type="submit" { "Filter" }
                a.button.secondary href=(paths::API_KEYS) { "Clear" }
            }
        }
    }
}

fn pagination(query: &ListQuery, page_number: usize, pages: usize) -> Markup {
    html! {
        @if pages > 1 {
            nav.actions.pages aria-label="Pages of keys" {
                @if page_number > 1 {
                    a.button.secondary #first-page href=(query.link(query.tab, 1)) { "First page" }
                    a.button.secondary #previous-page rel="prev" href=(query.link(query.tab, page_number - 1)) { "← Previous" }
                }
                span.counts #page-number { "Page " (page_number) " of " (pages) }
                @if page_number < pages {
                    a.button.secondary #next-page rel="next" href=(query.link(query.tab, page_number + 1)) { "Next →" }
                }
            }
        }
    }
}

const COLUMNS: [ui::Column; 9] = [
    "Name",
    "Owner",
    "Key",
    "Permissions",
    "Created",
    "Last used",
    "Expires",
    "Status",
    "Actions",
];

fn keys_table(keys: &[&ApiKey], now: i64) -> Markup {
    let or_never = |at: Option<i64>| match at {
        Some(at) => time::timestamp(at),
        None => html! { "Never" },
    };
    ui::table("keys", &COLUMNS, keys, |key| {
        let live = key.status(now) == "active";
        html! {
            tr data-key-id=(key.id) {
                (cell("Name", html! { a href=(paths::key(&key.id)) { (key.name) } }))
                (cell("Owner", html! { (owner_label(key)) }))
                (cell("Key", html! { code.nowrap { (key.hint) } }))
                (cell("Permissions", html! { (key_access_summary(key)) }))
                (cell("Created", time::timestamp(key.created_at)))
                (cell("Last used", or_never(key.last_used_at)))
                (cell("Expires", or_never(key.expires_at)))
                (cell("Status", status_badges(key, now)))
                td.row-actions {
                    @if live {
                        a.button.secondary.small.revoke href=(paths::key_revoke(&key.id)) aria-label={ "Revoke " (key.name) } { "✕ Revoke" }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_search_and_filters() {
        let query = ListQuery::read(&HashMap::from([
            ("q".to_owned(), "nightly sync".to_owned()),
            ("unused".to_owned(), "1".to_owned()),
            ("status".to_owned(), "bogus".to_owned()),
        ]));
        assert_eq!(query.tab, "live");
        assert_eq!(
            query.link("revoked", 2),
            "/settings/api?q=nightly%20sync&status=revoked&unused=1&page=2"
        );
        assert_eq!(
            query.link("live", 1),
            "/settings/api?q=nightly%20sync&unused=1"
        );
    }
}
