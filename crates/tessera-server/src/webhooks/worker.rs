//! The delivery worker of `tessera serve`.
//!
//! It leases due messages endpoint by endpoint (one instance at a time
//! holds a message; a lease that outlives a crashed instance expires), sends
//! each with its Standard Webhooks headers, records the attempt and settles
//! the message: delivered, retried on the schedule, or failed. Concurrency
//! is bounded overall and per endpoint, so a slow receiver delays only its
//! own messages. A change made on this instance wakes the worker at once;
//! messages queued elsewhere are found at the next poll.

use super::guard::{DeliveryClient, SystemLookup, refusal_in};
use crate::AppState;
use crate::config::WebhookSettings;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_core::webhooks::signing::signature_header;
use tessera_ops::Ops;
use tessera_ops::webhooks::{AttemptReport, EndpointHealth, record_attempts};
use tessera_store::webhooks::delivery::{self, Attempt, LeasedMessage, Settlement};
use tessera_store::webhooks::{self, Endpoint};
use tessera_store::{StoreError, now_ms};
use tokio::sync::{Notify, Semaphore, mpsc};

/// How much of a receiver's answer the log keeps.
const RESPONSE_EXCERPT_BYTES: usize = 2048;
/// Attempts waiting to be recorded; a full queue holds deliveries back.
const REPORT_QUEUE: usize = 4096;
/// Attempts recorded in one transaction at most.
const REPORTS_PER_WRITE: usize = 512;

pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    let settings = state.config().webhooks.clone();
    let lookup = Arc::new(SystemLookup);
    let client =
        match DeliveryClient::new(settings.allowed_networks.clone(), settings.timeout, lookup) {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %err, "webhook deliveries are off: no HTTP client");
                return tokio::spawn(async {});
            }
        };
    let (reports, queue) = mpsc::channel(REPORT_QUEUE);
    let worker = Arc::new(Worker {
        client,
        ops: state.ops().clone(),
        wake: state.ops().outbox_signal(),
        slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
        in_flight: Mutex::new(HashMap::new()),
        reports,
        settings,
    });
    let recorder = record_reports(state.ops().clone(), queue, worker.wake.clone());
    tokio::spawn(async move {
        tokio::join!(worker.run(), recorder);
    })
}

/// Records attempts as they finish, as many per transaction as have
/// finished meanwhile: one write per batch instead of one per delivery
/// keeps SQLite's single writer free for the changes people make.
async fn record_reports(ops: Ops, mut queue: mpsc::Receiver<AttemptReport>, wake: Arc<Notify>) {
    let mut batch = Vec::with_capacity(REPORTS_PER_WRITE);
    while queue.recv_many(&mut batch, REPORTS_PER_WRITE).await > 0 {
        if let Err(err) = record_attempts(&ops, &batch).await {
            // The leases run out and the messages are attempted again: at
            // least once, never lost.
            tracing::warn!(error = %err, attempts = batch.len(), "could not record webhook attempts");
        }
        batch.clear();
        wake.notify_one();
    }
}

struct Worker {
    ops: Ops,
    client: DeliveryClient,
    settings: WebhookSettings,
    /// Woken by this instance's changes and by finished deliveries.
    wake: Arc<Notify>,
    slots: Arc<Semaphore>,
    /// Deliveries in flight per endpoint id.
    in_flight: Mutex<HashMap<String, usize>>,
    reports: mpsc::Sender<AttemptReport>,
}

