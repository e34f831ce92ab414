use crate::ServerConfig;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_access::keys::{AccessEngine, EngineSettings};
use tessera_access::throttle::{FailureThrottle, LoginThrottle};
use tessera_store::Db;

/// Shared, cheaply cloned state of one server process.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: Db,
    config: ServerConfig,
    login_throttle: LoginThrottle,
    password_failures_by_account: FailureThrottle<String>,
    password_failures_by_ip: FailureThrottle<IpAddr>,
    leak_reports: DefaultKeyedRateLimiter<IpAddr>,
    access: Arc<AccessEngine>,
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl AppState {
    /// Builds the state and starts the access engine's background work
    /// (change-log follower, key-use writer); call inside a Tokio runtime.
    pub fn new(db: Db, config: ServerConfig) -> Self {
        crate::health::install_metrics();
        let engine_settings = EngineSettings {
            cache_capacity: config.key_cache_capacity,
            cache_ttl: config.key_cache_ttl,
            ..EngineSettings::for_backend(db.backend())
        };
        let (access, background) = AccessEngine::start(db.clone(), engine_settings);
        let leak_quota = Quota::per_minute(
            NonZeroU32::new(config.leak_reports_per_minute).unwrap_or(NonZeroU32::MIN),
        );
        AppState(Arc::new(Inner {
            login_throttle: LoginThrottle::new(config.login_throttle),
            password_failures_by_account: FailureThrottle::new(
                config.password_failures_per_account,
                config.password_failure_window,
            ),
            password_failures_by_ip: FailureThrottle::new(
                config.password_failures_per_ip,
                config.password_failure_window,
            ),
            leak_reports: RateLimiter::keyed(leak_quota),
            access,
            background: Mutex::new(background),
            db,
            config,
        }))
    }

    pub fn access(&self) -> &AccessEngine {
        &self.0.access
    }

    pub(crate) fn password_failures_by_account(&self) -> &FailureThrottle<String> {
        &self.0.password_failures_by_account
    }

    pub(crate) fn password_failures_by_ip(&self) -> &FailureThrottle<IpAddr> {
        &self.0.password_failures_by_ip
    }

    pub(crate) fn leak_reports(&self) -> &DefaultKeyedRateLimiter<IpAddr> {
        &self.0.leak_reports
    }

    /// Stops the background work started with the state.
    pub(crate) fn stop_background(&self) {
        for task in self
            .0
            .background
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            task.abort();
        }
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
            state.password_failures_by_account().forget_idle();
            state.password_failures_by_ip().forget_idle();
            state.leak_reports().retain_recent();
            if let Err(err) = tessera_store::access_changes::prune(state.db(), 60 * 60 * 1000).await
            {
                tracing::warn!(error = %err, "could not prune the access change log");
            }
            crate::health::metrics_upkeep();
            if let Err(err) = tessera_store::sessions::delete_expired(state.db()).await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
        }
    })
}
