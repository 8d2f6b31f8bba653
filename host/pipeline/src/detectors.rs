//! The set of loaded detectors: who is serving, who is quarantined, and the
//! swaps that replace one version by another between two batches.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use harrier_events::{Event, EventKind, Finding};
use harrier_findings::DetectorRef;
use harrier_plugins::{AfterShadow, Plugin, PluginError, PluginSource, PluginStats, Subscriptions};
use serde::{Deserialize, Serialize};

use crate::source::Interest;

/// When a misbehaving detector is taken out of service, and for how long.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QuarantinePolicy {
    /// Failures (deadline, memory, trap, finding flood) within `window_secs`
    /// that quarantine a detector (default 3).
    pub strikes: usize,
    /// The window over which failures are counted, in seconds (default 60).
    pub window_secs: u64,
    /// First quarantine, in seconds (default 10); doubles each time the
    /// detector is quarantined again, up to `max_backoff_secs`.
    pub backoff_secs: u64,
    /// Longest quarantine, in seconds (default 600).
    pub max_backoff_secs: u64,
}

impl Default for QuarantinePolicy {
    fn default() -> Self {
        Self {
            strikes: 3,
            window_secs: 60,
            backoff_secs: 10,
            max_backoff_secs: 600,
        }
    }
}

/// Whether a detector is receiving events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorState {
    /// Receiving events.
    Serving,
    /// Out of service until the given instant.
    Quarantined {
        /// When it is re-enabled.
        until: Instant,
    },
}

/// A detector as `harrier plugins` and the admin endpoint show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectorStatus {
    /// Metadata name.
    pub name: String,
    /// Metadata version.
    pub version: String,
    /// SHA-256 of the component.
    pub sha256: String,
    /// Where it came from.
    pub source: PluginSource,
    /// The origin used in messages (file path, `embedded:<name>`...).
    pub origin: String,
    /// `serving` or `quarantined`.
    pub state: String,
    /// Seconds left in quarantine, if quarantined.
    pub quarantine_secs_left: Option<u64>,
    /// Event kinds subscribed to.
    pub subscriptions: Vec<String>,
    /// Path prefixes of the read-only file opens it wants (`None`: every
    /// open), as it answered `read-path-prefixes`.
    pub read_prefixes: Option<Vec<String>>,
    /// Finding types it may emit.
    pub finding_types: Vec<String>,
    /// Call counters.
    pub stats: PluginStats,
    /// Events it subscribed to but did not see: skipped while quarantined
    /// or lost in a failed call.
    pub events_missed: u64,
    /// Times it was quarantined.
    pub quarantines: u64,
    /// When this version started serving (seconds since the Unix epoch).
    pub loaded_at: u64,
    /// Versions swapped in under this name since the agent started.
    pub reloads: u64,
    /// Whether it runs in shadow mode.
    #[serde(default)]
    pub shadow: bool,
}

struct Slot {
    plugin: Plugin,
    state: DetectorState,
    failures: VecDeque<Instant>,
    backoff_level: u32,
    quarantines: u64,
    events_missed: u64,
    loaded_at: SystemTime,
    reloads: u64,
}

/// The loaded detectors, in load order. Names are unique.
#[derive(Default)]
pub struct DetectorSet {
    slots: Vec<Slot>,
    policy: QuarantinePolicy,
}

impl DetectorSet {
    /// An empty set with the given quarantine policy.
    pub fn new(policy: QuarantinePolicy) -> Self {
        Self {
            slots: Vec::new(),
            policy,
        }
    }