impl Worker {
    async fn run(self: Arc<Self>) {
        let mut last_prune: Option<Instant> = None;
        loop {
            if last_prune.is_none_or(|at| at.elapsed() >= self.settings.prune_interval) {
                self.prune().await;
                last_prune = Some(Instant::now());
            }
            let wait = match self.dispatch_due().await {
                Ok(wait) => wait,
                Err(err) => {
                    tracing::warn!(error = %err, "webhook delivery could not read its queue");
                    self.settings.poll_interval
                }
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Starts every due message there is room for; returns how long to wait
    /// before looking again.
    async fn dispatch_due(self: &Arc<Self>) -> Result<Duration, StoreError> {
        let db = self.ops.db();
        let now = now_ms();
        let mut waiting_for_room = false;
        for endpoint_id in delivery::due_endpoints(db, now).await? {
            let room = self
                .settings
                .concurrency_per_endpoint
                .saturating_sub(self.in_flight_for(&endpoint_id))
                .min(self.slots.available_permits());
            if room == 0 {
                waiting_for_room = true;
                continue;
            }
            let lease_until = now + self.lease_ms();
            let leased = delivery::lease(db, &endpoint_id, now, lease_until, room as i64).await?;
            if leased.is_empty() {
                continue;
            }
            let Some(endpoint) = webhooks::find_for_delivery(db, &endpoint_id).await? else {
                continue;
            };
            let endpoint = Arc::new(endpoint);
            for message in leased {
                let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                    break;
                };
                self.adjust_in_flight(&endpoint_id, 1);
                let worker = self.clone();
                let endpoint = endpoint.clone();
                tokio::spawn(async move {
                    let report = worker.deliver(&endpoint, &message).await;
                    // The message stays leased until its attempt is
                    // recorded, so the slot can serve another one now.
                    worker.adjust_in_flight(endpoint.id.as_str(), -1);
                    drop(slot);
                    // Fails only when the worker is stopping; the lease
                    // then runs out and the message is attempted again.
                    let _ = worker.reports.send(report).await;
                });
            }
        }
        // A finished delivery wakes the worker, so messages waiting for
        // room need no polling of their own.
        if waiting_for_room {
            return Ok(self.settings.poll_interval);
        }
        let next_due = delivery::next_due_at(db, now_ms()).await?;
        let until_due = next_due.map_or(self.settings.poll_interval, |at| {
            Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))
        });
        Ok(until_due.clamp(Duration::from_millis(10), self.settings.poll_interval))
    }

    /// A lease outlasts an attempt by a margin, so two instances never
    /// attempt one message at once, yet a crashed instance's messages are
    /// retried soon after.
    fn lease_ms(&self) -> i64 {
        let timeout = i64::try_from(self.settings.timeout.as_millis()).unwrap_or(i64::MAX / 4);
        timeout * 2 + 5_000
    }

    fn in_flight_for(&self, endpoint_id: &str) -> usize {
        let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.get(endpoint_id).copied().unwrap_or(0)
    }

    fn adjust_in_flight(&self, endpoint_id: &str, by: isize) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let count = in_flight.entry(endpoint_id.to_owned()).or_insert(0);
        *count = count.saturating_add_signed(by);
        if *count == 0 {
            in_flight.remove(endpoint_id);
        }
    }

    async fn deliver(&self, endpoint: &Endpoint, message: &LeasedMessage) -> AttemptReport {
        let at = now_ms();
        let started = Instant::now();
        let outcome = self.attempt(endpoint, message, at).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let failures = usize::try_from(message.failures).unwrap_or(usize::MAX);
        let (settlement, health) = match &outcome {
            Outcome::Answered { status, .. } if (200..300).contains(status) => {
                (Settlement::Delivered, EndpointHealth::Succeeded)
            }
            Outcome::Answered { status: 410, .. } => (Settlement::Failed, EndpointHealth::Gone),
            failed => {
                let next = self.settings.retry_schedule.next_delay(
                    failures + 1,
                    random_unit(),
                    failed.retry_after(),
                );
                // Counted from the answer, not from the attempt's start: a
                // Retry-After is relative to when it was received. The
                // extra millisecond covers the clock's truncation to whole
                // milliseconds, so a floor is never missed by a fraction.
                let answered_at = now_ms() + 1;
                let settlement = next.map_or(Settlement::Failed, |wait| {
                    Settlement::RetryAt(
                        answered_at + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4),
                    )
                });
                (settlement, EndpointHealth::Failed)
            }
        };
        let attempt = outcome.into_attempt(at, latency_ms);
        let result = attempt
            .error
            .clone()
            .unwrap_or_else(|| "delivered".to_owned());
        metrics::counter!("tessera_webhook_attempts_total", "result" => result).increment(1);
        AttemptReport {
            endpoint_id: endpoint.id.to_string(),
            message_id: message.id.clone(),
            attempt,
            settlement,
            health,
            was_failing: endpoint.failing_since.is_some(),
        }
    }

    async fn attempt(&self, endpoint: &Endpoint, message: &LeasedMessage, at: i64) -> Outcome {
        let secrets = match endpoint.signing_secrets(at) {
            Ok(secrets) => secrets,
            Err(err) => return Outcome::Failed("connection", err.to_string()),
        };
        let timestamp = at / 1000;
        let signature = signature_header(
            &secrets.iter().collect::<Vec<_>>(),
            &message.id,
            timestamp,
            &message.body,
        );
        // The guard checks the URL again at every delivery: the rules may
        // have changed since it was saved.
        let request = match self.client.post(&endpoint.url) {
            Ok(request) => request,
            Err(refusal) => return Outcome::Failed("refused_address", refusal.to_string()),
        };
        let sent = request
            .header("content-type", "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => answered(response).await,
            Err(err) => Outcome::Failed(error_class(&err), err.to_string()),
        }
    }

    async fn prune(&self) {
        let keep_ms = i64::try_from(self.settings.retention.as_millis()).unwrap_or(i64::MAX / 4);
        match delivery::prune(self.ops.db(), now_ms() - keep_ms).await {
            Ok((0, 0)) => {}
            Ok((messages, events)) => {
                tracing::info!(messages, events, "pruned old webhook messages and events")
            }
            Err(err) => tracing::warn!(error = %err, "could not prune webhook messages"),
        }
    }
}

