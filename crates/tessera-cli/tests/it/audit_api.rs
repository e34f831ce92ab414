//! `GET /api/v1/audit`: an administrator's audit log over HTTP Basic, JSON
//! and CSV alike, confined to their organisation, with the console's
//! filters, cursor paging, and clear refusals.

use crate::harness::{
    Backend, TestApp, assert_problem, basic, create_key, full_key, seed_organization,
};
use crate::on_both_backends;
use serde_json::{Value, json};

on_both_backends!(
    the_audit_api_answers_json_and_the_same_rows_as_csv,
    the_audit_api_shows_only_the_callers_organisation,
    the_audit_api_refuses_keys_members_and_bad_parameters,
);

/// `GET path` as `username`, with an `Accept` header.
async fn get_accepting(
    app: &TestApp,
    path: &str,
    username: &str,
    accept: &str,
) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("authorization", basic(username))
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

/// Parses a CSV body into rows of cells (quoted cells may hold commas).
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in body.split("\r\n").filter(|l| !l.is_empty()) {
        let mut cells = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => cells.push(std::mem::take(&mut cell)),
                (other, _) => cell.push(other),
            }
        }
        cells.push(cell);
        rows.push(cells);
    }
    rows
}

async fn the_audit_api_answers_json_and_the_same_rows_as_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let created = create_key(&app, "admin-acme", json!({"name": "payroll, nightly"})).await;
    let key_id = created["id"].as_str().unwrap().to_owned();
    create_key(&app, "admin-acme", json!({"name": "calendar"})).await;

    let page: Value = app
        .get_json_as("/api/v1/audit?action=api_key.*&limit=1", "admin-acme")
        .await;
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{page}");
    assert_eq!(data[0]["action"], "api_key.created");
    assert_eq!(data[0]["target"]["name"], "calendar", "newest first, named");
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second: Value = app
        .get_json_as(
            &format!("/api/v1/audit?action=api_key.*&limit=1&cursor={cursor}"),
            "admin-acme",
        )
        .await;
    let entry = &second["data"][0];
    assert_eq!(
        entry["target"],
        json!({"id": key_id, "name": "payroll, nightly"})
    );
    assert_eq!(entry["actor"]["name"], "admin-acme");
    assert_eq!(
        entry["details"]["owner"],
        json!({"type": "user", "name": "admin-acme"})
    );
    assert_eq!(
        entry["summary"],
        "name: payroll, nightly; owner: admin-acme (user)"
    );
    assert!(second["next_cursor"].is_null(), "{second}");

    // The same filters as CSV: the same entries, in the same order, with
    // the same names and text.
    let all: Value = app
        .get_json_as("/api/v1/audit?limit=200", "admin-acme")
        .await;
    let response = get_accepting(&app, "/api/v1/audit?limit=200", "admin-acme", "text/csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let rows = csv_rows(&response.text().await.unwrap());
    assert_eq!(
        rows[0],
        [
            "id",
            "time",
            "actor",
            "actor_type",
            "action",
            "target_id",
            "target_name",
            "ip",
            "details"
        ]
    );
    let entries = all["data"].as_array().unwrap();
    assert_eq!(rows.len() - 1, entries.len());
    for (row, entry) in rows[1..].iter().zip(entries) {
        assert_eq!(row[0], entry["id"].as_str().unwrap());
        assert_eq!(row[1], entry["time"].as_str().unwrap());
        assert_eq!(row[2], entry["actor"]["name"].as_str().unwrap());
        assert_eq!(row[4], entry["action"].as_str().unwrap());
        assert_eq!(row[5], entry["target"]["id"].as_str().unwrap_or(""));
        assert_eq!(row[6], entry["target"]["name"].as_str().unwrap_or(""));
        assert_eq!(row[8], entry["summary"].as_str().unwrap());
    }
}

async fn the_audit_api_shows_only_the_callers_organisation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    seed_organization(&app, "globex").await;
    let acme_key = create_key(&app, "admin-acme", json!({"name": "acme secret project"})).await;

    let globex: Value = app
        .get_json_as("/api/v1/audit?limit=200", "admin-globex")
        .await;
    let text = globex.to_string();
    assert!(!text.contains("acme secret project"), "{text}");
    assert!(!text.contains(acme_key["id"].as_str().unwrap()), "{text}");
    assert!(!text.contains("admin-acme"), "{text}");
    // Naming acme's administrator as the actor finds nothing either.
    let filtered: Value = app
        .get_json_as("/api/v1/audit?actor=admin-acme", "admin-globex")
        .await;
    assert_eq!(filtered["data"], json!([]));
    let acme: Value = app
        .get_json_as("/api/v1/audit?actor=admin-acme", "admin-acme")
        .await;
    assert!(
        acme["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"]["name"] == "acme secret project"),
        "{acme}"
    );
}

async fn the_audit_api_refuses_keys_members_and_bad_parameters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;

    let with_key = app.get_with("/api/v1/audit", &[("x-api-key", &key)]).await;
    assert_problem(with_key, 401, "invalid_credentials").await;
    let employee = app.get_as("/api/v1/audit", "employee-acme").await;
    assert_problem(employee, 403, "permission_denied").await;

    let bad = app
        .get_as(
            "/api/v1/audit?from=yesterday&action=made.up&colour=red",
            "admin-acme",
        )
        .await;
    let problem = assert_problem(bad, 400, "invalid_request").await;
    let named: Vec<&str> = problem["details"]["invalid_parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["from", "action", "colour"] {
        assert!(named.contains(&name), "{name} not named in {problem}");
    }
    let reversed = app
        .get_as("/api/v1/audit?from=2026-12-02&to=2026-12-01", "admin-acme")
        .await;
    assert_problem(reversed, 400, "invalid_request").await;
    let cursor = app.get_as("/api/v1/audit?cursor=bogus", "admin-acme").await;
    assert_problem(cursor, 400, "invalid_request").await;
    // A date as `to` includes that day.
    let today = &tessera_store::format_ms(tessera_store::now_ms())[..10];
    let through_today: Value = app
        .get_json_as(
            &format!("/api/v1/audit?from={today}&to={today}"),
            "admin-acme",
        )
        .await;
    assert!(
        !through_today["data"].as_array().unwrap().is_empty(),
        "{through_today}"
    );
}
