//! The merger: suppression, merging of repeats, correlation and the emission
//! policy, all driven by event time.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{ConfigError, MergeConfig};
use crate::correlate::{Correlator, SequenceChange};
use crate::finding::{Site, UnifiedFinding};
use crate::id::finding_id;
use crate::input::FindingInput;
use crate::open::OpenFinding;
use crate::resource::{correlation_scope, merge_key};
use crate::suppress::Suppressor;

/// Why a finding is being emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EmissionKind {
    /// First sight of a finding (revision 0).
    New,
    /// The finding grew (count, last_seen, members) since its last emission.
    Update,
    /// The finding is closed (its window passed, it was evicted, or the
    /// merger finished) and this is its last state.
    Final,
}

/// A finding to hand to the sinks, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Emission {
    /// New, update or final.
    pub kind: EmissionKind,
    /// The finding's current state.
    pub finding: UnifiedFinding,
}

/// Counters of what the merger did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeStats {
    /// Raw findings ingested.
    pub ingested: u64,
    /// Emissions returned (new + updates + finals, attack sequences included).
    pub emitted: u64,
    /// Raw findings merged into an already open finding.
    pub merged: u64,
    /// Raw findings muted, by rule name (every configured rule is listed).
    pub suppressed: BTreeMap<String, u64>,
    /// Distinct unified findings opened (attack sequences excluded).
    pub findings: u64,
    /// Attack sequences created.
    pub attack_sequences: u64,
    /// Findings closed early because `max_open` was reached.
    pub evicted: u64,
    /// Findings currently open.
    pub open: u64,
}

/// Turns raw findings into unified findings: mutes, merges, correlates and
/// decides when to emit.
///
/// Time is whatever the inputs and `tick` say (event time), never the wall
/// clock, so a replay gives the same emissions and ids.
///
/// Emission policy: a finding is emitted on first sight; while its count
/// grows, it is re-emitted with the same id at most every `update_interval`
/// (from `ingest` or `tick`); when it closes (no repeat within `window`, or
/// eviction, or `finish`) any unreported growth is emitted as a final update.
/// Attack sequences are emitted when created and each time a new member
/// joins, and otherwise follow the same policy.
#[derive(Debug)]
pub struct Merger {
    config: MergeConfig,
    site: Site,
    suppressor: Suppressor,
    /// Open findings by (type, merge key).
    open: BTreeMap<(String, String), OpenFinding>,
    correlator: Correlator,
    stats: MergeStats,
}

impl Merger {
    /// Builds a merger, compiling suppression rules and checking settings.
    pub fn new(config: MergeConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let suppressor = Suppressor::new(&config.suppressions)?;
        let site = Site {
            node: config.node.clone().unwrap_or_else(hostname),
            cluster: config.cluster.clone(),
        };
        let stats = MergeStats {
            suppressed: suppressor.names().map(|n| (n.to_string(), 0)).collect(),
            ..MergeStats::default()
        };
        Ok(Self {
            config,
            site,
            suppressor,
            open: BTreeMap::new(),
            correlator: Correlator::default(),
            stats,
        })
    }

    /// An empty merger with the same (already validated) configuration
    /// and node name: nothing open, counters at zero.
    pub fn fresh(&self) -> Self {
        let mut config = self.config.clone();
        config.node = Some(self.site.node.clone());
        Self::new(config).expect("the configuration was validated when this merger was built")
    }

    /// The node name written in findings.
    pub fn node(&self) -> &str {
        &self.site.node
    }

    /// Takes one raw finding and returns what to emit now.
    pub fn ingest(&mut self, input: FindingInput) -> Vec<Emission> {
        self.stats.ingested += 1;
        if let Some(rule) = self.suppressor.matching_rule(&input) {
            *self.stats.suppressed.entry(rule.to_string()).or_default() += 1;
            return Vec::new();
        }
        let now = input.time_ns;
        let window = nanos(self.config.window);
        let interval = nanos(self.config.update_interval);
        let max_evidence = self.config.max_evidence;
        let mut out = Vec::new();

        let key = (
            input.raw.finding_type.clone(),
            merge_key(&input, self.config.lineage_depth),
        );
        if self
            .open
            .get(&key)
            .is_some_and(|f| now.saturating_sub(f.last_seen_ns) > window)
        {
            let closed = self.open.remove(&key).expect("checked above");
            self.close(closed, now, &mut out);
        }
        match self.open.get_mut(&key) {
            Some(finding) => {
                finding.absorb(&input, max_evidence);
                self.stats.merged += 1;
                if finding.update_due(now, interval) {
                    out.push(Emission {
                        kind: EmissionKind::Update,
                        finding: finding.emit(&self.site, now),
                    });
                }
            }
            None => {
                let first_seq = first_seq(&input);
                let id = finding_id(&key.0, &key.1, first_seq);
                let mut finding = OpenFinding::from_input(id, first_seq, &input, max_evidence);
                out.push(Emission {
                    kind: EmissionKind::New,
                    finding: finding.emit(&self.site, now),
                });
                self.stats.findings += 1;
                self.open.insert(key.clone(), finding);
            }
        }
        // Correlation reads the merged finding where it lives, before an
        // eviction can close it.
        self.correlate(&input, &key, now, &mut out);
        self.evict_beyond_limit(now, &mut out);
        self.stats.emitted += out.len() as u64;
        out
    }

