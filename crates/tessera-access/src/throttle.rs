//! Throttling of failed password checks (console sign-in and the
//! key-management API share it), per account and per client address, so
//! neither guessing one account's password nor spraying many accounts from
//! one address gets far, while people who type their password right are
//! never slowed down. Counters live in memory: each instance throttles what
//! it sees.
//!
//! An attempt is counted before its password is checked ([`PasswordThrottle::reserve`])
//! and refunded only if it succeeds: checking and counting in one step under
//! one lock means concurrent guesses cannot all slip past the check before
//! the first failure is recorded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why an attempt was refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    Account { retry_after: Duration },
    Address { retry_after: Duration },
}

impl Throttled {
    pub fn retry_after(self) -> Duration {
        match self {
            Throttled::Account { retry_after } | Throttled::Address { retry_after } => retry_after,
        }
    }

    /// Whole seconds to wait, at least one.
    pub fn retry_after_seconds(self) -> u64 {
        let wait = self.retry_after();
        (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
    }
}

/// Failed password checks per username (compared case-insensitively,
/// whether or not it exists, so throttling reveals nothing) and per address.
pub struct PasswordThrottle {
    counters: Mutex<Counters>,
}

struct Counters {
    by_account: FailureWindows<String>,
    by_address: FailureWindows<IpAddr>,
}

impl PasswordThrottle {
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        PasswordThrottle {
            counters: Mutex::new(Counters {
                by_account: FailureWindows::new(per_account, window),
                by_address: FailureWindows::new(per_address, window),
            }),
        }
    }

    fn counters(&self) -> MutexGuard<'_, Counters> {
        self.counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts an attempt against the account and the address before its
    /// password is checked, or refuses it if either has failed too often.
    /// The attempt stays counted as a failure unless it is refunded.
    pub fn reserve(&self, username: &str, ip: IpAddr) -> Result<Attempt<'_>, Throttled> {
        let account = username.to_lowercase();
        let now = Instant::now();
        let mut counters = self.counters();
        if let Some(retry_after) = counters.by_address.refusal(&ip, now) {
            return Err(Throttled::Address { retry_after });
        }
        if let Some(retry_after) = counters.by_account.refusal(&account, now) {
            return Err(Throttled::Account { retry_after });
        }
        let address_window = counters.by_address.count(&ip, now);
        let account_window = counters.by_account.count(&account, now);
        Ok(Attempt {
            throttle: self,
            account,
            ip,
            account_window,
            address_window,
        })
    }

    pub fn forget_idle(&self) {
        let now = Instant::now();
        let mut counters = self.counters();
        counters.by_account.forget_idle(now);
        counters.by_address.forget_idle(now);
    }
}

/// A password attempt counted by [`PasswordThrottle::reserve`]. Dropping it
/// leaves it counted as a failure (so a check abandoned half-way still
/// counts); [`Attempt::refund`] takes it back.
#[must_use = "an attempt counts as a failure unless refunded"]
pub struct Attempt<'a> {
    throttle: &'a PasswordThrottle,
    account: String,
    ip: IpAddr,
    account_window: Instant,
    address_window: Instant,
}

impl Attempt<'_> {
    /// Takes the attempt back: the password was right, or it was never checked.
    pub fn refund(self) {
        let mut counters = self.throttle.counters();
        counters.by_address.refund(&self.ip, self.address_window);
        counters
            .by_account
            .refund(&self.account, self.account_window);
    }
}

/// Counts failures (not attempts) per key in fixed windows, so a caller who
/// authenticates correctly is never slowed down, while one who keeps failing
/// is refused before any credential is checked.
pub struct FailureThrottle<K> {
    failures: Mutex<FailureWindows<K>>,
}

impl<K: Eq + Hash + Clone> FailureThrottle<K> {
    pub fn new(limit: u32, window: Duration) -> Self {
        FailureThrottle {
            failures: Mutex::new(FailureWindows::new(limit, window)),
        }
    }

    fn failures(&self) -> MutexGuard<'_, FailureWindows<K>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refuses with the time to wait if `key` has failed too often lately.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        match self.failures().refusal(key, Instant::now()) {
            Some(retry_after) => Err(retry_after),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &K) {
        self.failures().count(key, Instant::now());
    }

    /// Drops windows that have ended, bounding memory.
    pub fn forget_idle(&self) {
        self.failures().forget_idle(Instant::now());
    }
}

/// Counted attempts per key in fixed windows: a key at its limit is
/// refused until its window ends.
struct FailureWindows<K> {
    limit: u32,
    window: Duration,
    counts: HashMap<K, (u32, Instant)>,
}

impl<K: Eq + Hash + Clone> FailureWindows<K> {
    fn new(limit: u32, window: Duration) -> Self {
        FailureWindows {
            limit,
            window,
            counts: HashMap::new(),
        }
    }

