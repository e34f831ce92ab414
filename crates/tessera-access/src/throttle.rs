//! Throttling of failed password checks (console sign-in and the
//! key-management API share it). Guessing one account's password from one
//! address is slowed by a backoff that doubles with each failure up to a
//! short cap; spraying many accounts from one address is stopped by a
//! window limit per address. Nothing is counted per account alone, so
//! failures from elsewhere never lock the real user out: an attempt
//! from another address is checked at once. People who type their
//! password right are never slowed down. Counters live in memory: each
//! instance throttles what it sees.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
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
    by_account_and_address: BackoffThrottle<(String, IpAddr)>,
    by_address: FailureThrottle<IpAddr>,
}

impl PasswordThrottle {
    /// `window` bounds how long failures are remembered: the address limit
    /// counts within it, and a backoff idle that long starts over.
    pub fn new(backoff: Backoff, per_address: u32, window: Duration) -> Self {
        PasswordThrottle {
            by_account_and_address: BackoffThrottle::new(backoff, window),
            by_address: FailureThrottle::new(per_address, window),
        }
    }

    /// Refuses before any password is checked if the address has failed
    /// too often, or the account is backing off for this address.
    pub fn check(&self, username: &str, ip: IpAddr) -> Result<(), Throttled> {
        self.by_address
            .check(&ip)
            .map_err(|retry_after| Throttled::Address { retry_after })?;
        self.by_account_and_address
            .check(&(username.to_lowercase(), ip))
            .map_err(|retry_after| Throttled::Account { retry_after })
    }

    pub fn record_failure(&self, username: &str, ip: IpAddr) {
        self.by_address.record_failure(&ip);
        self.by_account_and_address
            .record_failure(&(username.to_lowercase(), ip));
    }

    /// The right password ends the account's backoff for this address.
    pub fn record_success(&self, username: &str, ip: IpAddr) {
        self.by_account_and_address
            .forget(&(username.to_lowercase(), ip));
    }

    pub fn forget_idle(&self) {
        self.by_account_and_address.forget_idle();
        self.by_address.forget_idle();
    }
}

/// Delays attempts per key after failures, by a [`Backoff`]; failures idle
/// for `forget_after` are forgotten.
struct BackoffThrottle<K> {
    backoff: Backoff,
    forget_after: Duration,
    /// Failures so far, and when the last one happened.
    failures: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Eq + Hash + Clone> BackoffThrottle<K> {
    fn new(backoff: Backoff, forget_after: Duration) -> Self {
        BackoffThrottle {
            backoff,
            forget_after,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, key: &K) -> Result<(), Duration> {
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some((count, last)) = failures.get(key) else {
            return Ok(());
        };
        let wait = self.backoff.wait_after(*count).min(self.forget_after);
        match wait.checked_sub(last.elapsed()) {
            Some(left) if !left.is_zero() => Err(left),
            _ => Ok(()),
        }
    }

    fn record_failure(&self, key: &K) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.forget_after {
            entry.0 = 0;
        }
        *entry = (entry.0 + 1, Instant::now());
    }

    fn forget(&self, key: &K) {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }

    fn forget_idle(&self) {
        let forget_after = self.forget_after;
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, (_, last)| last.elapsed() < forget_after);
    }
}

/// Counts failures (not attempts) per key in fixed windows, so a caller who
/// authenticates correctly is never slowed down, while one who keeps failing
/// is refused before any password is checked.
pub struct FailureThrottle<K> {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K: Eq + Hash + Clone> FailureThrottle<K> {
    pub fn new(limit: u32, window: Duration) -> Self {
        FailureThrottle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses with the time to wait if `key` has failed too often lately.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match failures.get(key) {
            Some((count, started)) if *count >= self.limit && started.elapsed() < self.window => {
                Err(self.window - started.elapsed())
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &K) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = failures.entry(key.clone()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Drops windows that have ended, bounding memory.
    pub fn forget_idle(&self) {
        let window = self.window;
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, (_, started)| started.elapsed() < window);
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

    #[test]
    fn an_account_backs_off_only_for_the_address_that_failed() {
        let backoff = Backoff {
            free_failures: 3,
            first_wait: Duration::from_secs(60),
            longest_wait: Duration::from_secs(60),
        };
        let throttle = PasswordThrottle::new(backoff, 100, Duration::from_secs(900));
        let attacker = IpAddr::from([203, 0, 113, 1]);
        for _ in 0..3 {
            assert_eq!(throttle.check("Ada", attacker), Ok(()));
            throttle.record_failure("Ada", attacker);
        }
        let refused = throttle.check("ada", attacker).unwrap_err();
        assert!(matches!(refused, Throttled::Account { .. }));
        assert!((1..=60).contains(&refused.retry_after_seconds()));
        let elsewhere = IpAddr::from([198, 51, 100, 1]);
        assert_eq!(throttle.check("ada", elsewhere), Ok(()));
        assert_eq!(throttle.check("grace", attacker), Ok(()));

        throttle.record_success("ADA", attacker);
        assert_eq!(throttle.check("ada", attacker), Ok(()));
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
            throttle.record_failure(&format!("user{n}"), ip);
        }
        assert!(matches!(
            throttle.check("someone-else", ip),
            Err(Throttled::Address { .. })
        ));
        assert_eq!(
            throttle.check("someone-else", IpAddr::from([203, 0, 113, 2])),
            Ok(())
        );
    }

    #[test]
    fn only_failures_count_and_the_window_ends() {
        let throttle = FailureThrottle::new(2, Duration::from_millis(50));
        assert_eq!(throttle.check(&"ada"), Ok(()));
        throttle.record_failure(&"ada");
        assert_eq!(throttle.check(&"ada"), Ok(()));
        throttle.record_failure(&"ada");
        let wait = throttle.check(&"ada").unwrap_err();
        assert!(wait <= Duration::from_millis(50));
        assert_eq!(throttle.check(&"grace"), Ok(()));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(throttle.check(&"ada"), Ok(()));
        throttle.forget_idle();
        assert!(throttle.failures.lock().unwrap().is_empty());
    }
}
