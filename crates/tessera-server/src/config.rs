use std::time::Duration;
use tessera_access::client_ip::TrustedProxies;
use tessera_core::webhooks::RetrySchedule;
use tessera_core::webhooks::destination::AllowedNetworks;

/// Everything the server needs to know that is not in the database.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Networks whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: TrustedProxies,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest document upload accepted, in bytes.
    pub max_document_bytes: usize,
    /// Whether console cookies are marked `Secure` regardless of how the
    /// request arrived (set when the public URL is https).
    pub secure_cookies: bool,
    /// How long a console session lasts after sign-in.
    pub session_ttl: Duration,
    /// How long graceful shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Most API keys kept in each instance's verification cache.
    pub key_cache_capacity: u64,
    /// Longest a cached key is trusted without re-reading it.
    pub key_cache_ttl: Duration,
    /// Failed password checks (console sign-in and the key-management API
    /// together) allowed per username, and per client address, in
    /// `password_failure_window`.
    pub password_failures_per_account: u32,
    pub password_failures_per_ip: u32,
    pub password_failure_window: Duration,
    /// Leak reports accepted per client address per minute.
    pub leak_reports_per_minute: u32,
    /// Applications for an API client accepted per client address per hour.
    pub applications_per_hour: u32,
    /// Redis for rate-limit buckets shared by every instance; `None` keeps
    /// them in this process.
    pub redis_url: Option<String>,
    /// Failed key checks allowed per client address per minute.
    pub auth_failures_per_minute: u32,
    pub webhooks: WebhookSettings,
    /// Usage recording and retention (SPEC §10).
    pub usage: crate::UsageSettings,
    /// Where `/metrics` is served instead of the main listener, so that
    /// per-route counts need not be public; `None` keeps it on the main one.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// How webhooks are delivered (SPEC §9).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Waits between attempts after a failure.
    pub retry_schedule: RetrySchedule,
    /// Longest wait for a receiver's answer, body included.
    pub timeout: Duration,
    /// Networks an endpoint may point into despite the address rules (and
    /// where `http://` is accepted).
    pub allowed_networks: AllowedNetworks,
    /// How long messages, attempts and events (the events feed too) are
    /// kept.
    pub retention: Duration,
    /// How often what is past the retention is deleted.
    pub prune_interval: Duration,
    /// Longest the worker waits before looking for due messages queued by
    /// other instances or the command line.
    pub poll_interval: Duration,
    /// Deliveries in flight on this instance, all endpoints together, and
    /// per endpoint: a slow receiver holds only its own share.
    pub concurrency: usize,
    pub concurrency_per_endpoint: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry_schedule: RetrySchedule::default(),
            timeout: Duration::from_secs(15),
            allowed_networks: AllowedNetworks::default(),
            retention: Duration::from_secs(30 * 24 * 60 * 60),
            prune_interval: Duration::from_secs(60 * 60),
            poll_interval: Duration::from_secs(1),
            concurrency: 256,
            concurrency_per_endpoint: 16,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            trusted_proxies: TrustedProxies::none(),
            max_body_bytes: 1024 * 1024,
            max_document_bytes: 10 * 1024 * 1024,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 60 * 60),
            shutdown_timeout: Duration::from_secs(30),
            key_cache_capacity: 100_000,
            key_cache_ttl: Duration::from_secs(30),
            password_failures_per_account: 10,
            password_failures_per_ip: 50,
            password_failure_window: Duration::from_secs(15 * 60),
            leak_reports_per_minute: 10,
            applications_per_hour: 5,
            redis_url: None,
            auth_failures_per_minute: 60,
            webhooks: WebhookSettings::default(),
            usage: crate::UsageSettings::default(),
            metrics_listen: None,
        }
    }
}