    /// Advances time to `now_ns` (event time in replay, wall clock live):
    /// emits due updates and closes findings and attack sequences whose
    /// window passed.
    pub fn tick(&mut self, now_ns: u64) -> Vec<Emission> {
        let window = nanos(self.config.window);
        let correlation_window = nanos(self.config.correlation_window);
        let interval = nanos(self.config.update_interval);
        let mut out = Vec::new();

        let expired: Vec<_> = self
            .open
            .iter()
            .filter(|(_, f)| now_ns.saturating_sub(f.last_seen_ns) > window)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            let closed = self.open.remove(&key).expect("listed above");
            self.close(closed, now_ns, &mut out);
        }
        for finding in self.open.values_mut() {
            if finding.update_due(now_ns, interval) {
                out.push(Emission {
                    kind: EmissionKind::Update,
                    finding: finding.emit(&self.site, now_ns),
                });
            }
        }

        let expired: Vec<_> = self
            .correlator
            .groups
            .iter()
            .filter(|(_, g)| now_ns.saturating_sub(g.last_activity_ns) > correlation_window)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            let group = self.correlator.groups.remove(&key).expect("listed above");
            if let Some(sequence) = group.sequence {
                self.close(sequence, now_ns, &mut out);
            }
        }
        for group in self.correlator.groups.values_mut() {
            if let Some(sequence) = &mut group.sequence
                && sequence.update_due(now_ns, interval)
            {
                out.push(Emission {
                    kind: EmissionKind::Update,
                    finding: sequence.emit(&self.site, now_ns),
                });
            }
        }
        self.stats.emitted += out.len() as u64;
        out
    }

    /// Closes everything (shutdown or end of replay): emits a final update for
    /// every finding and attack sequence with unreported growth.
    pub fn finish(&mut self) -> Vec<Emission> {
        let mut out = Vec::new();
        let open = std::mem::take(&mut self.open);
        for (_, finding) in open {
            let now = finding.last_seen_ns;
            self.close(finding, now, &mut out);
        }
        let groups = std::mem::take(&mut self.correlator.groups);
        for (_, group) in groups {
            if let Some(sequence) = group.sequence {
                let now = sequence.last_seen_ns;
                self.close(sequence, now, &mut out);
            }
        }
        self.stats.emitted += out.len() as u64;
        out
    }

    /// What the merger did so far.
    pub fn stats(&self) -> MergeStats {
        MergeStats {
            open: self.open.len() as u64,
            ..self.stats.clone()
        }
    }

    /// Emits a closing finding's final state if it grew since last emitted.
    fn close(&self, mut finding: OpenFinding, now: u64, out: &mut Vec<Emission>) {
        if finding.dirty {
            out.push(Emission {
                kind: EmissionKind::Final,
                finding: finding.emit(&self.site, now),
            });
        }
    }

    /// Closes the least recently seen findings while more than `max_open`
    /// are open.
    fn evict_beyond_limit(&mut self, now: u64, out: &mut Vec<Emission>) {
        while self.open.len() > self.config.max_open {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, f)| f.last_seen_ns)
                .map(|(k, _)| k.clone())
                .expect("more than max_open >= 1 findings are open");
            let closed = self.open.remove(&oldest).expect("just found");
            self.stats.evicted += 1;
            self.close(closed, now, out);
        }
    }

    /// Feeds a merged finding to correlation and emits its attack sequence
    /// when one is created or gains a member.
    fn correlate(
        &mut self,
        input: &FindingInput,
        member_key: &(String, String),
        now: u64,
        out: &mut Vec<Emission>,
    ) {
        let min_types = self.config.correlation_min_types;
        if min_types < 2 {
            return;
        }
        let scope = correlation_scope(input);
        let key = scope.key.clone();
        let correlation_window = nanos(self.config.correlation_window);
        if self
            .correlator
            .groups
            .get(&key)
            .is_some_and(|g| now.saturating_sub(g.last_activity_ns) > correlation_window)
        {
            let group = self.correlator.groups.remove(&key).expect("checked above");
            if let Some(sequence) = group.sequence {
                self.close(sequence, now, out);
            }
        }
        // Borrowed from `open` (another field): no copy per repeat.
        let member = &self.open[member_key];
        let change =
            self.correlator
                .observe(&scope, member, now, min_types, self.config.max_evidence);
        let kind = match change {
            SequenceChange::Quiet => return,
            SequenceChange::Created => {
                self.stats.attack_sequences += 1;
                EmissionKind::New
            }
            SequenceChange::Joined => EmissionKind::Update,
        };
        if let Some(sequence) = self
            .correlator
            .groups
            .get_mut(&key)
            .and_then(|g| g.sequence.as_mut())
        {
            out.push(Emission {
                kind,
                finding: sequence.emit(&self.site, now),
            });
        }
    }
}

/// The sequence number that identifies a finding's first occurrence: its
/// lowest event seq, else the lowest seq the pipeline attached, else its
/// time.
fn first_seq(input: &FindingInput) -> u64 {
    input
        .raw
        .event_seqs
        .iter()
        .copied()
        .min()
        .or_else(|| input.events.iter().map(|e| e.seq).min())
        .unwrap_or(input.time_ns)
}

/// A duration in nanoseconds, saturating.
fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// This machine's host name, or `unknown`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}
