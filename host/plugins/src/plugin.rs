//! One loaded detector: its instance, its metadata and subscriptions, and
//! every call into it, each under the detector's deadline and memory cap.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use harrier_events::open_interest::wants_open;
use harrier_events::{Detector, DetectorPre, Event, EventDetail, EventKind, Finding, Metadata};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::Store;
use wasmtime::component::{Component, Func};

use crate::bounds;
use crate::engine::PluginEngine;
use crate::error::{LoadError, LoadFailure, PluginError};
use crate::host::{HostServices, PluginState};
use crate::limits::PluginLimits;
use crate::linking::{Denied, linker_for};
use crate::lowering::EventList;
use crate::permissions::Permissions;
use crate::shadow::ShadowMode;

/// Where a detector came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PluginSource {
    /// Built into the `harrier` binary (the default pack).
    Embedded,
    /// A `.wasm` file in a plugin directory.
    Directory {
        /// The file.
        path: PathBuf,
    },
    /// A plugin of an installed rule pack.
    Pack {
        /// The pack's name.
        pack: String,
        /// The plugin's name in the pack's manifest (the detector name the
        /// component must declare).
        #[serde(default)]
        plugin: String,
        /// The pack's version.
        version: String,
        /// Who signed it (`signed by key <id>`), or `UNSIGNED`.
        signer: String,
        /// Id of the trusted key that signed it; none when unsigned.
        #[serde(default)]
        key_id: Option<String>,
    },
}

/// Everything needed to load a detector.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// Human-readable origin used in every message about this detector
    /// (a file path, `embedded:<name>`, `pack:<pack>/<plugin>`).
    pub origin: String,
    /// Where it came from.
    pub source: PluginSource,
    /// The component's bytes.
    pub wasm: Arc<[u8]>,
    /// Configuration handed to `init`, a JSON object.
    pub config_json: String,
    /// Its sandbox bounds.
    pub limits: PluginLimits,
    /// Severity the operator imposes on every finding of this detector.
    pub severity_override: Option<f32>,
    /// What the operator granted it beyond the basic host functions (WASI
    /// interfaces, gated host data); empty by default.
    pub permissions: Permissions,
    /// Run in shadow mode (findings marked `shadow`, written only where
    /// asked); none: live.
    pub shadow: Option<ShadowMode>,
}

/// The set of event kinds a detector subscribed to, as a bit set indexed by
/// [`EventKind::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Subscriptions(u64);

impl Subscriptions {
    /// The set holding `kinds`.
    pub fn from_kinds(kinds: &[EventKind]) -> Self {
        Self(kinds.iter().fold(0, |bits, k| bits | 1 << k.index()))
    }

    /// Whether `kind` is in the set.
    #[inline]
    pub fn contains(self, kind: EventKind) -> bool {
        self.0 & (1 << kind.index()) != 0
    }

    /// The union of two sets.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The kinds in the set, in WIT order.
    pub fn kinds(self) -> Vec<EventKind> {
        EventKind::ALL
            .iter()
            .copied()
            .filter(|k| self.contains(*k))
            .collect()
    }
}

/// Counters of one detector, for `harrier plugins` and metrics.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PluginStats {
    /// Calls made (batches and ticks).
    pub calls: u64,
    /// Events delivered.
    pub events_in: u64,
    /// Findings returned and accepted.
    pub findings_out: u64,
    /// Findings dropped because a call returned more than its cap (in
    /// number or in bytes).
    pub findings_dropped: u64,
    /// Findings refused because their type is not one the detector
    /// declared (or is reserved for the host, or malformed).
    #[serde(default)]
    pub findings_refused: u64,
    /// Strings and lists from the detector cut to the host's caps.
    #[serde(default)]
    pub fields_truncated: u64,
    /// Time spent inside the detector, in nanoseconds.
    pub busy_ns: u64,
    /// Calls that overran their deadline.
    pub deadline_errors: u64,
    /// Calls that hit the memory cap.
    pub memory_errors: u64,
    /// Calls that trapped for another reason or returned an error.
    pub trap_errors: u64,
    /// Times the instance was rebuilt after a failure.
    pub restarts: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// `on-events` lowered from borrowed events (the bindings' own call takes
/// owned ones, which would mean cloning every event per detector).
type OnEvents<'a> = wasmtime::component::TypedFunc<(EventList<'a>,), (Vec<Finding>,)>;

/// Handles to the exports of a live instance.
struct Exports {
    bindings: Detector,
    on_events: Func,
}

