//! The events feed (SPEC §9, "Events feed"): every create, update and
//! delete in commit order, limited to what the key may read, followed with
//! signed cursors; and the gap test — concurrent writers, a reader with
//! small pages, every acknowledged change seen exactly once.

use crate::harness::{
    Backend, TestApp, assert_problem, call_with_key, create_key, full_key, get_json, get_with_key,
    post, seed_organization, within,
};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tessera_core::audit::Actor;
use tessera_server::{ServerConfig, WebhookSettings};
use tessera_store::organizations::RateLimit;

on_both_backends!(
    creates_updates_and_deletes_arrive_in_order,
    permissions_and_field_limits_shape_the_feed,
    cursors_belong_to_one_organisation_and_bad_parameters_are_named,
    a_cursor_past_the_retention_is_gone,
    concurrent_writers_are_seen_exactly_once_in_version_order,
);

async fn acme(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    app
}

/// One page of the feed as `key` sees it.
async fn page(app: &TestApp, key: &str, query: &str) -> Value {
    get_json(app, &format!("/api/v1/events{query}"), key).await
}

fn types(page: &Value) -> Vec<&str> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

async fn patch(app: &TestApp, key: &str, path: &str, body: Value) -> reqwest::Response {
    let response = call_with_key(app, Method::PATCH, path, key, Some(&body)).await;
    assert_eq!(response.status(), 200, "PATCH {path} {body}");
    response
}

async fn creates_updates_and_deletes_arrive_in_order(backend: Backend) {
    let app = acme(backend).await;
    let key = full_key(&app, "acme").await;
    let start = page(&app, &key, "?after=now").await;
    assert_eq!(start["data"], json!([]));
    let cursor = start["next_cursor"].as_str().unwrap().to_owned();

    let created = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/employees/{id}");
    patch(&app, &key, &path, json!({"last_name": "King"})).await;
    let deleted = call_with_key(&app, Method::DELETE, &path, &key, None).await;
    assert_eq!(deleted.status(), 204);

    let events = page(&app, &key, &format!("?after={cursor}")).await;
    assert_eq!(
        types(&events),
        [
            "employees.created",
            "employees.updated",
            "employees.deleted"
        ]
    );
    let [create, update, delete] = events["data"].as_array().unwrap().as_slice() else {
        panic!("three events: {events}");
    };
    assert!(create["id"].as_str().unwrap().starts_with("evt_"));
    assert!(create["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(create["data"]["id"], id);
    assert_eq!(create["data"]["resource"], "employees");
    assert_eq!(create["data"]["record"]["first_name"], "Ada");
    assert_eq!(update["data"]["changed_fields"], json!(["last_name"]));
    assert_eq!(update["data"]["record"]["last_name"], "King");
    assert_eq!(delete["data"]["id"], id);
    assert_eq!(delete["data"]["record"], Value::Null);
    assert_eq!(events["has_more"], false);

    // Small pages lead through the same events; an empty page keeps the
    // cursor to poll with.
    let first = page(&app, &key, &format!("?after={cursor}&limit=2")).await;
    assert_eq!(first["has_more"], true);
    let next = first["next_cursor"].as_str().unwrap();
    let second = page(&app, &key, &format!("?after={next}&limit=2")).await;
    assert_eq!(types(&second), ["employees.deleted"]);
    let end = events["next_cursor"].as_str().unwrap();
    let empty = page(&app, &key, &format!("?after={end}")).await;
    assert_eq!(empty["data"], json!([]));
    assert_eq!(empty["next_cursor"], end);

    // Without a cursor the feed starts at the oldest event kept.
    let everything = page(&app, &key, "?types=employees.deleted").await;
    assert_eq!(types(&everything), ["employees.deleted"]);
}

async fn permissions_and_field_limits_shape_the_feed(backend: Backend) {
    let app = acme(backend).await;
    let key = full_key(&app, "acme").await;
    let directory = create_key(
        &app,
        "admin-acme",
        json!({"name": "directory", "permissions": {
            "employees": {"actions": ["read"], "fields": ["id", "first_name"]},
        }}),
    )
    .await;
    let narrow = directory["key"].as_str().unwrap().to_owned();
    let start = page(&app, &narrow, "?after=now").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    let created = post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "iban": "DE89370400440532013000"}),
    )
    .await;
    let path = format!("/api/v1/employees/{}", created["id"].as_str().unwrap());
    patch(&app, &key, &path, json!({"iban": "GB33BUKB20201555555555"})).await;
    patch(&app, &key, &path, json!({"first_name": "Augusta"})).await;
    post(&app, "/api/v1/sectors", &key, &json!({"name": "Sales"})).await;
    create_key(&app, "admin-acme", json!({"name": "another"})).await;

    let seen = page(&app, &narrow, &format!("?after={start}")).await;
    assert_eq!(
        types(&seen),
        ["employees.created", "employees.updated"],
        "the iban update, the sector and the key are not in this key's feed: {seen}"
    );
    let data = seen["data"].as_array().unwrap();
    let shown: BTreeSet<&str> = data[0]["data"]["record"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        !shown.contains("iban") && !shown.contains("last_name"),
        "{shown:?}"
    );
    assert!(shown.contains("first_name"), "{shown:?}");
    assert_eq!(data[1]["data"]["changed_fields"], json!(["first_name"]));

    // What the feed carried counts as read, like any other answer.
    let reads_of = |field: &'static str| {
        let app = &app;
        async move {
            let path = format!("/api/v1/field-access?resource=employees&field={field}");
            app.get_json_as(&path, "admin-acme").await["reads"].to_string()
        }
    };
    let directory_id = directory["id"].as_str().unwrap();
    within(Duration::from_secs(20), || async {
        reads_of("first_name").await.contains(directory_id)
    })
    .await;
    assert!(!reads_of("iban").await.contains(directory_id));

    let everything = page(&app, &key, &format!("?after={start}")).await;
    assert_eq!(
        types(&everything),
        [
            "employees.created",
            "employees.updated",
            "employees.updated",
            "sectors.created"
        ],
        "key events are never in the feed"
    );

    let refused = get_with_key(&app, "/api/v1/events?types=sectors.*", &narrow).await;
    let problem = assert_problem(refused, 403, "permission_denied").await;
    assert_eq!(problem["details"]["resources"], json!(["sectors"]));
    for asked in [
        "api_key.*",
        "api_client.blocked",
        "webhook.test",
        "payroll.*",
        "employees.fired",
    ] {
        let refused = get_with_key(&app, &format!("/api/v1/events?types={asked}"), &key).await;
        let problem = assert_problem(refused, 400, "invalid_request").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(asked),
            "{problem}"
        );
    }
}

