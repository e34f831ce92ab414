//! Console sign-in: sessions, CSRF, throttling, audit.

use crate::harness::{Backend, PASSWORD, TestApp, seed_organization};
use crate::on_both_backends;
use std::collections::BTreeMap;
use tessera_access::client_ip::TrustedProxies;
use tessera_server::ServerConfig;
use tessera_store::audit;

on_both_backends!(
    an_administrator_signs_in_and_sees_user_organisation_and_role,
    an_operator_signs_in_the_same_way,
    wrong_passwords_and_unknown_users_are_refused_alike_and_audited,
    forms_without_the_csrf_token_are_refused,
    an_account_is_throttled_after_repeated_attempts,
    an_address_is_throttled_across_accounts,
    signing_out_needs_the_csrf_token_and_ends_the_session,
    deactivation_ends_sessions_and_blocks_sign_in,
    cookies_are_http_only_strict_and_secure_behind_https,
);

/// A minimal browser: keeps cookies, follows nothing, reads forms.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    extra_headers: Vec<(&'static str, &'static str)>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: BTreeMap::new(),
            extra_headers: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &reqwest::Response) {
        for set_cookie in response.headers().get_all("set-cookie") {
            let text = set_cookie.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .get(self.app.url(path))
            .header("cookie", self.cookie_header());
        for (name, value) in &self.extra_headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .form(form);
        for (name, value) in &self.extra_headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    /// Loads a page and returns its body and the value of its CSRF field.
    pub async fn form_token(&mut self, path: &str) -> (String, String) {
        let page = self.get(path).await.text().await.unwrap();
        let token =
            hidden_csrf(&page).unwrap_or_else(|| panic!("no csrf field on {path}:\n{page}"));
        (page, token)
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> reqwest::Response {
        let (_, token) = self.form_token("/login").await;
        self.post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &token),
            ],
        )
        .await
    }
}

fn hidden_csrf(page: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

fn small_throttle(per_account: u32, per_ip: u32) -> ServerConfig {
    ServerConfig {
        password_failures_per_account: per_account,
        password_failures_per_ip: per_ip,
        ..ServerConfig::default()
    }
}

async fn an_administrator_signs_in_and_sees_user_organisation_and_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme");
    let mut browser = Browser::new(&app);

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

    let entries = audit::recent(&app.db, 5).await.unwrap();
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
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in("ops", PASSWORD).await.status(), 303);
    let page = browser.get("/").await.text().await.unwrap();
    assert!(page.contains(r#"<dd id="role">Operator</dd>"#), "{page}");
}

async fn wrong_passwords_and_unknown_users_are_refused_alike_and_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme");
    let mut browser = Browser::new(&app);

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

    let entries = audit::recent(&app.db, 10).await.unwrap();
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
    seed_organization(&app, "acme");

    // No cookie and no field: a cross-site post.
    let mut stranger = Browser::new(&app);
    let forged = stranger
        .post(
            "/login",
            &[("username", "admin-acme"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(!stranger.cookies.contains_key("tessera_session"));

    // A cookie from a real form, but a field that does not match it.
    let mut browser = Browser::new(&app);
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
        audit::recent(&app.db, 10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "login.succeeded")
    );
}

async fn an_account_is_throttled_after_repeated_attempts(backend: Backend) {
    let app = TestApp::spawn_with(backend, small_throttle(3, 100)).await;
    seed_organization(&app, "acme");
    let mut browser = Browser::new(&app);
    for _ in 0..3 {
        assert_eq!(
            browser
                .sign_in("admin-acme", "wrong password")
                .await
                .status(),
            401
        );
    }
    // Even the right password is refused while the account is throttled.
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

    let entries = audit::recent(&app.db, 20).await.unwrap();
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
    seed_organization(&app, "acme");
    let mut browser = Browser::new(&app);
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
    seed_organization(&app, "acme");
    let mut browser = Browser::new(&app);
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
    assert!(
        audit::recent(&app.db, 10)
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "logout")
    );
}

async fn deactivation_ends_sessions_and_blocks_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme");
    let mut browser = Browser::new(&app);
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
        Browser::new(&app)
            .sign_in("employee-acme", PASSWORD)
            .await
            .status(),
        401
    );
    let entries = audit::recent(&app.db, 5).await.unwrap();
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
    seed_organization(&app, "acme");
    let mut browser = Browser::new(&app);
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
    seed_organization(&proxied, "acme");
    let mut behind_proxy = Browser::new(&proxied);
    behind_proxy.extra_headers = vec![
        ("x-forwarded-proto", "https"),
        ("x-forwarded-for", "203.0.113.50"),
    ];
    let response = behind_proxy.sign_in("admin-acme", PASSWORD).await;
    let secure_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(secure_cookie.contains("Secure"), "{secure_cookie}");
    // The audit trail records the client behind the proxy, not the proxy.
    let entries = audit::recent(&proxied.db, 5).await.unwrap();
    let success = entries
        .iter()
        .find(|e| e.action == "login.succeeded")
        .unwrap();
    assert_eq!(success.ip.as_deref(), Some("203.0.113.50"));
}
