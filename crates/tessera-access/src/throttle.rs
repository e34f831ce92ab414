//! Throttling of failed password checks (console sign-in and the
//! key-management API share it). Guessing one account's password from one
//! address is slowed by a backoff that doubles with each failure up to a
//! short cap; spraying many accounts from one address is stopped by a
//! window limit per address. Nothing is counted per account alone, so
//! failures from elsewhere never lock the real user out: an attempt from
//! another address is checked at once. People who type their password
//! right are never slowed down. Counters live in memory: each instance
//! throttles what it sees.
//!
//! An attempt is counted before its password is checked
//! ([`PasswordThrottle::reserve`]) and taken back only if it succeeds or is
//! never checked: checking and counting in one step under one lock means
//! concurrent guesses cannot all slip past the check before the first
//! failure is recorded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why an attempt was refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// This account, from this address, is backing off.
    Account { retry_after: Duration },
    /// This address has failed too often, whatever the account.
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

/// How failed password checks for one account from one address delay the
/// next attempt from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures with no wait at all (typos).
    pub free_failures: u32,
    /// The wait after the first failure beyond those; it doubles with each
    /// further failure, up to `longest_wait`.
    pub first_wait: Duration,
    pub longest_wait: Duration,
}

impl Backoff {
    /// The wait before the next attempt after `failures` failures.
    fn wait_after(self, failures: u32) -> Duration {
        let Some(beyond_free) = failures.checked_sub(self.free_failures) else {
            return Duration::ZERO;
        };
        self.first_wait
            .saturating_mul(1 << beyond_free.min(20))
            .min(self.longest_wait)
    }
}

/// Failed password checks per (username, address), the username compared
/// case-insensitively whether or not it exists, so throttling reveals
/// nothing; and per address.
pub struct PasswordThrottle {
    counters: Mutex<Counters>,
}

struct Counters {
    by_account_and_address: Backoffs<(String, IpAddr)>,
    by_address: FailureWindows<IpAddr>,
}

impl PasswordThrottle {
    /// `window` bounds how long failures are remembered: the address limit
    /// counts within it, and a backoff idle that long starts over.
    pub fn new(backoff: Backoff, per_address: u32, window: Duration) -> Self {
        PasswordThrottle {
            counters: Mutex::new(Counters {
                by_account_and_address: Backoffs::new(backoff, window),
                by_address: FailureWindows::new(per_address, window),
            }),
        }
    }

    fn counters(&self) -> MutexGuard<'_, Counters> {
        self.counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts an attempt against the address and the account's backoff
    /// from it before its password is checked, or refuses it while either
    /// says wait. The attempt stays counted as a failure unless taken back.
    pub fn reserve(&self, username: &str, ip: IpAddr) -> Result<Attempt<'_>, Throttled> {
        let account = (username.to_lowercase(), ip);
        let now = Instant::now();
        let mut counters = self.counters();
        if let Some(retry_after) = counters.by_address.refusal(&ip, now) {
            return Err(Throttled::Address { retry_after });
        }
        if let Some(retry_after) = counters.by_account_and_address.refusal(&account, now) {
            return Err(Throttled::Account { retry_after });
        }
        let address_window = counters.by_address.count(&ip, now);
        counters.by_account_and_address.count(&account, now);
        Ok(Attempt {
            throttle: self,
            account,
            address_window,
        })
    }

    pub fn forget_idle(&self) {
        let now = Instant::now();
        let mut counters = self.counters();
        counters.by_account_and_address.forget_idle(now);
        counters.by_address.forget_idle(now);
    }
}

/// A password attempt counted by [`PasswordThrottle::reserve`]. Dropping it
/// leaves it counted as a failure (so a check abandoned half-way still
/// counts).
#[must_use = "an attempt counts as a failure unless taken back"]
pub struct Attempt<'a> {
    throttle: &'a PasswordThrottle,
    account: (String, IpAddr),
    address_window: Instant,
}

impl Attempt<'_> {
    /// The password was never checked: the attempt does not count.
    pub fn refund(self) {
        let mut counters = self.throttle.counters();
        counters
            .by_address
            .refund(&self.account.1, self.address_window);
        counters.by_account_and_address.uncount(&self.account);
    }

    /// The password was right: the attempt does not count, and the
    /// account's backoff from this address ends.
    pub fn accepted(self) {
        let mut counters = self.throttle.counters();
        counters
            .by_address
            .refund(&self.account.1, self.address_window);
        counters.by_account_and_address.forget(&self.account);
    }
}

