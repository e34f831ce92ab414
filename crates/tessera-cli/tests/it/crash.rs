//! Crash safety with real `tessera serve` processes: concurrent creates,
//! each with its own `Idempotency-Key`, a `kill -9` in the middle of the
//! load, a restart. Every acknowledged create must still be there, and
//! retrying every request (acknowledged or not) must create nothing twice.

use crate::harness::{
    Backend, ServerProcess, TestDb, assert_succeeds, basic, seed_organization_at, tessera, within,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

on_both_backends!(acknowledged_creates_survive_a_kill_9_and_retries_make_no_duplicates);

const WORKERS: usize = 4;

/// One create request: its idempotency key, the unique last name it sends,
/// and the id it was acknowledged with (`None`: no 201 arrived).
struct Attempt {
    idempotency_key: String,
    last_name: String,
    acknowledged_id: Option<String>,
}

fn body(last_name: &str) -> Value {
    json!({"first_name": "Crash", "last_name": last_name, "status": "active"})
}

async fn create(
    http: &reqwest::Client,
    server: &str,
    key: &str,
    idempotency_key: &str,
    last_name: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let response = http
        .post(format!("{server}/api/v1/employees"))
        .header("x-api-key", key)
        .header("idempotency-key", idempotency_key)
        .json(&body(last_name))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// Creates employees until `stop` is set, counting acknowledgements.
async fn write_until_stopped(
    worker: usize,
    server: String,
    key: String,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
) -> Vec<Attempt> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut attempts = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let idempotency_key = format!("crash-{worker}-{n}");
        let last_name = format!("Worker {worker} number {n}");
        let acknowledged_id = match create(&http, &server, &key, &idempotency_key, &last_name).await
        {
            Ok((201, created)) => {
                acknowledged.fetch_add(1, Ordering::SeqCst);
                created["id"].as_str().map(str::to_owned)
            }
            Ok((status, problem)) if status < 500 => panic!("create refused: {status} {problem}"),
            _ => None,
        };
        attempts.push(Attempt {
            idempotency_key,
            last_name,
            acknowledged_id,
        });
    }
    attempts
}

async fn api_key(server: &str) -> String {
    let created: Value = reqwest::Client::new()
        .post(format!("{server}/api/v1/api-keys"))
        .header("authorization", basic("admin-acme"))
        .json(&json!({"name": "crash writer"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["key"].as_str().unwrap().to_owned()
}

/// Every employee created by the load, by last name, with how often it
/// occurs.
async fn employees_by_last_name(server: &str, key: &str) -> BTreeMap<String, (String, usize)> {
    let http = reqwest::Client::new();
    let mut found: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{server}/api/v1/employees?limit=200");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = http
            .get(url)
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for record in page["data"].as_array().unwrap() {
            let last_name = record["last_name"].as_str().unwrap_or_default().to_owned();
            let id = record["id"].as_str().unwrap().to_owned();
            found.entry(last_name).or_insert((id, 0)).1 += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return found,
        }
    }
}

async fn acknowledged_creates_survive_a_kill_9_and_retries_make_no_duplicates(backend: Backend) {
    let db = TestDb::new(backend).await;
    seed_organization_at(&db.url, "acme");
    let unlimited = [
        "admin",
        "set-rate-limit",
        "--org",
        "acme",
        "--rate",
        "1000000",
        "--burst",
        "1000000",
    ];
    assert_succeeds(&tessera(&db.url, &unlimited));
    let server = ServerProcess::start(&db.url, "serve", &[]);
    let address = format!("http://{}", server.address);
    let key = api_key(&address).await;

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            tokio::spawn(write_until_stopped(
                worker,
                address.clone(),
                key.clone(),
                stop.clone(),
                acknowledged.clone(),
            ))
        })
        .collect();
    within(Duration::from_secs(60), || {
        let acknowledged = acknowledged.clone();
        async move { acknowledged.load(Ordering::SeqCst) >= 100 }
    })
    .await;
    server.signal("KILL");
    drop(server);
    stop.store(true, Ordering::SeqCst);
    let mut attempts = Vec::new();
    for worker in workers {
        attempts.extend(worker.await.unwrap());
    }

    let restarted = ServerProcess::start(&db.url, "serve", &[]);
    let address = format!("http://{}", restarted.address);
    let before_retries = employees_by_last_name(&address, &key).await;
    for attempt in attempts.iter().filter(|a| a.acknowledged_id.is_some()) {
        let (id, copies) = before_retries
            .get(&attempt.last_name)
            .unwrap_or_else(|| panic!("acknowledged create {} was lost", attempt.idempotency_key));
        assert_eq!(Some(id), attempt.acknowledged_id.as_ref());
        assert_eq!(*copies, 1);
    }

    // Every request is sent again with its own key, as a client that
    // never saw the answer would.
    let http = reqwest::Client::new();
    for attempt in &attempts {
        let (status, record) = create(
            &http,
            &address,
            &key,
            &attempt.idempotency_key,
            &attempt.last_name,
        )
        .await
        .unwrap();
        assert_eq!(
            status, 201,
            "retry of {}: {record}",
            attempt.idempotency_key
        );
        if let Some(id) = &attempt.acknowledged_id {
            assert_eq!(
                record["id"].as_str(),
                Some(id.as_str()),
                "a replay must return the first create"
            );
        }
    }
    let after_retries = employees_by_last_name(&address, &key).await;
    let sent: BTreeSet<&str> = attempts.iter().map(|a| a.last_name.as_str()).collect();
    let created: BTreeSet<&str> = after_retries
        .keys()
        .map(String::as_str)
        .filter(|name| name.starts_with("Worker "))
        .collect();
    assert_eq!(
        created, sent,
        "every request exists exactly once after the retries"
    );
    let duplicated: Vec<_> = after_retries
        .iter()
        .filter(|(_, (_, copies))| *copies > 1)
        .collect();
    assert!(duplicated.is_empty(), "duplicates: {duplicated:?}");
}
