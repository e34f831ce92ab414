//! Every main console page in a real browser at a desktop width (1280 px)
//! and a phone's (390 px): it renders its heading, nothing but its own
//! tables scrolls sideways, and every form control has a label. The
//! screenshots in docs/screenshots come from here (`scripts/screenshots.sh`).

use crate::harness::{Backend, Browser, PASSWORD, TestApp, assert_succeeds, seed_organization};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(every_main_page_fits_a_desktop_and_a_phone_and_labels_its_controls);

/// (screenshot name, path, who signs in; `None`: nobody).
const PAGES: &[(&str, &str, Option<&str>)] = &[
    ("login", "/login", None),
    ("apply", "/apply", None),
    ("home", "/", Some("admin-acme")),
    ("api-keys", "/settings/api", Some("admin-acme")),
    ("generate-key", "/settings/api/new", Some("admin-acme")),
    ("roles", "/settings/roles", Some("admin-acme")),
    ("new-role", "/settings/roles/new", Some("admin-acme")),
    ("people", "/settings/people", Some("admin-acme")),
    (
        "organization-settings",
        "/settings/organization",
        Some("admin-acme"),
    ),
    (
        "connected-clients",
        "/settings/connected-clients",
        Some("admin-acme"),
    ),
    ("audit-log", "/settings/audit", Some("admin-acme")),
    ("account", "/account", Some("admin-acme")),
    ("two-factor", "/account/two-factor", Some("admin-acme")),
    (
        "operator-organizations",
        "/operator/organizations",
        Some("operator"),
    ),
    (
        "operator-organization",
        "/operator/organizations/acme",
        Some("operator"),
    ),
    ("operator-clients", "/operator/clients", Some("operator")),
];

/// Controls without an accessible name: no `<label for>`, no wrapping
/// label, no aria-label.
const UNLABELLED: &str = "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
    .map(e => e.outerHTML);";

/// The innermost elements that reach past the window's right edge.
const WIDEST: &str = "return Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .filter(e => !Array.from(e.children).some(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 1))
    .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));";

const OVERFLOW: &str =
    "return document.documentElement.scrollWidth - document.documentElement.clientWidth;";

async fn every_main_page_fits_a_desktop_and_a_phone_and_labels_its_controls(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    assert_succeeds(&app.tessera(&[
        "admin",
        "create-operator",
        "--username",
        "operator",
        "--password",
        PASSWORD,
    ]));
    assert_succeeds(&app.tessera(&[
        "admin",
        "create-bot",
        "--org",
        "acme",
        "--name",
        "payroll-sync",
    ]));
    crate::harness::create_key(
        &app,
        "admin-acme",
        json!({"name": "Calendar integration",
               "permissions": {"employees": {"actions": ["read"], "fields": ["id", "first_name", "last_name", "start_date", "end_date"]}}}),
    )
    .await;

    let browser = Browser::launch().await;
    let mut signed_in: Option<&str> = None;
    for (width, height) in [(1280, 900), (390, 844)] {
        browser.resize(width, height).await;
        for (name, path, who) in PAGES {
            if *who != signed_in {
                if signed_in.is_some() {
                    browser.go(&app.url("/")).await;
                    browser.click("form.signout button").await;
                    browser.wait_for_url(&app.url("/login")).await;
                }
                if let Some(username) = who {
                    browser.sign_in(&app, username).await;
                }
                signed_in = *who;
            }
            browser.go(&app.url(path)).await;
            let heading = browser.text("h1").await;
            assert!(!heading.is_empty(), "{path}: no heading");
            assert!(
                !heading.contains("Not allowed") && !heading.contains("not found"),
                "{path} as {who:?}: {heading}"
            );
            let overflow = browser.execute(OVERFLOW, vec![]).await;
            if overflow.as_i64().unwrap_or(0) > 0 {
                let culprits = browser.execute(WIDEST, vec![]).await;
                panic!("{path} scrolls sideways by {overflow} px at {width} px: {culprits}");
            }
            let unlabelled = browser.execute(UNLABELLED, vec![]).await;
            assert_eq!(unlabelled, json!([]), "{path}: controls without a label");
            browser.save_screenshot(&format!("{name}-{width}")).await;
        }
    }
    browser.quit().await;
}
