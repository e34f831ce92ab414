//! Request rate limits: one GCRA bucket per organisation, shared
//! by all its keys, and optionally one per key on top.
//!
//! Single instance: buckets live in memory (governor). Several instances:
//! with a Redis URL, each decision is one atomic Lua script in Redis, so the
//! limit holds exactly across instances. If Redis cannot be reached the
//! instance decides locally (fail open on availability, counted in
//! `/metrics`) and returns to Redis once it answers again.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota as GovernorQuota, RateLimiter};
use rustc_hash::FxBuildHasher;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tessera_store::organizations::RateLimit;
use tokio::sync::{OnceCell, oneshot};

/// Which bucket a decision is about; the name appears in the headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bucket {
    Organization(String),
    Key(String),
}

impl Bucket {
    pub fn policy_name(&self) -> &'static str {
        match self {
            Bucket::Organization(_) => "org",
            Bucket::Key(_) => "key",
        }
    }

    fn storage_key(&self) -> String {
        match self {
            Bucket::Organization(id) => format!("tessera:rl:org:{id}"),
            Bucket::Key(id) => format!("tessera:rl:key:{id}"),
        }
    }
}

/// The outcome of one request against one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub policy: &'static str,
    pub allowed: bool,
    /// The bucket's size (requests that may arrive at once).
    pub quota: u32,
    /// The policy's window: how long an empty bucket takes to refill, whole seconds.
    pub window_seconds: u64,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
    /// When refused: whole seconds to wait before retrying (at least 1).
    pub retry_after_seconds: u64,
}

/// Microseconds between two tokens, and the burst.
fn gcra_parameters(limit: RateLimit) -> (u64, u32) {
    let per_second = u64::from(limit.per_second.max(1));
    ((1_000_000 / per_second).max(1), limit.burst.max(1))
}

fn window_seconds(limit: RateLimit) -> u64 {
    u64::from(limit.burst.max(1))
        .div_ceil(u64::from(limit.per_second.max(1)))
        .max(1)
}

fn seconds_ceil(micros: u64) -> u64 {
    micros.div_ceil(1_000_000)
}

type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

struct LocalBucket {
    limit: RateLimit,
    limiter: Direct,
}

/// In-memory buckets behind one read-mostly lock. Bucket names are ids
/// Tessera generates, so the fast FxHash is safe here. Buckets that have
/// refilled completely are forgotten by [`RateLimits::forget_idle`] (a fresh
/// bucket is full too), so memory follows active buckets only.
struct LocalBuckets {
    buckets: RwLock<HashMap<Bucket, Arc<LocalBucket>, FxBuildHasher>>,
    clock: DefaultClock,
}

impl LocalBuckets {
    fn new() -> Self {
        LocalBuckets {
            buckets: RwLock::new(HashMap::default()),
            clock: DefaultClock::default(),
        }
    }

    fn check(&self, bucket: &Bucket, limit: RateLimit) -> Decision {
        {
            let buckets = self.buckets.read().unwrap_or_else(|p| p.into_inner());
            if let Some(local) = buckets.get(bucket).filter(|b| b.limit == limit) {
                return self.decide(&local.limiter, bucket, limit);
            }
        }
        let quota = GovernorQuota::per_second(
            NonZeroU32::new(limit.per_second.max(1)).unwrap_or(NonZeroU32::MIN),
        )
        .allow_burst(NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN));
        let local = {
            let mut buckets = self.buckets.write().unwrap_or_else(|p| p.into_inner());
            let entry = buckets.entry(bucket.clone()).or_insert_with(|| {
                Arc::new(LocalBucket {
                    limit,
                    limiter: RateLimiter::direct(quota)
                        .with_middleware::<StateInformationMiddleware>(),
                })
            });
            // A changed limit starts the bucket afresh under the new one.
            if entry.limit != limit {
                *entry = Arc::new(LocalBucket {
                    limit,
                    limiter: RateLimiter::direct(quota)
                        .with_middleware::<StateInformationMiddleware>(),
                });
            }
            entry.clone()
        };
        self.decide(&local.limiter, bucket, limit)
    }

    fn decide(&self, limiter: &Direct, bucket: &Bucket, limit: RateLimit) -> Decision {
        let (interval, burst) = gcra_parameters(limit);
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                Decision {
                    policy: bucket.policy_name(),
                    allowed: true,
                    quota: burst,
                    window_seconds: window_seconds(limit),
                    remaining,
                    reset_seconds: seconds_ceil(u64::from(burst - remaining.min(burst)) * interval),
                    retry_after_seconds: 0,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Decision {
                    policy: bucket.policy_name(),
                    allowed: false,
                    quota: burst,
                    window_seconds: window_seconds(limit),
                    remaining: 0,
                    reset_seconds: seconds_ceil(u64::from(burst) * interval),
                    retry_after_seconds: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                }
                .with_minimum_retry()
            }
        }
    }

    /// Under the write lock no request is being decided, so taking a full
    /// burst from a bucket to learn that it was full changes nothing: it is
    /// dropped, and its replacement starts full.
    fn forget_idle(&self) {
        self.buckets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, bucket| {
                let burst = NonZeroU32::new(bucket.limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
                !matches!(bucket.limiter.check_n(burst), Ok(Ok(_)))
            });
    }
}

