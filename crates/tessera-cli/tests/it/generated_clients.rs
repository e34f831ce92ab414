//! Clients generated from `/openapi.json` by the generators integrators
//! use, run against a live server: openapi-python-client's Python client
//! lists, reads, creates with an `Idempotency-Key`, updates with `If-Match`,
//! narrows with `fields` and downloads a document; openapi-typescript's
//! types type-check (`tsc --noEmit`) a small client written against them.
//! The API description is the same whatever the backend, so one is enough.

use crate::harness::{
    Backend, TestApp, full_key, node_tool, python_tool, run_tool, seed_organization, tool_report,
};
use std::path::Path;
use std::process::Command;

async fn openapi_document(app: &TestApp, folder: &Path) -> std::path::PathBuf {
    let document = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let path = folder.join("openapi.json");
    std::fs::write(&path, document).unwrap();
    path
}

/// The Python script the generated client runs: it prints `ok` after
/// asserting every step, or fails with the step that went wrong.
const PYTHON_CLIENT_SCRIPT: &str = include_str!("generated_clients/use_python_client.py");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_works_against_a_live_server() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    seed_organization(&app, "acme").await;
    let key = full_key(&app, "acme").await;
    let folder = tempfile::tempdir().unwrap();
    let document = openapi_document(&app, folder.path()).await;

    let generator = python_tool("openapi-python-client");
    let tools_bin = generator.parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        tools_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut generate = Command::new(&generator);
    generate
        .args(["generate", "--path"])
        .arg(&document)
        .arg("--output-path")
        .arg(folder.path().join("tessera_client"))
        .args(["--meta", "none"])
        // The generator formats its output with ruff, from the same virtualenv.
        .env("PATH", &path);
    let generated = run_tool(generate).await;
    assert!(generated.status.success(), "{}", tool_report(&generated));
    let report = tool_report(&generated);
    assert!(
        !report.contains("Warning"),
        "the generator warned about the API description:\n{report}"
    );

    let script = folder.path().join("use_client.py");
    std::fs::write(&script, PYTHON_CLIENT_SCRIPT).unwrap();
    let mut run = Command::new(python_tool("python"));
    run.arg(&script)
        .arg(app.url(""))
        .arg(&key)
        .env("PYTHONPATH", folder.path());
    let ran = run_tool(run).await;
    assert!(ran.status.success(), "{}", tool_report(&ran));
    assert_eq!(String::from_utf8_lossy(&ran.stdout).trim(), "ok");
}

/// A client written against openapi-typescript's output: it must compile
/// with the generated types, and the `@ts-expect-error` lines prove the
/// types are precise (an enum, not any string).
const TYPESCRIPT_CLIENT: &str = include_str!("generated_clients/client.ts");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_typescript_types_type_check_a_client() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let folder = tempfile::tempdir().unwrap();
    let document = openapi_document(&app, folder.path()).await;
    let mut generate = Command::new(node_tool("openapi-typescript"));
    generate
        .arg(&document)
        .arg("--output")
        .arg(folder.path().join("schema.d.ts"));
    let generated = run_tool(generate).await;
    assert!(generated.status.success(), "{}", tool_report(&generated));

    std::fs::write(folder.path().join("client.ts"), TYPESCRIPT_CLIENT).unwrap();
    let mut check = Command::new(node_tool("tsc"));
    check
        .args([
            "--noEmit",
            "--strict",
            "--target",
            "es2022",
            "--lib",
            "es2022,dom",
        ])
        .args(["--module", "es2022", "--moduleResolution", "bundler"])
        .arg(folder.path().join("client.ts"))
        .current_dir(folder.path());
    let checked = run_tool(check).await;
    assert!(checked.status.success(), "{}", tool_report(&checked));
}
