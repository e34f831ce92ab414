//! Settings ▸ API in a real browser: what an administrator does with no
//! docs (generate a restricted key, copy it, use it, revoke it), revoke all,
//! roll, a non-administrator's view, and a forged form refused.

use crate::harness::{
    Backend, Browser, TestApp, create_key, field_names, full_key, get_json, post,
    seed_organization, status_with_key,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::collections::BTreeSet;

on_both_backends!(
    an_administrator_generates_a_restricted_key_uses_and_revokes_it,
    revoke_all_needs_the_typed_slug_and_stops_every_key,
    rolling_a_key_keeps_the_old_one_for_the_overlap_or_not_at_all,
    a_non_administrator_sees_only_their_own_keys,
    a_form_with_a_forged_csrf_token_is_refused,
);

async fn an_administrator_generates_a_restricted_key_uses_and_revokes_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let setup = full_key(&app, "acme").await;
    let created = post(
        &app,
        "/api/v1/employees",
        &setup,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "iban": "DE89370400440532013000",
                "start_date": "2024-01-01", "status": "active"}),
    )
    .await;
    let employee = created["id"].as_str().unwrap().to_owned();

    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.click("a[href='/settings/api']").await;
    browser.wait_for_url(&app.url("/settings/api")).await;
    browser.save_screenshot("api-keys-1280").await;
    browser.click("#generate-key").await;
    browser.wait_for_url(&app.url("/settings/api/new")).await;

    // A name alone is not enough; the form says so and keeps the name.
    browser.type_into("#name", "Calendar integration").await;
    browser.click("#create-key").await;
    browser
        .wait_until(
            "document.getElementById('form-errors')",
            "the error summary",
        )
        .await;
    assert!(
        browser
            .text("#form-errors")
            .await
            .contains("Tick at least one permission"),
        "no message about the empty matrix"
    );
    assert_eq!(
        browser
            .execute("return document.getElementById('name').value;", vec![])
            .await,
        json!("Calendar integration")
    );

    browser.click("#perm-employees-read").await;
    browser.click("#fields-employees summary").await;
    browser.click("#scope-employees-chosen").await;
    for field in ["id", "first_name", "last_name", "start_date", "end_date"] {
        browser.click(&format!("#field-employees-{field}")).await;
    }
    browser.save_screenshot("generate-key-1280").await;
    browser.click("#create-key").await;
    let raw = browser
        .wait_until(
            "document.getElementById('new-key')?.textContent.trim()",
            "the new key",
        )
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        raw.starts_with("sk_") && raw.len() == 46,
        "not a key: {raw}"
    );
    browser.click("#copy-key").await;
    browser
        .wait_until(
            "document.getElementById('copy-key').textContent === 'Copied'",
            "the copy button to confirm",
        )
        .await;
    let curl = browser.text("#curl-example").await;
    assert!(
        curl.contains(&raw) && curl.contains("/api/v1/employees?fields="),
        "curl example: {curl}"
    );
    browser.save_screenshot("new-key-1280").await;

    let one = get_json(&app, &format!("/api/v1/employees/{employee}"), &raw).await;
    let fields = field_names(&one);
    assert_eq!(
        fields,
        BTreeSet::from(["id", "first_name", "last_name", "start_date", "end_date"])
    );

    // The detail page lists what the key reaches and its audit trail.
    browser.click("#back-to-keys").await;
    browser.wait_for_url(&app.url("/settings/api")).await;
    // The newest key's name leads to its page.
    browser
        .click("#keys tbody tr:first-child td[data-label=Name] a")
        .await;
    browser
        .wait_until(
            "document.getElementById('key-audit')",
            "the key's audit trail",
        )
        .await;
    let reach = browser.text("#access-detail").await;
    assert!(
        reach.contains("first_name") && !reach.contains("iban"),
        "detail: {reach}"
    );
    assert!(browser.text("#key-audit").await.contains("api_key.created"));
    browser.save_screenshot("key-detail-1280").await;

    browser.click("#revoke-key").await;
    browser.click("#confirm-revoke").await;
    browser
        .wait_for_url(&app.url("/settings/api?done=revoked"))
        .await;
    assert!(browser.text("#notice").await.contains("revoked"));
    assert_eq!(status_with_key(&app, "/api/v1/employees", &raw).await, 401);

    // The same pages at a phone's width.
    browser.resize(390, 844).await;
    browser.save_screenshot("api-keys-390").await;
    browser.go(&app.url("/settings/api/new")).await;
    browser.save_screenshot("generate-key-390").await;
    browser.quit().await;
}

async fn revoke_all_needs_the_typed_slug_and_stops_every_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "other").await;
    let first = full_key(&app, "acme").await;
    let second = full_key(&app, "acme").await;
    let elsewhere = full_key(&app, "other").await;

    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&app.url("/settings/api")).await;
    browser.click("#revoke-all").await;
    browser.type_into("#confirm", "acme-typo").await;
    browser.click("#confirm-revoke-all").await;
    browser
        .wait_until(
            "document.getElementById('confirm-error')",
            "the slug mismatch message",
        )
        .await;
    assert_eq!(status_with_key(&app, "/api/v1/me", &first).await, 200);
    browser.save_screenshot("revoke-all-1280").await;

    browser
        .execute("document.getElementById('confirm').value = '';", vec![])
        .await;
    browser.type_into("#confirm", "acme").await;
    browser.click("#confirm-revoke-all").await;
    browser
        .wait_for_url(&app.url("/settings/api?done=revoked-all"))
        .await;
    assert_eq!(status_with_key(&app, "/api/v1/me", &first).await, 401);
    assert_eq!(status_with_key(&app, "/api/v1/me", &second).await, 401);
    assert_eq!(status_with_key(&app, "/api/v1/me", &elsewhere).await, 200);
    browser.quit().await;
}

