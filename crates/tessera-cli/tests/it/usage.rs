//! Usage analytics (SPEC §10): exact counts after a known sequence of
//! requests, refused requests, CSV and JSON, fields returned, field reach
//! and reads, retention, tenancy and who may ask.

use crate::harness::{
    Backend, TestApp, assert_problem, create_key, full_key, get_with_key, post, seed_organization,
    within,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_server::{ServerConfig, UsageSettings};

on_both_backends!(
    a_fresh_keys_requests_are_counted_exactly,
    refused_requests_are_recorded_under_their_key,
    the_csv_export_holds_the_same_rows_as_json,
    fields_returned_reach_and_reads,
    raw_rows_are_pruned_and_daily_roll_ups_stay,
    only_administrators_of_the_organisation_see_its_usage,
    bad_parameters_are_named,
    with_recording_off_nothing_is_recorded,
);

/// Longest a request may take to show in the usage API (SPEC §10: 10 s).
const VISIBLE_WITHIN: Duration = Duration::from_secs(10);

/// A server whose usage writer flushes every 50 ms, so tests wait little.
async fn spawn(backend: Backend, usage: UsageSettings) -> TestApp {
    let config = ServerConfig {
        usage: UsageSettings {
            flush_interval: Duration::from_millis(50),
            ..usage
        },
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    app
}

/// An employee created with a full-access key; its id.
async fn an_employee(app: &TestApp, key: &str) -> String {
    let created = post(
        app,
        "/api/v1/employees",
        key,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "iban": "DE89370400440532013000", "start_date": "2024-01-01", "status": "active"}),
    )
    .await;
    created["id"].as_str().unwrap().to_owned()
}

/// A key of acme's administrator with `permissions` (`null`: all); (id, raw).
async fn key_with(app: &TestApp, name: &str, permissions: Value) -> (String, String) {
    let mut body = json!({"name": name});
    if !permissions.is_null() {
        body["permissions"] = permissions;
    }
    let created = create_key(app, "admin-acme", body).await;
    (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    )
}

/// The logged requests of `key_id`, newest first, once there are `count`.
async fn logged_requests(app: &TestApp, key_id: &str, count: usize) -> Vec<Value> {
    let path = format!("/api/v1/usage/requests?key_id={key_id}");
    let rows = || async {
        let page = app.get_json_as(&path, "admin-acme").await;
        page["data"].as_array().cloned().unwrap_or_default()
    };
    within(VISIBLE_WITHIN, || async { rows().await.len() >= count }).await;
    let rows = rows().await;
    assert_eq!(rows.len(), count, "{rows:?}");
    rows
}

/// The usage API's row for group `group` (all buckets summed).
fn totals(answer: &Value, group: &Value) -> (i64, i64) {
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| &row["group"] == group)
        .fold((0, 0), |(requests, errors), row| {
            (
                requests + row["requests"].as_i64().unwrap(),
                errors + row["errors"].as_i64().unwrap(),
            )
        })
}

async fn a_fresh_keys_requests_are_counted_exactly(backend: Backend) {
    let app = spawn(backend, UsageSettings::default()).await;
    let full = full_key(&app, "acme").await;
    let employee = an_employee(&app, &full).await;
    let (key_id, key) = key_with(&app, "reporting", Value::Null).await;
    for _ in 0..3 {
        let path = format!("/api/v1/employees/{employee}");
        assert_eq!(get_with_key(&app, &path, &key).await.status(), 200);
    }
    let missing = "/api/v1/employees/emp_01jdq3k9m2x8v7c6b5n4t3r2s1";
    assert_eq!(get_with_key(&app, missing, &key).await.status(), 404);

    let rows = logged_requests(&app, &key_id, 4).await;
    assert_eq!(rows[0]["status"], 404, "newest first");
    for row in &rows {
        assert_eq!(row["route"], "/api/v1/employees/{id}");
        assert_eq!(row["method"], "GET");
        assert_eq!(row["client_ip"], "127.0.0.1");
        assert!(row["latency_ms"].as_i64().unwrap() >= 0);
        assert!(!row["request_id"].as_str().unwrap().is_empty());
    }

    let by_key = app
        .get_json_as("/api/v1/usage?group_by=key", "admin-acme")
        .await;
    assert_eq!(totals(&by_key, &json!(key_id)), (4, 1), "{by_key}");
    let row = by_key["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == json!(key_id))
        .unwrap();
    assert!(row["p50_ms"].as_i64().is_some() && row["p95_ms"].as_i64().is_some());
    let overall = app.get_json_as("/api/v1/usage", "admin-acme").await;
    let (requests, errors) = totals(&overall, &Value::Null);
    assert!(requests >= 4 && errors >= 1, "{overall}");
    let by_status = app
        .get_json_as(
            "/api/v1/usage?granularity=hour&group_by=status",
            "admin-acme",
        )
        .await;
    assert_eq!(totals(&by_status, &json!(404)), (1, 1), "{by_status}");

    let shown = app
        .get_json_as(&format!("/api/v1/api-keys/{key_id}"), "admin-acme")
        .await;
    assert_eq!(shown["requests_30d"], 4, "{shown}");
    let listed = app.get_json_as("/api/v1/api-keys", "admin-acme").await;
    let listed = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == json!(key_id))
        .cloned()
        .unwrap();
    assert_eq!(listed["requests_30d"], 4);
    assert!(listed.get("last_used_at").is_some() && listed.get("last_used_ip").is_some());

    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    for counter in [
        "tessera_usage_records_written_total",
        "tessera_usage_records_dropped_total",
    ] {
        assert!(metrics.contains(counter), "{counter} missing from /metrics");
    }
}