/// Failures per key and when the last one happened, for a [`Backoff`];
/// failures idle for `forget_after` are forgotten.
struct Backoffs<K> {
    backoff: Backoff,
    forget_after: Duration,
    failures: HashMap<K, (u32, Instant)>,
}

impl<K: Eq + Hash + Clone> Backoffs<K> {
    fn new(backoff: Backoff, forget_after: Duration) -> Self {
        Backoffs {
            backoff,
            forget_after,
            failures: HashMap::new(),
        }
    }

    /// The time `key` must still wait, if any.
    fn refusal(&self, key: &K, now: Instant) -> Option<Duration> {
        let (count, last) = self.failures.get(key)?;
        let wait = self.backoff.wait_after(*count).min(self.forget_after);
        (*last + wait)
            .checked_duration_since(now)
            .filter(|left| !left.is_zero())
    }

    fn count(&mut self, key: &K, now: Instant) {
        let entry = self.failures.entry(key.clone()).or_insert((0, now));
        if now >= entry.1 + self.forget_after {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), now);
    }

    /// Takes back one counted failure.
    fn uncount(&mut self, key: &K) {
        if let Some((count, _)) = self.failures.get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }

    fn forget(&mut self, key: &K) {
        self.failures.remove(key);
    }

    fn forget_idle(&mut self, now: Instant) {
        let forget_after = self.forget_after;
        self.failures
            .retain(|_, (_, last)| now < *last + forget_after);
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

    const NO_BACKOFF: Backoff = Backoff {
        free_failures: 100,
        first_wait: Duration::from_secs(1),
        longest_wait: Duration::from_secs(1),
    };

    fn backoff_after(free_failures: u32) -> Backoff {
        Backoff {
            free_failures,
            first_wait: Duration::from_secs(60),
            longest_wait: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_account_backs_off_only_for_the_address_that_failed() {
        let throttle = PasswordThrottle::new(backoff_after(3), 100, Duration::from_secs(900));
        let attacker = IpAddr::from([203, 0, 113, 1]);
        for _ in 0..3 {
            drop(throttle.reserve("Ada", attacker).expect("a free failure"));
        }
        let refused = throttle
            .reserve("ada", attacker)
            .err()
            .expect("backing off");
        assert!(matches!(refused, Throttled::Account { .. }));
        assert!((1..=60).contains(&refused.retry_after_seconds()));
        let elsewhere = IpAddr::from([198, 51, 100, 1]);
        throttle
            .reserve("ada", elsewhere)
            .expect("the real user elsewhere is checked")
            .accepted();
        assert!(throttle.reserve("grace", attacker).is_ok());
    }

    #[test]
    fn the_right_password_ends_the_backoff() {
        let throttle = PasswordThrottle::new(backoff_after(1), 100, Duration::from_secs(900));
        let ip = IpAddr::from([203, 0, 113, 1]);
        throttle.reserve("ada", ip).expect("first").accepted();
        drop(throttle.reserve("ada", ip).expect("a free failure"));
        assert!(throttle.reserve("ada", ip).is_err());
    }

    #[test]
    fn the_wait_doubles_after_the_free_failures_up_to_the_cap() {
        let backoff = Backoff {
            free_failures: 2,
            first_wait: Duration::from_secs(1),
            longest_wait: Duration::from_secs(60),
        };
        let waits: Vec<u64> = (0..10)
            .map(|failures| backoff.wait_after(failures).as_secs())
            .collect();
        assert_eq!(waits, [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff.wait_after(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn an_address_is_throttled_after_its_failures_whatever_the_account() {
        let throttle = PasswordThrottle::new(NO_BACKOFF, 4, Duration::from_secs(60));
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
        let throttle = PasswordThrottle::new(backoff_after(3), 100, Duration::from_secs(60));
        let ip = IpAddr::from([203, 0, 113, 1]);
        let in_flight: Vec<_> = (0..3)
            .map(|_| throttle.reserve("ada", ip).expect("a free failure"))
            .collect();
        assert!(throttle.reserve("ada", ip).is_err());
        drop(in_flight);
        assert!(throttle.reserve("ada", ip).is_err());
    }

    #[test]
    fn refunded_attempts_do_not_count() {
        let throttle = PasswordThrottle::new(backoff_after(2), 100, Duration::from_secs(60));
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
