//! The signed-in landing page: who you are, what needs attention, and
//! where to start. Members see what the console lets them see elsewhere:
//! administrators their organisation's keys, failing webhook endpoints and
//! latest audit entries; everyone else only their own keys.

use super::pages::{PageResult, Section, page};
use super::paths;
use super::session::{MemberContext, SignedIn};
use super::settings::api_keys::{EXPIRING_SOON_DAYS, expires_soon};
use super::ui::{self, time::timestamp};
use crate::AppState;
use crate::audit_view::{self, AuditRow};
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use maud::{Markup, html};
use tessera_core::usage::DAY_MS;
use tessera_store::accounts::Membership;
use tessera_store::api_keys::{self, ApiKey};
use tessera_store::webhooks::{self as stored_webhooks, Endpoint};
use tessera_store::{audit, now_ms};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::HOME, get(show))
}

/// How many keys, endpoints or audit entries a home-page list shows.
const SHOWN: usize = 5;

/// Most keys and endpoints read to find what needs attention.
const READ_LIMIT: i64 = 10_000;

/// What needs attention in the viewer's organisation, as far as they may
/// see it.
struct Attention {
    expiring: Vec<ApiKey>,
    never_used: Vec<ApiKey>,
    /// Endpoints failing now or disabled by Tessera; administrators only.
    failing: Option<Vec<Endpoint>>,
    /// The latest audit entries; administrators only.
    recent: Option<Vec<AuditRow>>,
}

async fn attention(
    state: &AppState,
    member: &MemberContext<'_>,
) -> Result<Attention, super::pages::PageError> {
    let only_own = (!member.is_administrator).then_some(member.account.id.as_str());
    let keys = api_keys::list(
        state.db(),
        member.organization_id,
        only_own,
        None,
        READ_LIMIT,
    )
    .await?;
    let now = now_ms();
    let mut expiring: Vec<ApiKey> = keys
        .iter()
        .filter(|k| expires_soon(k, now))
        .cloned()
        .collect();
    expiring.sort_by_key(|k| k.expires_at);
    // A key made in the last day may simply not be in use yet.
    let mut never_used: Vec<ApiKey> = keys
        .into_iter()
        .filter(|k| {
            k.status(now) == "active" && k.last_used_at.is_none() && k.created_at < now - DAY_MS
        })
        .collect();
    never_used.sort_by_key(|k| k.created_at);
    if !member.is_administrator {
        return Ok(Attention {
            expiring,
            never_used,
            failing: None,
            recent: None,
        });
    }
    let failing = stored_webhooks::list(state.db(), member.organization_id, None, READ_LIMIT)
        .await?
        .into_iter()
        .filter(|e| e.enabled && (e.failing_since.is_some() || e.disabled_reason.is_some()))
        .collect();
    let entries = audit::for_organization(state.db(), member.organization_id, SHOWN as i64).await?;
    let recent = audit_view::readable(state.db(), entries).await?;
    Ok(Attention {
        expiring,
        never_used,
        failing: Some(failing),
        recent: Some(recent),
    })
}

async fn show(State(state): State<AppState>, signed_in: SignedIn) -> PageResult {
    let attention = match signed_in.member() {
        Ok(member) => Some(attention(&state, &member).await?),
        Err(_) => None,
    };
    let body = html! {
        (welcome(&signed_in))
        @if let Some(attention) = &attention {
            (attention_cards(attention))
        }
        (getting_started(&signed_in))
    };
    Ok(page("Home", &signed_in, Section::Home, body).into_response())
}

fn welcome(viewer: &SignedIn) -> Markup {
    let account = viewer.account();
    html! {
        section.card {
            h1 { "Welcome, " (account.username) }
            dl.facts {
                dt { "Signed in as" }
                dd #signed-in-user { (account.username) }
                @match &account.membership {
                    Membership::Operator => {
                        dt { "Role" }
                        dd #role { "Operator" }
                        dt { "Scope" }
                        dd { "This deployment: organisations, API clients and rate limits." }
                    }
                    Membership::Member { organization_name, organization_slug, role_name, .. } => {
                        dt { "Organisation" }
                        dd #organization { (organization_name) " (" code { (organization_slug) } ")" }
                        dt { "Role" }
                        dd #role { (role_name) }
                    }
                }
            }
        }
    }
}

