//! One key's detail page: its facts, what it can reach now, and its audit
//! trail.

use super::{key_access, key_access_summary, status_badges, visible_key};
use crate::AppState;
use crate::console::pages::{PageError, PageResult, Section, page};
use crate::console::paths;
use crate::console::permission_form;
use crate::console::session::SignedIn;
use crate::console::settings::usage;
use crate::console::ui::{self, cell, time::timestamp};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use maud::{Markup, html};
use tessera_core::permissions::Access;
use tessera_store::api_keys::{ApiKey, Owner};
use tessera_store::audit::{self, Entry};
use tessera_store::{api_clients, bots, now_ms, roles};

/// The key's owner's current role, which bounds what the key can do.
async fn owner_access(
    state: &AppState,
    key: &ApiKey,
) -> Result<Option<(String, Access)>, PageError> {
    let role_id = match &key.owner {
        Owner::Account(id) => match tessera_store::accounts::find_by_id(state.db(), id).await? {
            Some(tessera_store::accounts::Account {
                membership: tessera_store::accounts::Membership::Member { role_id, .. },
                ..
            }) => role_id,
            _ => return Ok(None),
        },
        Owner::Bot(id) => match bots::find_by_id(state.db(), &key.organization_id, id).await? {
            Some(bot) => bot.role_id,
            None => return Ok(None),
        },
    };
    Ok(
        roles::find_by_id(state.db(), &key.organization_id, &role_id)
            .await?
            .map(|role| (role.name, role.access)),
    )
}

pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> PageResult {
    let member = signed_in.member()?;
    let key = visible_key(&state, &member, &id).await?;
    let granted = key_access(&state, &key).await?;
    let bound = owner_access(&state, &key).await?;
    let effective = match &bound {
        Some((_, owner)) => granted.intersect(owner),
        None => Access::Limited(Default::default()),
    };
    let trail = audit::search(
        state.db(),
        &audit::AuditFilter {
            organization_id: Some(member.organization_id),
            target: Some(&key.id),
            limit: 100,
            ..Default::default()
        },
    )
    .await?;
    let now = now_ms();
    let status = key.status(now);
    let client_name = match &key.client_id {
        Some(id) => api_clients::find_by_id(state.db(), id)
            .await?
            .map(|c| c.name),
        None => None,
    };
    let usage = usage::daily_chart(&state, member.organization_id, Some(&key.id), 30).await?;
    let body = html! {
        div.page-head {
            h1 { (key.name) }
            div.actions {
                @if status == "active" {
                    a.button.secondary #roll-key href=(paths::key_roll(&key.id)) { "Roll key" }
                    a.button.danger #revoke-key href=(paths::key_revoke(&key.id)) { "✕ Revoke" }
                }
            }
        }
        (facts(&key, now, client_name.as_deref()))
        (usage_card(&usage))
        section.card {
            h2 { "Fields it can access" }
            @match &bound {
                Some((role_name, _)) => p.hint { "What the key can reach now: its grant, limited by its owner's role (" (role_name) "). Changes to that role apply at once." },
                None => p.hint { "The key's owner no longer has a role, so the key reaches nothing." },
            }
            (permission_form::detail(&effective))
        }
        (audit_trail(&trail))
        p { a href=(paths::API_KEYS) { "← Back to API keys" } }
    };
    Ok(page(&key.name, &signed_in, Section::ApiKeys, body).into_response())
}

fn facts(key: &ApiKey, now: i64, client_name: Option<&str>) -> Markup {
    html! {
        section.card {
            dl.facts #key-facts {
                dt { "Status" } dd #key-status { (status_badges(key, now)) }
                dt { "Key" } dd { code.nowrap { (key.hint) } }
                dt { "Id" } dd { code { (key.id) } }
                dt { "Owner" } dd { (key.owner_name) @if key.owner.kind() == "bot" { " (bot user)" } }
                dt { "Permissions" } dd { (key_access_summary(key)) }
                dt { "Created" } dd { (timestamp(key.created_at)) }
                dt { "Last used" } dd {
                    @match key.last_used_at {
                        Some(t) => { (timestamp(t)) @if let Some(ip) = &key.last_used_ip { " from " code { (ip) } } },
                        None => "Never",
                    }
                }
                dt { "Expires" } dd { @match key.expires_at { Some(t) => (timestamp(t)), None => "Never" } }
                @if let Some(t) = key.revoked_at {
                    dt { "Revoked" } dd { (timestamp(t)) @if let Some(reason) = &key.revoked_reason { " (" (reason.replace('_', " ")) ")" } }
                }
                dt { "IP allow-list" } dd {
                    @match &key.ip_allowlist {
                        Some(list) => { @for (i, range) in list.iter().enumerate() { @if i > 0 { ", " } code { (range) } } },
                        None => "Any address",
                    }
                }
                dt { "API client" } dd #key-client {
                    @match (&key.client_id, client_name) {
                        (Some(id), Some(name)) => { (name) " " code.target-id { (id) } },
                        (Some(id), None) => code { (id) },
                        (None, _) => "Not bound; works without a client",
                    }
                }
            }
        }
    }
}

/// The key's requests per day over 30 days, with their total.
fn usage_card(days: &[usage::chart::Day]) -> Markup {
    let total: i64 = days.iter().map(usage::chart::Day::total).sum();
    html! {
        section.card {
            h2 { "Usage" }
            p #key-requests-30d { (ui::count(total, "request", "requests")) " in the last 30 days." }
            (usage::chart::requests_per_day("key-usage-chart", "Requests per day with this key, last 30 days", days))
        }
    }
}

fn audit_trail(trail: &[Entry]) -> Markup {
    html! {
        section.card {
            h2 { "Audit trail" }
            @if trail.is_empty() {
                p { "Nothing recorded for this key." }
            } @else {
                (ui::table("key-audit", &["When", "Who", "What", "From"], trail, |entry| html! {
                    tr {
                        (cell("When", html! { (timestamp(entry.created_at)) }))
                        (cell("Who", html! { (entry.actor_name) " (" (entry.actor_kind) ")" }))
                        (cell("What", html! { code.nowrap { (entry.action) } }))
                        (cell("From", html! { (entry.ip.as_deref().unwrap_or("—")) }))
                    }
                }))
            }
        }
    }
}
