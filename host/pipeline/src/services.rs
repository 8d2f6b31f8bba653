//! The host services detectors call, answered from the process table and
//! the threat-intelligence store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use harrier_enrich::Enricher;
use harrier_events::{Event, EventDetail, FileWriteInfo, IndicatorKind, IntelHit, ProcessInfo};
use harrier_intel::{IntelStore, Kind, ResolvedNames};
use harrier_plugins::HostServices;
use harrier_plugins::host::wall_clock_ns;

/// [`HostServices`] over an [`Enricher`] and an [`IntelStore`], with a clock
/// that follows event time during replay.
pub struct EnricherServices {
    enricher: Arc<Enricher>,
    intel: Arc<IntelStore>,
    resolved: Arc<ResolvedNames>,
    /// Event time of the batch being processed; 0 means "use the wall clock".
    replay_clock: AtomicU64,
    replaying: bool,
}

impl EnricherServices {
    /// Services for a live agent (wall clock).
    pub fn live(enricher: Arc<Enricher>) -> Self {
        Self {
            enricher,
            intel: Arc::new(IntelStore::new()),
            resolved: Arc::new(ResolvedNames::default()),
            replay_clock: AtomicU64::new(0),
            replaying: false,
        }
    }

    /// The same services answering `intel-match` from `intel`, and naming
    /// addresses from `resolved`.
    pub fn with_intel(self, intel: Arc<IntelStore>, resolved: Arc<ResolvedNames>) -> Self {
        Self {
            intel,
            resolved,
            ..self
        }
    }

    /// Enrich `event` and learn from it before detectors see it: the
    /// process table, and
    /// which name each address of a DNS answer was resolved from (so a
    /// connection to it is judged by that name too).
    pub fn observe(&self, event: &mut Event) {
        self.enricher.observe(event);
        if let EventDetail::DnsAnswer(answer) = &event.detail
            && answer.rcode == 0
        {
            for record in &answer.answers {
                if let Ok(addr) = record.value.parse() {
                    self.resolved
                        .insert(addr, &answer.query, record.ttl, event.time_ns);
                }
            }
        }
    }

    /// The threat-intelligence store detectors ask.
    pub fn intel(&self) -> &Arc<IntelStore> {
        &self.intel
    }

    /// Which domain each address was resolved from (DNS answers seen).
    pub fn resolved(&self) -> &Arc<ResolvedNames> {
        &self.resolved
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

    fn intel_match(&self, kind: IndicatorKind, value: &str) -> Option<IntelHit> {
        let snapshot = self.intel.snapshot();
        let kind = match kind {
            IndicatorKind::Domain => Kind::Domain,
            IndicatorKind::Ip => Kind::Ip,
            IndicatorKind::Sha256 => Kind::Sha256,
        };
        let hit = snapshot.lookup(kind, value).or_else(|| {
            // An address on no list may have been resolved from a name on one.
            let addr = value.parse().ok().filter(|_| kind == Kind::Ip)?;
            let name = self.resolved.name_of(addr, self.now_ns())?;
            snapshot.match_domain(&name)
        });
        self.intel.count(hit.is_some());
        let hit = hit?;
        Some(IntelHit {
            category: hit.category.name().to_string(),
            source: hit.source.to_string(),
            indicator: hit.indicator,
        })
    }

    fn now_ns(&self) -> u64 {
        if self.replaying {
            self.replay_clock.load(Ordering::Relaxed)
        } else {
            wall_clock_ns()
        }
    }
}
