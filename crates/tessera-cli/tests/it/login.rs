//! Console sign-in: sessions, CSRF, throttling, audit.

use crate::harness::{Backend, ConsoleSession, PASSWORD, TestApp, seed_organization};
use crate::on_both_backends;
use std::time::Duration;
use tessera_access::client_ip::TrustedProxies;
use tessera_access::throttle::Backoff;
use tessera_server::ServerConfig;

on_both_backends!(
    an_administrator_signs_in_and_sees_user_organisation_and_role,
    an_operator_signs_in_the_same_way,
    wrong_passwords_and_unknown_users_are_refused_alike_and_audited,
    forms_without_the_csrf_token_are_refused,
    an_account_backs_off_after_repeated_failures_from_one_address,
    an_address_is_throttled_across_accounts,
    signing_out_needs_the_csrf_token_and_ends_the_session,
    deactivation_ends_sessions_and_blocks_sign_in,
    cookies_are_http_only_strict_and_secure_behind_https,
);

/// A backoff that starts after `free_failures` failures for one account
/// from one address and outlasts any test, and a limit per address.
fn small_throttle(free_failures: u32, per_ip: u32) -> ServerConfig {
    ServerConfig {
        password_backoff: Backoff {
            free_failures,
            first_wait: Duration::from_secs(15 * 60),
            longest_wait: Duration::from_secs(15 * 60),
        },
        password_failures_per_ip: per_ip,
        ..ServerConfig::default()
    }
}

async fn an_administrator_signs_in_and_sees_user_organisation_and_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut browser = ConsoleSession::new(&app);

    let before = browser.get("/").await;
    assert_eq!(before.status(), 303);
    assert_eq!(before.headers()["location"], "/login");

    let signed_in = browser.sign_in("admin-acme", PASSWORD).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/");
    let home = browser.get("/").await;
    assert_eq!(home.status(), 200);
    let page = home.text().await.unwrap();
    assert!(
        page.contains(r#"<dd id="signed-in-user">admin-acme</dd>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<dd id="organization">acme Ltd (<code>acme</code>)</dd>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<dd id="role">Administrator</dd>"#),
        "{page}"
    );

    // Signed in, the sign-in page sends people home.
    assert_eq!(browser.get("/login").await.headers()["location"], "/");

    let entries = app.audit_log().await;
    let success = entries
        .iter()
        .find(|e| e.action == "login.succeeded")
        .expect("audited");
    assert_eq!(success.actor_name, "admin-acme");
    assert_eq!(success.actor_kind, "user");
    assert_eq!(success.ip.as_deref(), Some("127.0.0.1"));
    assert!(success.organization_id.is_some());
}

