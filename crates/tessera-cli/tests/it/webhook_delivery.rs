//! Webhook delivery with real `tessera serve` processes: rows written by
//! `tessera import` are delivered, a `kill -9` with undelivered messages
//! loses none of them, and two instances on one PostgreSQL database share
//! the queue so each message is attempted by one of them.

use crate::harness::{
    Backend, Delivery, Receiver, Reply, ServerProcess, TestDb, assert_succeeds, basic,
    seed_organization_at, tessera,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

on_both_backends!(a_kill_9_with_undelivered_messages_loses_none);

/// Settings that let a server deliver to the receiver quickly.
const DELIVERY_ARGS: &[&str] = &[
    "--webhook-allowed-networks",
    "127.0.0.1/32",
    "--webhook-timeout",
    "1",
    "--webhook-retry-schedule",
    "1,1,1,1,1,1,1,1,1,1",
    "--webhook-poll-ms",
    "100",
];

async fn create_endpoint(server: &ServerProcess, receiver: &Receiver) -> Value {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/api/v1/webhook-endpoints",
            server.address
        ))
        .header("authorization", basic("admin-acme"))
        .json(&json!({"url": receiver.url("/hook"), "events": ["employees.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Imports `count` employees with the command line, in one transaction.
fn import_employees(database_url: &str, count: usize) {
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    let mut csv = String::from("first_name,last_name\n");
    for n in 0..count {
        csv.push_str(&format!("Person,Number {n}\n"));
    }
    std::fs::write(file.path(), csv).unwrap();
    let output = tessera(
        database_url,
        &[
            "import",
            "employees",
            file.path().to_str().unwrap(),
            "--org",
            "acme",
        ],
    );
    assert_succeeds(&output);
}

/// How many times each message arrived.
fn arrivals(deliveries: &[Delivery]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for delivery in deliveries {
        *seen.entry(delivery.id.clone()).or_insert(0) += 1;
    }
    seen
}

async fn wait_for_distinct(
    receiver: &Receiver,
    count: usize,
    limit: Duration,
) -> HashMap<String, usize> {
    let started = std::time::Instant::now();
    loop {
        let seen = arrivals(&receiver.deliveries());
        if seen.len() >= count {
            return seen;
        }
        assert!(
            started.elapsed() < limit,
            "{} of {count} messages arrived",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_kill_9_with_undelivered_messages_loses_none(backend: Backend) {
    let db = TestDb::new(backend).await;
    seed_organization_at(&db.url, "acme");
    let receiver = Receiver::start().await;
    // A slow receiver: most messages are still queued or in flight when
    // the server dies.
    receiver.otherwise(Reply::status(200).after(Duration::from_millis(100)));
    let server = ServerProcess::start(&db.url, "serve", DELIVERY_ARGS);
    create_endpoint(&server, &receiver).await;
    import_employees(&db.url, 200);
    receiver.wait_for(1, Duration::from_secs(20)).await;
    server.signal("KILL");
    drop(server);
    let before_restart = arrivals(&receiver.deliveries()).len();
    assert!(
        before_restart < 200,
        "the kill came too late to prove anything"
    );

    let _restarted = ServerProcess::start(&db.url, "serve", DELIVERY_ARGS);
    let seen = wait_for_distinct(&receiver, 200, Duration::from_secs(60)).await;
    assert_eq!(seen.len(), 200);
    let bodies: Vec<Value> = receiver.deliveries().iter().map(Delivery::json).collect();
    assert!(bodies.iter().all(|b| b["type"] == "employees.created"));
    // Redelivery is allowed only for what was in flight at the kill.
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= 16,
        "{duplicates} duplicates for one endpoint's 16 slots"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_a_thousand_events_each_once() {
    let db = TestDb::new(Backend::Postgres).await;
    seed_organization_at(&db.url, "acme");
    let receiver = Receiver::start().await;
    let a = ServerProcess::start(&db.url, "serve", DELIVERY_ARGS);
    let _b = ServerProcess::start(&db.url, "serve", DELIVERY_ARGS);
    create_endpoint(&a, &receiver).await;
    import_employees(&db.url, 1000);
    let seen = wait_for_distinct(&receiver, 1000, Duration::from_secs(60)).await;
    assert_eq!(seen.len(), 1000);
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert_eq!(duplicates, 0, "each message attempted by one instance");
}
