//! Webhooks end to end (SPEC §9): endpoints over HTTP Basic, the events
//! every change writes, signed delivery verified by the official Standard
//! Webhooks library, retries, disabling, replay, recovery and rotation.

use crate::harness::{
    Backend, Receiver, Reply, TestApp, assert_problem, call_with_key, full_key, post,
    seed_organization, verified_by_standard_webhooks,
};
use crate::{assert_audited, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_server::{ServerConfig, WebhookSettings};

on_both_backends!(
    administrators_manage_endpoints_and_nobody_else_does,
    endpoints_refuse_bad_urls_events_and_fields_naming_the_reason,
    record_changes_arrive_signed_with_their_snapshot,
    field_limits_narrow_payloads_and_hide_unseen_updates,
    failures_are_retried_on_the_schedule_and_honour_retry_after,
    gone_disables_at_once_and_enabling_again_restores,
    test_events_replay_and_recovery,
    a_rotation_signs_with_both_secrets_during_the_overlap,
    key_and_client_events_are_sent,
    a_refused_change_sends_nothing,
);

const DEADLINE: Duration = Duration::from_secs(20);

/// A server that may deliver to the test receiver on 127.0.0.1, retrying
/// after `schedule` seconds.
async fn app_delivering(backend: Backend, schedule: &str) -> TestApp {
    let config = ServerConfig {
        webhooks: WebhookSettings {
            allowed_networks: "127.0.0.1/32".parse().unwrap(),
            retry_schedule: schedule.parse().unwrap(),
            timeout: Duration::from_secs(2),
            poll_interval: Duration::from_millis(100),
            ..WebhookSettings::default()
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    app
}

async fn as_admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    app.as_user(method, path, "admin-acme", body).await
}

/// Creates an endpoint as acme's administrator; returns the answer (with
/// its secret).
async fn create_endpoint(app: &TestApp, body: Value) -> Value {
    let response = as_admin(app, Method::POST, "/api/v1/webhook-endpoints", Some(&body)).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

async fn administrators_manage_endpoints_and_nobody_else_does(backend: Backend) {
    let app = app_delivering(backend, "1").await;
    seed_organization(&app, "globex").await;
    let receiver = Receiver::start().await;
    let created = create_endpoint(
        &app,
        json!({"url": receiver.url("/hook"), "description": "payroll sync"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("wep_"));
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["events"], json!(["*"]));
    assert_eq!(created["enabled"], true);
    assert_eq!(created["status"], "active");
    assert_eq!(created["fields"], Value::Null);

    let path = format!("/api/v1/webhook-endpoints/{id}");
    let shown = json_of(as_admin(&app, Method::GET, &path, None).await, 200).await;
    assert_eq!(shown["description"], "payroll sync");
    assert_eq!(shown.get("secret"), None, "gets never show the secret");
    let listed = json_of(
        as_admin(&app, Method::GET, "/api/v1/webhook-endpoints", None).await,
        200,
    )
    .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0].get("secret"), None);
    assert_eq!(listed["next_cursor"], Value::Null);

    let patched = json_of(
        as_admin(
            &app,
            Method::PATCH,
            &path,
            Some(&json!({"events": ["employees.*"], "enabled": false})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["events"], json!(["employees.*"]));
    assert_eq!(patched["status"], "disabled");
    assert_eq!(patched["disabled_reason"], "disabled_by_administrator");

    // Another organisation's administrator, an employee, and an API key.
    let other = app.as_user(Method::GET, &path, "admin-globex", None).await;
    assert_problem(other, 404, "not_found").await;
    let employee = app.as_user(Method::GET, &path, "employee-acme", None).await;
    assert_problem(employee, 403, "permission_denied").await;
    let key = full_key(&app, "acme").await;
    let with_key = call_with_key(&app, Method::GET, "/api/v1/webhook-endpoints", &key, None).await;
    assert_problem(with_key, 401, "invalid_credentials").await;

    let log = app.audit_log().await;
    assert_audited!(log, "webhook_endpoint.created", actor_name == "admin-acme");
    assert_audited!(log, "webhook_endpoint.updated", actor_name == "admin-acme");
    let deleted = as_admin(&app, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status(), 204);
    assert_problem(
        as_admin(&app, Method::GET, &path, None).await,
        404,
        "not_found",
    )
    .await;
    assert_audited!(app.audit_log().await, "webhook_endpoint.deleted");
}

async fn endpoints_refuse_bad_urls_events_and_fields_naming_the_reason(backend: Backend) {
    // No allowed networks here: the defaults an operator starts with.
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let cases = [
        (json!({}), "url is required"),
        (json!({"url": "http://example.com/hook"}), "https"),
        (json!({"url": "https://127.0.0.1/hook"}), "loopback"),
        (json!({"url": "https://0x7f000001/hook"}), "loopback"),
        (json!({"url": "https://[::ffff:10.0.0.1]/hook"}), "private"),
        (
            json!({"url": "https://169.254.169.254/latest"}),
            "link-local",
        ),
        (json!({"url": "https://localhost./hook"}), "localhost"),
        (
            json!({"url": "https://example.com/hook", "events": ["employees.hired"]}),
            "employees.hired",
        ),
        (
            json!({"url": "https://example.com/hook", "fields": {"employees": ["shoe_size"]}}),
            "shoe_size",
        ),
    ];
    for (body, reason) in cases {
        let response = as_admin(&app, Method::POST, "/api/v1/webhook-endpoints", Some(&body)).await;
        let problem = assert_problem(response, 400, "invalid_request").await;
        let detail = problem["detail"].as_str().unwrap().to_lowercase();
        assert!(detail.contains(&reason.to_lowercase()), "{body}: {detail}");
    }
}

async fn record_changes_arrive_signed_with_their_snapshot(backend: Backend) {
    let app = app_delivering(backend, "1").await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(
        &app,
        json!({"url": receiver.url("/hook"), "events": ["employees.*"]}),
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap();
    let key = full_key(&app, "acme").await;
    let created = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/employees/{id}");
    let patched = call_with_key(
        &app,
        Method::PATCH,
        &path,
        &key,
        Some(&json!({"last_name": "King"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    // A sector is not subscribed to.
    post(&app, "/api/v1/sectors", &key, &json!({"name": "Sales"})).await;
    let deleted = call_with_key(&app, Method::DELETE, &path, &key, None).await;
    assert_eq!(deleted.status(), 204);

    // Up to 16 messages of an endpoint are in flight at once: they may
    // arrive in any order (docs/webhooks.md).
    let mut deliveries = receiver.wait_for(3, DEADLINE).await;
    let order = [
        "employees.created",
        "employees.updated",
        "employees.deleted",
    ];
    deliveries.sort_by_key(|d| order.iter().position(|t| *t == d.event_type()));
    let types: Vec<String> = deliveries.iter().map(|d| d.event_type()).collect();
    assert_eq!(types, order);
    let organization = app.organization_id("acme").await;
    let [created, updated, deleted] = [0, 1, 2].map(|i| deliveries[i].json());
    assert_eq!(created["data"]["organization"], organization.as_str());
    assert_eq!(created["data"]["resource"], "employees");
    assert_eq!(created["data"]["id"], id);
    assert_eq!(created["data"]["record"]["first_name"], "Ada");
    assert_eq!(created["data"].get("changed_fields"), None);
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(updated["data"]["changed_fields"], json!(["last_name"]));
    assert_eq!(updated["data"]["record"]["last_name"], "King");
    assert_eq!(deleted["data"]["record"], Value::Null);
    for delivery in &deliveries {
        assert!(delivery.id.starts_with("msg_"));
        assert_eq!(delivery.content_type, "application/json");
        assert_eq!(delivery.path, "/hook");
    }
    let verified = verified_by_standard_webhooks(&deliveries, secret).await;
    assert_eq!(verified, [true, true, true]);
    let wrong =
        verified_by_standard_webhooks(&deliveries[..1], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .await;
    assert_eq!(wrong, [false]);

    // The log shows each message delivered after one attempt with a 200.
    let messages_path = format!(
        "/api/v1/webhook-endpoints/{}/messages",
        endpoint["id"].as_str().unwrap()
    );
    let log = wait_for_status(&app, &messages_path, "delivered", 3).await;
    assert_eq!(
        log["data"][0]["event_type"], "employees.deleted",
        "newest first"
    );
    let message = json_of(
        as_admin(
            &app,
            Method::GET,
            &format!("{messages_path}/{}", deliveries[0].id),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(message["payload"], deliveries[0].json());
    assert_eq!(message["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(message["attempts"][0]["status"], 200);
    assert_eq!(message["attempts"][0]["error"], Value::Null);
    assert_eq!(message["attempts"][0]["response"], "answer 200");
}

/// Polls the message log until `count` messages have `status`.
async fn wait_for_status(app: &TestApp, messages_path: &str, status: &str, count: usize) -> Value {
    let path = format!("{messages_path}?status={status}");
    let started = std::time::Instant::now();
    loop {
        let page = json_of(as_admin(app, Method::GET, &path, None).await, 200).await;
        if page["data"].as_array().unwrap().len() >= count {
            return page;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{count} {status} messages: {page}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn field_limits_narrow_payloads_and_hide_unseen_updates(backend: Backend) {
    let app = app_delivering(backend, "1").await;
    let receiver = Receiver::start().await;
    create_endpoint(
        &app,
        json!({"url": receiver.url("/"), "events": ["employees.*"], "fields": {"employees": ["id", "first_name"]}}),
    )
    .await;
    let key = full_key(&app, "acme").await;
    let created = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "iban": "DE89370400440532013000"}),
    )
    .await;
    let path = format!("/api/v1/employees/{}", created["id"].as_str().unwrap());
    // Only a field the endpoint cannot see changes: no message.
    call_with_key(
        &app,
        Method::PATCH,
        &path,
        &key,
        Some(&json!({"iban": "GB82WEST12345698765432"})),
    )
    .await;
    call_with_key(
        &app,
        Method::PATCH,
        &path,
        &key,
        Some(&json!({"first_name": "Augusta", "iban": "DE89370400440532013000"})),
    )
    .await;
    let deliveries = receiver.wait_for(2, DEADLINE).await;
    let of_type = |t: &str| {
        deliveries
            .iter()
            .find(|d| d.event_type() == t)
            .unwrap()
            .json()
    };
    let first = of_type("employees.created");
    assert_eq!(
        first["data"]["record"],
        json!({"id": created["id"], "first_name": "Ada"})
    );
    let second = of_type("employees.updated");
    assert_eq!(
        second["data"]["changed_fields"],
        json!(["first_name"]),
        "iban is not named"
    );
    assert_eq!(
        second["data"]["record"],
        json!({"id": created["id"], "first_name": "Augusta"})
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.deliveries().len(),
        2,
        "the iban-only update is never sent"
    );
}

async fn failures_are_retried_on_the_schedule_and_honour_retry_after(backend: Backend) {
    let app = app_delivering(backend, "1,1,1").await;
    let receiver = Receiver::start().await;
    receiver.script([
        Reply::status(500),
        Reply::status(503).retry_after("2"),
        Reply::status(302),
    ]);
    let endpoint = create_endpoint(
        &app,
        json!({"url": receiver.url("/"), "events": ["sectors.*"]}),
    )
    .await;
    let endpoint_id = endpoint["id"].as_str().unwrap();
    let key = full_key(&app, "acme").await;
    post(&app, "/api/v1/sectors", &key, &json!({"name": "Sales"})).await;
    let deliveries = receiver.wait_for(4, DEADLINE).await;
    let attempts: Vec<_> = deliveries
        .iter()
        .filter(|d| d.id == deliveries[0].id)
        .collect();
    assert_eq!(attempts.len(), 4, "500, 503, 302, then 200: {deliveries:?}");
    assert!(
        attempts.iter().all(|d| d.body == attempts[0].body),
        "the same body each time"
    );
    let waits: Vec<Duration> = attempts.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        waits[0] >= Duration::from_millis(800),
        "about 1 s ± 20 %: {waits:?}"
    );
    assert!(
        waits[1] >= Duration::from_millis(2000),
        "Retry-After 2 is a floor: {waits:?}"
    );
    let path = format!(
        "/api/v1/webhook-endpoints/{endpoint_id}/messages/{}",
        attempts[0].id
    );
    let started = std::time::Instant::now();
    let message = loop {
        let message = json_of(as_admin(&app, Method::GET, &path, None).await, 200).await;
        if message["status"] == "delivered" {
            break message;
        }
        assert!(started.elapsed() < DEADLINE, "{message}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let statuses: Vec<&Value> = message["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(
        statuses,
        [&json!(500), &json!(503), &json!(302), &json!(200)]
    );
    assert_eq!(message["attempts"][0]["error"], "http_status");
    assert_eq!(
        message["attempts"][2]["error"], "http_status",
        "redirects are failures"
    );
}

async fn gone_disables_at_once_and_enabling_again_restores(backend: Backend) {
    let app = app_delivering(backend, "1,1").await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(410)]);
    let endpoint = create_endpoint(
        &app,
        json!({"url": receiver.url("/"), "events": ["sectors.*"]}),
    )
    .await;
    let path = format!(
        "/api/v1/webhook-endpoints/{}",
        endpoint["id"].as_str().unwrap()
    );
    let key = full_key(&app, "acme").await;
    post(&app, "/api/v1/sectors", &key, &json!({"name": "Sales"})).await;
    receiver.wait_for(1, DEADLINE).await;
    let started = std::time::Instant::now();
    let shown = loop {
        let shown = json_of(as_admin(&app, Method::GET, &path, None).await, 200).await;
        if shown["status"] == "disabled" {
            break shown;
        }
        assert!(started.elapsed() < DEADLINE, "{shown}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shown["disabled_reason"], "endpoint_gone");
    assert_eq!(shown["enabled"], true);
    let entry = assert_audited!(
        app.audit_log().await,
        "webhook_endpoint.disabled",
        actor_kind == "system"
    );
    assert!(entry.details.unwrap().contains("\"reason\":\"gone\""));

    // Disabled: no message is queued for later changes.
    post(&app, "/api/v1/sectors", &key, &json!({"name": "Ops"})).await;
    let enabled = json_of(
        as_admin(&app, Method::PATCH, &path, Some(&json!({"enabled": true}))).await,
        200,
    )
    .await;
    assert_eq!(enabled["status"], "active");
    post(&app, "/api/v1/sectors", &key, &json!({"name": "Finance"})).await;
    let deliveries = receiver.wait_for(2, DEADLINE).await;
    assert_eq!(deliveries[1].json()["data"]["record"]["name"], "Finance");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.deliveries().len(),
        2,
        "the failed 410 message is not retried"
    );
}

async fn test_events_replay_and_recovery(backend: Backend) {
    let app = app_delivering(backend, "1").await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(
        &app,
        json!({"url": receiver.url("/"), "events": ["employees.created"]}),
    )
    .await;
    let base = format!(
        "/api/v1/webhook-endpoints/{}",
        endpoint["id"].as_str().unwrap()
    );

    // A test event goes out whatever the endpoint subscribes to.
    let test = as_admin(&app, Method::POST, &format!("{base}/test"), None).await;
    let test = json_of(test, 202).await;
    let first = receiver.wait_for(1, DEADLINE).await;
    assert_eq!(first[0].event_type(), "webhook.test");
    assert_eq!(first[0].id, test["message_id"].as_str().unwrap());

    // Replay: the same webhook-id and body, sent again now.
    let replay = as_admin(
        &app,
        Method::POST,
        &format!("{base}/messages/{}/replay", first[0].id),
        None,
    )
    .await;
    assert_eq!(replay.status(), 202);
    let again = receiver.wait_for(2, DEADLINE).await;
    assert_eq!(again[1].id, again[0].id);
    assert_eq!(again[1].body, again[0].body);

    // Two attempts fail (the schedule allows two), then recovery.
    receiver.otherwise(Reply::status(500));
    let since = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let key = full_key(&app, "acme").await;
    post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    wait_for_status(&app, &format!("{base}/messages"), "failed", 1).await;
    receiver.otherwise(Reply::status(204));
    let recovered = as_admin(
        &app,
        Method::POST,
        &format!("{base}/recover"),
        Some(&json!({"since": since})),
    )
    .await;
    assert_eq!(json_of(recovered, 202).await, json!({"queued": 1}));
    let all = receiver.wait_for(5, DEADLINE).await;
    assert_eq!(all[4].event_type(), "employees.created");
    wait_for_status(&app, &format!("{base}/messages"), "delivered", 2).await;
    let bad = as_admin(
        &app,
        Method::POST,
        &format!("{base}/recover"),
        Some(&json!({"since": "yesterday"})),
    )
    .await;
    assert_problem(bad, 400, "invalid_request").await;
    let unknown = as_admin(
        &app,
        Method::GET,
        &format!("{base}/messages?status=lost"),
        None,
    )
    .await;
    assert_problem(unknown, 400, "invalid_request").await;
    let log = app.audit_log().await;
    assert_audited!(log, "webhook_endpoint.test_sent");
    assert_audited!(log, "webhook_message.replayed");
    assert_audited!(log, "webhook_endpoint.recovered");
}

async fn a_rotation_signs_with_both_secrets_during_the_overlap(backend: Backend) {
    let app = app_delivering(backend, "1").await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(&app, json!({"url": receiver.url("/")})).await;
    let old_secret = endpoint["secret"].as_str().unwrap();
    let base = format!(
        "/api/v1/webhook-endpoints/{}",
        endpoint["id"].as_str().unwrap()
    );
    let rotated = as_admin(
        &app,
        Method::POST,
        &format!("{base}/rotate-secret"),
        Some(&json!({"overlap_hours": 1})),
    )
    .await;
    let rotated = json_of(rotated, 200).await;
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    as_admin(&app, Method::POST, &format!("{base}/test"), None).await;
    let during = receiver.wait_for(1, DEADLINE).await;
    assert_eq!(during[0].signature.split(' ').count(), 2);
    assert_eq!(
        verified_by_standard_webhooks(&during, old_secret).await,
        [true]
    );
    assert_eq!(
        verified_by_standard_webhooks(&during, new_secret).await,
        [true]
    );

    // Without an overlap only the newest secret signs.
    let again = as_admin(
        &app,
        Method::POST,
        &format!("{base}/rotate-secret"),
        Some(&json!({"overlap_hours": 0})),
    )
    .await;
    let newest = json_of(again, 200).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    as_admin(&app, Method::POST, &format!("{base}/test"), None).await;
    let after = receiver.wait_for(2, DEADLINE).await;
    assert_eq!(after[1].signature.split(' ').count(), 1);
    assert_eq!(
        verified_by_standard_webhooks(&after[1..], &newest).await,
        [true]
    );
    assert_eq!(
        verified_by_standard_webhooks(&after[1..], new_secret).await,
        [false]
    );
    let too_long = as_admin(
        &app,
        Method::POST,
        &format!("{base}/rotate-secret"),
        Some(&json!({"overlap_hours": 1000})),
    )
    .await;
    assert_problem(too_long, 400, "invalid_request").await;
    assert_audited!(app.audit_log().await, "webhook_endpoint.secret_rotated");
}

async fn key_and_client_events_are_sent(backend: Backend) {
    let app = app_delivering(backend, "1").await;
    let receiver = Receiver::start().await;
    create_endpoint(
        &app,
        json!({"url": receiver.url("/"), "events": ["api_key.*", "api_client.*"]}),
    )
    .await;
    let key = crate::harness::create_key(&app, "admin-acme", json!({"name": "payroll"})).await;
    let key_path = format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
    let revoke = as_admin(&app, Method::DELETE, &key_path, None).await;
    assert_eq!(revoke.status(), 204);
    let leaked = crate::harness::create_key(&app, "admin-acme", json!({"name": "pasted"})).await;
    let report = app
        .http
        .post(app.url("/api/v1/leaked-keys"))
        .json(&json!({"key": leaked["key"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 202);
    crate::harness::create_key(&app, "admin-acme", json!({"name": "sync"})).await;
    let revoke_all = as_admin(
        &app,
        Method::POST,
        "/api/v1/api-keys/revoke-all",
        Some(&json!({"confirm": "acme"})),
    )
    .await;
    assert_eq!(revoke_all.status(), 200);
    let name = tessera_core::names::DisplayName::parse("Payroll Co").unwrap();
    let client =
        tessera_ops::clients::create(&app.ops, &tessera_core::audit::Actor::command_line(), &name)
            .await
            .unwrap();
    let block = format!("/api/v1/connected-clients/{}/block", client.client.id);
    assert_eq!(
        as_admin(&app, Method::PUT, &block, None).await.status(),
        200
    );
    assert_eq!(
        as_admin(&app, Method::DELETE, &block, None).await.status(),
        200
    );

    let deliveries = receiver.wait_for(8, DEADLINE).await;
    let mut types: Vec<String> = deliveries.iter().map(|d| d.event_type()).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "api_client.blocked",
            "api_client.unblocked",
            "api_key.created",
            "api_key.created",
            "api_key.created",
            "api_key.leaked",
            "api_key.revoked",
            "api_key.revoked_all",
        ]
    );
    let by_type = |t: &str| {
        deliveries
            .iter()
            .find(|d| d.event_type() == t)
            .unwrap()
            .json()
    };
    let created = deliveries
        .iter()
        .find(|d| d.json()["data"]["key"]["id"] == key["id"])
        .unwrap();
    assert_eq!(
        created.json()["data"]["key"]["owner"],
        json!({"type": "user", "name": "admin-acme"})
    );
    assert!(
        !created.body.contains(key["key"].as_str().unwrap()),
        "never the secret"
    );
    assert_eq!(by_type("api_key.revoked")["data"]["key"]["id"], key["id"]);
    assert_eq!(by_type("api_key.leaked")["data"]["key"]["id"], leaked["id"]);
    assert_eq!(by_type("api_key.revoked_all")["data"]["revoked"], 1);
    assert_eq!(
        by_type("api_client.blocked")["data"]["client"]["name"],
        "Payroll Co"
    );
}

async fn a_refused_change_sends_nothing(backend: Backend) {
    let app = app_delivering(backend, "1").await;
    let receiver = Receiver::start().await;
    let endpoint = create_endpoint(
        &app,
        json!({"url": receiver.url("/"), "events": ["employees.*"]}),
    )
    .await;
    let key = full_key(&app, "acme").await;
    // A reference to a sector that does not exist: the write rolls back.
    let refused = call_with_key(
        &app,
        Method::POST,
        "/api/v1/employees",
        &key,
        Some(&json!({"first_name": "Ada", "last_name": "L", "sector_id": "sec_00000000000000000000000000"})),
    )
    .await;
    assert!(refused.status().is_client_error());
    as_admin(
        &app,
        Method::POST,
        &format!(
            "/api/v1/webhook-endpoints/{}/test",
            endpoint["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let deliveries = receiver.wait_for(1, DEADLINE).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.deliveries().len(), 1);
    assert_eq!(deliveries[0].event_type(), "webhook.test");
}