async fn an_operator_signs_in_the_same_way(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    crate::harness::assert_succeeds(&app.tessera(&[
        "admin",
        "create-operator",
        "--username",
        "ops",
        "--password",
        PASSWORD,
    ]));
    let mut browser = ConsoleSession::new(&app);
    assert_eq!(browser.sign_in("ops", PASSWORD).await.status(), 303);
    let page = browser.get("/").await.text().await.unwrap();
    assert!(page.contains(r#"<dd id="role">Operator</dd>"#), "{page}");
}

async fn wrong_passwords_and_unknown_users_are_refused_alike_and_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut browser = ConsoleSession::new(&app);

    let wrong = browser.sign_in("admin-acme", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert!(!browser.cookies.contains_key("tessera_session"));
    let wrong_page = wrong.text().await.unwrap();
    let unknown = browser.sign_in("nobody-here", "not the password").await;
    assert_eq!(unknown.status(), 401);
    let unknown_page = unknown.text().await.unwrap();
    for page in [&wrong_page, &unknown_page] {
        assert!(page.contains("Incorrect username or password."));
    }
    // The form keeps what was typed (but never the password).
    assert!(wrong_page.contains(r#"value="admin-acme""#));
    assert!(!wrong_page.contains("not the password"));

    let entries = app.audit_log().await;
    let failures: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "login.failed")
        .collect();
    assert_eq!(failures.len(), 2);
    let reasons: Vec<_> = failures
        .iter()
        .map(|e| e.details.clone().unwrap())
        .collect();
    assert!(reasons.iter().any(|d| d.contains("wrong_password")));
    assert!(reasons.iter().any(|d| d.contains("unknown_username")));
    assert!(
        failures
            .iter()
            .any(|e| e.actor_name == "nobody-here" && e.actor_kind == "anonymous")
    );
}

async fn forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;

    // No cookie and no field: a cross-site post.
    let mut stranger = ConsoleSession::new(&app);
    let forged = stranger
        .post(
            "/login",
            &[("username", "admin-acme"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(!stranger.cookies.contains_key("tessera_session"));

    // A cookie from a real form, but a field that does not match it.
    let mut browser = ConsoleSession::new(&app);
    browser.form_token("/login").await;
    let mismatched = browser
        .post(
            "/login",
            &[
                ("username", "admin-acme"),
                ("password", PASSWORD),
                ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ],
        )
        .await;
    assert_eq!(mismatched.status(), 403);
    assert!(!browser.cookies.contains_key("tessera_session"));
    assert!(
        app.audit_log()
            .await
            .iter()
            .all(|e| e.action != "login.succeeded")
    );
}

async fn an_account_backs_off_after_repeated_failures_from_one_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, small_throttle(3, 100)).await;
    seed_organization(&app, "acme").await;
    let mut browser = ConsoleSession::new(&app);
    for _ in 0..3 {
        assert_eq!(
            browser
                .sign_in("admin-acme", "wrong password")
                .await
                .status(),
            401
        );
    }
    // Even the right password is refused from this address while the
    // account backs off for it (another address is not affected: see
    // hardening.rs).
    let throttled = browser.sign_in("ADMIN-acme", PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert!(
        throttled
            .text()
            .await
            .unwrap()
            .contains("Too many sign-in attempts")
    );
    // Other accounts from the same address are unaffected.
    assert_eq!(
        browser.sign_in("employee-acme", PASSWORD).await.status(),
        303
    );

    let entries = app.audit_log().await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "login.throttled")
            .count(),
        1
    );
}

async fn an_address_is_throttled_across_accounts(backend: Backend) {
    let app = TestApp::spawn_with(backend, small_throttle(100, 4)).await;
    seed_organization(&app, "acme").await;
    let mut browser = ConsoleSession::new(&app);
    for n in 0..4 {
        assert_eq!(
            browser
                .sign_in(&format!("sprayed-{n}"), "guess guess")
                .await
                .status(),
            401
        );
    }
    let throttled = browser.sign_in("admin-acme", PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
}

async fn signing_out_needs_the_csrf_token_and_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut browser = ConsoleSession::new(&app);
    browser.sign_in("employee-acme", PASSWORD).await;
    let (_, token) = browser.form_token("/").await;
    let stolen_cookie = browser.cookies["tessera_session"].clone();

    let forged = browser.post("/logout", &[("csrf", "wrong")]).await;
    assert_eq!(forged.status(), 403);
    assert_eq!(
        browser.get("/").await.status(),
        200,
        "still signed in after a forged sign-out"
    );

    let signed_out = browser.post("/logout", &[("csrf", &token)]).await;
    assert_eq!(signed_out.status(), 303);
    assert_eq!(signed_out.headers()["location"], "/login");
    assert!(!browser.cookies.contains_key("tessera_session"));

    // The old cookie is dead server-side, not just forgotten by the browser.
    let replay = app
        .http
        .get(app.url("/"))
        .header("cookie", format!("tessera_session={stolen_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
    assert!(app.audit_log().await.iter().any(|e| e.action == "logout"));
}

async fn deactivation_ends_sessions_and_blocks_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut browser = ConsoleSession::new(&app);
    browser.sign_in("employee-acme", PASSWORD).await;
    assert_eq!(browser.get("/").await.status(), 200);

    let organization = tessera_store::organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    app.deactivate_elsewhere(&organization.id, "employee-acme")
        .await;
    assert_eq!(browser.get("/").await.status(), 303);
    assert_eq!(
        ConsoleSession::new(&app)
            .sign_in("employee-acme", PASSWORD)
            .await
            .status(),
        401
    );
    let entries = app.audit_log().await;
    assert!(
        entries[0]
            .details
            .as_deref()
            .unwrap()
            .contains("account_deactivated")
    );
}

async fn cookies_are_http_only_strict_and_secure_behind_https(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let mut browser = ConsoleSession::new(&app);
    let response = browser.sign_in("admin-acme", PASSWORD).await;
    let session_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(session_cookie.starts_with("tessera_session="));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session_cookie.contains(attribute), "{session_cookie}");
    }
    assert!(
        !session_cookie.contains("Secure"),
        "plain http must not set Secure: {session_cookie}"
    );

    let config = ServerConfig {
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
        ..ServerConfig::default()
    };
    let proxied = TestApp::spawn_with(backend, config).await;
    seed_organization(&proxied, "acme").await;
    let mut behind_proxy = ConsoleSession::new(&proxied);
    behind_proxy.extra_headers = vec![
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "203.0.113.50"),
    ];
    let response = behind_proxy.sign_in("admin-acme", PASSWORD).await;
    let secure_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(secure_cookie.contains("Secure"), "{secure_cookie}");
    // The audit trail records the client behind the proxy, not the proxy.
    let entries = proxied.audit_log().await;
    let success = entries
        .iter()
        .find(|e| e.action == "login.succeeded")
        .unwrap();
    assert_eq!(success.ip.as_deref(), Some("203.0.113.50"));
}
