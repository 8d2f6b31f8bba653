//! The set of loaded detectors: who is serving, who is quarantined, who
//! stands by, and the swaps that replace one version by another between two
//! batches.
//!
//! Detector names are unique among serving detectors, and the set is where
//! that rule is enforced: every detector is held under its [`DetectorKey`]
//! (who provides it); of several keys providing one name the lowest serves
//! and the others stand by (loaded, initialised, given no events), the
//! lowest of them taking over when the server is removed. The set records
//! what it holds in its [`Ledger`], which the catalog reconciles against.

mod health;
mod key;
mod ledger;

use std::time::{Instant, SystemTime};

use harrier_events::{Event, EventKind, Finding};
use harrier_findings::DetectorRef;
use harrier_plugins::{AfterShadow, Plugin, PluginError, PluginSource, PluginStats, Subscriptions};
use serde::{Deserialize, Serialize};

use crate::source::Interest;
use health::Health;
pub use key::DetectorKey;
pub use ledger::{Ledger, Revision, Running, RunningDetector};

/// A change to the detector set, applied between two batches.
pub enum Change {
    /// Add this detector, or swap it in for the version its key provided
    /// (see [`DetectorSet::upsert`]).
    Upsert(Box<Plugin>),
    /// Unload what this key provides (a standby may take over).
    Remove(DetectorKey),
    /// Several changes applied together, between the same two batches
    /// (e.g. every plugin of a new rule pack version).
    Batch(Vec<Change>),
}

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

/// What a detector is doing, as status and metrics print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Receiving events.
    Serving,
    /// Out of service for a while after repeated failures.
    Quarantined,
    /// Loaded, but another provider of the same detector name serves.
    StandingBy,
    /// Its shadow period ended with `then = "off"`: loaded, not called.
    ShadowEnded,
}

impl Role {
    /// The printed form: `serving`, `quarantined`, `standing-by`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Serving => "serving",
            Role::Quarantined => "quarantined",
            Role::StandingBy => "standing-by",
            Role::ShadowEnded => "shadow-ended",
        }
    }
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
    /// Who provides it.
    pub key: DetectorKey,
    /// Where it came from.
    pub source: PluginSource,
    /// The origin used in messages (file path, `embedded:<name>`...).
    pub origin: String,
    /// `serving`, `quarantined`, `standing-by` or `shadow-ended`
    /// ([`Role::as_str`]).
    pub state: String,
    /// While standing by: the origin of the detector serving the name.
    #[serde(default)]
    pub standing_by_for: Option<String>,
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
    key: DetectorKey,
    plugin: Plugin,
    health: Health,
    events_missed: u64,
    loaded_at: SystemTime,
    reloads: u64,
    /// Its shadow period ended with `then = "off"`: kept, never called.
    shadow_ended: bool,
    /// What its findings are attributed to, built once per version.
    provenance: DetectorRef,
}

/// A detector loaded and initialised, held back because a lower key
/// provides the same name.
struct Standby {
    key: DetectorKey,
    plugin: Plugin,
    loaded_at: SystemTime,
}

/// The loaded detectors: the serving ones in load order (names unique),
/// and the ones standing by.
#[derive(Default)]
pub struct DetectorSet {
    slots: Vec<Slot>,
    standby: Vec<Standby>,
    policy: QuarantinePolicy,
    ledger: Ledger,
}

impl DetectorSet {
    /// An empty set with the given quarantine policy.
    pub fn new(policy: QuarantinePolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// Add a detector under its key ([`DetectorKey::of`]), or swap it in
    /// for the version that key provided. A swapped-out version hands its
    /// state over when both support it. Whether it serves or stands by is
    /// decided by the keys providing its name (the lowest serves). Returns
    /// the version it replaced.
    pub fn upsert(&mut self, plugin: Plugin) -> Option<Plugin> {
        let replaced = self.upsert_quietly(plugin);
        self.record();
        replaced
    }

    fn upsert_quietly(&mut self, mut plugin: Plugin) -> Option<Plugin> {
        let key = DetectorKey::of(&plugin);
        if let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.key == key && s.plugin.name() == plugin.name())
        {
            carry_state(&mut slot.plugin, &mut plugin);
            let reloads = slot.reloads + 1;
            let old = std::mem::replace(slot, Slot::new(key, plugin, reloads));
            return Some(old.plugin);
        }
        // The key now provides another name, or stands by: take the old
        // version out (its name may pass to a standby), then place the new.
        let old = self.remove_quietly(&key);
        self.place(key, plugin);
        old
    }