/// "Nothing needs attention", or each list with the way to act on it.
fn attention_cards(attention: &Attention) -> Markup {
    let all_clear = attention.expiring.is_empty()
        && attention.never_used.is_empty()
        && attention.failing.as_ref().is_none_or(Vec::is_empty);
    html! {
        section.card #attention {
            h2 { "Needs attention" }
            @if all_clear {
                p #all-clear { "Nothing needs attention: no key expires within " (EXPIRING_SOON_DAYS) " days, every key has been used, and every webhook endpoint delivers." }
            }
            @if !attention.expiring.is_empty() {
                h3 { "Keys expiring within " (EXPIRING_SOON_DAYS) " days" }
                (key_list("expiring-keys", &attention.expiring, |key| html! {
                    "expires " @if let Some(at) = key.expires_at { (timestamp(at)) }
                }))
                p { a #all-expiring href={ (paths::API_KEYS) "?expiring=1" } { "Every key expiring soon" } " · roll a key from its page to replace it without a gap." }
            }
            @if !attention.never_used.is_empty() {
                h3 { "Keys never used" }
                (key_list("unused-keys", &attention.never_used, |key| html! {
                    "created " (timestamp(key.created_at))
                }))
                p { a #all-unused href={ (paths::API_KEYS) "?unused=1" } { "Every unused key" } " · revoke the keys nobody needs." }
            }
            @if let Some(failing) = attention.failing.as_ref().filter(|f| !f.is_empty()) {
                h3 { "Failing webhook endpoints" }
                ul.attention #failing-endpoints {
                    @for endpoint in failing.iter().take(SHOWN) {
                        li {
                            a href=(paths::webhook(endpoint.id.as_str())) { code { (endpoint.url) } } " "
                            @match (endpoint.disabled_reason.as_deref(), endpoint.failing_since) {
                                (Some(_), _) => (ui::status_badge("disabled", "Disabled")),
                                (None, Some(since)) => { (ui::status_badge("failed", "Failing")) " since " (timestamp(since)) },
                                (None, None) => {},
                            }
                        }
                    }
                }
            }
        }
        @if let Some(recent) = &attention.recent {
            section.card #recent-activity {
                h2 { "Recent activity" }
                @if recent.is_empty() {
                    p { "Nothing recorded yet." }
                } @else {
                    ul.attention {
                        @for row in recent {
                            li {
                                (timestamp(row.entry.created_at)) " · " (row.entry.actor_name) " · "
                                code.nowrap { (row.entry.action) }
                                @if let Some(name) = &row.target_name { " · " (name) }
                            }
                        }
                    }
                    p { a #full-audit-log href=(paths::ORGANIZATION_AUDIT) { "The full audit log" } }
                }
            }
        }
    }
}

fn key_list(id: &str, keys: &[ApiKey], when: impl Fn(&ApiKey) -> Markup) -> Markup {
    html! {
        ul.attention id=(id) {
            @for key in keys.iter().take(SHOWN) {
                li data-key-id=(key.id) {
                    a href=(paths::key(&key.id)) { (key.name) } " "
                    span.hint { "(" (key.owner_name) ", " code.nowrap { (key.hint) } ") " (when(key)) }
                }
            }
            @if keys.len() > SHOWN {
                li.hint { "and " (keys.len() - SHOWN) " more" }
            }
        }
    }
}

fn getting_started(viewer: &SignedIn) -> Markup {
    let administrator = matches!(
        viewer.account().membership,
        Membership::Member {
            is_administrator: true,
            ..
        }
    );
    html! {
        section.card #getting-started {
            h2 { "Getting started" }
            ul {
                li { a #docs-link href="/docs" { "API documentation" } ": authentication, lists and paging, errors, and a try-it-out for every operation." }
                @match &viewer.account().membership {
                    Membership::Operator => {
                        li { a href=(paths::ORGANIZATIONS) { "Organisations" } ": create organisations and set their rate limits." }
                        li { a href=(paths::CLIENTS) { "API clients" } ": review applications from integrating companies." }
                    }
                    Membership::Member { .. } => {
                        li { a href=(paths::API_KEYS) { "API keys" } ": generate a key with only the permissions a program needs." }
                        @if administrator {
                            li { a href=(paths::ROLES) { "Roles" } " and " a href=(paths::PEOPLE) { "users and bots" } ": what people and integrations may do." }
                            li { a href=(paths::WEBHOOKS) { "Webhooks" } ": be told when records change instead of polling." }
                        }
                    }
                }
                li { a href="/openapi.json" { "OpenAPI description" } " for generating a client." }
            }
        }
    }
}
