//! The one page that shows a new (or rolled) key, with a curl command that
//! tries it.

use super::key_access;
use crate::AppState;
use crate::console::pages::{PageResult, Section, page};
use crate::console::paths;
use crate::console::permission_form;
use crate::console::session::SignedIn;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use maud::{Markup, html};
use tessera_core::permissions::{Access, Action};
use tessera_core::resources::RESOURCES;
use tessera_ops::keys::IssuedKey;
use tessera_store::api_keys::ApiKey;

/// The address examples should use: what the browser used to reach us.
fn base_url(state: &AppState, signed_in: &SignedIn, headers: &HeaderMap) -> String {
    let scheme = if state.config().secure_cookies || signed_in.client.forwarded_https {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost:8080");
    format!("{scheme}://{host}")
}

/// A curl command that works with the new key: a read of the first
/// resource the key may read.
fn curl_example(base: &str, key: &ApiKey, raw: &str, access: &Access) -> String {
    let readable = RESOURCES
        .iter()
        .find(|r| access.allows(r.name, Action::Read))
        .map_or("employees", |r| r.name);
    let fields = access
        .field_restriction(readable)
        .map(|f| {
            format!(
                "?fields={}",
                f.iter().cloned().collect::<Vec<_>>().join(",")
            )
        })
        .unwrap_or_default();
    let client = if key.client_id.is_some() {
        " \\\n  -H 'X-API-Client: ck_…your client credential…'"
    } else {
        ""
    };
    format!("curl -H 'X-API-KEY: {raw}'{client} \\\n  '{base}/api/v1/{readable}{fields}'")
}

/// What the issued-key page shows.
#[derive(Clone, Copy)]
struct Shown<'a> {
    key: &'a ApiKey,
    raw: &'a str,
    heading: &'a str,
    curl: &'a str,
    access: &'a Access,
}

/// The one page that shows a raw key. It is not cached anywhere.
fn issued_page_markup(signed_in: &SignedIn, shown: &Shown<'_>) -> Markup {
    let Shown {
        key,
        raw,
        heading,
        curl,
        access,
    } = *shown;
    let body = html! {
        section.card {
            h1 { (heading) }
            p.warning role="alert" { strong { "Copy this key now." } " It is shown only once: Tessera stores only a hash of it. If you lose it, revoke it and generate another." }
            h2 { (key.name) }
            pre.secret #new-key { (raw) }
            button.secondary #copy-key type="button" data-copy="new-key" hidden { "Copy key" }
            h2 { "Try it" }
            p { "This request reads with the new key (the key works at once):" }
            pre.secret #curl-example { (curl) }
            button.secondary #copy-curl type="button" data-copy="curl-example" hidden { "Copy command" }
            h2 { "What it can do" }
            (permission_form::detail(access))
            p.actions {
                a.button href=(paths::key(&key.id)) { "Key details" }
                a.button.secondary #back-to-keys href=(paths::API_KEYS) { "Back to API keys" }
            }
        }
    };
    page(heading, signed_in, Section::ApiKeys, body)
}

pub async fn issued_page(
    state: &AppState,
    signed_in: &SignedIn,
    headers: &HeaderMap,
    issued: &IssuedKey,
    heading: &str,
) -> PageResult {
    let access = key_access(state, &issued.key).await?;
    let base = base_url(state, signed_in, headers);
    let curl = curl_example(&base, &issued.key, &issued.raw, &access);
    let mut response = (
        StatusCode::CREATED,
        issued_page_markup(
            signed_in,
            &Shown {
                key: &issued.key,
                raw: &issued.raw,
                heading,
                curl: &curl,
                access: &access,
            },
        ),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
