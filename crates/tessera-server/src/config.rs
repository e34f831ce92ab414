use std::time::Duration;
use tessera_access::client_ip::TrustedProxies;
use tessera_access::throttle::Backoff;
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
    /// Whether PostgreSQL pushes access changes to this instance
    /// (LISTEN/NOTIFY); off, the change log's poll alone invalidates.
    pub change_notifications: bool,
    /// How often the access change log is polled; `None` for the backend's
    /// default (250 ms on SQLite, 500 ms on PostgreSQL).
    pub change_poll_interval: Option<Duration>,
    /// How failed password checks (console sign-in and the key-management
    /// API together) for one username from one client address delay the
    /// next attempt from that address.
    pub password_backoff: Backoff,
    /// Failed password checks allowed per client address, whatever the
    /// username, in `password_failure_window` (which also bounds how long
    /// a backoff is remembered).
    pub password_failures_per_ip: u32,
    pub password_failure_window: Duration,
    /// Password checks (Argon2, 19 MiB each) run at once; further sign-ins
    /// are answered 503 with `Retry-After` until a check finishes.
    pub concurrent_password_checks: usize,
    /// Time limits and caps on client connections.
    pub connections: ConnectionSettings,
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

/// How long clients may take and how many connections they may hold, so
/// slow or idle clients cannot tie up the server (slowloris).
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Longest a request's head (request line and headers) may take to
    /// arrive, from its first byte, or from the connection's opening for
    /// its first request.
    pub header_read_timeout: Duration,
    /// Longest a request body may take to arrive, from the end of the head.
    pub body_read_timeout: Duration,
    /// The same for document uploads, which may be large.
    pub upload_read_timeout: Duration,
    /// Longest a kept-alive connection may wait idle for its next request.
    pub keep_alive_timeout: Duration,
    /// Open client connections, all together and per client address;
    /// connections beyond are answered 503 and closed at once.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            upload_read_timeout: Duration::from_secs(300),
            keep_alive_timeout: Duration::from_secs(75),
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
        }
    }
}

/// Password checks run at once unless configured: two per core, so
/// hashing keeps every core busy without queueing on the blocking pool.
pub fn default_concurrent_password_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |cores| cores.get() * 2)
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
            change_notifications: true,
            change_poll_interval: None,
            password_backoff: Backoff {
                free_failures: 5,
                first_wait: Duration::from_secs(1),
                longest_wait: Duration::from_secs(60),
            },
            password_failures_per_ip: 50,
            password_failure_window: Duration::from_secs(15 * 60),
            concurrent_password_checks: default_concurrent_password_checks(),
            connections: ConnectionSettings::default(),
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
