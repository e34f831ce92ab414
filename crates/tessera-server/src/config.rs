use std::time::Duration;
use tessera_access::client_ip::TrustedProxies;
use tessera_access::throttle::LoginThrottleSettings;

/// Everything the server needs to know that is not in the database.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Networks whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: TrustedProxies,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Whether console cookies are marked `Secure` regardless of how the
    /// request arrived (set when the public URL is https).
    pub secure_cookies: bool,
    /// How long a console session lasts after sign-in.
    pub session_ttl: Duration,
    /// How long graceful shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    pub login_throttle: LoginThrottleSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            trusted_proxies: TrustedProxies::none(),
            max_body_bytes: 1024 * 1024,
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 60 * 60),
            shutdown_timeout: Duration::from_secs(30),
            login_throttle: LoginThrottleSettings::default(),
        }
    }
}
