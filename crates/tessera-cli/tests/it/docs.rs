//! The API's own description, checked from outside: `/openapi.json` by an
//! independent validator (`openapi-spec-validator`), the running server
//! fuzzed against it by Schemathesis, and `/docs` used in a real browser.
//! The Python tools come from `harness::python_tools`.

use crate::harness::{
    Backend, Browser, PASSWORD, TestApp, create_key, python_tool, run_tool, seed_organization,
    tool_report,
};
use crate::on_both_backends;
use serde_json::{Value, json};
use std::process::Command;
use tessera_server::ServerConfig;

on_both_backends!(schemathesis_finds_no_server_errors_or_schema_mismatches);

/// A server whose organisation `acme` has a full-access key and room for a
/// fuzzer's request rate.
async fn fuzzable_app(backend: Backend) -> (TestApp, String) {
    let config = ServerConfig {
        // The fuzzer sends many deliberately bad credentials; the per-address
        // failure throttle would otherwise lock its valid key out too.
        auth_failures_per_minute: 1_000_000,
        ..ServerConfig::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    seed_organization(&app, "acme").await;
    app.tessera(&[
        "admin",
        "set-rate-limit",
        "--org",
        "acme",
        "--rate",
        "1000000",
        "--burst",
        "1000000",
    ]);
    let key = create_key(&app, "admin-acme", json!({"name": "fuzzing"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, key)
}

#[tokio::test]
async fn openapi_json_passes_an_independent_validator() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), document.to_string()).unwrap();
    let mut validator = Command::new(python_tool("openapi-spec-validator"));
    validator.arg(file.path());
    let output = run_tool(validator).await;
    assert!(output.status.success(), "{}", tool_report(&output));
    assert!(
        tool_report(&output).contains(": OK"),
        "{}",
        tool_report(&output)
    );
}

#[tokio::test]
async fn openapi_json_describes_what_the_server_serves() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    assert_eq!(schemes["ApiKeyHeader"]["name"], "X-API-KEY");
    assert_eq!(schemes["BearerKey"]["scheme"], "bearer");
    assert_eq!(schemes["ClientCredential"]["name"], "X-API-Client");
    // Every documented operation exists: a request to it is never answered
    // 404 "no such route" or 405.
    for (path, item) in document["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", "not-an-id");
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| *m != "parameters")
        {
            let response = app
                .http
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            assert_ne!(response.status(), 405, "{method} {path}");
            if !path.contains("{id}") {
                assert_ne!(response.status(), 404, "{method} {path}");
            }
        }
    }
}

async fn schemathesis_finds_no_server_errors_or_schema_mismatches(backend: Backend) {
    let (app, key) = fuzzable_app(backend).await;
    let seed = std::env::var("TESSERA_FUZZ_SEED").unwrap_or_else(|_| "1".to_owned());
    let checks = "not_a_server_error,status_code_conformance,content_type_conformance,\
                  response_headers_conformance,response_schema_conformance";
    let base = |extra: &[&str]| {
        let mut command = Command::new(python_tool("schemathesis"));
        command
            .arg("run")
            .arg(app.url("/openapi.json"))
            .args(["--checks", checks, "--max-examples", "20", "--seed", &seed])
            .args(["--request-timeout", "10", "--no-color"])
            .args(extra)
            .env("SCHEMATHESIS_HOOKS", "")
            .current_dir(std::env::temp_dir());
        command
    };
    // The data API with an API key. Revoking the calling key would end the
    // run early, so that one operation is left to its own tests.
    let data_run = run_tool(base(&[
        "--header",
        &format!("X-API-KEY: {key}"),
        "--exclude-operation-id",
        "revokeCurrentKey",
        "--exclude-tag",
        "Key management",
        "--exclude-tag",
        "Connected clients",
        "--exclude-tag",
        "Webhook endpoints",
        "--exclude-tag",
        "Usage",
        "--exclude-tag",
        "Audit log",
    ]))
    .await;
    let data_report = tool_report(&data_run);
    assert!(data_run.status.success(), "{data_report}");
    assert!(data_report.contains("passed"), "{data_report}");

    // Key management, connected clients, webhook endpoints, usage and the
    // audit log with a username and password.
    let auth = format!("admin-acme:{PASSWORD}");
    let keys_run = run_tool(base(&[
        "--auth",
        &auth,
        "--include-tag",
        "Key management",
        "--include-tag",
        "Connected clients",
        "--include-tag",
        "Webhook endpoints",
        "--include-tag",
        "Usage",
        "--include-tag",
        "Audit log",
    ]))
    .await;
    let keys_report = tool_report(&keys_run);
    assert!(keys_run.status.success(), "{keys_report}");
}