/// A live instance of the detector.
struct Live {
    store: Store<PluginState>,
    exports: Exports,
}

/// A loaded detector.
pub struct Plugin {
    origin: String,
    source: PluginSource,
    sha256: String,
    metadata: Metadata,
    subscriptions: Subscriptions,
    read_prefixes: Option<Vec<String>>,
    limits: PluginLimits,
    severity_override: Option<f32>,
    permissions: Permissions,
    shadow: Option<ShadowMode>,
    deadline_ticks: u64,
    config_json: String,
    pre: DetectorPre<PluginState>,
    services: Arc<dyn HostServices>,
    live: Option<Live>,
    stats: PluginStats,
}

impl Plugin {
    pub(crate) fn start(
        engine: &PluginEngine,
        spec: PluginSpec,
        component: Component,
        services: Arc<dyn HostServices>,
    ) -> Result<Plugin, LoadError> {
        let fail = |reason| LoadError {
            origin: spec.origin.clone(),
            reason,
        };
        let wrong_world = |e: wasmtime::Error| fail(LoadFailure::WrongWorld(format!("{e:#}")));
        if let Some(found) = other_contract_version(engine.engine(), &component) {
            return Err(fail(LoadFailure::ContractVersion { found }));
        }
        let (linker, denied) =
            linker_for(engine.engine(), &component, spec.permissions).map_err(wrong_world)?;
        let instance_pre = linker.instantiate_pre(&component).map_err(wrong_world)?;
        let pre = DetectorPre::new(instance_pre).map_err(wrong_world)?;
        if !denied.is_empty() {
            tracing::info!(
                origin = %spec.origin,
                granted = %spec.permissions,
                "{} imports not granted are linked to refuse when called: {}",
                denied.len(),
                denied.join(", ")
            );
        }
        let deadline_ticks = engine.ticks_for(spec.limits.call_deadline());
        let name: Arc<str> = Arc::from(spec.origin.as_str());
        let mut live = instantiate(
            &pre,
            name,
            &spec.limits,
            spec.permissions,
            &services,
            deadline_ticks,
        )
        .map_err(|error| {
            fail(LoadFailure::Startup {
                stage: "instantiate",
                error,
            })
        })?;

        let mut metadata = guarded(&mut live, deadline_ticks, &spec.limits, |s, b| {
            b.call_metadata(s)
        })
        .map_err(|error| {
            fail(LoadFailure::Startup {
                stage: "metadata",
                error,
            })
        })?;
        validate_metadata(&metadata).map_err(|m| fail(LoadFailure::BadMetadata(m)))?;
        let metadata_cut = bounds::cap_metadata(&mut metadata);
        // From here on the log speaks of the detector by its own name.
        live.store.data_mut().name = Arc::from(metadata.name.as_str());

        init(&mut live, deadline_ticks, &spec.limits, &spec.config_json).map_err(|error| {
            fail(LoadFailure::Startup {
                stage: "init",
                error,
            })
        })?;
        let read_prefixes = guarded(&mut live, deadline_ticks, &spec.limits, |s, b| {
            b.call_read_path_prefixes(s)
        })
        .map_err(|error| {
            fail(LoadFailure::Startup {
                stage: "read-path-prefixes",
                error,
            })
        })?;
        validate_read_prefixes(&metadata.name, read_prefixes.as_deref())
            .map_err(|m| fail(LoadFailure::BadMetadata(m)))?;
        guarded(&mut live, deadline_ticks, &spec.limits, |s, b| {
            b.call_self_test(s)
        })
        .and_then(|r| r.map_err(refused))
        .map_err(|error| {
            fail(LoadFailure::Startup {
                stage: "self-test",
                error,
            })
        })?;

        let subscriptions = Subscriptions::from_kinds(&metadata.subscriptions);
        Ok(Plugin {
            sha256: hex::encode(Sha256::digest(&spec.wasm)),
            origin: spec.origin,
            source: spec.source,
            metadata,
            subscriptions,
            read_prefixes,
            limits: spec.limits,
            severity_override: spec.severity_override,
            permissions: spec.permissions,
            shadow: spec.shadow,
            deadline_ticks,
            config_json: spec.config_json,
            pre,
            services,
            live: Some(live),
            stats: PluginStats {
                fields_truncated: metadata_cut,
                ..PluginStats::default()
            },
        })
    }

    /// The detector's name (from its metadata).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// `name@version`, as findings cite it.
    pub fn name_version(&self) -> String {
        format!("{}@{}", self.metadata.name, self.metadata.version)
    }

