//! API key verification: the verdict every data request waits for.
//!
//! The hot path is: checksum (no I/O) → SHA-256 → in-process cache →
//! state checks (revoked, expired, owner, IP, client) → effective access.
//! The cache is bounded (moka, capacity and time-to-live configurable) and
//! kept fresh by the access change log: an instance applies its own changes
//! synchronously, and every instance applies everyone's changes from the log
//! (PostgreSQL pushes them with LISTEN/NOTIFY unless switched off; the log
//! is also polled, which covers SQLite, databases without LISTEN such as
//! CockroachDB, command-line changes and a dropped notification link).

use crate::key_cache::KeyCache;
use crate::throttle::FailureThrottle;
use crate::uses;
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tessera_core::ErrorCode;
use tessera_core::access_change::AccessChange;
use tessera_core::credentials;
use tessera_core::id::{KeyId, OrganizationId};
use tessera_core::permissions::Access;
use tessera_core::secret::{self, SecretHash, SecretKind};
use tessera_store::api_clients::ApiClient;
use tessera_store::api_keys::{self, KeyForVerification, KeyUse, Owner};
use tessera_store::client_connections::{self, ClientUse};
use tessera_store::organizations::RateLimit;
use tessera_store::{Backend, Db, StoreError, api_clients, now_ms};
use tokio::sync::mpsc;

const USE_REPORT_INTERVAL_MS: i64 = 1_000;

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Most keys held in the cache at once.
    pub cache_capacity: u64,
    /// Longest a cached key is trusted without re-reading it: the bound on
    /// staleness if every other invalidation path failed.
    pub cache_ttl: Duration,
    /// How often the change log is polled.
    pub poll_interval: Duration,
    /// Whether PostgreSQL also pushes each change to this instance
    /// (LISTEN/NOTIFY, milliseconds instead of up to a poll interval).
    /// Off, no listening connection is opened and the poll alone
    /// invalidates: for PostgreSQL-compatible databases without LISTEN.
    pub change_notifications: bool,
    /// Failed key checks (unknown, malformed, revoked, expired keys, bad
    /// client credentials) allowed per client address per minute; beyond
    /// it the address is refused before any lookup.
    pub auth_failures_per_minute: u32,
}

impl EngineSettings {
    pub fn for_backend(backend: Backend) -> Self {
        EngineSettings {
            cache_capacity: 100_000,
            cache_ttl: Duration::from_secs(30),
            poll_interval: match backend {
                Backend::Sqlite => Duration::from_millis(250),
                Backend::Postgres => Duration::from_millis(500),
            },
            change_notifications: true,
            auth_failures_per_minute: 60,
        }
    }
}

/// A key as verification sees it, with its effective access precomputed.
#[derive(Debug)]
pub struct VerifiedKey {
    pub id: KeyId,
    pub name: String,
    pub organization_id: OrganizationId,
    pub organization_slug: String,
    pub owner: Owner,
    pub owner_name: String,
    owner_active: bool,
    /// Key grant ∩ owner's current role.
    pub effective: Access,
    pub expires_at: Option<i64>,
    revoked_at: Option<i64>,
    pub ip_allowlist: Option<Vec<String>>,
    allowed_networks: Vec<IpNet>,
    pub client_id: Option<String>,
    pub organization_rate_limit: RateLimit,
    pub key_rate_limit: Option<RateLimit>,
    /// When this instance last queued a use of the key for `last_used_at`.
    last_reported_use: AtomicI64,
}

impl From<KeyForVerification> for VerifiedKey {
    fn from(record: KeyForVerification) -> Self {
        let allowed_networks = record
            .ip_allowlist
            .iter()
            .flatten()
            .filter_map(|cidr| IpNet::from_str(cidr).ok())
            .collect();
        VerifiedKey {
            effective: record.key_access.intersect(&record.owner_access),
            id: record.id,
            name: record.name,
            organization_id: record.organization_id,
            organization_slug: record.organization_slug,
            owner: record.owner,
            owner_name: record.owner_name,
            owner_active: record.owner_active,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            ip_allowlist: record.ip_allowlist,
            allowed_networks,
            client_id: record.client_id,
            organization_rate_limit: record.organization_rate_limit,
            key_rate_limit: record.key_rate_limit,
            last_reported_use: AtomicI64::new(0),
        }
    }
}

impl VerifiedKey {
    /// Whether a use at `now` should be queued: at most once a second per
    /// key, which is all the precision `last_used_at` needs, so the queue
    /// carries a trickle however busy the key is.
    fn claim_use_report(&self, now: i64) -> bool {
        let last = self.last_reported_use.load(Ordering::Relaxed);
        now - last >= USE_REPORT_INTERVAL_MS
            && self
                .last_reported_use
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Neither revoked nor expired, and its owner active.
    fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|expires| expires > now)
            && self.owner_active
    }

    fn allows_address(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.ip_allowlist.is_none() || self.allowed_networks.iter().any(|net| net.contains(&ip))
    }
}