async fn with_recording_off_nothing_is_recorded(backend: Backend) {
    let off = UsageSettings {
        recording: false,
        ..UsageSettings::default()
    };
    let app = spawn(backend, off).await;
    let (key_id, key) = key_with(&app, "unrecorded", Value::Null).await;
    assert_eq!(
        get_with_key(&app, "/api/v1/employees", &key).await.status(),
        200
    );
    // No writer runs at all when recording is off, so there is nothing to
    // wait for: the log and the figures stay empty.
    let log = app
        .get_json_as("/api/v1/usage/requests", "admin-acme")
        .await;
    assert_eq!(log["data"], json!([]));
    let shown = app
        .get_json_as(&format!("/api/v1/api-keys/{key_id}"), "admin-acme")
        .await;
    assert_eq!(shown["requests_30d"], 0);
}

async fn refused_requests_are_recorded_under_their_key(backend: Backend) {
    let app = spawn(backend, UsageSettings::default()).await;
    let (key_id, key) = key_with(
        &app,
        "employees only",
        json!({"employees": {"actions": ["read"], "fields": null}}),
    )
    .await;
    assert_eq!(
        get_with_key(&app, "/api/v1/employees", &key).await.status(),
        200
    );
    assert_eq!(
        get_with_key(&app, "/api/v1/pay-rates", &key).await.status(),
        403
    );
    let rows = logged_requests(&app, &key_id, 2).await;
    assert_eq!(rows[0]["status"], 403);
    assert_eq!(rows[0]["route"], "/api/v1/pay-rates");
    assert_eq!(rows[1]["status"], 200);

    let by_route = app
        .get_json_as("/api/v1/usage?group_by=route", "admin-acme")
        .await;
    assert_eq!(totals(&by_route, &json!("/api/v1/pay-rates")), (1, 1));
}

async fn the_csv_export_holds_the_same_rows_as_json(backend: Backend) {
    let app = spawn(backend, UsageSettings::default()).await;
    let full = full_key(&app, "acme").await;
    let employee = an_employee(&app, &full).await;
    let (key_id, key) = key_with(&app, "export", Value::Null).await;
    get_with_key(&app, &format!("/api/v1/employees/{employee}"), &key).await;
    get_with_key(&app, "/api/v1/employees?limit=1", &key).await;
    get_with_key(&app, "/api/v1/pay-rates", &key).await;
    let rows = logged_requests(&app, &key_id, 3).await;

    let path = format!("/api/v1/usage/requests?key_id={key_id}");
    let csv = app
        .http
        .get(app.url(&path))
        .header("authorization", crate::harness::basic("admin-acme"))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,time,key_id,client_id,method,route,status,latency_ms,client_ip,request_id,fields"
    );
    assert_eq!(lines.len(), rows.len() + 1);
    for (line, row) in lines[1..].iter().zip(&rows) {
        let fields = row["fields"]
            .as_array()
            .map(|f| {
                let names: Vec<_> = f.iter().map(|n| n.as_str().unwrap()).collect();
                format!("\"{}\"", names.join(","))
            })
            .unwrap_or_default();
        let expected = format!(
            "{},{},{},,{},{},{},{},{},{},{}",
            row["id"].as_str().unwrap(),
            row["time"].as_str().unwrap(),
            key_id,
            row["method"].as_str().unwrap(),
            row["route"].as_str().unwrap(),
            row["status"],
            row["latency_ms"],
            row["client_ip"].as_str().unwrap(),
            row["request_id"].as_str().unwrap(),
            fields,
        );
        assert_eq!(*line, expected);
    }
}

