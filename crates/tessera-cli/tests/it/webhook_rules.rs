//! The delivery worker's rules beyond one happy endpoint: a slow receiver
//! holds only its own messages, a slow answer is a timeout, five days of
//! failures disable an endpoint, every delivery checks the address again,
//! and old messages are pruned.

use crate::harness::{Backend, Receiver, Reply, TestApp, seed_organization};
use crate::{assert_audited, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tessera_core::audit::Actor;
use tessera_ops::webhooks::{
    AttemptReport, EndpointHealth, EndpointRequest, Manager, WebhookRules,
};
use tessera_server::{ServerConfig, WebhookSettings};
use tessera_store::webhooks::delivery::{self, Attempt, Settlement};

on_both_backends!(
    a_slow_receiver_does_not_delay_another_endpoint,
    a_slow_answer_is_a_timeout,
    five_days_of_failures_disable_an_endpoint,
    every_delivery_checks_the_address_again,
    old_messages_are_pruned,
);

const DEADLINE: Duration = Duration::from_secs(20);

fn settings(allowed: &str) -> ServerConfig {
    ServerConfig {
        webhooks: WebhookSettings {
            allowed_networks: allowed.parse().unwrap(),
            retry_schedule: "1".parse().unwrap(),
            timeout: Duration::from_secs(1),
            poll_interval: Duration::from_millis(100),
            ..WebhookSettings::default()
        },
        ..ServerConfig::default()
    }
}

async fn app(backend: Backend, allowed: &str) -> TestApp {
    let app = TestApp::spawn_with(backend, settings(allowed)).await;
    seed_organization(&app, "acme").await;
    app
}

async fn endpoint(app: &TestApp, url: String) -> String {
    let response = app
        .as_user(
            Method::POST,
            "/api/v1/webhook-endpoints",
            "admin-acme",
            Some(&json!({"url": url})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn send_tests(app: &TestApp, endpoint_id: &str, count: usize) {
    for _ in 0..count {
        let path = format!("/api/v1/webhook-endpoints/{endpoint_id}/test");
        let response = app.as_user(Method::POST, &path, "admin-acme", None).await;
        assert_eq!(response.status(), 202);
    }
}

async fn message_of(app: &TestApp, endpoint_id: &str) -> Value {
    let path = format!("/api/v1/webhook-endpoints/{endpoint_id}/messages");
    let page: Value = app.get_json_as(&path, "admin-acme").await;
    let id = page["data"][0]["id"]
        .as_str()
        .expect("a message")
        .to_owned();
    app.get_json_as(&format!("{path}/{id}"), "admin-acme").await
}

async fn a_slow_receiver_does_not_delay_another_endpoint(backend: Backend) {
    let mut config = settings("127.0.0.1/32");
    config.webhooks.timeout = Duration::from_secs(10);
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.otherwise(Reply::status(200).after(Duration::from_secs(3)));
    let slow_id = endpoint(&app, slow.url("/")).await;
    let fast_id = endpoint(&app, fast.url("/")).await;
    // Far more than one endpoint's share (16) of concurrent deliveries,
    // queued through the operations (a password check per API call would
    // take longer than the slow receiver's answers).
    let organization_id = app.organization_id("acme").await;
    let actor = Actor::command_line();
    let manager = Manager {
        organization_id: &organization_id,
        actor: &actor,
    };
    for (id, count) in [(&slow_id, 40), (&fast_id, 5)] {
        for _ in 0..count {
            tessera_ops::webhooks::send_test(&app.ops, &manager, id)
                .await
                .unwrap();
        }
    }
    let fast_arrivals = fast.wait_for(5, DEADLINE).await;
    let slow_arrivals = slow.wait_for(17, DEADLINE).await;
    // The 17th slow message had to wait for one of the first 16 to be
    // answered (3 s); the fast endpoint's messages did not wait for that.
    let waited = slow_arrivals[16].at - slow_arrivals[0].at;
    assert!(
        waited >= Duration::from_millis(2500),
        "the 17th slow message arrived after {waited:?}"
    );
    assert!(
        fast_arrivals[4].at < slow_arrivals[16].at,
        "the fast endpoint waited behind the slow one"
    );
}

async fn a_slow_answer_is_a_timeout(backend: Backend) {
    let app = app(backend, "127.0.0.1/32").await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(200).after(Duration::from_secs(3))]);
    let id = endpoint(&app, receiver.url("/")).await;
    send_tests(&app, &id, 1).await;
    receiver.wait_for(2, DEADLINE).await;
    let started = Instant::now();
    let message = loop {
        let message = message_of(&app, &id).await;
        if message["status"] == "delivered" {
            break message;
        }
        assert!(started.elapsed() < DEADLINE, "{message}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(message["attempts"][0]["error"], "timeout");
    assert_eq!(message["attempts"][0]["status"], Value::Null);
    assert_eq!(message["attempts"][1]["status"], 200);
}

async fn five_days_of_failures_disable_an_endpoint(backend: Backend) {
    // No receiver: the worker cannot reach this address, so only the
    // attempts recorded below count.
    let app = app(backend, "").await;
    let id = endpoint(&app, "https://hooks.example.com/tessera".to_owned()).await;
    send_tests(&app, &id, 1).await;
    let message_id = message_of(&app, &id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = |at: i64| Attempt {
        at,
        status: Some(500),
        latency_ms: 5,
        error: Some("http_status".to_owned()),
        response: String::new(),
    };
    let day = 24 * 60 * 60 * 1000;
    let first = tessera_store::now_ms();
    let record = |at: i64, was_failing: bool| {
        let ops = app.ops.clone();
        let (id, message_id) = (id.clone(), message_id.clone());
        async move {
            let report = AttemptReport {
                endpoint_id: id,
                message_id,
                attempt: failed(at),
                settlement: Settlement::RetryAt(at + 1000),
                health: EndpointHealth::Failed,
                was_failing,
            };
            tessera_ops::webhooks::record_attempts(&ops, &[report])
                .await
                .unwrap();
        }
    };
    record(first, false).await;
    record(first + 4 * day, true).await;
    let shown = app
        .get_json_as(&format!("/api/v1/webhook-endpoints/{id}"), "admin-acme")
        .await;
    assert_eq!(
        shown["status"], "active",
        "four days of failures are not enough"
    );
    record(first + 5 * day, true).await;
    let shown = app
        .get_json_as(&format!("/api/v1/webhook-endpoints/{id}"), "admin-acme")
        .await;
    assert_eq!(shown["status"], "disabled");
    assert_eq!(shown["disabled_reason"], "failing_for_5_days");
    assert_audited!(
        app.audit_log().await,
        "webhook_endpoint.disabled",
        actor_kind == "system"
    );
}

async fn every_delivery_checks_the_address_again(backend: Backend) {
    // The server allows no private network; the endpoint was saved where
    // 127.0.0.1 was allowed (another instance, or before the operator
    // tightened the rules).
    let app = app(backend, "").await;
    let receiver = Receiver::start().await;
    let lenient = app.ops_elsewhere().with_webhook_rules(WebhookRules {
        allowed_networks: "127.0.0.1/32".parse().unwrap(),
    });
    let organization_id = app.organization_id("acme").await;
    let actor = Actor::command_line();
    let manager = Manager {
        organization_id: &organization_id,
        actor: &actor,
    };
    let request = EndpointRequest {
        url: Some(receiver.url("/")),
        ..EndpointRequest::default()
    };
    let created = tessera_ops::webhooks::create(&lenient, &manager, request)
        .await
        .unwrap();
    let id = created.endpoint.id.to_string();
    send_tests(&app, &id, 1).await;
    let started = Instant::now();
    let message = loop {
        let message = message_of(&app, &id).await;
        if !message["attempts"].as_array().unwrap().is_empty() {
            break message;
        }
        assert!(started.elapsed() < DEADLINE, "{message}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(message["attempts"][0]["error"], "refused_address");
    assert!(
        message["attempts"][0]["response"]
            .as_str()
            .unwrap()
            .contains("allowed"),
        "the reason is recorded: {message}"
    );
    assert!(
        receiver.deliveries().is_empty(),
        "nothing reached the address"
    );
}

async fn old_messages_are_pruned(backend: Backend) {
    let app = app(backend, "127.0.0.1/32").await;
    let receiver = Receiver::start().await;
    let id = endpoint(&app, receiver.url("/")).await;
    send_tests(&app, &id, 2).await;
    receiver.wait_for(2, DEADLINE).await;
    let (messages, events) = delivery::prune(&app.db, tessera_store::now_ms() - 60_000)
        .await
        .unwrap();
    assert_eq!((messages, events), (0, 0), "nothing is a minute old yet");
    let started = Instant::now();
    loop {
        let page: Value = app
            .get_json_as(
                &format!("/api/v1/webhook-endpoints/{id}/messages?status=delivered"),
                "admin-acme",
            )
            .await;
        if page["data"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "{page}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (messages, events) = delivery::prune(&app.db, tessera_store::now_ms() + 1)
        .await
        .unwrap();
    assert_eq!(messages, 2);
    assert!(events >= 2, "{events}");
    let page: Value = app
        .get_json_as(
            &format!("/api/v1/webhook-endpoints/{id}/messages"),
            "admin-acme",
        )
        .await;
    assert_eq!(page["data"], json!([]));
}
