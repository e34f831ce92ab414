//! The binary's life: start-up failures, migrations, the demo, and graceful
//! shutdown that drains in-flight requests.

use crate::harness::{
    Backend, ServerProcess, TestDb, assert_fails_with, assert_succeeds, stdout, tessera,
};
use crate::on_both_backends;
use std::io::{Read, Write};
use std::net::TcpStream;

on_both_backends!(
    migrate_twice_applies_once,
    sigterm_drains_in_flight_requests_then_exits_cleanly,
    demo_is_idempotent_and_its_printed_credentials_work,
    json_logs_are_structured_and_never_contain_secrets,
);

async fn migrate_twice_applies_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let first = assert_succeeds(&tessera(&db.url, &["migrate"]));
    assert!(first.starts_with("applied "), "{first}");
    let second = assert_succeeds(&tessera(&db.url, &["migrate"]));
    assert_eq!(second.trim(), "database is up to date");
}

async fn sigterm_drains_in_flight_requests_then_exits_cleanly(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = ServerProcess::start(&db.url, "serve", &["--drain-seconds", "2"]);
    let base = format!("http://{}", server.address);
    let http = reqwest::Client::new();
    assert_eq!(ready(&http, &base).await, (200, "ready".to_owned()));

    // A request whose body is still arriving when the signal comes.
    let body = "username=someone&password=whatever&csrf=x";
    let mut stream = TcpStream::connect(server.address).unwrap();
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: tessera\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    stream.flush().unwrap();
    // Make sure the server is inside the request before signalling.
    let probe = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(probe.status(), 200);

    server.signal("TERM");
    server.wait_for_log("SIGTERM received; /readyz answers 503");
    // Draining: not ready any more, yet new connections are still served,
    // and each answer asks its client to close the connection.
    assert_eq!(ready(&http, &base).await, (503, "draining".to_owned()));
    let during_drain = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(during_drain.status(), 200);
    assert_eq!(during_drain.headers()["connection"], "close");

    server.wait_for_log("no longer accepting connections; draining in-flight requests");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    // New connections stop being accepted: the listener closes just after the
    // line is logged, so allow it a moment rather than racing it.
    let refused_by = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if reqwest::get(format!("{base}/healthz")).await.is_err() {
            break;
        }
        assert!(
            std::time::Instant::now() < refused_by,
            "still accepting new connections 5 s after the drain delay"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 403"),
        "in-flight request was not answered: {response:?}"
    );

    let status = server.wait();
    assert!(status.success(), "exit status {status:?}");
}