/// What a request presents, read from its headers by the HTTP layer.
#[derive(Debug, Clone)]
pub struct Presentation<'a> {
    pub keys: Vec<&'a str>,
    pub organization: Option<&'a str>,
    pub client_credential: Option<&'a str>,
    pub client_ip: IpAddr,
}

/// The most keys one request may present (an API client acting for several
/// organisations): enough for real integrations, too few to probe with.
pub const MAX_KEYS_PER_REQUEST: usize = 10;

/// A request allowed through: the key it acts with and the client, if any.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub key: Arc<VerifiedKey>,
    pub client_id: Option<String>,
}

/// A refusal, with its stable error code and a sentence for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub code: ErrorCode,
    pub detail: String,
    /// Seconds to wait before retrying, for throttled callers.
    pub retry_after: Option<u64>,
    /// How many failed key checks the refusal stands for: one, or one per
    /// invalid key when a request presents several.
    failed_checks: u32,
}

impl Denial {
    fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let failed_checks = u32::from(matches!(
            code,
            ErrorCode::InvalidApiKey
                | ErrorCode::ExpiredApiKey
                | ErrorCode::RevokedApiKey
                | ErrorCode::InvalidApiClient
        ));
        Denial {
            code,
            detail: detail.into(),
            retry_after: None,
            failed_checks,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}", .0.detail)]
    Denied(Denial),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Denial> for VerifyError {
    fn from(denial: Denial) -> Self {
        VerifyError::Denied(denial)
    }
}

pub struct AccessEngine {
    db: Db,
    cache: KeyCache,
    uses: mpsc::Sender<KeyUse>,
    client_uses: mpsc::Sender<ClientUse>,
    settings: EngineSettings,
    cache_hits: metrics::Counter,
    cache_misses: metrics::Counter,
    auth_failures: FailureThrottle<IpAddr>,
}

impl AccessEngine {
    /// Creates the engine and starts its background work: applying the
    /// change log, and writing key use (`last_used_at`) in batches.
    pub fn start(
        db: Db,
        settings: EngineSettings,
    ) -> (Arc<AccessEngine>, Vec<tokio::task::JoinHandle<()>>) {
        let (uses, use_queue) = mpsc::channel(10_000);
        let (client_uses, client_use_queue) = mpsc::channel(100_000);
        let cache = KeyCache::new(settings.cache_capacity, settings.cache_ttl);
        let engine = Arc::new(AccessEngine {
            db,
            cache,
            uses,
            client_uses,
            cache_hits: metrics::counter!("tessera_key_cache_total", "result" => "hit"),
            cache_misses: metrics::counter!("tessera_key_cache_total", "result" => "miss"),
            auth_failures: FailureThrottle::new(
                settings.auth_failures_per_minute.max(1),
                Duration::from_secs(60),
            ),
            settings,
        });
        let tasks = vec![
            tokio::spawn(crate::changes::follow(engine.clone())),
            tokio::spawn(uses::write_key_uses(engine.db.clone(), use_queue)),
            tokio::spawn(uses::write_client_uses(engine.db.clone(), client_use_queue)),
        ];
        (engine, tasks)
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn poll_interval(&self) -> Duration {
        self.settings.poll_interval
    }

    pub(crate) fn change_notifications(&self) -> bool {
        self.settings.change_notifications
    }

    /// Verifies what a request presents and returns its verdict. An address
    /// that keeps failing is refused before any lookup, so spraying keys
    /// neither loads the database nor affects keys used from elsewhere;
    /// keys that verified before (still cached and usable) keep working
    /// from it, so a sprayer behind the same address or proxy cannot lock
    /// out the keys in use there.
    pub async fn verify(&self, presented: &Presentation<'_>) -> Result<Verdict, VerifyError> {
        if let Err(wait) = self.auth_failures.check(&presented.client_ip)
            && !self.all_usable_and_cached(&presented.keys)
        {
            let seconds = wait.as_secs().max(1);
            return Err(Denial {
                retry_after: Some(seconds),
                ..Denial::new(
                    ErrorCode::RateLimited,
                    format!(
                        "Too many failed authentication attempts from this address; retry in {}.",
                        tessera_core::error_code::seconds(seconds)
                    ),
                )
            }
            .into());
        }
        let result = self.check_presentation(presented).await;
        if let Err(VerifyError::Denied(denial)) = &result {
            for _ in 0..denial.failed_checks {
                self.auth_failures.record_failure(&presented.client_ip);
            }
        }
        result
    }

    /// Whether every presented key is a usable key already in the cache:
    /// checking those costs no database read, so the failure throttle need
    /// not stop them.
    fn all_usable_and_cached(&self, raw_keys: &[&str]) -> bool {
        let now = now_ms();
        !raw_keys.is_empty()
            && raw_keys.len() <= MAX_KEYS_PER_REQUEST
            && raw_keys.iter().all(|raw| {
                credentials::api_key_hash(raw).is_ok_and(|hash| {
                    self.cache
                        .get(hash.as_str())
                        .is_some_and(|key| key.is_usable(now))
                })
            })
    }

    /// Seconds until `ip` may try keys again, while it has failed too often.
    pub fn key_checks_throttled(&self, ip: IpAddr) -> Option<u64> {
        self.auth_failures
            .check(&ip)
            .err()
            .map(|wait| wait.as_secs().max(1))
    }

    /// Counts a failed key check that did not come through [`Self::verify`]
    /// (a custom key that turned out to be taken).
    pub fn record_failed_key_check(&self, ip: IpAddr) {
        self.auth_failures.record_failure(&ip);
    }

    /// Forgets addresses whose failure window has ended.
    pub fn forget_idle_failures(&self) {
        self.auth_failures.forget_idle();
    }

    async fn check_presentation(
        &self,
        presented: &Presentation<'_>,
    ) -> Result<Verdict, VerifyError> {
        if presented.keys.is_empty() {
            return Err(Denial::new(
                ErrorCode::MissingApiKey,
                "Send an API key in the X-API-KEY header or as Authorization: Bearer <key>.",
            )
            .into());
        }
        let key = self.choose_key(presented).await?;
        let now = now_ms();
        if key.revoked_at.is_some() {
            return Err(
                Denial::new(ErrorCode::RevokedApiKey, "This API key has been revoked.").into(),
            );
        }
        if key.expires_at.is_some_and(|expires| expires <= now) {
            return Err(Denial::new(ErrorCode::ExpiredApiKey, "This API key has expired.").into());
        }
        if !key.owner_active {
            return Err(Denial::new(
                ErrorCode::InvalidApiKey,
                "The owner of this API key has been deactivated.",
            )
            .into());
        }
        if !key.allows_address(presented.client_ip) {
            return Err(Denial::new(
                ErrorCode::IpNotAllowed,
                format!(
                    "Requests from {} are not allowed for this API key.",
                    presented.client_ip
                ),
            )
            .into());
        }
        let client_id = self.check_client(&key, presented.client_credential).await?;
        if let Some(client_id) = &client_id {
            // Counted off the request path; a full queue (a stalled database)
            // drops counts rather than slowing requests.
            let _ = self.client_uses.try_send(ClientUse {
                organization_id: key.organization_id.to_string(),
                client_id: client_id.clone(),
                key_id: key.id.to_string(),
                at: now,
            });
        }
        if key.claim_use_report(now) {
            let _ = self.uses.try_send(KeyUse {
                key_id: key.id.to_string(),
                at: now,
                ip: presented.client_ip.to_string(),
            });
        }
        Ok(Verdict { key, client_id })
    }

    /// The key the request acts with: the only one, or the one for the
    /// organisation named by `X-Organization`.
    async fn choose_key(
        &self,
        presented: &Presentation<'_>,
    ) -> Result<Arc<VerifiedKey>, VerifyError> {
        let found = match presented.keys.as_slice() {
            [single] => vec![self.find_key(single).await?],
            several => {
                self.find_several(several, presented.client_credential)
                    .await?
            }
        };
        match presented.organization {
            Some(slug) => found
                .into_iter()
                .find(|k| k.organization_slug == slug)
                .ok_or_else(|| {
                    Denial::new(
                        ErrorCode::OrganizationNotInKeys,
                        format!("None of the API keys sent belongs to the organization '{slug}'."),
                    )
                    .into()
                }),
            None => {
                let organizations: BTreeSet<&str> =
                    found.iter().map(|k| k.organization_slug.as_str()).collect();
                if organizations.len() > 1 {
                    return Err(Denial::new(
                        ErrorCode::AmbiguousOrganization,
                        "The API keys sent belong to several organizations; name one in the X-Organization header.",
                    )
                    .into());
                }
                found
                    .into_iter()
                    .next()
                    .ok_or_else(|| Denial::new(ErrorCode::MissingApiKey, "Send an API key.").into())
            }
        }
    }

    /// The one presented key, whatever its state (the caller tells a
    /// revoked or expired key apart, as its holder needs to know).
    async fn find_key(&self, raw: &str) -> Result<Arc<VerifiedKey>, VerifyError> {
        let hash = credentials::api_key_hash(raw).map_err(|_| {
            Denial::new(
                ErrorCode::InvalidApiKey,
                "This is not a valid Tessera API key: its format or checksum is wrong.",
            )
        })?;
        self.lookup(&hash).await?.ok_or_else(|| {
            Denial::new(ErrorCode::InvalidApiKey, "This API key is not recognised.").into()
        })
    }

    /// Several keys, as an API client acting for several organisations
    /// sends them: only with a valid client credential, checked before any
    /// key is looked up, and only when every key is valid. Unknown, revoked
    /// and expired keys are refused alike, each counting as a failed key
    /// check, so the answer never tells whether a guessed key exists.
    async fn find_several(
        &self,
        raw_keys: &[&str],
        client_credential: Option<&str>,
    ) -> Result<Vec<Arc<VerifiedKey>>, VerifyError> {
        if raw_keys.len() > MAX_KEYS_PER_REQUEST {
            return Err(Denial::new(
                ErrorCode::InvalidRequest,
                format!("A request may present at most {MAX_KEYS_PER_REQUEST} API keys."),
            )
            .into());
        }
        let Some(credential) = client_credential else {
            return Err(Denial::new(
                ErrorCode::ApiClientRequired,
                "Several API keys are accepted only with the credential of the API client acting for their organizations (X-API-Client).",
            )
            .into());
        };
        self.active_client(credential).await?;
        let now = now_ms();
        let mut found = Vec::with_capacity(raw_keys.len());
        let mut invalid = Vec::new();
        for (position, raw) in raw_keys.iter().enumerate() {
            let key = match credentials::api_key_hash(raw) {
                Ok(hash) => self.lookup(&hash).await?,
                Err(_) => None,
            };
            match key {
                Some(key) if key.is_usable(now) => found.push(key),
                _ => invalid.push((position + 1).to_string()),
            }
        }
        if invalid.is_empty() {
            return Ok(found);
        }
        Err(Denial {
            failed_checks: invalid.len() as u32,
            ..Denial::new(
                ErrorCode::InvalidApiKey,
                format!(
                    "Every API key sent must be valid; the key(s) at position {} are not.",
                    invalid.join(", ")
                ),
            )
        }
        .into())
    }

    /// The client a credential belongs to, if it is well-formed, known and
    /// not disabled.
    async fn active_client(&self, credential: &str) -> Result<ApiClient, VerifyError> {
        let invalid = || {
            Denial::new(
                ErrorCode::InvalidApiClient,
                "The X-API-Client credential is not valid.",
            )
        };
        secret::check_generated(SecretKind::ClientCredential, credential).map_err(|_| invalid())?;
        Ok(
            api_clients::find_by_credential(&self.db, &SecretHash::of(credential))
                .await?
                .filter(|c| c.active)
                .ok_or_else(invalid)?,
        )
    }

    async fn check_client(
        &self,
        key: &VerifiedKey,
        credential: Option<&str>,
    ) -> Result<Option<String>, VerifyError> {
        let client = match credential {
            None => None,
            Some(credential) => {
                let client = self.active_client(credential).await?;
                if client_connections::is_blocked(&self.db, &key.organization_id, &client.id)
                    .await?
                {
                    return Err(Denial::new(
                        ErrorCode::ApiClientBlocked,
                        format!(
                            "This organization has blocked the API client '{}'.",
                            client.name
                        ),
                    )
                    .into());
                }
                Some(client.id.into_string())
            }
        };
        match (&key.client_id, &client) {
            (Some(bound), Some(presented)) if bound == presented => Ok(client),
            (Some(_), _) => Err(Denial::new(
                ErrorCode::ApiClientRequired,
                "This API key works only together with the credential of the API client it is bound to (X-API-Client).",
            )
            .into()),
            (None, _) => Ok(client),
        }
    }

    /// The key with this hash, from the cache or one indexed read.
    pub async fn lookup(&self, hash: &SecretHash) -> Result<Option<Arc<VerifiedKey>>, StoreError> {
        if let Some(hit) = self.cache.get(hash.as_str()) {
            self.cache_hits.increment(1);
            return Ok(Some(hit));
        }
        self.cache_misses.increment(1);
        let started = self.cache.read_started();
        let Some(record) = api_keys::for_verification(&self.db, hash).await? else {
            return Ok(None);
        };
        let key = Arc::new(VerifiedKey::from(record));
        self.cache.insert_read(hash.as_str(), key.clone(), started);
        Ok(Some(key))
    }

    /// The cached entry for a hash, without touching the database: the
    /// hot path measured by the benchmarks.
    pub fn cached(&self, hash: &SecretHash) -> Option<Arc<VerifiedKey>> {
        self.cache.get(hash.as_str())
    }

    /// Forgets whatever `change` may have made stale, on this instance.
    pub fn apply(&self, change: &AccessChange) {
        self.cache.invalidate(change);
    }

    /// Forgets everything: used when changes may have been missed.
    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }

    pub fn cached_entries(&self) -> u64 {
        self.cache.entry_count()
    }
}
