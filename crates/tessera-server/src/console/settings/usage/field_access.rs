//! Who can see this field: the keys whose effective access reads it now,
//! and the keys that received it, per day. The same answer as
//! `GET /api/v1/field-access`, for people.

use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::session::SignedIn;
use crate::console::ui::{self, cell, time};
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use tessera_core::resources::RESOURCES;
use tessera_core::usage::{DAY_MS, ROLLUP_RETENTION_DAYS, check_field, reads_field};
use tessera_store::now_ms;
use tessera_store::usage::{self as store, KeyReach};

#[derive(Deserialize)]
pub struct FieldQuery {
    /// `resource.field`, as the picker sends it.
    of: Option<String>,
}

fn picker(chosen: &str) -> Markup {
    html! {
        form.inline-filters method="get" action=(paths::FIELD_ACCESS) {
            label for="of" { "Field" }
            select #of name="of" {
                @for resource in RESOURCES {
                    optgroup label=(resource.title) {
                        @for field in resource.fields {
                            @let value = format!("{}.{}", resource.name, field.name);
                            option value=(value) selected[value == chosen] { (resource.title) " ▸ " (field.name) }
                        }
                    }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

fn reach_table(keys: &[&KeyReach]) -> Markup {
    html! {
        @if keys.is_empty() {
            p #no-reach { "No active key can read this field." }
        } @else {
            (ui::table("field-reach", &["Key", "Owner"], keys, |key| html! {
                tr data-key-id=(key.id) {
                    (cell("Key", html! { a href=(paths::key(&key.id)) { (key.name) } }))
                    (cell("Owner", html! { (key.owner_name) @if key.owner_kind == "bot" { " (bot)" } }))
                }
            }))
        }
    }
}

pub async fn field_access(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<FieldQuery>,
) -> PageResult {
    let member = signed_in.administrator()?;
    let chosen = query.of.unwrap_or_default();
    let target = chosen
        .split_once('.')
        .filter(|(resource, field)| check_field(resource, field).is_ok());
    let mut answer = None;
    if let Some((resource, field)) = target {
        let keys = store::key_reach(state.db(), member.organization_id).await?;
        let since = now_ms() - ROLLUP_RETENTION_DAYS * DAY_MS;
        let reads =
            store::read_counts(state.db(), member.organization_id, (resource, field), since)
                .await?;
        answer = Some((keys, reads, resource.to_owned(), field.to_owned()));
    }
    let body = html! {
        div.page-head { h1 { "Who can see a field" } }
        p.hint { "Which active keys can read a field now (their grant, limited by their owner's role), and which keys actually received it." }
        (picker(&chosen))
        @if !chosen.is_empty() && target.is_none() {
            p.error role="alert" { "There is no field “" (chosen) "”. Choose one from the list." }
        }
        @if let Some((keys, reads, resource, field)) = &answer {
            @let reach: Vec<&KeyReach> = keys.iter().filter(|k| k.usable && reads_field(&k.effective, resource, field)).collect();
            @let names: HashMap<&str, &str> = keys.iter().map(|k| (k.id.as_str(), k.name.as_str())).collect();
            section.card {
                h2 { "Keys that can read " code { (resource) "." (field) } " now" }
                (reach_table(&reach))
            }
            section.card {
                h2 { "Keys that received it" }
                @if reads.is_empty() {
                    p #no-reads { "No key received this field in the last 400 days." }
                } @else {
                    (ui::table("field-reads", &["Day", "Key", "Answers"], reads, |read| html! {
                        tr {
                            (cell("Day", html! { (time::date(read.day)) }))
                            (cell("Key", html! { @match names.get(read.key_id.as_str()) { Some(name) => a href=(paths::key(&read.key_id)) { (name) }, None => code { (read.key_id) } } }))
                            (cell("Answers", html! { (read.reads) }))
                        }
                    }))
                }
            }
        }
        p { a href=(paths::USAGE) { "← Back to usage" } }
    };
    Ok(page("Who can see a field", &signed_in, Section::Usage, body).into_response())
}
