//! Settings ▸ API with many keys: live keys apart from revoked ones,
//! search, filters (owner, expiring soon, unused) and server-side pages
//! with counts, the "Expires soon" badge, hints and dates on one line, and
//! "Revoke all keys" only while there is a live key.

use crate::harness::{
    Backend, Browser, ConsoleSession, PASSWORD, TestApp, all_between, create_key, element_text,
    get_with_key, seed_organization, within,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_core::audit::Actor;
use tessera_core::names::DisplayName;
use tessera_ops::people;
use tessera_store::roles;

on_both_backends!(the_key_list_searches_filters_and_pages_sixty_keys);

/// The key ids listed on a page of the key list, top to bottom.
fn listed(page: &str) -> Vec<String> {
    all_between(page, "<tr data-key-id=\"", "\"")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

async fn the_key_list_searches_filters_and_pages_sixty_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let organization_id = app.organization_id("acme").await;
    let administrator = roles::find_by_name(&app.db, &organization_id, roles::ADMINISTRATOR)
        .await
        .unwrap()
        .unwrap();
    people::create_bot(
        &app.ops,
        &Actor::command_line(),
        &organization_id,
        &administrator,
        &DisplayName::parse("sync-bot").unwrap(),
    )
    .await
    .unwrap();
    let soon = tessera_store::format_ms(tessera_store::now_ms() + 10 * 86_400_000);
    let later = tessera_store::format_ms(tessera_store::now_ms() + 60 * 86_400_000);
    let mut ids = Vec::new();
    for n in 0..60 {
        let mut body = json!({"name": format!("key {n:02}")});
        if n < 3 {
            body["expires_at"] = json!(soon);
        } else if n < 6 {
            body["expires_at"] = json!(later);
        }
        if (50..55).contains(&n) {
            body["bot"] = json!("sync-bot");
        }
        let created: Value = create_key(&app, "admin-acme", body).await;
        ids.push((
            created["id"].as_str().unwrap().to_owned(),
            created["key"].as_str().unwrap().to_owned(),
        ));
    }
    for (id, _) in &ids[58..] {
        let revoked = app
            .as_user(
                reqwest::Method::DELETE,
                &format!("/api/v1/api-keys/{id}"),
                "admin-acme",
                None,
            )
            .await;
        assert_eq!(revoked.status(), 204);
    }
    // Key 57 is used once, so it is not "unused".
    let (used_id, used_key) = &ids[57];
    assert_eq!(
        get_with_key(&app, "/api/v1/me", used_key).await.status(),
        200
    );
    within(Duration::from_secs(10), || async {
        let shown: Value = app
            .get_json_as(&format!("/api/v1/api-keys/{used_id}"), "admin-acme")
            .await;
        !shown["last_used_at"].is_null()
    })
    .await;

    let mut admin = ConsoleSession::signed_in(&app, "admin-acme", PASSWORD).await;
    // Live keys by default, newest first, 25 a page, with counts.
    let (status, first) = admin.page("/settings/api").await;
    assert_eq!(status, 200);
    assert_eq!(element_text(&first, "key-count"), "Showing 1–25 of 58 keys");
    assert_eq!(element_text(&first, "tab-live"), "Live (58)");
    assert_eq!(element_text(&first, "tab-revoked"), "Revoked (2)");
    assert_eq!(element_text(&first, "tab-expired"), "Expired (0)");
    assert_eq!(listed(&first).first(), Some(&ids[57].0));
    assert!(
        !listed(&first).contains(&ids[58].0),
        "revoked keys are apart"
    );
    assert!(first.contains("id=\"revoke-all-card\""));
    let mut seen = Vec::new();
    let mut next = Some("/settings/api".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let (_, page) = admin.page(&path).await;
        seen.extend(listed(&page));
        next = all_between(&page, "id=\"next-page\" rel=\"next\" href=\"", "\"")
            .first()
            .map(|href| href.replace("&amp;", "&"));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 58);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 58, "no key on two pages");
    let (_, third) = admin.page("/settings/api?page=3").await;
    assert_eq!(
        element_text(&third, "key-count"),
        "Showing 51–58 of 58 keys"
    );
    assert!(third.contains("id=\"previous-page\""));

    // Revoked keys have their own tab.
    let (_, revoked) = admin.page("/settings/api?status=revoked").await;
    let mut revoked_ids = listed(&revoked);
    revoked_ids.sort();
    let mut expected: Vec<String> = ids[58..].iter().map(|(id, _)| id.clone()).collect();
    expected.sort();
    assert_eq!(revoked_ids, expected);
    assert_eq!(
        all_between(&revoked, "class=\"status status-revoked\">", "<").len(),
        2
    );
    assert!(
        all_between(&revoked, "class=\"status status-revoked\">", "<")
            .iter()
            .all(|b| *b == "Revoked")
    );

    // Search by name (or hint, or owner), filters, and together.
    let (_, search) = admin.page("/settings/api?q=KEY+1").await;
    assert_eq!(
        element_text(&search, "key-count"),
        "Showing 1–10 of 10 keys"
    );
    let (_, by_owner) = admin.page("/settings/api?owner=bot%3Async-bot").await;
    assert_eq!(
        element_text(&by_owner, "key-count"),
        "Showing 1–5 of 5 keys"
    );
    let (_, owner_search) = admin.page("/settings/api?q=sync-bot").await;
    assert_eq!(
        element_text(&owner_search, "key-count"),
        "Showing 1–5 of 5 keys"
    );
    let hint = app
        .get_json_as(&format!("/api/v1/api-keys/{}", ids[10].0), "admin-acme")
        .await["hint"]
        .as_str()
        .unwrap()
        .to_owned();
    let tail: String = hint
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let (_, by_hint) = admin.page(&format!("/settings/api?q={tail}")).await;
    assert!(listed(&by_hint).contains(&ids[10].0), "{hint}");
    let (_, expiring) = admin.page("/settings/api?expiring=1").await;
    let mut expiring_ids = listed(&expiring);
    expiring_ids.sort();
    let mut expected: Vec<String> = ids[..3].iter().map(|(id, _)| id.clone()).collect();
    expected.sort();
    assert_eq!(expiring_ids, expected);
    assert_eq!(
        all_between(&expiring, "class=\"status status-expiring\"", "</span>").len(),
        3,
        "each expiring key has its badge"
    );
    let (_, all_first) = admin.page("/settings/api").await;
    assert_eq!(
        all_between(&all_first, "class=\"status status-expiring\"", "</span>").len(),
        0,
        "the newest 25 keys do not expire soon"
    );
    let (_, unused) = admin.page("/settings/api?unused=1").await;
    assert_eq!(
        element_text(&unused, "key-count"),
        "Showing 1–25 of 57 keys"
    );
    assert!(!listed(&unused).contains(used_id));
    let (_, nothing) = admin.page("/settings/api?q=no+such+key").await;
    assert!(nothing.contains("id=\"no-matching-keys\""));
    let (_, detail) = admin
        .page(&format!("/settings/api/keys/{}", ids[0].0))
        .await;
    assert!(
        detail.contains("Expires soon"),
        "the detail page marks it too"
    );

    // An organisation without keys: an explanation, and no "Revoke all".
    let mut globex = ConsoleSession::signed_in(&app, "admin-globex", PASSWORD).await;
    let (_, empty) = globex.page("/settings/api").await;
    assert!(empty.contains("id=\"no-keys\""));
    assert!(!empty.contains("revoke-all"), "{empty}");

    // In the browser: hints and dates on one line, and a gap before the
    // danger zone.
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&app.url("/settings/api")).await;
    browser
        .wait_until("document.getElementById('keys')", "the key table")
        .await;
    browser.save_screenshot("api-keys-60-1280").await;
    let layout = browser
        .execute(
            "const broken = Array.from(document.querySelectorAll('#keys code, #keys time'))
                 .filter(e => e.getClientRects().length !== 1).map(e => e.textContent);
             const table = document.getElementById('keys').closest('section').getBoundingClientRect();
             const danger = document.getElementById('revoke-all-card').getBoundingClientRect();
             return {broken, gap: danger.top - table.bottom};",
            vec![],
        )
        .await;
    assert_eq!(layout["broken"], json!([]), "{layout}");
    assert!(layout["gap"].as_f64().unwrap() >= 16.0, "{layout}");
    browser.quit().await;
}
