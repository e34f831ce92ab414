//! Calling the API: keys made over the key-management API, requests with
//! them, and the checks every answer shares.

use super::{PASSWORD, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The `Authorization` header value for `username` with the test password.
pub fn basic(username: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{PASSWORD}"))
    )
}

/// Creates a key as `username` with the request `body` (its name, and any
/// of the options: permissions, role, expiry, allow-list, client…);
/// asserts 201 and returns the answer, which holds `id` and the raw `key`.
pub async fn create_key(app: &TestApp, username: &str, body: Value) -> Value {
    let response = app
        .as_user(Method::POST, "/api/v1/api-keys", username, Some(&body))
        .await;
    assert_eq!(
        response.status(),
        201,
        "creating {body} failed: {}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

/// The raw key of a key named "full access" of `org`'s administrator, with
/// all of the administrator's access.
pub async fn full_key(app: &TestApp, org: &str) -> String {
    create_key(app, &format!("admin-{org}"), json!({"name": "full access"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `GET path` with `key`.
pub async fn get_with_key(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    app.get_with(path, &[("x-api-key", key)]).await
}

/// The status of `GET path` with `key`.
pub async fn status_with_key(app: &TestApp, path: &str, key: &str) -> u16 {
    get_with_key(app, path, key).await.status().as_u16()
}

/// `GET /api/v1/me` with `key`.
pub async fn me(app: &TestApp, key: &str) -> reqwest::Response {
    get_with_key(app, "/api/v1/me", key).await
}

/// `GET /api/v1/me` with `key` presented by the API client holding
/// `credential`.
pub async fn me_with_client(app: &TestApp, key: &str, credential: &str) -> reqwest::Response {
    app.get_with(
        "/api/v1/me",
        &[("x-api-key", key), ("x-api-client", credential)],
    )
    .await
}

/// A request with `key` and an optional JSON body.
pub async fn call_with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app
        .http
        .request(method, app.url(path))
        .header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// Creates a record with `key`; the 201 body.
pub async fn post(app: &TestApp, path: &str, key: &str, body: &Value) -> Value {
    let response = call_with_key(app, Method::POST, path, key, Some(body)).await;
    assert_eq!(
        response.status(),
        201,
        "POST {path} {body}: {}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

/// A 200 answer's body, read with `key`.
pub async fn get_json(app: &TestApp, path: &str, key: &str) -> Value {
    let response = call_with_key(app, Method::GET, path, key, None).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// Asserts the full RFC 9457 problem shape every API error has (status,
/// code, request id, type, title, detail and message) and returns the body.
pub async fn assert_problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    assert!(
        body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    let detail = body["detail"].as_str().expect("detail");
    assert!(!detail.is_empty());
    if code != "rate_limited" {
        assert_eq!(body["message"], detail, "{body}");
    }
    body
}

/// Repeats `check` until it returns true or `limit` passes; returns how
/// long it took. Used where a delay is bounded, never as a sleep.
pub async fn within<F, Fut>(limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
