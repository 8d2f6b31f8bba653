//! The host services detectors call, answered from the process table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use harrier_enrich::Enricher;
use harrier_events::{FileWriteInfo, ProcessInfo};
use harrier_plugins::HostServices;
use harrier_plugins::host::wall_clock_ns;

/// [`HostServices`] over an [`Enricher`], with a clock that follows event
/// time during replay.
pub struct EnricherServices {
    enricher: Arc<Enricher>,
    /// Event time of the batch being processed; 0 means "use the wall clock".
    replay_clock: AtomicU64,
    replaying: bool,
}

impl EnricherServices {
    /// Services for a live agent (wall clock).
    pub fn live(enricher: Arc<Enricher>) -> Self {
        Self {
            enricher,
            replay_clock: AtomicU64::new(0),
            replaying: false,
        }
    }

    /// Services for a replay: `now` is the time of the latest event seen.
    pub fn replay(enricher: Arc<Enricher>) -> Self {
        Self {
            replaying: true,
            ..Self::live(enricher)
        }
    }

    /// Advance the replay clock (no effect on a live agent's clock).
    pub fn observe_time(&self, time_ns: u64) {
        self.replay_clock.fetch_max(time_ns, Ordering::Relaxed);
    }

    /// The enricher behind these services.
    pub fn enricher(&self) -> &Arc<Enricher> {
        &self.enricher
    }
}

impl HostServices for EnricherServices {
    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        self.enricher.process(pid)
    }

    fn ancestry(&self, pid: u32, max_depth: u32) -> Vec<ProcessInfo> {
        self.enricher.ancestry(pid, max_depth)
    }

    fn recent_write(&self, path: &str) -> Option<FileWriteInfo> {
        self.enricher.recent_write(path, self.now_ns())
    }

    fn now_ns(&self) -> u64 {
        if self.replaying {
            self.replay_clock.load(Ordering::Relaxed)
        } else {
            wall_clock_ns()
        }
    }
}
