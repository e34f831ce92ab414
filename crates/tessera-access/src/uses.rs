//! Recording which keys and clients were used, in batches off the request
//! path: the verifier queues a use, these tasks write them.

use std::time::Duration;
use tessera_store::Db;
use tessera_store::api_keys::{self, KeyUse};
use tessera_store::client_connections::{self, ClientUse};
use tokio::sync::mpsc;

/// Waits for the next use, then gathers whatever else arrives within the
/// second into `batch`; `false` once the queue is closed and drained.
async fn gather_for_a_second<T>(queue: &mut mpsc::Receiver<T>, batch: &mut Vec<T>) -> bool {
    const AT_ONCE: usize = 4096;
    if queue.recv_many(batch, AT_ONCE).await == 0 {
        return false;
    }
    let deadline = tokio::time::sleep(Duration::from_secs(1));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => return true,
            received = queue.recv_many(batch, AT_ONCE) => if received == 0 { return true },
        }
    }
}

/// Writes API clients' requests into the organisations' connection counts,
/// a batch per second at most, off the request path.
pub(crate) async fn write_client_uses(db: Db, mut queue: mpsc::Receiver<ClientUse>) {
    let mut batch = Vec::with_capacity(1024);
    while gather_for_a_second(&mut queue, &mut batch).await {
        if let Err(err) = client_connections::record_uses(&db, &batch).await {
            tracing::warn!(error = %err, uses = batch.len(), "could not record API client use");
        }
        batch.clear();
    }
}

/// Writes key use in batches, at most once a second, off the request path:
/// the newest use per key.
pub(crate) async fn write_key_uses(db: Db, mut queue: mpsc::Receiver<KeyUse>) {
    let mut batch = Vec::with_capacity(1024);
    while gather_for_a_second(&mut queue, &mut batch).await {
        batch.sort_by(|a, b| a.key_id.cmp(&b.key_id).then(b.at.cmp(&a.at)));
        batch.dedup_by(|later, earlier| later.key_id == earlier.key_id);
        if let Err(err) = api_keys::record_uses(&db, &batch).await {
            tracing::warn!(error = %err, keys = batch.len(), "could not record API key use");
        }
        batch.clear();
    }
}
