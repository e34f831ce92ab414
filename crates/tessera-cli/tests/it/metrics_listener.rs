//! `--metrics-listen`: `/metrics` moves to an address of its own (which a
//! firewall can keep private) and is no longer served on the main listener.

use crate::harness::{Backend, ServerProcess, TestDb};
use crate::on_both_backends;

on_both_backends!(metrics_listen_moves_metrics_off_the_main_listener);

async fn metrics_listen_moves_metrics_off_the_main_listener(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = ServerProcess::start(&db.url, "serve", &["--metrics-listen", "127.0.0.1:0"]);
    let line = server.wait_for_log("metrics listening on http://");
    let metrics_address: String = line
        .split("metrics listening on http://")
        .nth(1)
        .expect("address")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
        .collect();
    assert_ne!(metrics_address, server.address.to_string());

    let health = reqwest::get(format!("http://{}/healthz", server.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let on_main = reqwest::get(format!("http://{}/metrics", server.address))
        .await
        .unwrap();
    assert_eq!(
        on_main.status(),
        404,
        "/metrics is still public on the main listener"
    );

    let on_own = reqwest::get(format!("http://{metrics_address}/metrics"))
        .await
        .unwrap();
    assert_eq!(on_own.status(), 200);
    let text = on_own.text().await.unwrap();
    assert!(text.contains("tessera_http_requests_total"), "{text}");
    // Only metrics live there: the API is not reachable through it.
    let api = reqwest::get(format!("http://{metrics_address}/api/v1/me"))
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
}