    /// What the detector said about itself.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The event kinds it wants.
    pub fn subscriptions(&self) -> Subscriptions {
        self.subscriptions
    }

    /// Path prefixes of the read-only file opens it wants (`None`: all),
    /// as it answered after `init`.
    pub fn read_prefixes(&self) -> Option<&[String]> {
        self.read_prefixes.as_deref()
    }

    /// Whether it wants this event (a subscribed kind and, for a file open,
    /// a path it reads or a writing open).
    #[inline]
    pub fn wants(&self, event: &Event) -> bool {
        match &event.detail {
            EventDetail::FileOpen(open) => {
                self.subscriptions.contains(EventKind::FileOpen)
                    && wants_open(self.read_prefixes(), &open.path, open.flags)
            }
            detail => self.subscriptions.contains(detail.kind()),
        }
    }

    /// SHA-256 of its component bytes, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Where it came from.
    pub fn source(&self) -> &PluginSource {
        &self.source
    }

    /// The origin string used in messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Its shadow mode, if it runs in shadow.
    pub fn shadow(&self) -> Option<&ShadowMode> {
        self.shadow.as_ref()
    }

    /// Take it out of shadow mode: its findings go to every sink from now on.
    pub fn go_live(&mut self) {
        self.shadow = None;
    }

    /// Its sandbox bounds.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }

    /// What it was granted.
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }

    /// Its counters.
    pub fn stats(&self) -> &PluginStats {
        &self.stats
    }

    /// Deliver a batch of events (all of subscribed kinds, in sequence
    /// order) and collect the findings, at most `max_findings_per_call`.
    pub fn on_events(&mut self, events: &[&Event]) -> Result<Vec<Finding>, PluginError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.stats.events_in += events.len() as u64;
        let findings = self.call(|store, live| {
            // SAFETY: `instantiate` checked this signature against the
            // component's export once; the type-check per call cost more
            // than a small batch's lowering.
            let typed = unsafe { OnEvents::new_unchecked(live.on_events) };
            Ok(typed.call(store, (EventList(events),))?.0)
        })?;
        Ok(self.cap_findings(findings))
    }

    /// Periodic tick for windowed logic.
    pub fn tick(&mut self, now_ns: u64) -> Result<Vec<Finding>, PluginError> {
        let findings = self.call(|store, live| live.bindings.call_tick(store, now_ns))?;
        Ok(self.cap_findings(findings))
    }

    /// The detector's state, to carry across a hot reload (at most
    /// [`bounds::MAX_SNAPSHOT_BYTES`]).
    pub fn snapshot(&mut self) -> Result<Vec<u8>, PluginError> {
        let state = self.call(|store, live| live.bindings.call_snapshot(store))?;
        if state.len() > bounds::MAX_SNAPSHOT_BYTES {
            self.stats.fields_truncated += 1;
            return Err(PluginError::Refused(format!(
                "snapshot of {} bytes is over the host's cap of {} bytes; state not carried",
                state.len(),
                bounds::MAX_SNAPSHOT_BYTES
            )));
        }
        Ok(state)
    }

    /// Hand over state from a previous version's `snapshot`.
    pub fn restore(&mut self, state: &[u8]) -> Result<(), PluginError> {
        self.call(|store, live| live.bindings.call_restore(store, state))?
            .map_err(refused)
    }

    /// What the host keeps of a call's findings: declared types only, at
    /// most `max_findings_per_call` and [`bounds::MAX_CALL_BYTES`], each
    /// field within its cap.
    fn cap_findings(&mut self, mut findings: Vec<Finding>) -> Vec<Finding> {
        self.refuse_undeclared(&mut findings);
        let cap = self.limits.max_findings_per_call;
        if findings.len() > cap {
            let dropped = findings.len() - cap;
            self.stats.findings_dropped += dropped as u64;
            self.stats.last_error = Some(format!(
                "flooded {} findings in one call (cap {cap})",
                findings.len()
            ));
            tracing::warn!(
                plugin = self.name(),
                dropped,
                cap,
                "detector returned more findings than its cap; extra dropped"
            );
            findings.truncate(cap);
        }
        let mut budget = bounds::MAX_CALL_BYTES;
        let mut kept = 0;
        for finding in findings.iter_mut() {
            self.stats.fields_truncated += bounds::cap_finding(finding);
            let size = bounds::finding_bytes(finding);
            if size > budget {
                break;
            }
            budget -= size;
            kept += 1;
        }
        if kept < findings.len() {
            let dropped = findings.len() - kept;
            self.stats.findings_dropped += dropped as u64;
            tracing::warn!(
                plugin = self.name(),
                dropped,
                cap_bytes = bounds::MAX_CALL_BYTES,
                "detector returned more bytes of findings than the host keeps per call; extra dropped"
            );
            findings.truncate(kept);
        }
        if let Some(severity) = self.severity_override {
            findings.iter_mut().for_each(|f| f.severity = severity);
        }
        self.stats.findings_out += findings.len() as u64;
        findings
    }

    /// Drop findings whose type the detector did not declare (which also
    /// covers the host's reserved and malformed types, refused in metadata).
    fn refuse_undeclared(&mut self, findings: &mut Vec<Finding>) {
        let declared = &self.metadata.finding_types;
        let before = findings.len();
        let mut first = None;
        findings.retain(|f| {
            let ok = declared.contains(&f.finding_type);
            if !ok && first.is_none() {
                first = Some(bounds::escape_controls(&f.finding_type));
            }
            ok
        });
        let refused = before - findings.len();
        if let Some(mut example) = first {
            bounds::cap_string(&mut example, bounds::MAX_FINDING_TYPE);
            self.stats.findings_refused += refused as u64;
            self.stats.last_error = Some(format!(
                "returned {refused} findings of undeclared types (e.g. `{example}`)"
            ));
            tracing::warn!(
                plugin = self.name(),
                refused,
                "detector returned findings of types it did not declare (e.g. `{example}`); refused"
            );
        }
    }

    /// Run one call under the deadline; on failure, count it, log it and
    /// rebuild the instance so the next call starts clean.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Store<PluginState>, &Exports) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if self.live.is_none() {
            self.restart()?;
        }
        let Live { store, exports } = self.live.as_mut().expect("instance present after restart");
        let started = Instant::now();
        arm(store, self.deadline_ticks, &self.limits);
        let result = f(store, exports);
        self.stats.calls += 1;
        self.stats.busy_ns += started.elapsed().as_nanos() as u64;
        result.map_err(|e| {
            let error = classify(&e, &self.limits);
            self.record_failure(&error);
            error
        })
    }

    fn record_failure(&mut self, error: &PluginError) {
        match error {
            PluginError::Deadline { .. } => self.stats.deadline_errors += 1,
            PluginError::MemoryCap { .. } => self.stats.memory_errors += 1,
            PluginError::Trap(_) | PluginError::Refused(_) | PluginError::Denied(_) => {
                self.stats.trap_errors += 1
            }
        }
        self.stats.last_error = Some(error.to_string());
        tracing::error!(plugin = self.name(), origin = %self.origin, "detector {error}");
        // A trapped instance cannot be entered again: drop it; the next call
        // builds a fresh one.
        self.live = None;
    }

    fn restart(&mut self) -> Result<(), PluginError> {
        self.stats.restarts += 1;
        let name: Arc<str> = Arc::from(self.metadata.name.as_str());
        let mut live = instantiate(
            &self.pre,
            name,
            &self.limits,
            self.permissions,
            &self.services,
            self.deadline_ticks,
        )?;
        init(
            &mut live,
            self.deadline_ticks,
            &self.limits,
            &self.config_json,
        )?;
        self.live = Some(live);
        Ok(())
    }
}