async fn cursors_belong_to_one_organisation_and_bad_parameters_are_named(backend: Backend) {
    let app = acme(backend).await;
    seed_organization(&app, "globex").await;
    let key = full_key(&app, "acme").await;
    let theirs = full_key(&app, "globex").await;
    post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "L"}),
    )
    .await;

    let ours = page(&app, &key, "").await;
    assert_eq!(types(&ours), ["employees.created"]);
    assert_eq!(page(&app, &theirs, "").await["data"], json!([]));
    let cursor = ours["next_cursor"].as_str().unwrap();
    for query in [
        format!("?after={cursor}x"),
        "?after=not-a-cursor".to_owned(),
        "?limit=0".to_owned(),
        "?limit=201".to_owned(),
        "?limit=ten".to_owned(),
        "?cursor=abc".to_owned(),
        "?types=employees.*&types=sectors.*".to_owned(),
    ] {
        let refused = get_with_key(&app, &format!("/api/v1/events{query}"), &key).await;
        assert_problem(refused, 400, "invalid_request").await;
    }
    let carried = get_with_key(&app, &format!("/api/v1/events?after={cursor}"), &theirs).await;
    let problem = assert_problem(carried, 400, "invalid_request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("cursor"),
        "{problem}"
    );
    let anonymous = app.get_with("/api/v1/events", &[]).await;
    assert_problem(anonymous, 401, "missing_api_key").await;
}