    /// Add a detector, or swap it in for the loaded one of the same name.
    /// A swapped-out version hands its state over when both support it.
    /// Returns the version it replaced.
    pub fn upsert(&mut self, mut plugin: Plugin) -> Option<Plugin> {
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.plugin.name() == plugin.name())
        else {
            self.slots.push(Slot::new(plugin, 0));
            return None;
        };
        carry_state(&mut slot.plugin, &mut plugin);
        let reloads = slot.reloads + 1;
        let old = std::mem::replace(slot, Slot::new(plugin, reloads));
        Some(old.plugin)
    }

    /// Unload the detector with this name.
    pub fn remove(&mut self, name: &str) -> Option<Plugin> {
        let index = self.slots.iter().position(|s| s.plugin.name() == name)?;
        Some(self.slots.remove(index).plugin)
    }

    /// Number of detectors loaded.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no detector is loaded.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The union of every loaded detector's subscriptions.
    pub fn subscriptions(&self) -> Subscriptions {
        self.slots.iter().fold(Subscriptions::default(), |all, s| {
            all.union(s.plugin.subscriptions())
        })
    }

    /// What the detectors want, for the sensor's in-kernel filters.
    pub fn interest(&self) -> Interest {
        Interest {
            kinds: self.subscriptions().kinds(),
            read_prefixes: self.read_prefixes(),
        }
    }

    /// The read-only file opens some detector wants: `None` (every open)
    /// as soon as one detector subscribed to file opens names no prefixes.
    fn read_prefixes(&self) -> Option<Vec<String>> {
        let mut all = Vec::new();
        for slot in &self.slots {
            if slot.plugin.subscriptions().contains(EventKind::FileOpen) {
                all.extend_from_slice(slot.plugin.read_prefixes()?);
            }
        }
        all.sort_unstable();
        all.dedup();
        Some(all)
    }

    /// Status of every detector.
    pub fn status(&self) -> Vec<DetectorStatus> {
        let now = Instant::now();
        self.slots.iter().map(|s| s.status(now)).collect()
    }

    /// End the shadow periods that are over at `now_ns`: such a detector
    /// is unloaded (`then = "off"`) or goes live. Whether the set changed.
    pub fn end_shadow_periods(&mut self, now_ns: u64) -> bool {
        let mut removed = false;
        self.slots.retain_mut(|slot| {
            let Some(shadow) = slot.plugin.shadow().filter(|s| s.expired(now_ns)) else {
                return true;
            };
            match shadow.then {
                AfterShadow::Live => {
                    tracing::info!(
                        plugin = slot.plugin.name(),
                        "shadow period over; detector live"
                    );
                    slot.plugin.go_live();
                    true
                }
                AfterShadow::Off => {
                    tracing::info!(
                        plugin = slot.plugin.name(),
                        "shadow period over; detector unloaded"
                    );
                    removed = true;
                    false
                }
            }
        });
        removed
    }

    /// Re-enable detectors whose quarantine is over.
    pub fn release_expired(&mut self, now: Instant) {
        for slot in &mut self.slots {
            if let DetectorState::Quarantined { until } = slot.state
                && now >= until
            {
                tracing::info!(
                    plugin = slot.plugin.name(),
                    "quarantine over; detector serving again"
                );
                slot.state = DetectorState::Serving;
                slot.failures.clear();
            }
        }
    }

    /// Deliver a batch to every serving detector, each getting only its
    /// kinds, on up to `workers` threads. Findings come back in detector
    /// order whatever the threads did, so output stays deterministic.
    pub(crate) fn deliver(
        &mut self,
        events: &[Event],
        workers: usize,
    ) -> Vec<(DetectorRef, Finding)> {
        let now = Instant::now();
        let policy = &self.policy;
        let run = |slot: &mut Slot| {
            let routed: Vec<&Event> = events.iter().filter(|e| slot.plugin.wants(e)).collect();
            if routed.is_empty() {
                return Vec::new();
            }
            slot.call(routed.len(), now, policy, |plugin| {
                plugin.on_events(&routed)
            })
        };
        if workers <= 1 || self.slots.len() <= 1 || events.len() < PARALLEL_MIN_EVENTS {
            return self.slots.iter_mut().flat_map(run).collect();
        }
        let per_worker = self.slots.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let groups: Vec<_> = self
                .slots
                .chunks_mut(per_worker)
                .map(|group| {
                    scope.spawn(move || group.iter_mut().flat_map(run).collect::<Vec<_>>())
                })
                .collect();
            groups
                .into_iter()
                .flat_map(|g| g.join().expect("a detector worker thread panicked"))
                .collect()
        })
    }

    /// Tick every serving detector.
    pub(crate) fn tick(&mut self, now_ns: u64) -> Vec<(DetectorRef, Finding)> {
        let now = Instant::now();
        let policy = &self.policy;
        self.slots
            .iter_mut()
            .flat_map(|slot| slot.call(0, now, policy, |plugin| plugin.tick(now_ns)))
            .collect()
    }
}

