//! Following the access change log, so every instance's key cache forgets
//! what another instance (or the command line) changed: notifications
//! (PostgreSQL LISTEN, unless switched off) for speed, and a poll of the
//! log, one range read of its primary key, that alone suffices.

use crate::keys::AccessEngine;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::access_change::AccessChange;
use tessera_store::access_changes;

/// Sequence numbers can commit out of order (two transactions on
/// PostgreSQL); re-reading this many behind the newest seen catches late
/// commits. Applying a change twice is harmless. A change committed later
/// still is caught by its notification or, without notifications, by the
/// cache's time-to-live: an entry read before the commit expires at most
/// that long after it.
const LOOKBACK: i64 = 64;

pub(crate) async fn follow(engine: Arc<AccessEngine>) {
    let mut applied = BTreeSet::new();
    let mut newest = loop {
        match access_changes::latest_seq(engine.db()).await {
            Ok(seq) => break seq,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the access change log; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut listener = if engine.change_notifications() {
        connect_listener(&engine).await
    } else {
        None
    };
    let mut poll = tokio::time::interval(engine.poll_interval());
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let notified = async {
            match listener.as_mut() {
                Some(listener) => listener.try_recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = notified => match received {
                Ok(Some(notification)) => {
                    if let Some(change) = AccessChange::parse(notification.payload()) {
                        engine.apply(&change);
                    }
                }
                // The connection dropped; anything sent meanwhile is lost, so
                // forget everything and let the next receive reconnect.
                Ok(None) => {
                    tracing::warn!("access change notifications interrupted; cache flushed");
                    engine.forget_all();
                }
                Err(err) => {
                    tracing::warn!(error = %err, "access change listener failed; cache flushed, reconnecting");
                    engine.forget_all();
                    listener = connect_listener(&engine).await;
                }
            },
            _ = poll.tick() => {
                match access_changes::since(engine.db(), newest - LOOKBACK).await {
                    Ok(changes) => {
                        for logged in changes {
                            if applied.insert(logged.seq) {
                                engine.apply(&logged.change);
                            }
                            newest = newest.max(logged.seq);
                        }
                        let low_water = newest - LOOKBACK;
                        applied = applied.split_off(&low_water);
                    }
                    Err(err) => tracing::warn!(error = %err, "cannot poll the access change log"),
                }
            }
        }
    }
}

async fn connect_listener(engine: &AccessEngine) -> Option<tessera_store::PgListener> {
    match access_changes::listen(engine.db()).await {
        Ok(listener) => listener,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for access changes; relying on polling");
            None
        }
    }
}
