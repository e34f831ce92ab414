//! Settings ▸ Webhooks in a real browser: an administrator creates an
//! endpoint for the test receiver, keeps its secret, sends a test event,
//! watches the attempt arrive, replays it and copies it as curl; the SSRF
//! guard's reason is shown beside the URL; other roles are refused.

use crate::harness::{
    Backend, Browser, Delivery, Receiver, Reply, TestApp, full_key, post, seed_organization,
    verified_by_standard_webhooks,
};
use crate::{assert_audited, on_both_backends};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tessera_server::{ServerConfig, WebhookSettings};

on_both_backends!(
    an_administrator_creates_tests_and_replays_an_endpoint,
    a_disabled_endpoint_says_why_and_is_managed_from_its_page,
    a_refused_url_is_explained_beside_the_field,
    only_administrators_open_the_webhook_pages,
    the_webhook_pages_fit_a_phone_and_label_every_control,
);

const DEADLINE: Duration = Duration::from_secs(20);

/// A server that may deliver to the test receiver on 127.0.0.1.
async fn app_delivering(backend: Backend) -> TestApp {
    let config = ServerConfig {
        webhooks: WebhookSettings {
            allowed_networks: "127.0.0.1/32".parse().unwrap(),
            poll_interval: Duration::from_millis(100),
            ..WebhookSettings::default()
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    app
}

/// Reloads `url` until the newest message of the log has been attempted;
/// returns its id.
async fn wait_for_an_attempt(browser: &Browser, url: &str) -> String {
    let started = Instant::now();
    loop {
        browser.go(url).await;
        let newest = browser
            .execute(
                "const row = document.querySelector('#messages tr[data-message]');
                 return row && Number(row.dataset.attempts) > 0 ? row.dataset.message : null;",
                vec![],
            )
            .await;
        if let Value::String(id) = newest {
            return id;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no attempt appeared in the message log"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reloads `url` until `css` matches; returns that element's text.
async fn reload_until(browser: &Browser, url: &str, css: &str) -> String {
    let started = Instant::now();
    loop {
        browser.go(url).await;
        if browser.exists(css).await {
            return browser.text(css).await;
        }
        assert!(started.elapsed() < DEADLINE, "{url} never showed {css}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates an endpoint for `receiver` over the API; returns its id and secret.
async fn create_over_the_api(app: &TestApp, receiver: &Receiver) -> (String, String) {
    let created = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/webhook-endpoints",
            "admin-acme",
            Some(&json!({"url": receiver.url("/hook")})),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let text = |name: &str| created[name].as_str().unwrap().to_owned();
    (text("id"), text("secret"))
}

/// Sets an input's value as a person would pick it (a date-time picker, or
/// a number replacing the default).
async fn set_value(browser: &Browser, id: &str, value: &str) {
    browser
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!(id), json!(value)],
        )
        .await;
}

/// Waits for the confirmation that holds `fragment`: a click returns before
/// the next page loads, and the page before may show another notice.
async fn wait_for_notice(browser: &Browser, fragment: &str) {
    let condition = format!(
        "document.getElementById('notice')?.textContent.includes({})",
        json!(fragment)
    );
    browser.wait_until(&condition, fragment).await;
}

async fn a_disabled_endpoint_says_why_and_is_managed_from_its_page(backend: Backend) {
    let app = app_delivering(backend).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(410)]);
    let (endpoint_id, first_secret) = create_over_the_api(&app, &receiver).await;
    let endpoint_page = app.url(&format!("/settings/webhooks/{endpoint_id}"));
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&endpoint_page).await;
    browser.click("#send-test").await;
    wait_for_notice(&browser, "Test event queued").await;
    let banner = reload_until(&browser, &endpoint_page, "#disabled-banner").await;
    assert!(
        banner.contains("the endpoint answered 410 Gone"),
        "{banner}"
    );
    browser.go(&app.url("/settings/webhooks")).await;
    let listed = browser
        .text(&format!("tr[data-endpoint='{endpoint_id}']"))
        .await;
    assert!(
        listed.contains("Disabled (the endpoint answered 410 Gone)"),
        "{listed}"
    );
    assert!(listed.contains("0 of 1 succeeded (0 %)"), "{listed}");

    browser.go(&format!("{endpoint_page}?status=failed")).await;
    assert!(browser.exists("#messages tr[data-message]").await);
    browser
        .go(&format!("{endpoint_page}?status=delivered"))
        .await;
    assert!(browser.exists("#no-messages").await);

    browser.go(&endpoint_page).await;
    browser.click("#enable-endpoint").await;
    wait_for_notice(&browser, "Endpoint enabled").await;
    assert!(!browser.exists("#disabled-banner").await);
    assert!(browser.text("#endpoint-status").await.contains("Active"));
    set_value(&browser, "since", "2000-01-01T00:00:00").await;
    browser.click("#recover").await;
    wait_for_notice(&browser, "failed since then is queued again").await;
    let both = receiver.wait_for(2, DEADLINE).await;
    assert_eq!(both[1].id, both[0].id, "the recovered message keeps its id");

    browser.click("#edit-endpoint").await;
    browser
        .wait_until("document.getElementById('endpoint-form')", "the edit form")
        .await;
    browser.click("#enabled").await;
    browser.click("#fields-employees summary").await;
    browser.click("#scope-employees-chosen").await;
    browser.click("#field-employees-first_name").await;
    browser.click("#save-endpoint").await;
    wait_for_notice(&browser, "Endpoint saved").await;
    let banner = browser.text("#disabled-banner").await;
    assert!(banner.contains("disabled by an administrator"), "{banner}");
    let stored: Value = app
        .as_user(
            reqwest::Method::GET,
            &format!("/api/v1/webhook-endpoints/{endpoint_id}"),
            "admin-acme",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["fields"], json!({"employees": ["first_name"]}));
    assert_eq!(
        stored["disabled_reason"],
        json!("disabled_by_administrator")
    );

    set_value(&browser, "overlap_hours", "0").await;
    browser.click("#rotate-secret").await;
    let rotated = browser
        .wait_until(
            "document.getElementById('endpoint-secret')?.textContent.trim()",
            "the rotated secret",
        )
        .await;
    let rotated = rotated.as_str().unwrap();
    assert!(rotated.starts_with("whsec_") && rotated != first_secret);
    assert_audited!(app.audit_log().await, "webhook_endpoint.secret_rotated");

    browser.go(&endpoint_page).await;
    browser.click("#delete-endpoint").await;
    browser.click("#confirm-delete").await;
    wait_for_notice(&browser, "Endpoint deleted").await;
    assert!(browser.exists("#no-endpoints").await);
    browser.quit().await;
}

/// The request a copied curl command makes, read by the shell itself (a
/// `curl` function stands in for the program and prints its arguments),
/// so the quoting is checked as a shell reads it.
async fn copied_request(command: &str, url: &str, body: &str) -> Delivery {
    let script = format!("curl() {{ printf '%s\\0' \"$@\"; }}\n{command}");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("run sh")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let words: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(str::to_owned)
        .collect();
    assert_eq!(words[..3], ["-X", "POST", url], "{words:?}");
    assert_eq!(words[words.len() - 2..], ["--data-raw", body], "{words:?}");
    let header = |name: &str| {
        words
            .iter()
            .find_map(|w| w.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} header in {words:?}"))
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/json");
    Delivery {
        path: "/hook".to_owned(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body: words[words.len() - 1].clone(),
        at: Instant::now(),
    }
}

async fn text_content(browser: &Browser, id: &str) -> String {
    let text = browser
        .execute(
            "return document.getElementById(arguments[0])?.textContent.trim();",
            vec![json!(id)],
        )
        .await;
    text.as_str().unwrap_or_default().to_owned()
}

/// Creates an endpoint for `receiver` subscribed to employee events and
/// returns its secret, as the page that shows it once shows it.
async fn create_endpoint_in_the_browser(app: &TestApp, browser: &Browser, url: &str) -> String {
    browser.click("a[href='/settings/webhooks']").await;
    browser.wait_for_url(&app.url("/settings/webhooks")).await;
    assert!(browser.exists("#no-endpoints").await);
    browser.click("#new-endpoint").await;
    browser
        .wait_for_url(&app.url("/settings/webhooks/new"))
        .await;
    browser.type_into("#url", url).await;
    browser.type_into("#description", "Payroll sync").await;
    browser.click("#event-all").await;
    browser.click("#event-employees-all").await;
    browser.click("#event-api_key-revoked").await;
    browser.click("#save-endpoint").await;
    let secret = browser
        .wait_until(
            "document.getElementById('endpoint-secret')?.textContent.trim()",
            "the new secret",
        )
        .await;
    secret.as_str().unwrap().to_owned()
}

async fn an_administrator_creates_tests_and_replays_an_endpoint(backend: Backend) {
    let app = app_delivering(backend).await;
    let receiver = Receiver::start().await;
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    let secret = create_endpoint_in_the_browser(&app, &browser, &receiver.url("/hook")).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(browser.exists("#copy-secret").await);

    browser.click("#to-endpoint").await;
    browser
        .wait_until("document.getElementById('send-test')", "the endpoint page")
        .await;
    let endpoint_page = browser.current_url().await;
    let endpoint_id = endpoint_page.rsplit('/').next().unwrap().to_owned();
    assert!(endpoint_id.starts_with("wep_"), "{endpoint_page}");
    assert!(browser.text("#endpoint-status").await.contains("Active"));
    browser.click("#send-test").await;
    wait_for_notice(&browser, "Test event queued").await;
    let message_id = wait_for_an_attempt(&browser, &endpoint_page).await;
    let first = receiver.wait_for(1, DEADLINE).await;
    assert_eq!(first[0].id, message_id);
    assert_eq!(first[0].event_type(), "webhook.test");

    browser.go(&app.url("/settings/webhooks")).await;
    let listed = browser
        .text(&format!("tr[data-endpoint='{endpoint_id}']"))
        .await;
    assert!(listed.contains("1 of 1 succeeded (100 %)"), "{listed}");
    assert!(listed.contains("Payroll sync"), "{listed}");

    browser.go(&endpoint_page).await;
    browser
        .click(&format!("tr[data-message='{message_id}'] a"))
        .await;
    browser
        .wait_until("document.getElementById('payload')", "the message page")
        .await;
    assert!(
        text_content(&browser, "payload")
            .await
            .contains("\"type\": \"webhook.test\"")
    );
    let attempt = browser.text("#attempts tbody tr").await;
    assert!(attempt.contains("200"), "{attempt}");

    let curl = text_content(&browser, "curl").await;
    assert!(
        curl.contains(&format!("-H 'webhook-id: {message_id}'")),
        "{curl}"
    );
    assert!(curl.contains("-H 'webhook-signature: v1,"), "{curl}");
    assert!(curl.contains("--data-raw '{"), "{curl}");

    browser.click("#replay").await;
    wait_for_notice(&browser, "Replay queued").await;
    let both = receiver.wait_for(2, DEADLINE).await;
    assert_eq!(both[1].id, message_id, "a replay keeps the webhook-id");
    assert_eq!(both[1].body, both[0].body);

    let copied = copied_request(&curl, &receiver.url("/hook"), &both[0].body).await;
    assert_eq!(copied.id, message_id);

    // A record whose text needs shell quoting comes through intact too.
    let key = full_key(&app, "acme").await;
    let employee = json!({"first_name": "Siobhán", "last_name": "O'Brien $HOME `id`",
        "start_date": "2024-01-01", "status": "active"});
    post(&app, "/api/v1/employees", &key, &employee).await;
    let deliveries = receiver.wait_for(3, DEADLINE).await;
    let created = wait_for_an_attempt(&browser, &endpoint_page).await;
    assert_eq!(deliveries[2].id, created);
    browser
        .go(&app.url(&format!(
            "/settings/webhooks/{endpoint_id}/messages/{created}"
        )))
        .await;
    let curl = text_content(&browser, "curl").await;
    let quoted = copied_request(&curl, &receiver.url("/hook"), &deliveries[2].body).await;
    assert_eq!(
        verified_by_standard_webhooks(&[copied, quoted], &secret).await,
        [true, true]
    );

    browser.go(&endpoint_page).await;
    browser.click("#reveal-secret").await;
    let revealed = browser
        .wait_until(
            "document.getElementById('endpoint-secret')?.textContent.trim()",
            "the revealed secret",
        )
        .await;
    assert_eq!(revealed, json!(secret));
    assert_audited!(app.audit_log().await, "webhook_endpoint.secret_revealed");
    assert_audited!(app.audit_log().await, "webhook_message.replayed");
    browser.quit().await;
}

async fn a_refused_url_is_explained_beside_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&app.url("/settings/webhooks/new")).await;
    browser.type_into("#url", "https://127.0.0.1/").await;
    browser.click("#save-endpoint").await;
    let error = browser
        .wait_until(
            "document.getElementById('url-error')?.textContent",
            "the URL's error",
        )
        .await;
    let error = error.as_str().unwrap();
    assert!(error.contains("url is refused"), "{error}");
    assert!(error.contains("loopback"), "{error}");
    let described_by = browser
        .execute(
            "const url = document.getElementById('url');
             return [url.getAttribute('aria-describedby'), url.getAttribute('aria-invalid'), url.value];",
            vec![],
        )
        .await;
    assert_eq!(
        described_by,
        json!(["url-hint url-error", "true", "https://127.0.0.1/"])
    );
    assert!(browser.exists("#form-errors a[href='#url']").await);
    browser.go(&app.url("/settings/webhooks")).await;
    assert!(browser.exists("#no-endpoints").await, "nothing was created");
    browser.quit().await;
}

async fn only_administrators_open_the_webhook_pages(backend: Backend) {
    let app = app_delivering(backend).await;
    let receiver = Receiver::start().await;
    let (endpoint_id, _) = create_over_the_api(&app, &receiver).await;

    let browser = Browser::launch().await;
    browser.sign_in(&app, "employee-acme").await;
    assert!(!browser.exists("a[href='/settings/webhooks']").await);
    for path in [
        "/settings/webhooks".to_owned(),
        "/settings/webhooks/new".to_owned(),
        format!("/settings/webhooks/{endpoint_id}"),
    ] {
        browser.go(&app.url(&path)).await;
        let refusal = browser.text("#forbidden").await;
        assert!(refusal.contains("Only administrators"), "{path}: {refusal}");
    }
    browser.quit().await;
}

/// Controls without an accessible name, as the console tour checks them.
const UNLABELLED: &str = "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
    .map(e => e.outerHTML);";
const OVERFLOW: &str =
    "return document.documentElement.scrollWidth - document.documentElement.clientWidth;";

async fn the_webhook_pages_fit_a_phone_and_label_every_control(backend: Backend) {
    let app = app_delivering(backend).await;
    let receiver = Receiver::start().await;
    let (endpoint_id, _) = create_over_the_api(&app, &receiver).await;
    let endpoint_path = format!("/settings/webhooks/{endpoint_id}");
    let browser = Browser::launch().await;
    browser.sign_in(&app, "admin-acme").await;
    browser.go(&app.url(&endpoint_path)).await;
    browser.click("#send-test").await;
    wait_for_notice(&browser, "Test event queued").await;
    let message_id = wait_for_an_attempt(&browser, &app.url(&endpoint_path)).await;
    let pages = [
        ("webhooks", "/settings/webhooks".to_owned()),
        ("new-webhook", "/settings/webhooks/new".to_owned()),
        ("webhook-endpoint", endpoint_path.clone()),
        ("webhook-edit", format!("{endpoint_path}/edit")),
        (
            "webhook-message",
            format!("{endpoint_path}/messages/{message_id}"),
        ),
    ];
    for (width, height) in [(1280, 900), (390, 844)] {
        browser.resize(width, height).await;
        for (name, path) in &pages {
            browser.go(&app.url(path)).await;
            let heading = browser.text("h1").await;
            assert!(
                !heading.is_empty() && !heading.contains("Not allowed"),
                "{path}: {heading}"
            );
            let overflow = browser.execute(OVERFLOW, vec![]).await;
            assert!(
                overflow.as_i64().unwrap_or(0) <= 0,
                "{path} scrolls sideways by {overflow} px at {width} px"
            );
            let unlabelled = browser.execute(UNLABELLED, vec![]).await;
            assert_eq!(unlabelled, json!([]), "{path}: controls without a label");
            browser.save_screenshot(&format!("{name}-{width}")).await;
        }
    }
    browser.quit().await;
}