    /// Serve `plugin` if no lower key serves its name, else stand it by.
    fn place(&mut self, key: DetectorKey, mut plugin: Plugin) {
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.plugin.name() == plugin.name())
        else {
            self.slots.push(Slot::new(key, plugin, 0));
            return;
        };
        if key > slot.key {
            tracing::info!(
                detector = plugin.name(),
                origin = plugin.origin(),
                serving = slot.plugin.origin(),
                "standing by: another provider of this detector serves"
            );
            self.standby.push(Standby::new(key, plugin));
            return;
        }
        carry_state(&mut slot.plugin, &mut plugin);
        let reloads = slot.reloads + 1;
        let old = std::mem::replace(slot, Slot::new(key, plugin, reloads));
        tracing::info!(
            detector = old.plugin.name(),
            origin = old.plugin.origin(),
            serving = slot.plugin.origin(),
            "standing by: a provider that takes precedence serves this detector"
        );
        self.standby.push(Standby::new(old.key, old.plugin));
    }

    /// Unload what this key provides. A serving detector's name passes to
    /// the lowest key standing by for it, which takes over in place.
    pub fn remove(&mut self, key: &DetectorKey) -> Option<Plugin> {
        let removed = self.remove_quietly(key);
        self.record();
        removed
    }

    fn remove_quietly(&mut self, key: &DetectorKey) -> Option<Plugin> {
        if let Some(index) = self.standby.iter().position(|s| s.key == *key) {
            return Some(self.standby.remove(index).plugin);
        }
        let index = self.slots.iter().position(|s| s.key == *key)?;
        let name = self.slots[index].plugin.name().to_string();
        let heir = self
            .standby
            .iter()
            .enumerate()
            .filter(|(_, s)| s.plugin.name() == name)
            .min_by(|a, b| a.1.key.cmp(&b.1.key))
            .map(|(i, _)| i);
        let Some(heir) = heir else {
            return Some(self.slots.remove(index).plugin);
        };
        let mut heir = self.standby.remove(heir);
        let slot = &mut self.slots[index];
        carry_state(&mut slot.plugin, &mut heir.plugin);
        let reloads = slot.reloads + 1;
        tracing::info!(detector = %name, from = slot.plugin.origin(), to = heir.plugin.origin(), "standby takes over");
        let old = std::mem::replace(slot, Slot::new(heir.key, heir.plugin, reloads));
        Some(old.plugin)
    }

    /// Apply one change; whether the set changed.
    pub fn apply(&mut self, change: Change) -> bool {
        match change {
            Change::Upsert(plugin) => {
                let name = plugin.name_version();
                match self.upsert(*plugin) {
                    Some(old) => {
                        tracing::info!(detector = %name, replaced = %old.name_version(), "detector swapped in")
                    }
                    None => tracing::info!(detector = %name, "detector added"),
                }
                true
            }
            Change::Remove(key) => {
                let removed = self.remove(&key).is_some();
                if removed {
                    tracing::info!(detector = %key, "detector unloaded");
                }
                removed
            }
            Change::Batch(changes) => changes
                .into_iter()
                .fold(false, |any, c| self.apply(c) | any),
        }
    }

    /// The shared record of what this set holds; every change rewrites it.
    pub fn ledger(&self) -> Ledger {
        self.ledger.clone()
    }

    fn record(&self) {
        let serving = self.slots.iter().map(|s| (&s.key, &s.plugin, true));
        let standing = self.standby.iter().map(|s| (&s.key, &s.plugin, false));
        self.ledger.record(
            serving
                .chain(standing)
                .map(|(key, plugin, serving)| {
                    let detector = RunningDetector {
                        name: plugin.name().to_string(),
                        revision: Revision {
                            sha256: plugin.sha256().to_string(),
                            source: plugin.source().clone(),
                        },
                        serving,
                    };
                    (key.clone(), detector)
                })
                .collect(),
        );
    }

    /// Number of detectors serving (or quarantined); standbys not counted.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no detector is serving.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Number of detectors standing by.
    pub fn standing_by(&self) -> usize {
        self.standby.len()
    }

    /// The union of every serving detector's subscriptions.
    pub fn subscriptions(&self) -> Subscriptions {
        self.called().fold(Subscriptions::default(), |all, s| {
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

    /// The serving slots that are still called (shadow not ended).
    fn called(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter(|s| !s.shadow_ended)
    }

    /// The read-only file opens some detector wants: `None` (every open)
    /// as soon as one detector subscribed to file opens names no prefixes.
    fn read_prefixes(&self) -> Option<Vec<String>> {
        let mut all = Vec::new();
        for slot in self.called() {
            if slot.plugin.subscriptions().contains(EventKind::FileOpen) {
                all.extend_from_slice(slot.plugin.read_prefixes()?);
            }
        }
        all.sort_unstable();
        all.dedup();
        Some(all)
    }

    /// Status of every detector: the serving ones, then the standbys.
    pub fn status(&self) -> Vec<DetectorStatus> {
        let now = Instant::now();
        let serving = self.slots.iter().map(|s| s.status(now));
        let standing = self.standby.iter().map(|s| {
            let server = self
                .slots
                .iter()
                .find(|slot| slot.plugin.name() == s.plugin.name());
            s.status(server.map(|slot| slot.plugin.origin().to_string()))
        });
        serving.chain(standing).collect()
    }

    /// End the shadow periods that are over at `now_ns`: such a detector
    /// goes live or (`then = "off"`) stops being called. It stays in the
    /// set, so the catalog, which still asks for it, sees nothing to
    /// reload. Whether any detector changed.
    pub fn end_shadow_periods(&mut self, now_ns: u64) -> bool {
        let mut changed = false;
        for slot in self.slots.iter_mut().filter(|s| !s.shadow_ended) {
            let Some(shadow) = slot.plugin.shadow().filter(|s| s.expired(now_ns)) else {
                continue;
            };
            changed = true;
            match shadow.then {
                AfterShadow::Live => {
                    tracing::info!(
                        plugin = slot.plugin.name(),
                        "shadow period over; detector live"
                    );
                    slot.plugin.go_live();
                    slot.provenance.shadow = false;
                }
                AfterShadow::Off => {
                    tracing::info!(
                        plugin = slot.plugin.name(),
                        "shadow period over; detector switched off"
                    );
                    slot.shadow_ended = true;
                }
            }
        }
        changed
    }

    /// Re-enable detectors whose quarantine is over.
    pub fn release_expired(&mut self, now: Instant) {
        for slot in &mut self.slots {
            if slot.health.release_if_over(now) {
                tracing::info!(
                    plugin = slot.plugin.name(),
                    "quarantine over; detector serving again"
                );
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
            if slot.shadow_ended {
                return Vec::new();
            }
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
            .filter(|slot| !slot.shadow_ended)
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
        if self.health.is_quarantined() {
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
                findings
                    .into_iter()
                    .map(|f| (self.provenance.clone(), f))
                    .collect()
            }
            Err(_) => {
                self.events_missed += offered as u64;
                self.strike(now, policy);
                Vec::new()
            }
        }
    }

    fn new(key: DetectorKey, plugin: Plugin, reloads: u64) -> Self {
        Self {
            provenance: crate::context::provenance(&plugin),
            key,
            plugin,
            health: Health::new(),
            events_missed: 0,
            loaded_at: SystemTime::now(),
            reloads,
            shadow_ended: false,
        }
    }

    fn strike(&mut self, now: Instant, policy: &QuarantinePolicy) {
        let Some(quarantine) = self.health.strike(now, policy) else {
            return;
        };
        tracing::error!(
            plugin = self.plugin.name(),
            secs = quarantine.as_secs(),
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
        let (role, left) = match self.health.state {
            _ if self.shadow_ended => (Role::ShadowEnded, None),
            DetectorState::Serving => (Role::Serving, None),
            DetectorState::Quarantined { until } => (
                Role::Quarantined,
                Some(until.saturating_duration_since(now).as_secs()),
            ),
        };
        let mut status = describe(&self.key, &self.plugin, role, self.loaded_at);
        status.quarantine_secs_left = left;
        status.events_missed = self.events_missed;
        status.quarantines = self.health.quarantines;
        status.reloads = self.reloads;
        status
    }
}

impl Standby {
    fn new(key: DetectorKey, plugin: Plugin) -> Self {
        Self {
            key,
            plugin,
            loaded_at: SystemTime::now(),
        }
    }

    fn status(&self, serving: Option<String>) -> DetectorStatus {
        let mut status = describe(&self.key, &self.plugin, Role::StandingBy, self.loaded_at);
        status.standing_by_for = serving;
        status
    }
}

/// The status fields a detector has whatever its role.
fn describe(
    key: &DetectorKey,
    plugin: &Plugin,
    role: Role,
    loaded_at: SystemTime,
) -> DetectorStatus {
    let metadata = plugin.metadata();
    DetectorStatus {
        name: metadata.name.clone(),
        version: metadata.version.clone(),
        sha256: plugin.sha256().to_string(),
        key: key.clone(),
        source: plugin.source().clone(),
        origin: plugin.origin().to_string(),
        state: role.as_str().to_string(),
        standing_by_for: None,
        quarantine_secs_left: None,
        subscriptions: metadata
            .subscriptions
            .iter()
            .map(|k| k.name().to_string())
            .collect(),
        read_prefixes: plugin.read_prefixes().map(<[String]>::to_vec),
        finding_types: metadata.finding_types.clone(),
        stats: plugin.stats().clone(),
        events_missed: 0,
        quarantines: 0,
        loaded_at: loaded_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        reloads: 0,
        shadow: plugin.shadow().is_some(),
    }
}
