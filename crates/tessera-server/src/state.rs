use crate::ServerConfig;
use std::sync::Arc;
use std::time::Duration;
use tessera_access::throttle::LoginThrottle;
use tessera_store::Db;

/// Shared, cheaply cloned state of one server process.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: Db,
    config: ServerConfig,
    login_throttle: LoginThrottle,
}

impl AppState {
    pub fn new(db: Db, config: ServerConfig) -> Self {
        AppState(Arc::new(Inner {
            login_throttle: LoginThrottle::new(config.login_throttle),
            db,
            config,
        }))
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    pub fn login_throttle(&self) -> &LoginThrottle {
        &self.0.login_throttle
    }
}

/// Periodic chores that keep memory and tables bounded: forgetting idle
/// throttle counters, deleting expired sessions, metrics upkeep.
pub(crate) fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state.login_throttle().forget_idle();
            crate::health::metrics_upkeep();
            if let Err(err) = tessera_store::sessions::delete_expired(state.db()).await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
        }
    })
}
