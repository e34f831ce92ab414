//! `tessera serve`: configuration, start-up and graceful shutdown.

use anyhow::Context;
use std::net::SocketAddr;
use std::time::Duration;
use tessera_access::client_ip::TrustedProxies;
use tessera_core::webhooks::RetrySchedule;
use tessera_core::webhooks::destination::AllowedNetworks;
use tessera_server::{
    AppState, ConnectionSettings, ServerConfig, UsageSettings, WebhookSettings,
    default_concurrent_password_checks,
};
use tessera_store::{Backend, DatabaseUrl, Db, PoolSettings, SqliteDurability};

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Comma-separated CIDRs of reverse proxies whose X-Forwarded-For and
    /// X-Forwarded-Proto are believed. By default the socket peer is the client.
    #[arg(
        long,
        env = "TESSERA_TRUSTED_PROXIES",
        default_value = "",
        hide_default_value = true
    )]
    pub trusted_proxies: String,

    /// The URL people reach this deployment at; an https URL marks console cookies Secure.
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "TESSERA_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest accepted document upload, in bytes.
    #[arg(long, env = "TESSERA_MAX_DOCUMENT_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_document_bytes: usize,

    /// Seconds graceful shutdown waits for in-flight requests.
    #[arg(long, env = "TESSERA_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,

    /// Seconds the server keeps serving after SIGTERM with /readyz
    /// answering 503, so load balancers stop sending it requests before
    /// it stops accepting them. SIGINT, or a second signal, skips the wait.
    #[arg(long, env = "TESSERA_DRAIN_SECONDS", default_value_t = 5)]
    pub drain_seconds: u64,

    /// Most API keys each instance keeps in its verification cache.
    #[arg(long, env = "TESSERA_KEY_CACHE_CAPACITY", default_value_t = 100_000)]
    pub key_cache_capacity: u64,

    /// Seconds a cached API key is trusted before it is re-read (a safety
    /// net; changes reach every instance's cache through the change log).
    #[arg(long, env = "TESSERA_KEY_CACHE_TTL", default_value_t = 30)]
    pub key_cache_ttl: u64,

    /// Whether PostgreSQL pushes access changes (revocations, role edits)
    /// to this instance with LISTEN/NOTIFY: on or off. Off opens no
    /// listening connection and relies on polling the change log, for
    /// PostgreSQL-compatible databases without LISTEN (CockroachDB).
    #[arg(long, env = "TESSERA_CHANGE_NOTIFICATIONS", default_value = "on", value_parser = ["on", "off"])]
    pub change_notifications: String,

    /// Milliseconds between polls of the access change log (10 to 60000;
    /// default 250 on SQLite, 500 on PostgreSQL). Without notifications it
    /// bounds how long another instance's revocation takes to hold here.
    #[arg(long, env = "TESSERA_CHANGE_POLL_MS", value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub change_poll_ms: Option<u64>,

    /// Redis holding the rate-limit buckets shared by every instance
    /// (redis://HOST:PORT). Without it each instance limits in memory.
    #[arg(long, env = "TESSERA_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Whether every API request is recorded for usage analytics: on or off.
    #[arg(long, env = "TESSERA_USAGE_RECORDING", default_value = "on", value_parser = ["on", "off"])]
    pub usage_recording: String,

    /// Days raw usage records are kept (daily roll-ups are kept 400 days).
    #[arg(long, env = "TESSERA_USAGE_RETENTION_DAYS", default_value_t = 30)]
    pub usage_retention_days: u32,

    /// Largest number of pooled database connections.
    #[arg(long, env = "TESSERA_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// SQLite commit durability: `full` survives power loss, `normal`
    /// survives only a process crash but writes faster.
    #[arg(long, env = "TESSERA_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = ["full", "normal"])]
    pub sqlite_synchronous: String,

    /// Serve `/metrics` on this address instead of the main listener.
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Seconds between webhook attempts after a failure, comma-separated
    /// (default 5,300,1800,7200,18000,36000,36000: 8 attempts in all).
    #[arg(long, env = "TESSERA_WEBHOOK_RETRY_SCHEDULE")]
    pub webhook_retry_schedule: Option<RetrySchedule>,

    /// Seconds a webhook receiver has to answer.
    #[arg(long, env = "TESSERA_WEBHOOK_TIMEOUT", default_value_t = 15)]
    pub webhook_timeout: u64,

    /// Comma-separated CIDRs webhook endpoints may point into although they
    /// are private or loopback (http:// is accepted there too).
    #[arg(long, env = "TESSERA_WEBHOOK_ALLOWED_NETWORKS", default_value = "")]
    pub webhook_allowed_networks: AllowedNetworks,

    /// Days webhook messages, attempts and events are kept.
    #[arg(long, env = "TESSERA_WEBHOOK_RETENTION_DAYS", default_value_t = 30)]
    pub webhook_retention_days: u64,

    /// Longest wait, in milliseconds, before the webhook worker looks for
    /// messages queued by another instance or the command line.
    #[arg(long, env = "TESSERA_WEBHOOK_POLL_MS", default_value_t = 1000)]
    pub webhook_poll_ms: u64,

    /// Password checks (Argon2, 19 MiB each) run at once; sign-ins beyond
    /// are answered 503 with Retry-After. Default: twice the number of cores.
    #[arg(long, env = "TESSERA_CONCURRENT_PASSWORD_CHECKS")]
    pub concurrent_password_checks: Option<usize>,

    /// Seconds a client has to send a request's headers (from their first
    /// byte, or from connecting for a connection's first request).
    #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,

    /// Seconds a client has to send a request body.
    #[arg(long, env = "TESSERA_BODY_READ_TIMEOUT", default_value_t = 30)]
    pub body_read_timeout: u64,

    /// Seconds a client has to send a document upload's body.
    #[arg(long, env = "TESSERA_UPLOAD_READ_TIMEOUT", default_value_t = 300)]
    pub upload_read_timeout: u64,

    /// Seconds a kept-alive connection may wait idle for its next request.
    #[arg(long, env = "TESSERA_KEEP_ALIVE_TIMEOUT", default_value_t = 75)]
    pub keep_alive_timeout: u64,

    /// Most open client connections; beyond, connections are answered 503
    /// and closed. The open-file limit is raised to fit if it can be.
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Most open connections from one client address (behind a reverse
    /// proxy, the proxy's: set it to the proxy's connection pool or more).
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS_PER_IP", default_value_t = 1_000)]
    pub max_connections_per_ip: usize,
}

