//! Throttling of sign-in attempts, per account and per client address, so
//! neither guessing one account's password nor spraying many accounts from
//! one address gets far. Counters live in memory: each instance throttles
//! what it sees.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct LoginThrottleSettings {
    /// Attempts allowed per username per minute (also the burst).
    pub per_account_per_minute: NonZeroU32,
    /// Attempts allowed per client address per minute (also the burst).
    pub per_ip_per_minute: NonZeroU32,
}

impl Default for LoginThrottleSettings {
    fn default() -> Self {
        LoginThrottleSettings {
            per_account_per_minute: NonZeroU32::new(5).expect("non-zero"),
            per_ip_per_minute: NonZeroU32::new(20).expect("non-zero"),
        }
    }
}

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
}

pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl LoginThrottle {
    pub fn new(settings: LoginThrottleSettings) -> Self {
        LoginThrottle {
            per_account: RateLimiter::keyed(Quota::per_minute(settings.per_account_per_minute)),
            per_ip: RateLimiter::keyed(Quota::per_minute(settings.per_ip_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one sign-in attempt for `username` from `ip`, or refuses it.
    /// Usernames are counted case-insensitively whether or not they exist,
    /// so throttling reveals nothing about which accounts exist.
    pub fn attempt(&self, username: &str, ip: IpAddr) -> Result<(), Throttled> {
        let now = self.clock.now();
        self.per_ip
            .check_key(&ip)
            .map_err(|not_until| Throttled::Address {
                retry_after: not_until.wait_time_from(now),
            })?;
        self.per_account
            .check_key(&username.to_lowercase())
            .map_err(|not_until| Throttled::Account {
                retry_after: not_until.wait_time_from(now),
            })
    }

    /// Forgets keys whose buckets are full again, bounding memory.
    pub fn forget_idle(&self) {
        self.per_account.retain_recent();
        self.per_ip.retain_recent();
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

    fn settings(account: u32, ip: u32) -> LoginThrottleSettings {
        LoginThrottleSettings {
            per_account_per_minute: NonZeroU32::new(account).unwrap(),
            per_ip_per_minute: NonZeroU32::new(ip).unwrap(),
        }
    }

    #[test]
    fn an_account_is_throttled_after_its_burst_whatever_the_address() {
        let throttle = LoginThrottle::new(settings(3, 100));
        for n in 0..3 {
            let ip = IpAddr::from([203, 0, 113, n]);
            assert_eq!(throttle.attempt("Ada", ip), Ok(()));
        }
        let refused = throttle
            .attempt("ada", IpAddr::from([198, 51, 100, 1]))
            .unwrap_err();
        assert!(matches!(refused, Throttled::Account { .. }));
        assert!(
            refused.retry_after() > Duration::ZERO
                && refused.retry_after() <= Duration::from_secs(20)
        );
        assert_eq!(
            throttle.attempt("grace", IpAddr::from([198, 51, 100, 1])),
            Ok(())
        );
    }

    #[test]
    fn an_address_is_throttled_after_its_burst_whatever_the_account() {
        let throttle = LoginThrottle::new(settings(100, 4));
        let ip = IpAddr::from([203, 0, 113, 1]);
        for n in 0..4 {
            assert_eq!(throttle.attempt(&format!("user{n}"), ip), Ok(()));
        }
        assert!(matches!(
            throttle.attempt("someone-else", ip),
            Err(Throttled::Address { .. })
        ));
        assert_eq!(
            throttle.attempt("someone-else", IpAddr::from([203, 0, 113, 2])),
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
