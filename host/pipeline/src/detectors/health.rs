//! A detector's health: failures counted over a window, quarantine with
//! exponential backoff, release when the quarantine is over. Pure logic over
//! instants, so it is tested without a detector.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{DetectorState, QuarantinePolicy};

/// Strikes, backoff and quarantine of one detector.
#[derive(Debug, Clone)]
pub(super) struct Health {
    pub(super) state: DetectorState,
    failures: VecDeque<Instant>,
    backoff_level: u32,
    pub(super) quarantines: u64,
}

impl Health {
    /// Serving, no failure recorded.
    pub(super) fn new() -> Self {
        Self {
            state: DetectorState::Serving,
            failures: VecDeque::new(),
            backoff_level: 0,
            quarantines: 0,
        }
    }

    /// Whether the detector is out of service.
    pub(super) fn is_quarantined(&self) -> bool {
        matches!(self.state, DetectorState::Quarantined { .. })
    }

    /// Count a failure at `now`. When `policy.strikes` failures fall within
    /// the window, the detector is quarantined: returns for how long (the
    /// first backoff, doubled at each new quarantine, capped).
    pub(super) fn strike(&mut self, now: Instant, policy: &QuarantinePolicy) -> Option<Duration> {
        let window = Duration::from_secs(policy.window_secs);
        self.failures.push_back(now);
        while self
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            self.failures.pop_front();
        }
        if self.failures.len() < policy.strikes.max(1) {
            return None;
        }
        let secs = policy
            .backoff_secs
            .saturating_mul(1 << self.backoff_level.min(20))
            .min(policy.max_backoff_secs);
        self.backoff_level += 1;
        self.quarantines += 1;
        self.failures.clear();
        let quarantine = Duration::from_secs(secs);
        self.state = DetectorState::Quarantined {
            until: now + quarantine,
        };
        Some(quarantine)
    }

    /// Serve again if the quarantine is over at `now`; whether it was.
    pub(super) fn release_if_over(&mut self, now: Instant) -> bool {
        match self.state {
            DetectorState::Quarantined { until } if now >= until => {
                self.state = DetectorState::Serving;
                self.failures.clear();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> QuarantinePolicy {
        QuarantinePolicy {
            strikes: 3,
            window_secs: 10,
            backoff_secs: 2,
            max_backoff_secs: 5,
        }
    }

    #[test]
    fn strikes_within_the_window_quarantine() {
        let (mut health, t0) = (Health::new(), Instant::now());
        assert_eq!(health.strike(t0, &policy()), None);
        assert_eq!(health.strike(t0 + Duration::from_secs(1), &policy()), None);
        assert_eq!(
            health.strike(t0 + Duration::from_secs(2), &policy()),
            Some(Duration::from_secs(2))
        );
        assert!(health.is_quarantined());
        assert_eq!(health.quarantines, 1);
    }

    #[test]
    fn strikes_outside_the_window_are_forgotten() {
        let (mut health, t0) = (Health::new(), Instant::now());
        health.strike(t0, &policy());
        health.strike(t0 + Duration::from_secs(1), &policy());
        // The first two are more than 10 s old by now.
        assert_eq!(health.strike(t0 + Duration::from_secs(12), &policy()), None);
        assert!(!health.is_quarantined());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_release_waits_for_it() {
        let (mut health, mut now) = (Health::new(), Instant::now());
        let mut quarantines = Vec::new();
        for _ in 0..3 {
            let mut got = None;
            for _ in 0..3 {
                got = health.strike(now, &policy());
            }
            let secs = got.expect("three strikes quarantine");
            quarantines.push(secs.as_secs());
            assert!(!health.release_if_over(now + secs - Duration::from_millis(1)));
            now += secs;
            assert!(health.release_if_over(now));
            assert!(!health.is_quarantined());
        }
        assert_eq!(quarantines, vec![2, 4, 5]);
        assert_eq!(health.quarantines, 3);
    }

    #[test]
    fn one_strike_policy_quarantines_at_once() {
        let mut health = Health::new();
        let policy = QuarantinePolicy {
            strikes: 0,
            ..policy()
        };
        assert!(health.strike(Instant::now(), &policy).is_some());
    }
}