async fn rolling_a_key_keeps_the_old_one_for_the_overlap_or_not_at_all(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let grant = json!({"employees": {"actions": ["read"], "fields": ["id", "first_name"]}});
    let old = create_key(
        &app,
        "admin-acme",
        json!({"name": "payroll", "permissions": grant}),
    )
    .await;
    let (old_id, old) = (
        old["id"].as_str().unwrap().to_owned(),
        old["key"].as_str().unwrap().to_owned(),
    );

    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser
        .go(&app.url(&format!("/settings/api/keys/{old_id}")))
        .await;
    browser.click("#roll-key").await;
    browser.click("#overlap-1").await;
    browser.click("#confirm-roll").await;
    let replacement = browser
        .wait_until(
            "document.getElementById('new-key')?.textContent.trim()",
            "the replacement key",
        )
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        status_with_key(&app, "/api/v1/me", &old).await,
        200,
        "old key within the overlap"
    );
    let me = get_json(&app, "/api/v1/me", &replacement).await;
    assert_eq!(
        me["permissions"]["employees"]["fields"],
        json!(["first_name", "id"]),
        "the replacement keeps the grant: {me}"
    );
    let old_key: Value = app
        .get_json_as(&format!("/api/v1/api-keys/{old_id}"), "admin-acme")
        .await;
    assert!(
        old_key["expires_at"].is_string(),
        "old key has no end: {old_key}"
    );

    // Rolling without overlap stops the rolled key at once.
    let new_id = me["id"].as_str().unwrap().to_owned();
    browser
        .go(&app.url(&format!("/settings/api/keys/{new_id}/roll")))
        .await;
    browser.click("#overlap-0").await;
    browser.click("#confirm-roll").await;
    let third = browser
        .wait_until(
            &format!("(t => t && t !== '{replacement}' && t)(document.getElementById('new-key')?.textContent.trim())"),
            "the third key",
        )
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status_with_key(&app, "/api/v1/me", &replacement).await, 401);
    assert_eq!(status_with_key(&app, "/api/v1/me", &third).await, 200);
    browser.quit().await;
}

async fn a_non_administrator_sees_only_their_own_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    create_key(&app, "admin-acme", json!({"name": "administrators key"})).await;

    let browser = Browser::launch().await;
    browser.sign_in(&app, "employee-acme").await;
    browser.go(&app.url("/settings/api")).await;
    assert!(
        browser
            .text("#creation-policy")
            .await
            .contains("Only administrators")
    );
    assert!(!browser.exists("#generate-key").await);
    assert!(!browser.exists("#revoke-all").await);
    assert!(
        !browser.exists("a[href='/settings/roles']").await,
        "administration links shown"
    );
    assert!(
        browser
            .text("main")
            .await
            .contains("There are no API keys yet.")
    );
    browser.go(&app.url("/settings/api/new")).await;
    assert!(
        browser
            .text("#forbidden")
            .await
            .contains("Only administrators")
    );
    browser.go(&app.url("/settings/api/revoke-all")).await;
    assert!(
        browser
            .text("#forbidden")
            .await
            .contains("Only administrators")
    );

    crate::harness::assert_succeeds(&app.tessera(&[
        "admin",
        "set-key-creation",
        "--org",
        "acme",
        "--who",
        "everyone",
    ]));
    browser.go(&app.url("/settings/api")).await;
    browser.click("#generate-key").await;
    assert!(
        !browser.exists("#owner").await,
        "a member chose a bot owner"
    );
    browser.type_into("#name", "my own").await;
    browser.click("#access-everything").await;
    browser.click("#create-key").await;
    browser
        .wait_until("document.getElementById('new-key')", "the new key")
        .await;
    browser.go(&app.url("/settings/api")).await;
    let listed = browser.text("#keys tbody").await;
    assert!(
        listed.contains("my own") && !listed.contains("administrators key"),
        "list: {listed}"
    );
    browser.quit().await;
}

async fn a_form_with_a_forged_csrf_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let target = create_key(&app, "admin-acme", json!({"name": "target"})).await;
    let (id, raw) = (
        target["id"].as_str().unwrap().to_owned(),
        target["key"].as_str().unwrap().to_owned(),
    );

    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser
        .go(&app.url(&format!("/settings/api/keys/{id}/revoke")))
        .await;
    browser
        .execute(
            "document.querySelector(\"form[action$='/revoke'] input[name=csrf]\").value = 'forged';",
            vec![],
        )
        .await;
    browser.click("#confirm-revoke").await;
    browser
        .wait_until(
            "document.title.startsWith('This form has expired')",
            "the refusal page",
        )
        .await;
    assert_eq!(
        status_with_key(&app, "/api/v1/me", &raw).await,
        200,
        "a forged form revoked the key"
    );

    // Without any token, straight over HTTP with the session cookie stolen
    // from nowhere: the sign-in page, since there is no session.
    let response = app
        .http
        .post(app.url(&format!("/settings/api/keys/{id}/revoke")))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert!(
        response.url().path() == "/login" || response.status() == 303,
        "{}",
        response.url()
    );
    assert_eq!(status_with_key(&app, "/api/v1/me", &raw).await, 200);
    browser.quit().await;
}