/// The pool of a one-off command (admin, import) next to a running
/// server: it waits longer for the server's writes than a request would,
/// since a person is waiting for it, not a client with a deadline.
pub fn command_line_pool() -> PoolSettings {
    PoolSettings {
        sqlite_busy_timeout: std::time::Duration::from_secs(30),
        ..PoolSettings::default()
    }
}

impl ServeArgs {
    fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let trusted_proxies = TrustedProxies::parse(&self.trusted_proxies)?;
        let secure_cookies = match &self.public_url {
            None => false,
            Some(url) if url.starts_with("https://") => true,
            Some(url) if url.starts_with("http://") => false,
            Some(url) => {
                anyhow::bail!("invalid public URL '{url}': it must start with http:// or https://")
            }
        };
        // Checked now so a typo fails at start-up, not at the first request.
        tessera_access::rate_limit::RateLimits::new(self.redis_url.as_deref())?;
        Ok(ServerConfig {
            redis_url: self.redis_url.clone(),
            trusted_proxies,
            secure_cookies,
            max_body_bytes: self.max_body_bytes,
            max_document_bytes: self.max_document_bytes,
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
            key_cache_capacity: self.key_cache_capacity.max(1),
            key_cache_ttl: Duration::from_secs(self.key_cache_ttl.max(1)),
            change_notifications: self.change_notifications == "on",
            change_poll_interval: self.change_poll_ms.map(Duration::from_millis),
            webhooks: WebhookSettings {
                retry_schedule: self.webhook_retry_schedule.clone().unwrap_or_default(),
                timeout: Duration::from_secs(self.webhook_timeout.max(1)),
                allowed_networks: self.webhook_allowed_networks.clone(),
                retention: Duration::from_secs(self.webhook_retention_days * 24 * 60 * 60),
                poll_interval: Duration::from_millis(self.webhook_poll_ms.max(10)),
                ..WebhookSettings::default()
            },
            concurrent_password_checks: self
                .concurrent_password_checks
                .unwrap_or_else(default_concurrent_password_checks)
                .max(1),
            connections: self.connection_settings(),
            usage: UsageSettings {
                recording: self.usage_recording == "on",
                retention_days: self.usage_retention_days,
                ..UsageSettings::default()
            },
            metrics_listen: self.metrics_listen,
            ..ServerConfig::default()
        })
    }

    fn connection_settings(&self) -> ConnectionSettings {
        let seconds = |value: u64| Duration::from_secs(value.max(1));
        ConnectionSettings {
            header_read_timeout: seconds(self.header_read_timeout),
            body_read_timeout: seconds(self.body_read_timeout),
            upload_read_timeout: seconds(self.upload_read_timeout),
            keep_alive_timeout: seconds(self.keep_alive_timeout),
            max_connections: self.max_connections.max(1),
            max_connections_per_ip: self.max_connections_per_ip.max(1),
        }
    }

    /// How long SIGTERM leaves the server serving with `/readyz` at 503.
    pub fn drain_delay(&self) -> Duration {
        Duration::from_secs(self.drain_seconds)
    }

    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections.max(1),
            sqlite_durability: if self.sqlite_synchronous == "normal" {
                SqliteDurability::Normal
            } else {
                SqliteDurability::Full
            },
            ..PoolSettings::default()
        }
    }
}

