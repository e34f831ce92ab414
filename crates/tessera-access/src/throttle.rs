//! Throttling of failed password checks (console sign-in and the
//! key-management API share it), per account and per client address, so
//! neither guessing one account's password nor spraying many accounts from
//! one address gets far, while people who type their password right are
//! never slowed down. Counters live in memory: each instance throttles what
//! it sees.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
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
    by_account: FailureThrottle<String>,
    by_address: FailureThrottle<IpAddr>,
}

impl PasswordThrottle {
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        PasswordThrottle {
            by_account: FailureThrottle::new(per_account, window),
            by_address: FailureThrottle::new(per_address, window),
        }
    }

    /// Refuses before any password is checked if either has failed too often.
    pub fn check(&self, username: &str, ip: IpAddr) -> Result<(), Throttled> {
        self.by_address
            .check(&ip)
            .map_err(|retry_after| Throttled::Address { retry_after })?;
        self.by_account
            .check(&username.to_lowercase())
            .map_err(|retry_after| Throttled::Account { retry_after })
    }

    pub fn record_failure(&self, username: &str, ip: IpAddr) {
        self.by_address.record_failure(&ip);
        self.by_account.record_failure(&username.to_lowercase());
    }

    pub fn forget_idle(&self) {
        self.by_account.forget_idle();
        self.by_address.forget_idle();
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

    #[test]
    fn an_account_is_throttled_after_its_failures_whatever_the_address() {
        let throttle = PasswordThrottle::new(3, 100, Duration::from_secs(60));
        for n in 0..3 {
            let ip = IpAddr::from([203, 0, 113, n]);
            assert_eq!(throttle.check("Ada", ip), Ok(()));
            throttle.record_failure("Ada", ip);
        }
        let refused = throttle
            .check("ada", IpAddr::from([198, 51, 100, 1]))
            .unwrap_err();
        assert!(matches!(refused, Throttled::Account { .. }));
        assert!((1..=60).contains(&refused.retry_after_seconds()));
        assert_eq!(
            throttle.check("grace", IpAddr::from([198, 51, 100, 1])),
            Ok(())
        );
    }

    #[test]
    fn an_address_is_throttled_after_its_failures_whatever_the_account() {
        let throttle = PasswordThrottle::new(100, 4, Duration::from_secs(60));
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
