//! Counters of the runtime clients: [`RuntimeStats`], with one
//! [`EndpointStats`] per configured runtime socket.

use std::path::Path;
use std::time::Duration;

/// A snapshot of the workload metadata source's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RuntimeStats {
    /// Containers whose metadata is cached.
    pub containers_cached: u64,
    /// Look-ups queued.
    pub lookups_queued: u64,
    /// Look-ups dropped because the queue was full.
    pub lookups_dropped: u64,
    /// Containers evicted from the full cache.
    pub containers_evicted: u64,
    /// Containers forgotten because their cgroup was removed.
    pub containers_gone: u64,
    /// Look-ups no runtime could answer (runtime down, or unknown container).
    pub containers_unnamed: u64,
    /// Per endpoint.
    pub endpoints: Vec<EndpointStats>,
}

/// Counters of one runtime endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EndpointStats {
    /// The socket path.
    pub socket: String,
    /// `cri`, `docker` or `podman`.
    pub kind: String,
    /// Whether its last look-up got an answer.
    pub up: bool,
    /// Whether it ever answered.
    pub ever_up: bool,
    /// Look-ups answered (found or not).
    pub answered: u64,
    /// Of those, containers it knew.
    pub found: u64,
    /// Look-ups that failed (unreachable, timed out, error answer).
    pub errors: u64,
    /// Total time of answered look-ups, microseconds.
    pub latency_total_us: u64,
    /// Slowest answered look-up, microseconds.
    pub latency_max_us: u64,
}

impl EndpointStats {
    /// Fresh counters of the endpoint at `socket`.
    pub(crate) fn new(socket: &Path, kind: &str) -> EndpointStats {
        EndpointStats {
            socket: socket.display().to_string(),
            kind: kind.to_string(),
            ..EndpointStats::default()
        }
    }

    /// Counts an answer that took `elapsed`.
    pub(crate) fn record_answer(&mut self, found: bool, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.up = true;
        self.ever_up = true;
        self.answered += 1;
        self.found += u64::from(found);
        self.latency_total_us = self.latency_total_us.saturating_add(us);
        self.latency_max_us = self.latency_max_us.max(us);
    }

    /// Counts a failure; true when the endpoint just went down (was up, or
    /// is failing for the first time), i.e. when a warning is due.
    pub(crate) fn record_error(&mut self) -> bool {
        let newly_down = self.up || self.errors == 0;
        self.up = false;
        self.errors += 1;
        newly_down
    }

    /// Mean latency of answered look-ups, microseconds (0 before any).
    pub fn latency_mean_us(&self) -> u64 {
        self.latency_total_us
            .checked_div(self.answered)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_due_once_per_outage() {
        let mut s = EndpointStats::new(Path::new("/run/x.sock"), "cri");
        assert!(s.record_error(), "first failure warns");
        assert!(!s.record_error(), "still down: no new warning");
        s.record_answer(true, Duration::from_micros(300));
        s.record_answer(false, Duration::from_micros(100));
        assert!(s.up && s.ever_up);
        assert_eq!(
            (s.answered, s.found, s.latency_mean_us(), s.latency_max_us),
            (2, 1, 200, 300)
        );
        assert!(s.record_error(), "down again after being up");
        assert_eq!(s.errors, 3);
    }
}