/// Batches smaller than this are not worth a thread hand-off.
const PARALLEL_MIN_EVENTS: usize = 256;

/// Move state from the old version to the new one, if both support it.
fn carry_state(old: &mut Plugin, new: &mut Plugin) {
    match old.snapshot() {
        Ok(state) if !state.is_empty() => {
            if let Err(e) = new.restore(&state) {
                tracing::warn!(
                    plugin = new.name(),
                    "new version could not restore the old one's state: {e}"
                );
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(
            plugin = old.name(),
            "old version could not snapshot its state: {e}"
        ),
    }
}

impl Slot {
    /// One call into the detector with `offered` events; failures count
    /// towards quarantine, and while quarantined it is not called at all.
    fn call(
        &mut self,
        offered: usize,
        now: Instant,
        policy: &QuarantinePolicy,
        f: impl FnOnce(&mut Plugin) -> Result<Vec<Finding>, PluginError>,
    ) -> Vec<(DetectorRef, Finding)> {
        if matches!(self.state, DetectorState::Quarantined { .. }) {
            self.events_missed += offered as u64;
            return Vec::new();
        }
        let dropped_before = self.plugin.stats().findings_dropped;
        match f(&mut self.plugin) {
            Ok(findings) => {
                if self.plugin.stats().findings_dropped > dropped_before {
                    self.strike(now, policy);
                }
                if findings.is_empty() {
                    return Vec::new();
                }
                let detector = crate::context::provenance(&self.plugin);
                findings
                    .into_iter()
                    .map(|f| (detector.clone(), f))
                    .collect()
            }
            Err(_) => {
                self.events_missed += offered as u64;
                self.strike(now, policy);
                Vec::new()
            }
        }
    }

    fn new(plugin: Plugin, reloads: u64) -> Self {
        Self {
            plugin,
            state: DetectorState::Serving,
            failures: VecDeque::new(),
            backoff_level: 0,
            quarantines: 0,
            events_missed: 0,
            loaded_at: SystemTime::now(),
            reloads,
        }
    }

    fn strike(&mut self, now: Instant, policy: &QuarantinePolicy) {
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
            return;
        }
        let secs = policy
            .backoff_secs
            .saturating_mul(1 << self.backoff_level.min(20))
            .min(policy.max_backoff_secs);
        self.backoff_level += 1;
        self.quarantines += 1;
        self.failures.clear();
        self.state = DetectorState::Quarantined {
            until: now + Duration::from_secs(secs),
        };
        tracing::error!(
            plugin = self.plugin.name(),
            secs,
            "detector quarantined after {} failures in {}s: {}",
            policy.strikes,
            policy.window_secs,
            self.plugin
                .stats()
                .last_error
                .as_deref()
                .unwrap_or("unknown error")
        );
    }

    fn status(&self, now: Instant) -> DetectorStatus {
        let metadata = self.plugin.metadata();
        let (state, left) = match self.state {
            DetectorState::Serving => ("serving", None),
            DetectorState::Quarantined { until } => (
                "quarantined",
                Some(until.saturating_duration_since(now).as_secs()),
            ),
        };
        DetectorStatus {
            name: metadata.name.clone(),
            version: metadata.version.clone(),
            sha256: self.plugin.sha256().to_string(),
            source: self.plugin.source().clone(),
            origin: self.plugin.origin().to_string(),
            state: state.to_string(),
            quarantine_secs_left: left,
            subscriptions: metadata
                .subscriptions
                .iter()
                .map(|k| k.name().to_string())
                .collect(),
            read_prefixes: self.plugin.read_prefixes().map(<[String]>::to_vec),
            finding_types: metadata.finding_types.clone(),
            stats: self.plugin.stats().clone(),
            events_missed: self.events_missed,
            quarantines: self.quarantines,
            loaded_at: self
                .loaded_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            reloads: self.reloads,
            shadow: self.plugin.shadow().is_some(),
        }
    }
}