pub async fn open_database(url: &DatabaseUrl, settings: &PoolSettings) -> anyhow::Result<Db> {
    let db = Db::connect(url, settings).await?;
    tracing::debug!(backend = ?db.backend(), database = %url, "database connected");
    Ok(db)
}

/// Connects, migrates and binds; everything that can fail on bad
/// configuration fails here, before the first request.
pub async fn prepare(
    url: &DatabaseUrl,
    args: &ServeArgs,
) -> anyhow::Result<(Db, tokio::net::TcpListener, ServerConfig)> {
    let config = args.server_config()?;
    fit_open_file_limit(config.connections.max_connections);
    let db = open_database(url, &args.pool_settings()).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    Ok((db, listener, config))
}

pub async fn serve(url: &DatabaseUrl, args: &ServeArgs) -> anyhow::Result<()> {
    let (db, listener, config) = prepare(url, args).await?;
    run(db, listener, config, url, args.drain_delay()).await
}

pub async fn run(
    db: Db,
    listener: tokio::net::TcpListener,
    config: ServerConfig,
    url: &DatabaseUrl,
    drain_delay: Duration,
) -> anyhow::Result<()> {
    let signals = StopSignals::install()?;
    let address = listener.local_addr()?;
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    tracing::info!(%address, backend, database = %url, "tessera listening on http://{address}");
    let state = AppState::new(db.clone(), config)?;
    let shutdown = drain_on_request(signals, state.clone(), drain_delay);
    tessera_server::serve(listener, state, shutdown).await?;
    db.close().await;
    Ok(())
}

/// Descriptors kept for everything but client connections: the database
/// pool, log files, SQLite's own files, webhook deliveries.
const DESCRIPTORS_BESIDES_CONNECTIONS: u64 = 512;

/// Raises the soft open-file limit (often 1,024) towards the hard one so
/// the connection cap, not the descriptor table, decides how many clients
/// are served: running out of descriptors stops accepting for everyone.
fn fit_open_file_limit(max_connections: usize) {
    let wanted = max_connections as u64 + DESCRIPTORS_BESIDES_CONNECTIONS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if read != 0 || limit.rlim_cur >= wanted {
        return;
    }
    let raised = libc::rlimit {
        rlim_cur: wanted.min(limit.rlim_max),
        rlim_max: limit.rlim_max,
    };
    // SAFETY: as above.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    let open_files = if set == 0 {
        raised.rlim_cur
    } else {
        limit.rlim_cur
    };
    if open_files < wanted {
        tracing::warn!(
            open_files,
            max_connections,
            "the open-file limit is below the connection cap; raise it (ulimit -n) or lower --max-connections"
        );
    }
}

/// Which signal asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopSignal {
    Interrupt,
    Terminate,
}

/// SIGINT (Ctrl-C) and SIGTERM. The handlers are installed before the
/// server announces its address, so a signal sent right after start-up is
/// never lost to the default handler.
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    async fn next(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
        }
    }
}

/// Resolves when the server should stop accepting connections. SIGTERM is
/// how orchestrators and scripts stop an instance behind a load balancer:
/// `/readyz` turns 503 at once and the server keeps serving for
/// `drain_delay`, long enough for health checks to move traffic away, so
/// no client meets a closed port. SIGINT is a person at a terminal, with
/// nobody to wait for; a second signal during the delay ends it too.
async fn drain_on_request(mut signals: StopSignals, state: AppState, drain_delay: Duration) {
    let first = signals.next().await;
    state.start_draining();
    if first == StopSignal::Interrupt || drain_delay.is_zero() {
        return;
    }
    tracing::info!(
        seconds = drain_delay.as_secs(),
        "SIGTERM received; /readyz answers 503 and requests are served for {} s more",
        drain_delay.as_secs()
    );
    tokio::select! {
        () = tokio::time::sleep(drain_delay) => {},
        _ = signals.next() => tracing::info!("second stop signal; ending the drain delay early"),
    }
}
