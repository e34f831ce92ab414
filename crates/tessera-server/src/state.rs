use crate::ServerConfig;
use crate::usage::UsageRecorder;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_access::keys::{AccessEngine, EngineSettings};
use tessera_access::rate_limit::{InvalidRedisUrl, RateLimits};
use tessera_access::throttle::PasswordThrottle;
use tessera_core::webhooks::feed::CursorKey;
use tessera_ops::Ops;
use tessera_ops::auth::PasswordGate;
use tessera_ops::webhooks::WebhookRules;
use tessera_store::{Db, StoreError};

/// Shared, cheaply cloned state of one server process.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: Db,
    config: ServerConfig,
    password_gate: PasswordGate,
    leak_reports: DefaultKeyedRateLimiter<IpAddr>,
    applications: DefaultKeyedRateLimiter<IpAddr>,
    access: Arc<AccessEngine>,
    ops: Ops,
    rate_limits: RateLimits,
    usage: UsageRecorder,
    /// Signs events-feed cursors; read from the database on first use.
    cursor_key: tokio::sync::OnceCell<CursorKey>,
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Set when the process has been asked to stop: `/readyz` answers 503
    /// so load balancers send new requests elsewhere while this one still
    /// serves.
    draining: AtomicBool,
}

impl AppState {
    /// Builds the state and starts the access engine's background work
    /// (change-log follower, key-use writer); call inside a Tokio runtime.
    pub fn new(db: Db, config: ServerConfig) -> Result<Self, InvalidRedisUrl> {
        crate::health::install_metrics();
        let rate_limits = RateLimits::new(config.redis_url.as_deref())?;
        let defaults = EngineSettings::for_backend(db.backend());
        let engine_settings = EngineSettings {
            cache_capacity: config.key_cache_capacity,
            cache_ttl: config.key_cache_ttl,
            auth_failures_per_minute: config.auth_failures_per_minute,
            change_notifications: config.change_notifications,
            poll_interval: config
                .change_poll_interval
                .unwrap_or(defaults.poll_interval),
        };
        let (access, background) = AccessEngine::start(db.clone(), engine_settings);
        let leak_quota = Quota::per_minute(
            NonZeroU32::new(config.leak_reports_per_minute).unwrap_or(NonZeroU32::MIN),
        );
        let application_quota = Quota::per_hour(
            NonZeroU32::new(config.applications_per_hour).unwrap_or(NonZeroU32::MIN),
        );
        Ok(AppState(Arc::new(Inner {
            password_gate: PasswordGate::new(
                PasswordThrottle::new(
                    config.password_backoff,
                    config.password_failures_per_ip,
                    config.password_failure_window,
                ),
                config.concurrent_password_checks,
            ),
            leak_reports: RateLimiter::keyed(leak_quota),
            applications: RateLimiter::keyed(application_quota),
            ops: Ops::new(db.clone(), access.clone()).with_webhook_rules(WebhookRules {
                allowed_networks: config.webhooks.allowed_networks.clone(),
            }),
            access,
            rate_limits,
            usage: UsageRecorder::start(&db, &config.usage),
            cursor_key: tokio::sync::OnceCell::new(),
            background: Mutex::new(background),
            draining: AtomicBool::new(false),
            db,
            config,
        })))
    }

    pub fn rate_limits(&self) -> &RateLimits {
        &self.0.rate_limits
    }

    /// Where every API request's usage record goes.
    pub fn usage(&self) -> &UsageRecorder {
        &self.0.usage
    }

    /// The deployment's key for events-feed cursors: every instance reads
    /// the same one, made by whichever asked first.
    pub(crate) async fn cursor_key(&self) -> Result<&CursorKey, StoreError> {
        self.0
            .cursor_key
            .get_or_try_init(|| async {
                let fresh = CursorKey::generate().expose();
                let now = tessera_store::now_ms();
                let stored = tessera_store::events::deployment_secret(
                    self.db(),
                    "events.cursor",
                    &fresh,
                    now,
                )
                .await?;
                CursorKey::parse(&stored).ok_or_else(|| {
                    StoreError::Corrupt("the events cursor key in deployment_secrets".to_owned())
                })
            })
            .await
    }

    pub fn access(&self) -> &AccessEngine {
        &self.0.access
    }

    /// Every change of state goes through these.
    pub fn ops(&self) -> &Ops {
        &self.0.ops
    }

    pub(crate) fn password_gate(&self) -> &PasswordGate {
        &self.0.password_gate
    }

    pub(crate) fn leak_reports(&self) -> &DefaultKeyedRateLimiter<IpAddr> {
        &self.0.leak_reports
    }

    /// Applications for an API client per client address.
    pub(crate) fn applications(&self) -> &DefaultKeyedRateLimiter<IpAddr> {
        &self.0.applications
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

    /// Marks the process as stopping: from now on `/readyz` answers 503
    /// and HTTP/1 answers close their connection, while requests are still
    /// served until the listener closes.
    pub fn start_draining(&self) {
        self.0.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::Acquire)
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }
}

/// Periodic chores that keep memory and tables bounded: forgetting idle
/// throttle counters, deleting expired sessions and idempotent answers
/// older than their 24 hours, metrics upkeep.
pub(crate) fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state.password_gate().throttle().forget_idle();
            state.leak_reports().retain_recent();
            state.applications().retain_recent();
            state.access().forget_idle_failures();
            state.rate_limits().forget_idle();
            if let Err(err) = tessera_store::access_changes::prune(state.db(), 60 * 60 * 1000).await
            {
                tracing::warn!(error = %err, "could not prune the access change log");
            }
            crate::health::metrics_upkeep();
            if let Err(err) = tessera_store::sessions::delete_expired(state.db()).await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
            let now = tessera_store::now_ms();
            if let Err(err) =
                tessera_store::records::prune_idempotent_answers(state.db(), now).await
            {
                tracing::warn!(error = %err, "could not prune idempotent answers");
            }
        }
    })
}
