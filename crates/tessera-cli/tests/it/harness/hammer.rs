//! Loads that run into a rate limit: concurrent loops counting what was
//! admitted and what was refused, and the ±2 % check of the admitted count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Sends requests from `workers` concurrent loops for `duration`, cycling
/// through `targets` (base URLs); returns (admitted, refused, elapsed).
pub async fn hammer(
    targets: &[String],
    key: &str,
    workers: usize,
    duration: Duration,
) -> (u64, u64, Duration) {
    let admitted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (http, admitted, refused) = (http.clone(), admitted.clone(), refused.clone());
        let target = format!("{}/api/v1/me", targets[worker % targets.len()]);
        let key = key.to_owned();
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < duration {
                let status = http
                    .get(&target)
                    .header("x-api-key", &key)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                match status {
                    200 => admitted.fetch_add(1, Ordering::Relaxed),
                    429 => refused.fetch_add(1, Ordering::Relaxed),
                    other => panic!("unexpected status {other} under load"),
                };
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    (
        admitted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        started.elapsed(),
    )
}

pub fn assert_within_two_percent(admitted: u64, rate: f64, burst: f64, elapsed: Duration) {
    let expected = burst + rate * elapsed.as_secs_f64();
    let error = (admitted as f64 - expected).abs() / expected;
    println!(
        "admitted {admitted}, expected {expected:.1} over {elapsed:?}: error {:.2} %",
        error * 100.0
    );
    assert!(
        error <= 0.02,
        "admitted {admitted}, expected {expected:.1} (±2 %) over {elapsed:?}"
    );
}