impl Decision {
    fn with_minimum_retry(mut self) -> Self {
        self.retry_after_seconds = self.retry_after_seconds.max(1);
        self
    }
}

/// GCRA over a batch of requests with the same buckets, in one atomic step
/// on Redis's clock so every instance agrees. Each request needs a token
/// from every bucket; the script admits as many of the batch as all buckets
/// allow (k), charges k tokens to each, and refuses the rest.
/// KEYS: the buckets. ARGV[1]: requests in the batch; then per bucket,
/// microseconds per token and burst.
/// Returns {k, then per bucket: remaining, retry_after_us, reset_us}.
/// Times stay in microseconds so Lua's doubles hold them exactly.
const GCRA_SCRIPT: &str = r#"
local n = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
local k = n
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local available = math.floor((now + interval * burst - tat) / interval)
  if available < k then k = math.max(available, 0) end
end
local results = {k}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tolerance = interval * burst
  local tat = tats[i]
  if k > 0 then
    tat = tat + k * interval
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
  end
  local retry = 0
  if k < n then retry = math.max(0, tat + interval - tolerance - now) end
  results[#results + 1] = math.max(0, math.floor((now + tolerance - tat) / interval))
  results[#results + 1] = retry
  results[#results + 1] = tat - now
end
return results
"#;

/// How long a Redis call may take before the instance decides locally.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// After a Redis failure, how long to decide locally before trying again.
const REDIS_RETRY_AFTER_MS: i64 = 1_000;

type Buckets = Vec<(Bucket, RateLimit)>;
type Waiter = oneshot::Sender<Result<Vec<Decision>, String>>;

/// Requests waiting for a decision on the same buckets, and whether a task
/// is already carrying batches of them to Redis.
#[derive(Default)]
struct Queue {
    driving: bool,
    waiting: Vec<Waiter>,
}

struct RedisBuckets {
    client: redis::Client,
    /// Made on first use; it reconnects by itself after failures.
    connection: OnceCell<redis::aio::ConnectionManager>,
    script: redis::Script,
    /// Unix ms before which Redis is not tried (0: try).
    skip_until: AtomicI64,
    queues: std::sync::Mutex<HashMap<Buckets, Queue, FxBuildHasher>>,
}

impl RedisBuckets {
    async fn connection(&self) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
        self.connection
            .get_or_try_init(|| redis::aio::ConnectionManager::new(self.client.clone()))
            .await
            .cloned()
    }

    /// Decides one request. Requests for the same buckets that arrive while
    /// a script call is in flight are decided together by the next call:
    /// one round trip per batch instead of per request, with every token
    /// still charged atomically in Redis, so the limit stays exact.
    async fn check(
        self: &Arc<Self>,
        buckets: &[(Bucket, RateLimit)],
    ) -> Result<Vec<Decision>, String> {
        let (waiter, decision) = oneshot::channel();
        let start_driver = {
            let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            let queue = queues.entry(buckets.to_vec()).or_default();
            queue.waiting.push(waiter);
            !std::mem::replace(&mut queue.driving, true)
        };
        if start_driver {
            tokio::spawn(self.clone().drive(buckets.to_vec()));
        }
        decision
            .await
            .map_err(|_| "the rate-limit batch was dropped".to_owned())?
    }

    async fn drive(self: Arc<Self>, buckets: Buckets) {
        loop {
            let batch = {
                let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
                match queues.get_mut(&buckets) {
                    Some(queue) if !queue.waiting.is_empty() => std::mem::take(&mut queue.waiting),
                    _ => {
                        queues.remove(&buckets);
                        return;
                    }
                }
            };
            let outcome = self.call(&buckets, batch.len()).await;
            for (position, waiter) in batch.into_iter().enumerate() {
                let decisions = outcome.as_ref().map(|(admitted, states)| {
                    buckets
                        .iter()
                        .zip(states)
                        .map(|((bucket, limit), state)| {
                            state.decision_for(bucket, *limit, position, *admitted)
                        })
                        .collect()
                });
                let _ = waiter.send(decisions.map_err(Clone::clone));
            }
        }
    }

    async fn call(
        &self,
        buckets: &Buckets,
        requests: usize,
    ) -> Result<(usize, Vec<BucketState>), String> {
        let call = async {
            let mut connection = self.connection().await?;
            let mut invocation = self.script.prepare_invoke();
            invocation.arg(requests);
            for (bucket, limit) in buckets {
                let (interval, burst) = gcra_parameters(*limit);
                invocation
                    .key(bucket.storage_key())
                    .arg(interval)
                    .arg(burst);
            }
            invocation.invoke_async::<Vec<i64>>(&mut connection).await
        };
        let values = tokio::time::timeout(REDIS_TIMEOUT, call)
            .await
            .map_err(|_| "Redis did not answer in time".to_owned())?
            .map_err(|e| e.to_string())?;
        if values.len() != 1 + buckets.len() * 3 {
            return Err(format!(
                "the rate-limit script returned {} values",
                values.len()
            ));
        }
        let admitted = usize::try_from(values[0].max(0)).unwrap_or(0);
        let states = values[1..]
            .chunks_exact(3)
            .map(|v| BucketState {
                remaining: u32::try_from(v[0].max(0)).unwrap_or(u32::MAX),
                retry_after_us: v[1].max(0) as u64,
                reset_us: v[2].max(0) as u64,
            })
            .collect();
        Ok((admitted, states))
    }
}

/// One bucket after a batch was charged.
struct BucketState {
    remaining: u32,
    retry_after_us: u64,
    reset_us: u64,
}

impl BucketState {
    /// The decision for the request at `position` of a batch of which the
    /// first `admitted` were admitted.
    fn decision_for(
        &self,
        bucket: &Bucket,
        limit: RateLimit,
        position: usize,
        admitted: usize,
    ) -> Decision {
        let allowed = position < admitted;
        let decision = Decision {
            policy: bucket.policy_name(),
            allowed,
            quota: limit.burst.max(1),
            window_seconds: window_seconds(limit),
            // Earlier requests of the batch saw more tokens left.
            remaining: if allowed {
                self.remaining
                    .saturating_add(u32::try_from(admitted - 1 - position).unwrap_or(u32::MAX))
            } else {
                self.remaining
            },
            reset_seconds: seconds_ceil(self.reset_us),
            retry_after_seconds: if allowed {
                0
            } else {
                seconds_ceil(self.retry_after_us)
            },
        };
        if allowed {
            decision
        } else {
            decision.with_minimum_retry()
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid Redis URL: {0}")]
pub struct InvalidRedisUrl(String);

pub struct RateLimits {
    local: LocalBuckets,
    redis: Option<Arc<RedisBuckets>>,
    redis_decisions: metrics::Counter,
    local_decisions: metrics::Counter,
    fallbacks: metrics::Counter,
    refusals: metrics::Counter,
}

impl RateLimits {
    /// In-memory limits, or Redis-backed ones when a URL is given. The URL is
    /// checked now; the connection is made on first use, so an instance
    /// starts (and limits locally) even while Redis is down.
    pub fn new(redis_url: Option<&str>) -> Result<Self, InvalidRedisUrl> {
        let redis = redis_url
            .map(|url| {
                redis::Client::open(url)
                    .map_err(|e| InvalidRedisUrl(e.to_string()))
                    .map(|client| {
                        Arc::new(RedisBuckets {
                            client,
                            connection: OnceCell::new(),
                            queues: std::sync::Mutex::new(HashMap::default()),
                            script: redis::Script::new(GCRA_SCRIPT),
                            skip_until: AtomicI64::new(0),
                        })
                    })
            })
            .transpose()?;
        Ok(RateLimits {
            local: LocalBuckets::new(),
            redis,
            redis_decisions: metrics::counter!("tessera_rate_limit_decisions_total", "store" => "redis"),
            local_decisions: metrics::counter!("tessera_rate_limit_decisions_total", "store" => "local"),
            fallbacks: metrics::counter!("tessera_rate_limit_redis_fallbacks_total"),
            refusals: metrics::counter!("tessera_rate_limit_refusals_total"),
        })
    }

    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Forgets in-memory buckets that have refilled, bounding memory.
    pub fn forget_idle(&self) {
        self.local.forget_idle();
    }

    /// Counts one request against each of its buckets (the organisation's,
    /// and the key's own if it has one): admitted only if every bucket
    /// admits it. Returns one decision per bucket, in order.
    pub async fn check(&self, buckets: &[(Bucket, RateLimit)]) -> Vec<Decision> {
        let decisions = self.decide(buckets).await;
        if decisions.iter().any(|d| !d.allowed) {
            self.refusals.increment(1);
        }
        decisions
    }

    async fn decide(&self, buckets: &[(Bucket, RateLimit)]) -> Vec<Decision> {
        if let Some(redis) = &self.redis {
            let now = tessera_store::now_ms();
            if now >= redis.skip_until.load(Ordering::Relaxed) {
                match redis.check(buckets).await {
                    Ok(decisions) => {
                        if redis.skip_until.swap(0, Ordering::Relaxed) != 0 {
                            tracing::info!(
                                "Redis answers again; rate limits are exact across instances"
                            );
                        }
                        self.redis_decisions.increment(1);
                        return decisions;
                    }
                    Err(reason) => {
                        if redis
                            .skip_until
                            .swap(now + REDIS_RETRY_AFTER_MS, Ordering::Relaxed)
                            == 0
                        {
                            tracing::warn!(%reason, "Redis unreachable; rate limiting locally until it answers");
                        }
                    }
                }
            }
            self.fallbacks.increment(1);
        }
        self.check_in_memory(buckets)
    }

    /// The in-memory decision: the single-instance path, and the fallback
    /// while Redis is away. The buckets are charged one by one, narrowest
    /// (the key's, listed last) first, and a refusal stops the rest.
    pub fn check_in_memory(&self, buckets: &[(Bucket, RateLimit)]) -> Vec<Decision> {
        self.local_decisions.increment(1);
        let mut decisions: Vec<Decision> = Vec::with_capacity(buckets.len());
        for (bucket, limit) in buckets.iter().rev() {
            let decision = self.local.check(bucket, *limit);
            let refused = !decision.allowed;
            decisions.push(decision);
            if refused {
                break;
            }
        }
        decisions.reverse();
        decisions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    #[tokio::test]
    async fn a_burst_is_admitted_then_refused_with_a_retry_time() {
        let limits = RateLimits::new(None).unwrap();
        let bucket = Bucket::Organization("org_a".into());
        let mut remaining = Vec::new();
        for _ in 0..5 {
            let decision = limits
                .check(&[(bucket.clone(), limit(1, 5))])
                .await
                .remove(0);
            assert!(decision.allowed);
            remaining.push(decision.remaining);
        }
        assert_eq!(remaining, [4, 3, 2, 1, 0]);
        let refused = limits
            .check(&[(bucket.clone(), limit(1, 5))])
            .await
            .remove(0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_seconds, 1);
        assert_eq!((refused.quota, refused.window_seconds), (5, 5));
        // Another organisation has its own bucket.
        assert!(
            limits
                .check(&[(Bucket::Organization("org_b".into()), limit(1, 5))])
                .await[0]
                .allowed
        );
    }

    #[tokio::test]
    async fn a_changed_limit_takes_effect() {
        let limits = RateLimits::new(None).unwrap();
        let bucket = Bucket::Key("key_a".into());
        assert!(limits.check(&[(bucket.clone(), limit(1, 1))]).await[0].allowed);
        assert!(!limits.check(&[(bucket.clone(), limit(1, 1))]).await[0].allowed);
        assert!(limits.check(&[(bucket.clone(), limit(100, 10))]).await[0].allowed);
    }

    #[test]
    fn refilled_buckets_are_forgotten_and_draining_ones_kept() {
        let limits = RateLimits::new(None).unwrap();
        let full = Bucket::Organization("org_full".into());
        let draining = Bucket::Organization("org_draining".into());
        limits.check_in_memory(&[(full.clone(), limit(1_000_000, 1))]);
        limits.check_in_memory(&[(draining.clone(), limit(1, 5))]);
        std::thread::sleep(Duration::from_millis(5));
        limits.forget_idle();
        let kept: Vec<Bucket> = limits
            .local
            .buckets
            .read()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(kept, std::slice::from_ref(&draining));
        // The kept bucket still remembers what it spent.
        assert_eq!(
            limits.check_in_memory(&[(draining, limit(1, 5))])[0].remaining,
            3
        );
    }

    #[test]
    fn invalid_redis_urls_are_refused() {
        assert!(RateLimits::new(Some("not a url")).is_err());
        assert!(RateLimits::new(Some("redis://127.0.0.1:6379")).is_ok());
    }
}
