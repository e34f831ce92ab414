//! The console's home page: what needs attention (keys expiring within 14
//! days, keys never used, failing webhook endpoints, the latest audit
//! entries), each linking to where to act, and getting-started links; a
//! member who is not an administrator sees only what is theirs to see.

use crate::harness::{
    Backend, ConsoleSession, PASSWORD, TestApp, all_between, create_key, seed_organization,
};
use crate::on_both_backends;
use serde_json::json;
use tessera_server::{ServerConfig, WebhookSettings};
use tessera_store::now_ms;

on_both_backends!(the_home_page_shows_what_needs_attention);

const DAY_MS: i64 = 86_400_000;

/// The text of the element with `id` and everything inside it.
fn section<'p>(page: &'p str, id: &str) -> &'p str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in:\n{page}"));
    let rest = &page[start..];
    &rest[..rest.find("</ul>").unwrap_or(rest.len())]
}

async fn the_home_page_shows_what_needs_attention(backend: Backend) {
    let config = ServerConfig {
        webhooks: WebhookSettings {
            allowed_networks: "127.0.0.1/32".parse().unwrap(),
            ..WebhookSettings::default()
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let in_five_days = tessera_store::format_ms(now_ms() + 5 * DAY_MS);
    let expiring = create_key(
        &app,
        "admin-acme",
        json!({"name": "expiring payroll key", "expires_at": in_five_days}),
    )
    .await;
    let forgotten = create_key(&app, "admin-acme", json!({"name": "forgotten key"})).await;
    let fresh = create_key(&app, "admin-acme", json!({"name": "brand new key"})).await;
    // "Forgotten" was made three days ago and never used; a key made today
    // may simply not be in use yet.
    let forgotten_id = forgotten["id"].as_str().unwrap().to_owned();
    tessera_store::on_pool!(&app.db, |pool| {
        sqlx::query("UPDATE api_keys SET created_at = $1 WHERE id = $2")
            .bind(now_ms() - 3 * DAY_MS)
            .bind(&forgotten_id)
            .execute(pool)
            .await
            .unwrap();
    });
    let endpoint = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/webhook-endpoints",
            "admin-acme",
            Some(&json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .await;
    assert_eq!(endpoint.status(), 201);
    let endpoint: serde_json::Value = endpoint.json().await.unwrap();
    let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
    // The delivery worker's record of an endpoint that keeps failing.
    tessera_store::on_pool!(&app.db, |pool| {
        sqlx::query("UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2")
            .bind(now_ms() - DAY_MS)
            .bind(&endpoint_id)
            .execute(pool)
            .await
            .unwrap();
    });

    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    let (status, home) = admin.page("/").await;
    assert_eq!(status, 200);
    let expiring_list = section(&home, "expiring-keys");
    assert!(
        expiring_list.contains("expiring payroll key"),
        "{expiring_list}"
    );
    assert!(expiring_list.contains(&format!(
        "href=\"/settings/api/keys/{}\"",
        expiring["id"].as_str().unwrap()
    )));
    assert!(!expiring_list.contains("forgotten key"));
    assert!(home.contains("id=\"all-expiring\" href=\"/settings/api?expiring=1\""));
    let unused_list = section(&home, "unused-keys");
    assert!(unused_list.contains("forgotten key"), "{unused_list}");
    assert!(!unused_list.contains("brand new key"), "{unused_list}");
    assert!(!home.contains(fresh["id"].as_str().unwrap()));
    let failing = section(&home, "failing-endpoints");
    assert!(failing.contains("http://127.0.0.1:9/hook"), "{failing}");
    assert!(failing.contains(&format!("href=\"/settings/webhooks/{endpoint_id}\"")));
    let recent = section(&home, "recent-activity");
    assert_eq!(all_between(recent, "<li>", "</li>").len(), 5, "{recent}");
    assert!(recent.contains("api_key.created"), "{recent}");
    assert!(home.contains("id=\"full-audit-log\" href=\"/settings/audit\""));
    assert!(home.contains("id=\"docs-link\" href=\"/docs\""));

    // A member who is not an administrator: no keys of others, no
    // webhooks, no audit log; still the way to the documentation.
    let mut employee = ConsoleSession::signed_in(&app, "employee-acme", PASSWORD).await;
    let (status, theirs) = employee.page("/").await;
    assert_eq!(status, 200);
    assert!(theirs.contains("id=\"all-clear\""), "{theirs}");
    for hidden in [
        "expiring payroll key",
        "forgotten key",
        "failing-endpoints",
        "recent-activity",
        "127.0.0.1:9",
    ] {
        assert!(!theirs.contains(hidden), "{hidden} shown to an employee");
    }
    assert!(theirs.contains("id=\"docs-link\" href=\"/docs\""));
}
