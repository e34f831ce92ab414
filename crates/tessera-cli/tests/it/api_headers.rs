//! Rules every API answer follows whichever handler (or none) wrote it:
//! never cached, and JSON bodies as `application/json`.

use crate::harness::{Backend, TestApp, assert_problem, create_key, seed_organization};
use crate::on_both_backends;
use serde_json::json;

on_both_backends!(
    every_api_answer_is_no_store,
    json_answers_share_one_content_type,
);

fn assert_no_store(response: &reqwest::Response, what: &str) {
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what}"
    );
}

async fn every_api_answer_is_no_store(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;

    let created = app
        .as_user(
            reqwest::Method::POST,
            "/api/v1/api-keys",
            "admin-acme",
            Some(&json!({"name": "headers"})),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_no_store(&created, "the answer carrying a raw key");
    let key = created.json::<serde_json::Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();

    let me = app.get_with("/api/v1/me", &[("x-api-key", &key)]).await;
    assert_eq!(me.status(), 200);
    assert_no_store(&me, "/me");

    let read = app
        .get_with("/api/v1/employees", &[("x-api-key", &key)])
        .await;
    assert_eq!(read.status(), 200);
    assert_no_store(&read, "a data read");

    let unauthenticated = app.get_with("/api/v1/employees", &[]).await;
    assert_no_store(&unauthenticated, "a 401");
    assert_problem(unauthenticated, 401, "missing_api_key").await;

    let unknown = app.get_with("/api/v1/nothing-here", &[]).await;
    assert_no_store(&unknown, "a 404 of an unknown route");
    assert_problem(unknown, 404, "not_found").await;

    let listed = app.get_as("/api/v1/api-keys", "admin-acme").await;
    assert_eq!(listed.status(), 200);
    assert_no_store(&listed, "a key list");
}

async fn json_answers_share_one_content_type(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_organization(&app, "acme").await;
    let key = create_key(&app, "admin-acme", json!({"name": "json"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_key = [("x-api-key", key.as_str())];
    for (path, response) in [
        ("/api/v1", app.get_with("/api/v1", &[]).await),
        ("/api/v1/me", app.get_with("/api/v1/me", &with_key).await),
        (
            "/api/v1/employees",
            app.get_with("/api/v1/employees", &with_key).await,
        ),
        (
            "/api/v1/api-keys",
            app.get_as("/api/v1/api-keys", "admin-acme").await,
        ),
    ] {
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
    }
}
