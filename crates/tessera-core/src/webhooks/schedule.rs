//! When a failed delivery is tried again.

use std::str::FromStr;
use std::time::Duration;

/// The waits between attempts after a failure; the first attempt is made
/// at once, so a schedule of n delays allows n + 1 attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

/// SPEC §9: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (8 attempts, ≈ 27.6 h).
const DEFAULT_SECONDS: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// How far each wait may stray, either way, so endpoints that failed
/// together are not retried together.
const JITTER: f64 = 0.2;

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule(DEFAULT_SECONDS.map(Duration::from_secs).to_vec())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a retry schedule is a comma-separated list of whole seconds, e.g. 5,300,1800 (got '{0}')")]
pub struct BadSchedule(String);

impl FromStr for RetrySchedule {
    type Err = BadSchedule;

    fn from_str(text: &str) -> Result<Self, BadSchedule> {
        let delays: Result<Vec<Duration>, _> = text
            .split(',')
            .map(|part| part.trim().parse::<u64>().map(Duration::from_secs))
            .collect();
        match delays {
            Ok(delays) if !delays.is_empty() => Ok(RetrySchedule(delays)),
            _ => Err(BadSchedule(text.to_owned())),
        }
    }
}

impl RetrySchedule {
    pub fn attempts(&self) -> usize {
        self.0.len() + 1
    }

    /// The wait after the `failures`-th failed attempt, stretched by
    /// `jitter` in [-1, 1] times 20 % and never shorter than a receiver's
    /// `Retry-After`; `None` once every attempt has been made.
    pub fn next_delay(
        &self,
        failures: usize,
        jitter: f64,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let base = *self.0.get(failures.checked_sub(1)?)?;
        let jittered = base.mul_f64(1.0 + JITTER * jitter.clamp(-1.0, 1.0));
        Some(retry_after.map_or(jittered, |floor| jittered.max(floor)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_allows_eight_attempts() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 8);
        assert_eq!(
            schedule.next_delay(1, 0.0, None),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            schedule.next_delay(7, 0.0, None),
            Some(Duration::from_secs(36_000))
        );
        assert_eq!(schedule.next_delay(8, 0.0, None), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let schedule: RetrySchedule = "100".parse().unwrap();
        assert_eq!(
            schedule.next_delay(1, 1.0, None),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            schedule.next_delay(1, -5.0, None),
            Some(Duration::from_secs(80))
        );
    }

    #[test]
    fn retry_after_is_a_floor() {
        let schedule: RetrySchedule = "1,2,4".parse().unwrap();
        assert_eq!(schedule.attempts(), 4);
        let wait = schedule.next_delay(1, 0.0, Some(Duration::from_secs(30)));
        assert_eq!(wait, Some(Duration::from_secs(30)));
        let wait = schedule.next_delay(3, 0.0, Some(Duration::from_secs(1)));
        assert_eq!(wait, Some(Duration::from_secs(4)));
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in ["", "5,,6", "-1", "five"] {
            assert!(bad.parse::<RetrySchedule>().is_err(), "{bad}");
        }
    }
}
