//! What writes disclose: answers to creates, updates and idempotent
//! replays, and the refusals of writes and deletes, show a key nothing of
//! what it may not read (security audit M1, L1, L2 and I2).

use crate::harness::{
    Backend, TestApp, assert_problem, call_with_key, create_key, field_names, full_key, get_json,
    post, seed_organization,
};
use crate::on_both_backends;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tessera_core::audit::Actor;
use tessera_core::names::DisplayName;
use tessera_core::permissions::{Access, PermissionSet};

on_both_backends!(
    writers_without_read_are_answered_only_the_id_and_updated_at,
    empty_updates_are_refused,
    restricted_readers_see_only_their_fields_in_write_answers,
    date_order_refusals_quote_only_dates_the_key_may_read,
    idempotent_replays_show_what_the_key_may_read_now,
    references_are_validated_for_keys_that_cannot_read_their_target,
    delete_conflicts_count_only_referrers_the_key_may_read,
);

/// A key of `admin-acme` with `permissions`; its raw value.
async fn key_with(app: &TestApp, name: &str, permissions: Value) -> String {
    create_key(
        app,
        "admin-acme",
        json!({"name": name, "permissions": permissions}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An employee made with `key`, with a start date and values in every
/// section: its id.
async fn hire(app: &TestApp, key: &str) -> String {
    let employee = post(
        app,
        "/api/v1/employees",
        key,
        &json!({"first_name": "Hana", "last_name": "Ito", "national_id": "AB662918C",
                "iban": "GB49ACME00000000000000", "start_date": "2016-01-14"}),
    )
    .await;
    employee["id"].as_str().unwrap().to_owned()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

async fn writers_without_read_are_answered_only_the_id_and_updated_at(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let id = hire(&app, &full).await;
    let path = format!("/api/v1/employees/{id}");
    let updater = key_with(
        &app,
        "updater",
        json!({"employees": {"actions": ["update"], "fields": ["first_name", "iban", "national_id"]}}),
    )
    .await;
    let read = call_with_key(&app, Method::GET, &path, &updater, None).await;
    assert_problem(read, 403, "permission_denied").await;

    let patch = json!({"first_name": "Hanna"});
    let updated = call_with_key(&app, Method::PATCH, &path, &updater, Some(&patch)).await;
    assert_eq!(updated.status(), 200);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let body: Value = updated.json().await.unwrap();
    assert_eq!(field_names(&body), set(&["id", "updated_at"]), "{body}");
    assert_eq!(body["id"], id.as_str());
    let stored = get_json(&app, &path, &full).await;
    assert_eq!(stored["first_name"], "Hanna");
    assert_eq!(body["updated_at"], stored["updated_at"]);

    let creator = key_with(
        &app,
        "creator",
        json!({"employees": {"actions": ["create"], "fields": ["first_name", "last_name", "iban"]}}),
    )
    .await;
    let new_hire = json!({"first_name": "Ada", "last_name": "L", "iban": "DE89370400440532013000"});
    let send = || {
        app.http
            .post(app.url("/api/v1/employees"))
            .header("x-api-key", &creator)
            .header("idempotency-key", "hire-ada")
            .json(&new_hire)
            .send()
    };
    for attempt in ["first", "replayed"] {
        let created = send().await.unwrap();
        assert_eq!(created.status(), 201, "{attempt}");
        assert_eq!(created.headers()["etag"], "\"1\"", "{attempt}");
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        let body: Value = created.json().await.unwrap();
        assert_eq!(
            field_names(&body),
            set(&["id", "updated_at"]),
            "{attempt}: {body}"
        );
        let new_id = body["id"].as_str().unwrap();
        assert_eq!(location, format!("/api/v1/employees/{new_id}"));
        let stored = get_json(&app, &location, &full).await;
        assert_eq!(stored["iban"], "DE89370400440532013000");
    }
}

async fn empty_updates_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let id = hire(&app, &full).await;
    let path = format!("/api/v1/employees/{id}");
    let updater = key_with(
        &app,
        "updater",
        json!({"employees": {"actions": ["update"], "fields": ["first_name", "iban", "national_id"]}}),
    )
    .await;
    for key in [&updater, &full] {
        let empty = call_with_key(&app, Method::PATCH, &path, key, Some(&json!({}))).await;
        let problem = assert_problem(empty, 400, "invalid_request").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("names no field to change"), "{detail}");
        assert!(
            !detail.contains("AB662918C") && !detail.contains("GB49"),
            "{detail}"
        );
    }
    let unchanged = call_with_key(&app, Method::GET, &path, &full, None).await;
    assert_eq!(unchanged.headers()["etag"], "\"1\"", "nothing was written");
}

async fn restricted_readers_see_only_their_fields_in_write_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let id = hire(&app, &full).await;
    let visible = ["id", "first_name", "last_name", "start_date"];
    let editor = key_with(
        &app,
        "editor",
        json!({"employees": {"actions": ["create", "read", "update"], "fields": visible}}),
    )
    .await;
    let created = post(
        &app,
        "/api/v1/employees",
        &editor,
        &json!({"first_name": "Ada", "last_name": "L", "start_date": "2026-02-01"}),
    )
    .await;
    assert_eq!(field_names(&created), set(&visible), "{created}");
    let patch = json!({"last_name": "Ito-Sato"});
    let path = format!("/api/v1/employees/{id}");
    let updated = call_with_key(&app, Method::PATCH, &path, &editor, Some(&patch)).await;
    assert_eq!(updated.status(), 200);
    let body: Value = updated.json().await.unwrap();
    assert_eq!(field_names(&body), set(&visible), "{body}");
    assert_eq!(body["last_name"], "Ito-Sato");
    assert_eq!(body["start_date"], "2016-01-14");
}

async fn date_order_refusals_quote_only_dates_the_key_may_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let id = hire(&app, &full).await;
    let path = format!("/api/v1/employees/{id}");
    let early_end = json!({"end_date": "1900-01-01"});
    for grant in [
        json!({"actions": ["update"], "fields": ["end_date"]}),
        json!({"actions": ["read", "update"], "fields": ["end_date"]}),
        json!({"actions": ["update"], "fields": null}),
    ] {
        let key = key_with(&app, "end dates", json!({"employees": grant})).await;
        let refused = call_with_key(&app, Method::PATCH, &path, &key, Some(&early_end)).await;
        let problem = assert_problem(refused, 400, "invalid_request").await;
        let shown = problem.to_string();
        assert!(!shown.contains("2016-01-14"), "{grant}: {shown}");
        assert!(!shown.contains("start_date"), "{grant}: {shown}");
        assert_eq!(problem["details"]["fields"][0]["field"], "end_date");
    }
    let refused = call_with_key(&app, Method::PATCH, &path, &full, Some(&early_end)).await;
    let problem = assert_problem(refused, 400, "invalid_request").await;
    assert_eq!(
        problem["detail"],
        "end_date must not be earlier than start_date (2016-01-14)."
    );
}