async fn fields_returned_reach_and_reads(backend: Backend) {
    let app = spawn(backend, UsageSettings::default()).await;
    let (full_id, full) = key_with(&app, "full", Value::Null).await;
    let employee = an_employee(&app, &full).await;
    let (calendar_id, calendar) = key_with(
        &app,
        "calendar",
        json!({"employees": {"actions": ["read"], "fields": ["id", "first_name"]}}),
    )
    .await;
    let path = format!("/api/v1/employees/{employee}");
    assert_eq!(get_with_key(&app, &path, &calendar).await.status(), 200);
    assert_eq!(
        get_with_key(&app, "/api/v1/employees", &calendar)
            .await
            .status(),
        200
    );
    let rows = logged_requests(&app, &calendar_id, 2).await;
    for row in &rows {
        assert_eq!(row["fields"], json!(["id", "first_name"]), "{row}");
    }

    let iban = app
        .get_json_as(
            "/api/v1/field-access?resource=employees&field=iban",
            "admin-acme",
        )
        .await;
    let reach: Vec<&str> = iban["reach"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert!(reach.contains(&full_id.as_str()), "{iban}");
    assert!(!reach.contains(&calendar_id.as_str()), "{iban}");
    assert_eq!(
        iban["reads"],
        json!([]),
        "the full key never read an employee"
    );
    let reached = iban["reach"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == json!(full_id));
    assert_eq!(
        reached.unwrap()["owner"],
        json!({"type": "user", "name": "admin-acme"})
    );

    let first_name = app
        .get_json_as(
            "/api/v1/field-access?resource=employees&field=first_name",
            "admin-acme",
        )
        .await;
    let reads = first_name["reads"].as_array().unwrap();
    assert_eq!(reads.len(), 1, "{first_name}");
    assert_eq!(reads[0]["key_id"], json!(calendar_id));
    assert_eq!(reads[0]["count"], 2);
    assert_eq!(reads[0]["day"].as_str().unwrap().len(), 10);

    // Revoked keys reach nothing.
    let revoked = app
        .as_user(
            reqwest::Method::DELETE,
            &format!("/api/v1/api-keys/{calendar_id}"),
            "admin-acme",
            None,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    let first_name = app
        .get_json_as(
            "/api/v1/field-access?resource=employees&field=first_name",
            "admin-acme",
        )
        .await;
    assert!(!first_name["reach"].to_string().contains(&calendar_id));
}

async fn raw_rows_are_pruned_and_daily_roll_ups_stay(backend: Backend) {
    let retention = UsageSettings {
        retention_days: 0,
        prune_interval: Duration::from_millis(50),
        ..UsageSettings::default()
    };
    let app = spawn(backend, retention).await;
    let (key_id, key) = key_with(&app, "short-lived", Value::Null).await;
    for _ in 0..2 {
        assert_eq!(
            get_with_key(&app, "/api/v1/employees", &key).await.status(),
            200
        );
    }
    within(VISIBLE_WITHIN, || async {
        let by_key = app
            .get_json_as("/api/v1/usage?group_by=key", "admin-acme")
            .await;
        totals(&by_key, &json!(key_id)) == (2, 0)
    })
    .await;
    let path = format!("/api/v1/usage/requests?key_id={key_id}");
    within(VISIBLE_WITHIN, || async {
        app.get_json_as(&path, "admin-acme").await["data"] == json!([])
    })
    .await;
    let by_key = app
        .get_json_as("/api/v1/usage?group_by=key", "admin-acme")
        .await;
    assert_eq!(
        totals(&by_key, &json!(key_id)),
        (2, 0),
        "roll-ups outlive raw rows"
    );
}

async fn only_administrators_of_the_organisation_see_its_usage(backend: Backend) {
    let app = spawn(backend, UsageSettings::default()).await;
    seed_organization(&app, "globex").await;
    let (key_id, key) = key_with(&app, "acme's", Value::Null).await;
    get_with_key(&app, "/api/v1/employees", &key).await;
    logged_requests(&app, &key_id, 1).await;

    for path in [
        "/api/v1/usage?group_by=key",
        "/api/v1/usage/requests",
        "/api/v1/field-access?resource=employees&field=iban",
    ] {
        let theirs = app.get_json_as(path, "admin-globex").await;
        assert!(!theirs.to_string().contains(&key_id), "{path}: {theirs}");
        let employee = app.get_as(path, "employee-acme").await;
        assert_problem(employee, 403, "permission_denied").await;
        let with_key = get_with_key(&app, path, &key).await;
        assert_problem(with_key, 401, "invalid_credentials").await;
    }
    let filtered = app
        .get_json_as(
            &format!("/api/v1/usage/requests?key_id={key_id}"),
            "admin-globex",
        )
        .await;
    assert_eq!(filtered["data"], json!([]));
}

async fn bad_parameters_are_named(backend: Backend) {
    let app = spawn(backend, UsageSettings::default()).await;
    for (path, named) in [
        ("/api/v1/usage?granularity=week", vec!["granularity"]),
        (
            "/api/v1/usage?group_by=colour&from=yesterday",
            vec!["group_by", "from"],
        ),
        ("/api/v1/usage?from=2026-01-02&to=2026-01-01", vec!["from"]),
        (
            "/api/v1/usage?granularity=hour&from=2026-01-01&to=2026-02-01",
            vec!["from"],
        ),
        ("/api/v1/usage?colour=red", vec!["colour"]),
        (
            "/api/v1/usage/requests?status=999&to=soon",
            vec!["status", "to"],
        ),
        ("/api/v1/usage/requests?cursor=nope", vec!["cursor"]),
        (
            "/api/v1/field-access?resource=planets&field=iban",
            vec!["resource"],
        ),
        (
            "/api/v1/field-access?resource=employees&field=shoe_size",
            vec!["field"],
        ),
        ("/api/v1/field-access", vec!["resource"]),
    ] {
        let response = app.get_as(path, "admin-acme").await;
        let problem = assert_problem(response, 400, "invalid_request").await;
        let detail = problem["detail"].as_str().unwrap();
        for name in named {
            assert!(detail.contains(name), "{path}: {detail}");
        }
    }
}