fn instantiate(
    pre: &DetectorPre<PluginState>,
    name: Arc<str>,
    limits: &PluginLimits,
    permissions: Permissions,
    services: &Arc<dyn HostServices>,
    deadline_ticks: u64,
) -> Result<Live, PluginError> {
    let state = PluginState::new(name, limits.store_limits(), permissions, services.clone());
    let mut store = Store::new(pre.engine(), state);
    store.limiter(|s| &mut s.limits);
    arm(&mut store, deadline_ticks, limits);
    let instance = pre
        .instance_pre()
        .instantiate(&mut store)
        .map_err(|e| classify(&e, limits))?;
    let bindings = Detector::new(&mut store, &instance).map_err(|e| classify(&e, limits))?;
    let on_events = instance
        .get_func(&mut store, "on-events")
        .ok_or_else(|| PluginError::Trap("export `on-events` vanished".into()))?;
    on_events
        .typed::<(&[&Event],), (Vec<Finding>,)>(&store)
        .map_err(|e| classify(&e, limits))?;
    Ok(Live {
        store,
        exports: Exports {
            bindings,
            on_events,
        },
    })
}

fn init(
    live: &mut Live,
    ticks: u64,
    limits: &PluginLimits,
    config_json: &str,
) -> Result<(), PluginError> {
    guarded(live, ticks, limits, |s, b| b.call_init(s, config_json))?.map_err(refused)
}

