//! Every console page, found by following the console's own links, checked
//! by axe-core in headless Chromium at a desktop width (1280 px) and a
//! phone's (390 px): no violation of serious or critical impact. The pages
//! are HTML whatever the backend, so one backend is enough.

use crate::harness::{
    Backend, Browser, Receiver, TestApp, assert_succeeds, axe_source, create_key, create_operator,
    seed_organization,
};
use serde_json::{Value, json};
use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;
use tessera_server::{ServerConfig, WebhookSettings};

/// Same-origin console links on the page, without query or fragment.
const LINKS: &str = "return Array.from(document.querySelectorAll('a[href]'))
    .map(a => new URL(a.href, document.baseURI))
    .filter(u => u.origin === location.origin)
    .map(u => u.pathname);";

/// Runs axe on the page; answers the serious and critical violations, one
/// line each, or a string starting `error:` when axe itself failed.
const AXE_RUN: &str = "const done = arguments[arguments.length - 1];
    axe.run(document, {resultTypes: ['violations']})
      .then(r => done(r.violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)))
      .catch(e => done('error: ' + e));";

/// Not pages a person reads: machine answers and documents served as-is.
fn is_console_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/docs")
        || path.starts_with("/assets/")
        || path == "/openapi.json"
        || path == "/metrics"
        || path == "/healthz"
        || path == "/readyz"
        || path == "/logout"
        || path.ends_with(".csv")
        || path.contains("/export"))
}

/// The path with its id-like segments (anything holding a digit) replaced,
/// so that one key page stands for all of them.
fn page_kind(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.chars().any(|c| c.is_ascii_digit()) {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn serious_violations(browser: &Browser) -> Vec<String> {
    browser.execute(&axe_source(), vec![]).await;
    let found = browser.execute_async(AXE_RUN, vec![]).await;
    match found {
        Value::Array(lines) => lines
            .into_iter()
            .map(|line| line.as_str().unwrap_or_default().to_owned())
            .collect(),
        other => panic!("axe did not run: {other}"),
    }
}

/// Visits every page reachable from `start` (one per kind), at both widths;
/// answers how many pages were checked, failing on any serious violation.
async fn check_reachable_pages(browser: &Browser, app: &TestApp, start: &[&str]) -> usize {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = start.iter().map(|p| (*p).to_owned()).collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    while let Some(path) = queue.pop_front() {
        if !is_console_page(&path) || !seen.insert(page_kind(&path)) {
            continue;
        }
        browser.resize(1280, 900).await;
        browser.go(&app.url(&path)).await;
        let links = browser.execute(LINKS, vec![]).await;
        queue.extend(
            links
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|link| link.as_str().map(str::to_owned)),
        );
        for width in [1280, 390] {
            browser.resize(width, 900).await;
            for violation in serious_violations(browser).await {
                problems.push(format!("{path} at {width} px: {violation}"));
            }
        }
        checked += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_passes_axe_at_desktop_and_phone_widths() {
    // Allowed to deliver to the test receiver, so that a delivered message
    // and its page exist.
    let config = ServerConfig {
        webhooks: WebhookSettings {
            allowed_networks: "127.0.0.1/32".parse().unwrap(),
            poll_interval: Duration::from_millis(100),
            ..WebhookSettings::default()
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    seed_organization(&app, "acme").await;
    create_operator(&app);
    assert_succeeds(&app.tessera(&[
        "admin",
        "create-bot",
        "--org",
        "acme",
        "--name",
        "payroll-sync",
    ]));
    create_key(&app, "admin-acme", json!({"name": "Calendar integration"})).await;
    let receiver = Receiver::start().await;
    let endpoint = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/webhook-endpoints",
            "admin-acme",
            Some(&json!({"url": receiver.url("/hook")})),
        )
        .await;
    assert_eq!(endpoint.status(), 201);
    let endpoint: Value = endpoint.json().await.unwrap();
    let test_event = app
        .as_user(
            reqwest::Method::POST,
            &format!(
                "/api/v1/webhook-endpoints/{}/test",
                endpoint["id"].as_str().unwrap()
            ),
            "admin-acme",
            None,
        )
        .await;
    assert!(test_event.status().is_success(), "{}", test_event.status());
    receiver.wait_for(1, Duration::from_secs(20)).await;

    let browser = Browser::launch().await;
    let public = check_reachable_pages(&browser, &app, &["/login", "/apply"]).await;
    browser.sign_in(&app, "admin-acme").await;
    let administrator = check_reachable_pages(&browser, &app, &["/"]).await;
    browser.go(&app.url("/")).await;
    browser.click("form.signout button").await;
    browser.wait_for_url(&app.url("/login")).await;
    browser.sign_in(&app, "ops").await;
    let operator = check_reachable_pages(&browser, &app, &["/"]).await;
    browser.quit().await;
    // Guards against a crawl that silently stopped at the first page.
    assert!(public >= 2, "public pages checked: {public}");
    assert!(
        administrator >= 15,
        "administrator pages checked: {administrator}"
    );
    assert!(operator >= 3, "operator pages checked: {operator}");
}