/// `/readyz`'s status code and its `status` member.
async fn ready(http: &reqwest::Client, base: &str) -> (u16, String) {
    let response = http.get(format!("{base}/readyz")).send().await.unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["status"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn demo_is_idempotent_and_its_printed_credentials_work(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut first = ServerProcess::start(&db.url, "demo", &[]);
    assert!(
        first
            .stdout
            .contains("Tessera demo created: organisation 'acme'"),
        "{}",
        first.stdout
    );
    let username = printed(&first.stdout, "Username:");
    let password = printed(&first.stdout, "Password:");
    let first_key = printed(&first.stdout, "Key:");
    assert!(printed(&first.stdout, "Console:").ends_with("/login"));
    assert_eq!(
        printed(&first.stdout, "Demo data:"),
        "240 employees, 240 pay rates, 90 time-off requests, 25 documents, 12 products, 150 transactions"
    );
    first.signal("INT");
    assert!(first.wait().success());

    let second = ServerProcess::start(&db.url, "demo", &[]);
    assert!(
        second
            .stdout
            .contains("Tessera demo ready: organisation 'acme'"),
        "{}",
        second.stdout
    );
    let app_url = format!("http://{}", second.address);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (status, admin_session) = sign_in(&http, &app_url, &username, &password).await;
    assert_eq!(status, 303, "the printed demo credentials do not sign in");

    // The printed operator signs in and sees the operator pages.
    assert!(printed(&second.stdout, "Operator (").contains("/operator/organizations"));
    let operator = printed(&second.stdout, "Operator username:");
    let operator_password = printed(&second.stdout, "Operator password:");
    let (status, session) = sign_in(&http, &app_url, &operator, &operator_password).await;
    assert_eq!(
        status, 303,
        "the printed operator credentials do not sign in"
    );
    let organizations = http
        .get(format!("{app_url}/operator/organizations"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(organizations.status(), 200);
    assert!(organizations.text().await.unwrap().contains("acme"));

    // The printed sample key works; the previous start's key no longer does.
    let key = printed(&second.stdout, "Key:");
    let me = http
        .get(format!("{app_url}/api/v1/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["organization"],
        "acme"
    );
    let old = http
        .get(format!("{app_url}/api/v1/me"))
        .header("x-api-key", &first_key)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    assert!(printed(&second.stdout, "Try:").contains(&format!("curl -H 'X-API-KEY: {key}'")));

    // The printed data command works, and restarting added no second copy.
    assert!(!second.stdout.contains("Demo data:"), "{}", second.stdout);
    let data_command = printed(&second.stdout, "Data:");
    let data_url = data_command.rsplit('\'').nth(1).unwrap();
    let page: serde_json::Value = http
        .get(data_url)
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let employees = page["data"].as_array().unwrap();
    assert_eq!(employees.len(), 2, "{page}");
    assert!(employees.iter().all(|e| e["status"] == "active"));

    // The printed feed command shows how the demo data came to be.
    let changes_command = printed(&second.stdout, "Changes:");
    let changes_url = changes_command.rsplit('\'').nth(1).unwrap();
    let changes: serde_json::Value = http
        .get(changes_url)
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = changes["data"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{changes}");
    assert!(events.iter().all(|e| e["type"] == "employees.created"));
    assert!(changes["next_cursor"].is_string());
    let get = |path: String| {
        let request = http
            .get(format!("{app_url}{path}"))
            .header("x-api-key", &key);
        async move { request.send().await.unwrap() }
    };
    let mut total = 0;
    let mut cursor = String::new();
    loop {
        let page: serde_json::Value = get(format!("/api/v1/employees?limit=200{cursor}"))
            .await
            .json()
            .await
            .unwrap();
        total += page["data"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(total, 240);
    for resource in [
        "pay-rates",
        "time-off",
        "products",
        "transactions",
        "sectors",
    ] {
        let page: serde_json::Value = get(format!("/api/v1/{resource}?limit=1"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["data"].as_array().unwrap().len(), 1, "{resource}");
    }
    let documents: serde_json::Value = get("/api/v1/documents?limit=1".to_owned())
        .await
        .json()
        .await
        .unwrap();
    let document = &documents["data"][0];
    let content = get(format!(
        "/api/v1/documents/{}/content",
        document["id"].as_str().unwrap()
    ))
    .await
    .bytes()
    .await
    .unwrap();
    assert!(content.starts_with(b"%PDF-"));
    assert_eq!(document["size"], content.len());
    assert_eq!(
        printed(&second.stdout, "API docs:"),
        format!("{app_url}/docs")
    );
    assert!(
        admin_session.starts_with("tessera_session="),
        "{admin_session}"
    );
}

/// Signs in on the console's form; the answer's status and its session
/// cookie.
async fn sign_in(
    http: &reqwest::Client,
    app_url: &str,
    username: &str,
    password: &str,
) -> (u16, String) {
    let form = http.get(format!("{app_url}/login")).send().await.unwrap();
    let cookie = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = form.text().await.unwrap();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let signed_in = http
        .post(format!("{app_url}/login"))
        .header("cookie", cookie)
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    (signed_in.status().as_u16(), session)
}

fn printed(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("{label} not printed in {stdout}"))
        .trim()
        .to_owned()
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = tessera(&url, &["serve", "--listen", &address]);
    assert_fails_with(&out, &format!("cannot listen on {address}"));
    assert!(stdout(&out).is_empty());
}

#[test]
fn bad_trusted_proxy_ranges_are_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = tessera(
        &url,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trusted-proxies",
            "10.0.0.0/8,banana",
        ],
    );
    assert_fails_with(&out, "invalid trusted proxy range 'banana'");
}

async fn json_logs_are_structured_and_never_contain_secrets(backend: Backend) {
    let db = TestDb::new(backend).await;
    crate::harness::seed_organization_at(&db.url, "acme");
    let mut server = ServerProcess::start(&db.url, "serve", &["--log-format", "json"]);
    let base = format!("http://{}", server.address);
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{base}/api/v1/api-keys"))
        .header("authorization", crate::harness::basic("admin-acme"))
        .json(&serde_json::json!({"name": "logged?"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    http.get(format!("{base}/api/v1/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    http.get(format!("{base}/api/v1/me?api_key={key}"))
        .send()
        .await
        .unwrap();
    http.get(format!("{base}/api/v1/me"))
        .header("x-request-id", "find-me-in-logs")
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    server.wait_for_log("find-me-in-logs");
    server.signal("TERM");
    assert!(server.wait().success());
    let lines = server.drain_log();
    assert!(!lines.is_empty());
    for line in &lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            parsed["level"].is_string() && parsed["timestamp"].is_string(),
            "{line}"
        );
        assert!(!line.contains(&key), "a key leaked into the logs: {line}");
        assert!(
            !line.contains(crate::harness::PASSWORD),
            "a password leaked into the logs: {line}"
        );
    }
}

/// Text logs written to a file or a pipe are plain text: no ANSI colour
/// codes, and a request's latency in whole microseconds, not float noise.
#[tokio::test]
async fn text_logs_to_a_pipe_are_plain_and_latencies_are_whole_microseconds() {
    let db = TestDb::new(Backend::Sqlite).await;
    let mut server = ServerProcess::start(&db.url, "serve", &[]);
    reqwest::Client::new()
        .get(format!("http://{}/api/v1/me", server.address))
        .header("x-request-id", "plain-text-please")
        .send()
        .await
        .unwrap();
    server.wait_for_log("request completed");
    server.signal("TERM");
    assert!(server.wait().success());
    let lines = server.drain_log();
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "colour codes in: {line:?}");
    }
    let completed = lines
        .iter()
        .find(|line| line.contains("plain-text-please") && line.contains("request completed"))
        .unwrap_or_else(|| panic!("no completed request in: {lines:#?}"));
    let latency = completed
        .split_whitespace()
        .find_map(|word| word.strip_prefix("latency_us="))
        .unwrap_or_else(|| panic!("no latency_us in: {completed}"));
    assert!(
        latency.parse::<u64>().is_ok(),
        "latency_us={latency} is not a whole number: {completed}"
    );
}

/// A person at a terminal does not wait for load balancers: SIGINT stops
/// at once, and so does a second signal during SIGTERM's drain delay.
#[tokio::test]
async fn sigint_or_a_second_signal_skips_the_drain_delay() {
    let db = TestDb::new(Backend::Sqlite).await;
    let long_drain = ["--drain-seconds", "600"];
    let mut interrupted = ServerProcess::start(&db.url, "serve", &long_drain);
    interrupted.signal("INT");
    assert!(interrupted.wait().success());
    assert!(
        !interrupted
            .drain_log()
            .iter()
            .any(|line| line.contains("SIGTERM received")),
        "SIGINT waited for the drain delay"
    );

    let mut terminated = ServerProcess::start(&db.url, "serve", &long_drain);
    terminated.signal("TERM");
    terminated.wait_for_log("SIGTERM received; /readyz answers 503");
    terminated.signal("TERM");
    terminated.wait_for_log("second stop signal; ending the drain delay early");
    assert!(terminated.wait().success());
}