/// A call made during start-up, before the `Plugin` exists.
fn guarded<R>(
    live: &mut Live,
    ticks: u64,
    limits: &PluginLimits,
    f: impl FnOnce(&mut Store<PluginState>, &Detector) -> wasmtime::Result<R>,
) -> Result<R, PluginError> {
    arm(&mut live.store, ticks, limits);
    f(&mut live.store, &live.exports.bindings).map_err(|e| classify(&e, limits))
}

/// Start a call's clocks: the epoch deadline interrupts guest code, the
/// wall-clock deadline bounds host calls that could wait.
fn arm(store: &mut Store<PluginState>, ticks: u64, limits: &PluginLimits) {
    store.set_epoch_deadline(ticks);
    store.data_mut().deadline = Some(Instant::now() + limits.call_deadline());
}

/// A detector's own error value, bounded and escaped.
fn refused(message: String) -> PluginError {
    PluginError::Refused(bounds::error_text(&message))
}

/// Turn a wasmtime error into the reason an operator can act on.
fn classify(error: &wasmtime::Error, limits: &PluginLimits) -> PluginError {
    if let Some(wasmtime::Trap::Interrupt) = error.downcast_ref::<wasmtime::Trap>() {
        return PluginError::Deadline {
            ms: limits.call_deadline_ms,
        };
    }
    if let Some(denied) = error.downcast_ref::<Denied>() {
        return PluginError::Denied(denied.to_string());
    }
    let text = format!("{error:#}");
    if text.contains("forcing trap when growing memory") {
        return PluginError::MemoryCap {
            limit: limits.memory_bytes,
        };
    }
    PluginError::Trap(bounds::error_text(&text))
}

/// Most prefixes one detector may name (the kernel holds the union of all).
const MAX_READ_PREFIXES: usize = 256;

fn validate_read_prefixes(name: &str, prefixes: Option<&[String]>) -> Result<(), String> {
    let Some(prefixes) = prefixes else {
        return Ok(());
    };
    if prefixes.len() > MAX_READ_PREFIXES {
        return Err(format!(
            "detector `{name}` names {} read-path prefixes, at most {MAX_READ_PREFIXES} are allowed",
            prefixes.len()
        ));
    }
    match prefixes.iter().find(|p| !p.starts_with('/')) {
        Some(bad) => Err(format!(
            "detector `{name}` names read-path prefix `{bad}`, expected an absolute path"
        )),
        None => Ok(()),
    }
}

fn validate_metadata(m: &Metadata) -> Result<(), String> {
    let name_ok = !m.name.is_empty()
        && m.name.len() <= 64
        && m.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        let mut shown = bounds::escape_controls(&m.name);
        bounds::cap_string(&mut shown, 80);
        return Err(format!(
            "name `{shown}` must be 1-64 characters of [A-Za-z0-9._-]"
        ));
    }
    if m.version.is_empty() || m.version.len() > bounds::MAX_VERSION {
        return Err(format!(
            "detector `{}` has a version of {} bytes, expected 1-{}",
            m.name,
            m.version.len(),
            bounds::MAX_VERSION
        ));
    }
    if m.subscriptions.is_empty() {
        return Err(format!("detector `{}` subscribes to no event kind", m.name));
    }
    if m.finding_types.len() > bounds::MAX_FINDING_TYPES {
        return Err(format!(
            "detector `{}` declares {} finding types, at most {} are allowed",
            m.name,
            m.finding_types.len(),
            bounds::MAX_FINDING_TYPES
        ));
    }
    for t in &m.finding_types {
        if let Err(why) = bounds::check_finding_type(t) {
            let mut shown = bounds::escape_controls(t);
            bounds::cap_string(&mut shown, bounds::MAX_FINDING_TYPE);
            return Err(format!(
                "detector `{}` declares finding type `{shown}`, which {why}",
                m.name
            ));
        }
    }
    Ok(())
}

/// The version of `harrier:detector` a component's imports or exports name,
/// if it is not the one this host implements.
fn other_contract_version(engine: &wasmtime::Engine, component: &Component) -> Option<String> {
    let ty = component.component_type();
    let names = ty
        .imports(engine)
        .map(|(name, _)| name)
        .chain(ty.exports(engine).map(|(name, _)| name));
    names
        .filter_map(|name| name.strip_prefix("harrier:detector/")?.split_once('@'))
        .map(|(_, version)| version)
        .find(|version| *version != harrier_events::WIT_VERSION)
        .map(str::to_string)
}