    /// The time to wait if `key` is at its limit in the current window.
    fn refusal(&self, key: &K, now: Instant) -> Option<Duration> {
        match self.counts.get(key) {
            Some((count, started)) if *count >= self.limit && now < *started + self.window => {
                Some(*started + self.window - now)
            }
            _ => None,
        }
    }

    /// Counts one attempt; returns the start of the window it was counted in.
    fn count(&mut self, key: &K, now: Instant) -> Instant {
        let entry = self.counts.entry(key.clone()).or_insert((0, now));
        if now >= entry.1 + self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
        entry.1
    }

    /// Takes back an attempt counted in the window started at `window`
    /// (nothing to take back once that window has been replaced).
    fn refund(&mut self, key: &K, window: Instant) {
        if let Some((count, started)) = self.counts.get_mut(key)
            && *started == window
        {
            *count = count.saturating_sub(1);
        }
    }

    /// Drops windows that have ended, bounding memory.
    fn forget_idle(&mut self, now: Instant) {
        let window = self.window;
        self.counts
            .retain(|_, (_, started)| now < *started + window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_throttled_after_its_failures_whatever_the_address() {
        let throttle = PasswordThrottle::new(3, 100, Duration::from_secs(60));
        for n in 0..3 {
            let ip = IpAddr::from([203, 0, 113, n]);
            drop(throttle.reserve("Ada", ip).expect("under the limit"));
        }
        let refused = throttle
            .reserve("ada", IpAddr::from([198, 51, 100, 1]))
            .err()
            .expect("throttled");
        assert!(matches!(refused, Throttled::Account { .. }));
        assert!((1..=60).contains(&refused.retry_after_seconds()));
        assert!(
            throttle
                .reserve("grace", IpAddr::from([198, 51, 100, 1]))
                .is_ok()
        );
    }

    #[test]
    fn an_address_is_throttled_after_its_failures_whatever_the_account() {
        let throttle = PasswordThrottle::new(100, 4, Duration::from_secs(60));
        let ip = IpAddr::from([203, 0, 113, 1]);
        for n in 0..4 {
            drop(
                throttle
                    .reserve(&format!("user{n}"), ip)
                    .expect("under the limit"),
            );
        }
        assert!(matches!(
            throttle.reserve("someone-else", ip).err(),
            Some(Throttled::Address { .. })
        ));
        assert!(
            throttle
                .reserve("someone-else", IpAddr::from([203, 0, 113, 2]))
                .is_ok()
        );
    }

    #[test]
    fn attempts_in_flight_count_so_concurrent_guesses_stop_at_the_limit() {
        let throttle = PasswordThrottle::new(3, 100, Duration::from_secs(60));
        let ip = IpAddr::from([203, 0, 113, 1]);
        let in_flight: Vec<_> = (0..3)
            .map(|_| throttle.reserve("ada", ip).expect("under the limit"))
            .collect();
        assert!(throttle.reserve("ada", ip).is_err());
        drop(in_flight);
        assert!(throttle.reserve("ada", ip).is_err());
    }

    #[test]
    fn refunded_attempts_do_not_count() {
        let throttle = PasswordThrottle::new(2, 100, Duration::from_secs(60));
        let ip = IpAddr::from([203, 0, 113, 1]);
        for _ in 0..10 {
            throttle
                .reserve("ada", ip)
                .expect("never throttled")
                .refund();
        }
        drop(throttle.reserve("ada", ip).expect("first failure"));
        drop(throttle.reserve("ada", ip).expect("second failure"));
        assert!(throttle.reserve("ada", ip).is_err());
    }

    #[test]
    fn only_recorded_failures_count() {
        let throttle = FailureThrottle::new(2, Duration::from_secs(60));
        assert_eq!(throttle.check(&"ada"), Ok(()));
        throttle.record_failure(&"ada");
        assert_eq!(throttle.check(&"ada"), Ok(()));
        throttle.record_failure(&"ada");
        assert!(throttle.check(&"ada").is_err());
        assert_eq!(throttle.check(&"grace"), Ok(()));
    }

    #[test]
    fn the_window_ends_and_idle_windows_are_forgotten() {
        let mut windows = FailureWindows::new(2, Duration::from_secs(50));
        let start = Instant::now();
        windows.count(&"ada", start);
        assert_eq!(windows.refusal(&"ada", start), None);
        windows.count(&"ada", start);
        let wait = windows.refusal(&"ada", start).expect("at the limit");
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(windows.refusal(&"grace", start), None);
        let later = start + Duration::from_secs(60);
        assert_eq!(windows.refusal(&"ada", later), None);
        windows.forget_idle(later);
        assert!(windows.counts.is_empty());
    }
}
