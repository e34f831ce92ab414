//! The server's skeleton: health, readiness, metrics, request ids, the
//! problem format on every API error, body limits, and no CORS.

use crate::harness::{Backend, TestApp, assert_problem};
use crate::on_both_backends;
use serde_json::Value;
use tessera_server::ServerConfig;

on_both_backends!(
    health_and_readiness_answer,
    unknown_api_routes_are_problem_json_404,
    wrong_methods_are_problem_json_405,
    request_ids_are_generated_or_echoed,
    oversized_bodies_are_refused_with_413,
    metrics_count_requests_by_route_and_status,
    no_cors_headers_are_ever_sent,
);

async fn health_and_readiness_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");

    // Once the database is gone the instance is alive but not ready.
    app.db.close().await;
    let not_ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(not_ready.status(), 503);
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn unknown_api_routes_are_problem_json_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/api/v1/nothing-here", "/api/v2", "/api"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        let body = assert_problem(response, 404, "not_found").await;
        assert!(body["detail"].as_str().unwrap().contains(path));
    }
    // Outside the API, people get a page.
    let page = app.http.get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

async fn wrong_methods_are_problem_json_405(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = app
            .http
            .request(method.clone(), app.url("/api/v1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], "GET,HEAD");
        let body = assert_problem(response, 405, "method_not_allowed").await;
        assert_eq!(
            body["detail"],
            format!("{method} is not allowed on /api/v1.")
        );
    }
    let index = app.http.get(app.url("/api/v1")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    assert_eq!(index.json::<Value>().await.unwrap()["name"], "Tessera");
}

async fn request_ids_are_generated_or_echoed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.http.get(app.url("/healthz")).send().await.unwrap();
    let second = app.http.get(app.url("/healthz")).send().await.unwrap();
    let first_id = first.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(first_id.len() >= 16, "{first_id}");
    assert_ne!(first_id, second.headers()["x-request-id"].to_str().unwrap());

    let echoed = app
        .get_with("/api/v1/missing", &[("X-Request-Id", "trace-abc.123_x")])
        .await;
    assert_eq!(echoed.headers()["x-request-id"], "trace-abc.123_x");
    let body = assert_problem(echoed, 404, "not_found").await;
    assert_eq!(body["request_id"], "trace-abc.123_x");

    // An id that could smuggle anything into logs is replaced, not echoed.
    let replaced = app
        .get_with("/healthz", &[("X-Request-Id", "a b<script>")])
        .await;
    let id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "a b<script>");
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
}

async fn oversized_bodies_are_refused_with_413(backend: Backend) {
    let config = ServerConfig {
        max_body_bytes: 1024,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    let big = vec![b'x'; 4096];
    let api = app
        .http
        .post(app.url("/api/v1"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_problem(api, 413, "payload_too_large").await;
    let console = app
        .http
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 413);
}

async fn metrics_count_requests_by_route_and_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..3 {
        app.http.get(app.url("/readyz")).send().await.unwrap();
    }
    app.http
        .get(app.url("/api/v1/some/unknown/path"))
        .send()
        .await
        .unwrap();
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let readyz_count = text
        .lines()
        .find(|l| {
            l.starts_with("tessera_http_requests_total{")
                && l.contains("route=\"/readyz\"")
                && l.contains("status=\"200\"")
                && l.contains("method=\"GET\"")
        })
        .unwrap_or_else(|| panic!("no /readyz counter in\n{text}"));
    // Other tests in this process share the recorder, so at least our three.
    let count: f64 = readyz_count.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{readyz_count}");
    assert!(
        text.contains("tessera_http_request_duration_seconds_bucket{"),
        "no latency histogram"
    );
    // Unknown paths share one label instead of creating a series each.
    assert!(text.contains("route=\"unmatched\""));
    assert!(!text.contains("/api/v1/some/unknown/path"));
}

async fn no_cors_headers_are_ever_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    let simple = app
        .get_with("/api/v1", &[("Origin", "https://evil.example")])
        .await;
    for response in [preflight, simple] {
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "CORS headers sent: {cors:?}");
    }
}