/// Replaces the permissions of `acme`'s role `name`, as an administrator
/// editing it in the console would.
async fn set_role(app: &TestApp, name: &str, permissions: Value) {
    let organization = app.organization_id("acme").await;
    let role = tessera_store::roles::find_by_name(&app.db, &organization, name)
        .await
        .unwrap()
        .unwrap();
    let access = Access::Limited(PermissionSet::from_json(&permissions).unwrap());
    tessera_ops::roles::update(
        &app.ops,
        &Actor::command_line(),
        &organization,
        &role,
        &DisplayName::parse(name).unwrap(),
        &access,
    )
    .await
    .unwrap();
}

async fn idempotent_replays_show_what_the_key_may_read_now(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let organization = app.organization_id("acme").await;
    let everything = json!({"employees": {"actions": ["create", "read"], "fields": null}});
    tessera_ops::roles::create(
        &app.ops,
        &Actor::command_line(),
        &organization,
        &DisplayName::parse("Writer").unwrap(),
        &PermissionSet::from_json(&everything).unwrap(),
    )
    .await
    .unwrap();
    let writer = create_key(
        &app,
        "admin-acme",
        json!({"name": "writer", "role": "Writer"}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"first_name": "Ada", "last_name": "L", "iban": "GB00SECRETIBAN", "national_id": "NI-999"});
    let send = || {
        app.http
            .post(app.url("/api/v1/employees"))
            .header("x-api-key", &writer)
            .header("idempotency-key", "idem-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["iban"], "GB00SECRETIBAN");

    // The role narrows to names, then loses `read`: each replay shows only
    // what the key may read at that moment, taken from the first answer.
    for (narrowed, expected) in [
        (
            json!({"employees": {"actions": ["create", "read"], "fields": ["first_name", "last_name"]}}),
            set(&["id", "first_name", "last_name"]),
        ),
        (
            json!({"employees": {"actions": ["create"], "fields": null}}),
            set(&["id", "updated_at"]),
        ),
    ] {
        set_role(&app, "Writer", narrowed).await;
        let replayed = send().await.unwrap();
        assert_eq!(replayed.status(), 201);
        assert_eq!(replayed.headers()["idempotent-replayed"], "true");
        assert_eq!(replayed.headers()["location"], location);
        assert_eq!(replayed.headers()["etag"], "\"1\"");
        let shown: Value = replayed.json().await.unwrap();
        assert_eq!(field_names(&shown), expected, "{shown}");
        for name in expected {
            assert_eq!(
                shown[name], first[name],
                "replayed {name} is the first answer's"
            );
        }
    }
    let full = full_key(&app, "acme").await;
    let listed = get_json(&app, "/api/v1/employees", &full).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "one record");
}

/// SPEC §4: references are validated, whatever the key may read. A key
/// that may only create time off still refers to employees it knows of;
/// ids are random, so the check tells it nothing it could guess.
async fn references_are_validated_for_keys_that_cannot_read_their_target(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let existing = hire(&app, &full).await;
    let never_made = "emp_00000000000000000000000000";
    let blind = key_with(
        &app,
        "time off only",
        json!({"time-off": {"actions": ["create", "read", "update"], "fields": null}}),
    )
    .await;
    let request = |employee_id: &str| json!({"employee_id": employee_id, "type": "vacation", "start_date": "2026-07-01", "end_date": "2026-07-03"});
    let created = post(&app, "/api/v1/time-off", &blind, &request(&existing)).await;
    assert_eq!(created["employee_id"], existing.as_str());
    let refused = call_with_key(
        &app,
        Method::POST,
        "/api/v1/time-off",
        &blind,
        Some(&request(never_made)),
    )
    .await;
    let problem = assert_problem(refused, 400, "invalid_request").await;
    assert_eq!(
        problem["details"]["missing_references"],
        json!([never_made])
    );
}

async fn delete_conflicts_count_only_referrers_the_key_may_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let full = full_key(&app, "acme").await;
    let id = hire(&app, &full).await;
    post(
        &app,
        "/api/v1/pay-rates",
        &full,
        &json!({"employee_id": id, "kind": "monthly", "amount": "4250.00", "currency": "EUR", "effective_from": "2026-01-01"}),
    )
    .await;
    for _ in 0..2 {
        post(
            &app,
            "/api/v1/time-off",
            &full,
            &json!({"employee_id": id, "type": "vacation", "start_date": "2026-07-01", "end_date": "2026-07-03"}),
        )
        .await;
    }
    let path = format!("/api/v1/employees/{id}");
    let delete_with = |permissions: Value| {
        let app = &app;
        let path = &path;
        async move {
            let key = key_with(app, "deleter", permissions).await;
            let refused = call_with_key(app, Method::DELETE, path, &key, None).await;
            assert_problem(refused, 409, "conflict").await
        }
    };
    let deleter = json!({"actions": ["delete"], "fields": null});
    let blind = delete_with(json!({"employees": deleter})).await;
    assert_eq!(blind["details"]["referenced_by"], json!([]));
    let detail = blind["detail"].as_str().unwrap();
    assert_eq!(
        detail,
        "This employee is still referred to by records this API key may not read; delete or change those first."
    );
    let pay_rates = delete_with(json!({
        "employees": deleter,
        "pay-rates": {"actions": ["read"], "fields": ["id", "employee_id"]},
        "time-off": {"actions": ["read"], "fields": ["id", "start_date"]},
    }))
    .await;
    assert_eq!(
        pay_rates["details"]["referenced_by"],
        json!([{"resource": "pay-rates", "field": "employee_id", "count": 1}])
    );
    let detail = pay_rates["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 pay rate (employee_id) and records this API key may not read"),
        "{detail}"
    );
    assert!(
        !detail.contains("time-off") && !detail.contains('2'),
        "{detail}"
    );
    let everything = delete_with(json!({
        "employees": deleter,
        "pay-rates": {"actions": ["read"], "fields": null},
        "time-off": {"actions": ["read"], "fields": null},
    }))
    .await;
    assert_eq!(
        everything["details"]["referenced_by"],
        json!([
            {"resource": "pay-rates", "field": "employee_id", "count": 1},
            {"resource": "time-off", "field": "employee_id", "count": 2},
        ])
    );
}