async fn a_cursor_past_the_retention_is_gone(backend: Backend) {
    let config = ServerConfig {
        webhooks: WebhookSettings {
            retention: Duration::from_secs(1),
            prune_interval: Duration::from_millis(100),
            ..WebhookSettings::default()
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let before = page(&app, &key, "?after=now").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        &app,
        "/api/v1/employees",
        &key,
        &json!({"first_name": "Ada", "last_name": "L"}),
    )
    .await;

    // Once the event after the cursor is pruned, the cursor cannot promise
    // a complete feed any more.
    let path = format!("/api/v1/events?after={before}");
    within(Duration::from_secs(20), || async {
        get_with_key(&app, &path, &key).await.status() == 410
    })
    .await;
    let gone = get_with_key(&app, &path, &key).await;
    let problem = assert_problem(gone, 410, "cursor_expired").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("full load"),
        "{problem}"
    );

    let fresh = page(&app, &key, "?after=now").await;
    let again = page(
        &app,
        &key,
        &format!("?after={}", fresh["next_cursor"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        again["data"],
        json!([]),
        "a cursor after the pruned events works"
    );
}

/// One acknowledged write: which record, the value it wrote, and the
/// record's version after it (the answer's `ETag`).
#[derive(Debug)]
struct Acknowledged {
    record: String,
    version: u64,
}

const WRITERS: usize = 8;
const WRITING_FOR: Duration = Duration::from_secs(10);

/// Lifts acme's request budget out of the way of the load.
async fn without_rate_limit(app: &TestApp) {
    let acme = tessera_store::organizations::find_by_slug(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    let limit = RateLimit {
        per_second: 1_000_000,
        burst: 1_000_000,
    };
    tessera_ops::organizations::set_rate_limit(&app.ops, &Actor::command_line(), &acme, limit)
        .await
        .unwrap();
}

async fn concurrent_writers_are_seen_exactly_once_in_version_order(backend: Backend) {
    let app = Arc::new(acme(backend).await);
    without_rate_limit(&app).await;
    let key = Arc::new(full_key(&app, "acme").await);
    let mut shared = Vec::new();
    for n in 0..WRITERS {
        let body = json!({"first_name": format!("seed-{n}"), "last_name": "Gap"});
        shared.push(
            post(&app, "/api/v1/employees", &key, &body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let start = page(&app, &key, "?after=now").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let shared = Arc::new(shared);
    let writing = Arc::new(AtomicBool::new(true));
    let reader = tokio::spawn(follow(app.clone(), key.clone(), start, writing.clone()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write_for(app.clone(), key.clone(), shared.clone(), w)))
        .collect();
    let mut acknowledged: BTreeMap<String, Acknowledged> = BTreeMap::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    writing.store(false, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let mut misses = 0;
    let mut duplicates = 0;
    let mut seen_values: BTreeMap<&str, usize> = BTreeMap::new();
    for (value, _) in &seen {
        *seen_values.entry(value.as_str()).or_default() += 1;
    }
    for value in acknowledged.keys() {
        match seen_values.get(value.as_str()).copied().unwrap_or(0) {
            0 => misses += 1,
            1 => {}
            n => duplicates += n - 1,
        }
    }
    let mut last_version: BTreeMap<&str, u64> = BTreeMap::new();
    let mut out_of_order = 0;
    for (value, _) in &seen {
        let Some(write) = acknowledged.get(value) else {
            continue;
        };
        let last = last_version.entry(write.record.as_str()).or_insert(0);
        if write.version <= *last {
            out_of_order += 1;
        }
        *last = write.version;
    }
    eprintln!(
        "gap test ({backend:?}): {} acknowledged writes, {} events seen, {misses} misses, {duplicates} duplicates, {out_of_order} out of order",
        acknowledged.len(),
        seen.len()
    );
    assert!(acknowledged.len() > 100, "the writers barely wrote");
    assert_eq!((misses, duplicates, out_of_order), (0, 0, 0));
    assert_eq!(
        seen.len(),
        acknowledged.len(),
        "no event without an acknowledged write"
    );
}

/// Creates and updates employees for [`WRITING_FOR`]: every third write a
/// new employee, the others an update of a shared or own record, each with
/// a value no other write uses. Returns the acknowledged writes by value.
async fn write_for(
    app: Arc<TestApp>,
    key: Arc<String>,
    shared: Arc<Vec<String>>,
    writer: usize,
) -> BTreeMap<String, Acknowledged> {
    let mut written = BTreeMap::new();
    let mut own: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut n = 0usize;
    while started.elapsed() < WRITING_FOR {
        n += 1;
        let value = format!("w{writer}-{n}");
        let response = if n % 3 == 1 {
            let body = json!({"first_name": value, "last_name": "Gap"});
            call_with_key(&app, Method::POST, "/api/v1/employees", &key, Some(&body)).await
        } else {
            let pool = if n.is_multiple_of(2) || own.is_empty() {
                shared.as_slice()
            } else {
                own.as_slice()
            };
            let record = &pool[(n * 7 + writer) % pool.len()];
            let body = json!({"first_name": value});
            let path = format!("/api/v1/employees/{record}");
            call_with_key(&app, Method::PATCH, &path, &key, Some(&body)).await
        };
        let status = response.status().as_u16();
        if status == 409 {
            // "The record kept changing": refused, so not acknowledged, and
            // the feed must not show it.
            continue;
        }
        assert!(status == 200 || status == 201, "write answered {status}");
        let version = response.headers()["etag"]
            .to_str()
            .unwrap()
            .trim_matches('"')
            .parse()
            .unwrap();
        let body: Value = response.json().await.unwrap();
        let record = body["id"].as_str().unwrap().to_owned();
        if status == 201 {
            own.push(record.clone());
        }
        written.insert(value, Acknowledged { record, version });
    }
    written
}

/// Follows the feed with pages of 7 while `writing`, then to its end.
/// Returns each event's `first_name` and id, in feed order.
async fn follow(
    app: Arc<TestApp>,
    key: Arc<String>,
    mut cursor: String,
    writing: Arc<AtomicBool>,
) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    loop {
        let still_writing = writing.load(Ordering::SeqCst);
        let events = page(&app, &key, &format!("?after={cursor}&limit=7")).await;
        for event in events["data"].as_array().unwrap() {
            let value = event["data"]["record"]["first_name"].as_str().unwrap();
            seen.push((value.to_owned(), event["id"].as_str().unwrap().to_owned()));
        }
        cursor = events["next_cursor"].as_str().unwrap().to_owned();
        if !still_writing && events["has_more"] == false {
            return seen;
        }
    }
}