#[tokio::test]
async fn docs_work_offline_in_a_browser_and_try_it_out_calls_the_api() {
    let (app, key) = fuzzable_app(Backend::Sqlite).await;
    let document: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .count()
        })
        .sum();

    let browser = Browser::launch().await;
    browser.go(&app.url("/docs")).await;
    assert_eq!(browser.current_url().await, app.url("/docs/"));
    let rendered = browser
        .wait_until(
            &format!("document.querySelectorAll('.opblock').length >= {operations}"),
            "Swagger UI to list every operation",
        )
        .await;
    assert_eq!(rendered, json!(true));
    assert_eq!(
        browser.execute("return document.title;", vec![]).await,
        "Tessera API reference"
    );
    // Every asset came from this server: nothing was fetched elsewhere.
    let foreign = browser
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin));",
            vec![],
        )
        .await;
    assert_eq!(foreign, json!([]));

    // Authorize with the key, then try GET /api/v1/me from the page.
    browser.click("button.authorize").await;
    browser
        .wait_until(
            "document.querySelector('.auth-container input')",
            "the Authorize dialog",
        )
        .await;
    // The scheme the docs tell a newcomer to use is the first one listed.
    let first_scheme = browser
        .execute(
            "return document.querySelector('.auth-container h4').textContent;",
            vec![],
        )
        .await;
    assert!(
        first_scheme
            .as_str()
            .unwrap_or_default()
            .contains("ApiKeyHeader"),
        "first scheme in the Authorize dialog: {first_scheme}"
    );
    // The dialog lists the schemes by name; mark the X-API-KEY one.
    browser
        .execute(
            "[...document.querySelectorAll('.auth-container')].find(c => c.querySelector('h4').textContent.includes('ApiKeyHeader')).setAttribute('data-scheme', 'api-key');",
            vec![],
        )
        .await;
    browser.type_into("[data-scheme=api-key] input", &key).await;
    browser
        .click("[data-scheme=api-key] button.authorize")
        .await;
    browser.click("button.btn-done").await;
    browser
        .click("#operations-Current_key-getCurrentKey .opblock-summary-control")
        .await;
    // Try-it-out is on from the start, so the operation opens ready to run.
    browser
        .wait_until(
            "document.querySelector('#operations-Current_key-getCurrentKey button.execute')",
            "the Execute button",
        )
        .await;
    browser
        .click("#operations-Current_key-getCurrentKey button.execute")
        .await;
    let answer = browser
        .wait_until(
            "(document.querySelector('#operations-Current_key-getCurrentKey .live-responses-table .response-col_description pre') || {}).textContent",
            "the live response",
        )
        .await;
    let answer: Value = serde_json::from_str(answer.as_str().unwrap()).unwrap();
    assert_eq!(answer["organization"], "acme", "{answer}");
    assert_eq!(answer["name"], "fuzzing");
    let status = browser
        .execute(
            "return document.querySelector('#operations-Current_key-getCurrentKey .live-responses-table tbody .response-col_status').textContent.trim();",
            vec![],
        )
        .await;
    assert_eq!(status, "200");
    browser.quit().await;
}
