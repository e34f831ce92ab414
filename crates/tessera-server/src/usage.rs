//! Usage recording (SPEC §10, docs/usage.md): every request under `/api/`
//! becomes a small record, queued without waiting and written in batches
//! by a background writer, so the log never slows or blocks a request.
//!
//! The queue is bounded: when it is full a record is dropped and counted
//! (`tessera_usage_records_dropped_total` on `/metrics`, and the usage
//! page). Inner layers tell the recorder what only they know through the
//! response's extensions: the key and client ([`UsageIdentity`], set by
//! `extract::authenticate`) and the fields a data read returned
//! ([`FieldsReturned`]).

use crate::AppState;
use crate::middleware::{Arrival, ClientAddr};
use axum::extract::MatchedPath;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_access::keys::Verdict;
use tessera_core::usage::{DAY_MS, ROLLUP_RETENTION_DAYS, UNMATCHED_ROUTE};
use tessera_store::usage::{self as store, RequestRecord, SqliteUsageWriter};
pub use tessera_store::usage::{FieldsRead, FieldsReturned};
use tessera_store::{Db, StoreError, now_ms};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// How usage is recorded and kept.
#[derive(Debug, Clone)]
pub struct UsageSettings {
    /// `TESSERA_USAGE_RECORDING=off` turns recording off.
    pub recording: bool,
    /// Days raw request rows are kept (`TESSERA_USAGE_RETENTION_DAYS`);
    /// daily roll-ups are kept 400 days whatever this says.
    pub retention_days: u32,
    /// How long the writer lets records gather after the first of a batch
    /// arrives: the longest a record waits before it is written.
    pub flush_interval: Duration,
    /// Most records written in one transaction.
    pub batch_rows: usize,
    /// Most records waiting; more are dropped and counted.
    pub queue_capacity: usize,
    /// How often old rows are pruned.
    pub prune_interval: Duration,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings {
            recording: true,
            retention_days: 30,
            flush_interval: Duration::from_secs(1),
            batch_rows: 2_000,
            queue_capacity: 100_000,
            prune_interval: Duration::from_secs(10 * 60),
        }
    }
}

/// Who made a request, as key verification established it.
#[derive(Clone)]
pub(crate) struct UsageIdentity(pub Verdict);