/// What one attempt came to.
enum Outcome {
    Answered {
        status: u16,
        retry_after: Option<Duration>,
        excerpt: String,
    },
    /// No answer: the error class and what went wrong.
    Failed(&'static str, String),
}

impl Outcome {
    /// A 429 or 503's `Retry-After`: the next attempt waits at least this.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Outcome::Answered { retry_after, .. } => *retry_after,
            Outcome::Failed(..) => None,
        }
    }

    fn into_attempt(self, at: i64, latency_ms: i64) -> Attempt {
        match self {
            Outcome::Answered {
                status, excerpt, ..
            } => Attempt {
                at,
                status: Some(i64::from(status)),
                latency_ms,
                error: (!(200..300).contains(&status)).then(|| "http_status".to_owned()),
                response: excerpt,
            },
            Outcome::Failed(class, detail) => Attempt {
                at,
                status: None,
                latency_ms,
                error: Some(class.to_owned()),
                response: detail.chars().take(RESPONSE_EXCERPT_BYTES).collect(),
            },
        }
    }
}

async fn answered(mut response: reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    let retry_after = matches!(status, 429 | 503)
        .then(|| response.headers().get("retry-after"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let mut excerpt = Vec::new();
    while excerpt.len() < RESPONSE_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    excerpt.truncate(RESPONSE_EXCERPT_BYTES);
    Outcome::Answered {
        status,
        retry_after,
        excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at =
        time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc2822)
            .ok()?;
    let wait = at - time::OffsetDateTime::now_utc();
    Some(Duration::from_secs(
        u64::try_from(wait.whole_seconds()).unwrap_or(0),
    ))
}

/// The log's class of a request that got no answer.
fn error_class(err: &reqwest::Error) -> &'static str {
    if refusal_in(err).is_some() {
        return "refused_address";
    }
    if err.is_timeout() {
        return "timeout";
    }
    let chain = std::iter::successors(Some(err as &dyn std::error::Error), |e| e.source())
        .map(|e| e.to_string().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(": ");
    if chain.contains("dns") || chain.contains("failed to lookup") || chain.contains("resolve") {
        "dns"
    } else if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake")
    {
        "tls"
    } else {
        "connection"
    }
}

/// A random number in [-1, 1] for the schedule's jitter.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 4];
    tessera_core::secret::fill_random(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX) * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 2001 00:00:00 +0000"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn jitter_is_within_its_range() {
        for _ in 0..1000 {
            let unit = random_unit();
            assert!((-1.0..=1.0).contains(&unit), "{unit}");
        }
    }
}
