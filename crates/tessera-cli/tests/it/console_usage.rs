//! Settings ▸ Usage and a key's chart in a real browser: one bar per day,
//! the right totals in each bar's accessible text, and unused keys revoked
//! from their list.

use crate::harness::{
    Backend, Browser, TestApp, create_key, get_with_key, seed_organization, within,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_server::{ServerConfig, UsageSettings};

on_both_backends!(the_usage_page_and_a_keys_chart_show_each_day);

/// The accessible text of each bar of the chart `svg_id`, oldest day first.
async fn bar_titles(browser: &Browser, svg_id: &str) -> Vec<String> {
    let titles = browser
        .execute(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' g.bar'))
                .map(g => g.querySelector('title').textContent);",
            vec![json!(svg_id)],
        )
        .await;
    titles
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

async fn the_usage_page_and_a_keys_chart_show_each_day(backend: Backend) {
    let config = ServerConfig {
        usage: UsageSettings {
            flush_interval: Duration::from_millis(50),
            ..UsageSettings::default()
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let used = create_key(&app, "admin-acme", json!({"name": "payroll sync"})).await;
    let unused = create_key(&app, "admin-acme", json!({"name": "forgotten"})).await;
    let (used_id, key) = (used["id"].as_str().unwrap(), used["key"].as_str().unwrap());
    for _ in 0..3 {
        assert_eq!(
            get_with_key(&app, "/api/v1/employees", key).await.status(),
            200
        );
    }
    let missing = "/api/v1/employees/emp_01jdq3k9m2x8v7c6b5n4t3r2s1";
    assert_eq!(get_with_key(&app, missing, key).await.status(), 404);
    within(Duration::from_secs(10), || async {
        let shown: Value = app
            .get_json_as(&format!("/api/v1/api-keys/{used_id}"), "admin-acme")
            .await;
        shown["requests_30d"] == 4 && !shown["last_used_at"].is_null()
    })
    .await;
    let today = &tessera_store::format_ms(tessera_store::now_ms())[..10];
    let expected_today = format!("{today}: 4 requests (2xx 3, 4xx 1, 5xx 0)");

    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.click("a[href='/settings/usage']").await;
    browser.wait_for_url(&app.url("/settings/usage")).await;
    browser
        .wait_until("document.getElementById('usage-chart')", "the usage chart")
        .await;
    let month = bar_titles(&browser, "usage-chart").await;
    assert_eq!(month.len(), 30, "one bar per day of the default 30");
    assert_eq!(month.last().unwrap(), &expected_today);
    assert!(
        month[..29]
            .iter()
            .all(|t| t.ends_with(": 0 requests (2xx 0, 4xx 0, 5xx 0)")),
        "{month:?}"
    );
    let labelled = browser
        .execute(
            "const svg = document.getElementById('usage-chart');
             return svg.getAttribute('role') + ' ' + svg.getAttribute('aria-labelledby')
                .split(' ').map(id => document.getElementById(id).textContent).join(' | ');",
            vec![],
        )
        .await;
    assert!(
        labelled
            .as_str()
            .unwrap()
            .starts_with("img Requests per day, last 30 days | 4 requests"),
        "{labelled}"
    );
    assert_eq!(browser.text("#usage-requests").await, "4");
    assert!(
        browser
            .text("#usage-error-rate")
            .await
            .starts_with("25.0 %")
    );
    assert!(browser.text("#top-keys").await.contains("payroll sync"));
    assert!(
        browser
            .text("#top-routes")
            .await
            .contains("/api/v1/employees/{id}")
    );
    browser.save_screenshot("usage-1280").await;

    browser.go(&app.url("/settings/usage?days=7")).await;
    assert_eq!(bar_titles(&browser, "usage-chart").await.len(), 7);

    browser
        .go(&app.url(&format!("/settings/api/keys/{used_id}")))
        .await;
    let key_days = bar_titles(&browser, "key-usage-chart").await;
    assert_eq!(key_days.len(), 30);
    assert_eq!(key_days.last().unwrap(), &expected_today);
    assert_eq!(
        browser.text("#key-requests-30d").await,
        "4 requests in the last 30 days."
    );

    // The never-used key is listed with its way out; revoking it goes
    // through the key's own confirmation.
    browser
        .go(&app.url("/settings/usage/unused-keys?days=never"))
        .await;
    let listed = browser.text("#unused-keys-table").await;
    assert!(
        listed.contains("forgotten") && !listed.contains("payroll sync"),
        "{listed}"
    );
    let unused_id = unused["id"].as_str().unwrap();
    browser
        .click(&format!("tr[data-key-id='{unused_id}'] a.revoke"))
        .await;
    browser.click("#confirm-revoke").await;
    browser
        .wait_for_url(&app.url("/settings/api?done=revoked"))
        .await;
    let revoked = app
        .get_json_as(&format!("/api/v1/api-keys/{unused_id}"), "admin-acme")
        .await;
    assert_eq!(revoked["status"], "revoked");
    browser.quit().await;
}