/// The recording side of one server process.
pub struct UsageRecorder {
    queue: Option<mpsc::Sender<RequestRecord>>,
    dropped: AtomicU64,
    stop: Arc<Notify>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl UsageRecorder {
    /// Starts the writer and the pruner (call inside a Tokio runtime);
    /// with recording off, starts nothing and records nothing.
    pub fn start(db: &Db, settings: &UsageSettings) -> UsageRecorder {
        let stop = Arc::new(Notify::new());
        if !settings.recording {
            return UsageRecorder {
                queue: None,
                dropped: AtomicU64::new(0),
                stop,
                tasks: Mutex::new(Vec::new()),
            };
        }
        // Registered at zero so that /metrics shows them before anything
        // happens: "no drops" is worth seeing.
        metrics::counter!("tessera_usage_records_dropped_total").increment(0);
        metrics::counter!("tessera_usage_records_written_total").increment(0);
        let (queue, receiver) = mpsc::channel(settings.queue_capacity.max(1));
        let writer = Writer {
            db: db.clone(),
            flush_interval: settings.flush_interval,
            batch_rows: settings.batch_rows.max(1),
            stop: stop.clone(),
        };
        let tasks = vec![
            tokio::spawn(writer.run(receiver)),
            tokio::spawn(prune_regularly(db.clone(), settings.clone())),
        ];
        UsageRecorder {
            queue: Some(queue),
            dropped: AtomicU64::new(0),
            stop,
            tasks: Mutex::new(tasks),
        }
    }

    pub fn is_recording(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues a record without waiting; a full queue drops it and counts.
    fn record(&self, record: RequestRecord) {
        let Some(queue) = &self.queue else { return };
        if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(record) {
            self.count_dropped(1);
        }
    }

    fn count_dropped(&self, records: u64) {
        self.dropped.fetch_add(records, Ordering::Relaxed);
        metrics::counter!("tessera_usage_records_dropped_total").increment(records);
    }

    /// Records this process dropped since it started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes what is queued and stops, waiting at most `limit`: the last
    /// step of a graceful shutdown, after in-flight requests finished.
    pub(crate) async fn flush_and_stop(&self, limit: Duration) {
        let tasks: Vec<_> = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        let mut tasks = tasks.into_iter();
        let (Some(writer), pruner) = (tasks.next(), tasks.next()) else {
            return;
        };
        if let Some(pruner) = pruner {
            pruner.abort();
        }
        self.stop.notify_one();
        if tokio::time::timeout(limit, writer).await.is_err() {
            tracing::warn!("usage records were still being written at shutdown; some are lost");
        }
    }
}

/// Writes queued records in batches: everything that arrived in the
/// `flush_interval` after the first of a batch, `batch_rows` a transaction.
struct Writer {
    db: Db,
    flush_interval: Duration,
    batch_rows: usize,
    stop: Arc<Notify>,
}

impl Writer {
    async fn run(self, mut queue: mpsc::Receiver<RequestRecord>) {
        let mut sqlite = match SqliteUsageWriter::open(&self.db).await {
            Ok(writer) => writer,
            Err(err) => {
                tracing::warn!(error = %err, "cannot open the usage writer's own SQLite connection; writing through the pool");
                None
            }
        };
        let mut batch = Vec::with_capacity(self.batch_rows);
        loop {
            let stopping = self.gather(&mut queue, &mut batch).await;
            batch = match sqlite.take() {
                Some(writer) => {
                    let (writer, written) = self.write_on_sqlite_file(writer, batch).await;
                    sqlite = writer;
                    written
                }
                None => {
                    for chunk in batch.chunks(self.batch_rows) {
                        let started = Instant::now();
                        let result = store::write_batch(&self.db, chunk).await;
                        count_batch(chunk.len(), started, result);
                    }
                    batch
                }
            };
            batch.clear();
            if stopping {
                return;
            }
        }
    }

    /// Writes `batch` through the file's own connection on a blocking
    /// thread, and hands both back for the next batch.
    async fn write_on_sqlite_file(
        &self,
        mut writer: SqliteUsageWriter,
        batch: Vec<RequestRecord>,
    ) -> (Option<SqliteUsageWriter>, Vec<RequestRecord>) {
        let batch_rows = self.batch_rows;
        let written = tokio::task::spawn_blocking(move || {
            for chunk in batch.chunks(batch_rows) {
                let started = Instant::now();
                let result = writer.write_batch(chunk);
                count_batch(chunk.len(), started, result);
            }
            (writer, batch)
        })
        .await;
        match written {
            Ok((writer, batch)) => (Some(writer), batch),
            Err(err) => {
                tracing::error!(error = %err, "the usage writer's thread failed; writing through the pool from now on");
                (None, Vec::with_capacity(batch_rows))
            }
        }
    }

    /// Fills `batch` with what arrives in the `flush_interval` after its
    /// first record; `true` when the writer should stop after it. It
    /// sleeps rather than waiting on the queue record by record, which
    /// would wake this task once per request.
    async fn gather(
        &self,
        queue: &mut mpsc::Receiver<RequestRecord>,
        batch: &mut Vec<RequestRecord>,
    ) -> bool {
        tokio::select! {
            received = queue.recv_many(batch, self.batch_rows) => if received == 0 { return true },
            () = self.stop.notified() => return true,
        }
        let stopping = tokio::select! {
            () = tokio::time::sleep(self.flush_interval) => false,
            () = self.stop.notified() => true,
        };
        while let Ok(record) = queue.try_recv() {
            batch.push(record);
        }
        stopping
    }
}

/// Counts a written batch (and how long it took), or a failed one as
/// dropped.
fn count_batch(records: usize, started: Instant, result: Result<(), StoreError>) {
    match result {
        Ok(()) => {
            metrics::counter!("tessera_usage_records_written_total").increment(records as u64);
            metrics::histogram!("tessera_usage_batch_write_duration_seconds")
                .record(started.elapsed().as_secs_f64());
        }
        Err(err) => {
            tracing::warn!(error = %err, records, "could not write usage records; they are dropped");
            metrics::counter!("tessera_usage_records_dropped_total").increment(records as u64);
        }
    }
}

/// Deletes raw rows past their retention and roll-ups past 400 days. Every
/// instance may run it: deleting what is already gone changes nothing.
async fn prune_regularly(db: Db, settings: UsageSettings) {
    let mut tick = tokio::time::interval(settings.prune_interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = now_ms();
        let raw_before = now - i64::from(settings.retention_days) * DAY_MS;
        let rollups_before = now.div_euclid(DAY_MS) * DAY_MS - ROLLUP_RETENTION_DAYS * DAY_MS;
        match store::prune(&db, raw_before, rollups_before).await {
            Ok(deleted) => {
                metrics::counter!("tessera_usage_records_pruned_total").increment(deleted);
            }
            Err(err) => tracing::warn!(error = %err, "could not prune the usage log"),
        }
    }
}

/// A request being recorded: what is known when it arrives.
pub(crate) struct UsageInProgress {
    started: Instant,
    at: i64,
    route: String,
    method: &'static str,
    client_ip: String,
    request_id: String,
}

impl UsageInProgress {
    /// Starts recording an API request, unless recording is off.
    pub(crate) fn begin(
        state: &AppState,
        arrival: &Arrival,
        client: ClientAddr,
    ) -> Option<UsageInProgress> {
        state.usage().is_recording().then(|| UsageInProgress {
            started: arrival.started,
            at: now_ms(),
            route: arrival
                .route
                .as_ref()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
                .to_owned(),
            method: crate::http_metrics::method_label(&arrival.method),
            client_ip: client.ip.to_string(),
            request_id: arrival.request_id.to_str().unwrap_or_default().to_owned(),
        })
    }

    /// Queues the record of the answered (or refused) request; inner layers
    /// left who asked and what was read in the response's extensions.
    pub(crate) fn finish(self, recorder: &UsageRecorder, response: &mut Response) {
        let identity = response.extensions_mut().remove::<UsageIdentity>();
        let fields = response
            .extensions_mut()
            .remove::<FieldsReturned>()
            .unwrap_or_default();
        let (organization_id, key_id, client_id) = match identity {
            Some(UsageIdentity(verdict)) => (
                Some(verdict.key.organization_id.clone()),
                Some(verdict.key.id.as_str().to_owned()),
                verdict.client_id,
            ),
            None => (None, None, None),
        };
        recorder.record(RequestRecord {
            at: self.at,
            organization_id,
            key_id,
            client_id,
            method: self.method,
            route: self.route,
            status: response.status().as_u16(),
            latency_ms: i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX),
            client_ip: self.client_ip,
            request_id: self.request_id,
            fields,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord {
            at: 0,
            organization_id: None,
            key_id: None,
            client_id: None,
            method: "GET",
            route: UNMATCHED_ROUTE.to_owned(),
            status: 404,
            latency_ms: 0,
            client_ip: "127.0.0.1".to_owned(),
            request_id: "r1".to_owned(),
            fields: FieldsReturned::default(),
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (queue, _unread) = mpsc::channel(1);
        let recorder = UsageRecorder {
            queue: Some(queue),
            dropped: AtomicU64::new(0),
            stop: Arc::new(Notify::new()),
            tasks: Mutex::new(Vec::new()),
        };
        for _ in 0..3 {
            recorder.record(record());
        }
        assert_eq!(recorder.dropped(), 2);
    }
}
