//! The pinned Python tools the suite runs (`openapi-spec-validator`,
//! Schemathesis, the official Standard Webhooks library and
//! openapi-python-client), in a virtualenv (`$TESSERA_TOOLS_VENV`, by default
//! `~/.cache/tessera/venv`) created from PyPI on first use when it is
//! missing; a test that cannot get them fails.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The versions CI installs; `.ci/run` installs the same list.
const PYTHON_TOOLS: &[&str] = &[
    "schemathesis==4.32.5",
    "openapi-spec-validator==0.7.2",
    "standardwebhooks==1.1.0",
    "openapi-python-client==0.29.1",
    // What the client openapi-python-client generates imports.
    "python-dateutil==2.9.0.post0",
];

fn tools_venv() -> PathBuf {
    std::env::var_os("TESSERA_TOOLS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/tessera/venv")
        })
}

/// The path of a tool from the virtualenv, installing the pinned tools
/// once per test run when the virtualenv does not hold exactly them.
pub fn python_tool(name: &str) -> PathBuf {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let venv = tools_venv();
    INSTALLED.get_or_init(|| {
        let marker = venv.join("tessera-tools.txt");
        let wanted = PYTHON_TOOLS.join("\n");
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
            run_ok(Command::new("python3").arg("-m").arg("venv").arg(&venv));
            run_ok(
                Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check"])
                    .args(PYTHON_TOOLS),
            );
            std::fs::write(&marker, wanted).expect("write the tools marker");
        }
    });
    let tool = venv.join("bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing after installing the test tools",
        tool.display()
    );
    tool
}

pub(super) fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a blocking tool off the async runtime, so the in-process server
/// keeps answering it.
pub async fn run_tool(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
    })
    .await
    .unwrap()
}

/// What a tool printed, for a failure message.
pub fn tool_report(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Checks each delivery's signature with the official Standard Webhooks
/// library for Python and `secret`: true for each that verifies.
pub async fn verified_by_standard_webhooks(
    deliveries: &[super::Delivery],
    secret: &str,
) -> Vec<bool> {
    const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
hook = Webhook(sys.argv[1])
results = []
for d in json.load(sys.stdin):
    headers = {"webhook-id": d["id"], "webhook-timestamp": d["timestamp"], "webhook-signature": d["signature"]}
    try:
        hook.verify(d["body"], headers)
        results.append(True)
    except Exception:
        results.append(False)
print(json.dumps(results))
"#;
    let input: Vec<serde_json::Value> = deliveries
        .iter()
        .map(|d| {
            serde_json::json!({"id": d.id, "timestamp": d.timestamp, "signature": d.signature, "body": d.body})
        })
        .collect();
    let python = python_tool("python");
    let secret = secret.to_owned();
    let input = serde_json::to_vec(&input).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(python)
            .args(["-c", VERIFY, &secret])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run the Standard Webhooks verifier");
        child.stdin.take().unwrap().write_all(&input).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", tool_report(&output));
    serde_json::from_slice(&output.stdout).expect("the verifier prints a JSON list")
}
