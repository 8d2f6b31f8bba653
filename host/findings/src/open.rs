//! An open (still growing) finding and how it absorbs repeats.

use std::collections::BTreeSet;

use crate::finding::{
    ContainerSection, EventEntry, EvidenceItem, KubernetesSection, MAX_PROCESSES, MergedProcess,
    ProcessSection, SCHEMA_VERSION, SequenceSection, SeverityLabel, Site, UnifiedFinding,
    clamp_severity,
};
use crate::input::{DetectorRef, FindingInput, KubernetesWorkload};
use crate::time::rfc3339;

/// A finding that may still grow, with its emission bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct OpenFinding {
    pub(crate) id: String,
    /// Sequence number of the first event (part of the id).
    pub(crate) first_seq: u64,
    pub(crate) finding_type: String,
    pub(crate) severity: f32,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) mitre_technique: Option<String>,
    pub(crate) detectors: BTreeSet<String>,
    pub(crate) provenance: BTreeSet<DetectorRef>,
    pub(crate) count: u64,
    pub(crate) first_seen_ns: u64,
    pub(crate) last_seen_ns: u64,
    pub(crate) process: ProcessSection,
    pub(crate) container: Option<ContainerSection>,
    pub(crate) kubernetes: Option<KubernetesWorkload>,
    pub(crate) evidence: Vec<EvidenceItem>,
    pub(crate) evidence_truncated: bool,
    pub(crate) events: Vec<EventEntry>,
    pub(crate) related: Vec<String>,
    /// Each distinct process merged in, with its own evidence.
    pub(crate) processes: Vec<OpenProcess>,
    pub(crate) processes_truncated: bool,
    /// An attack sequence's signals, actors and indicators.
    pub(crate) sequence: Option<SequenceSection>,
    /// How many times this finding was emitted.
    pub(crate) emissions: u32,
    /// Event time of the last emission.
    pub(crate) last_emit_ns: u64,
    /// Whether it changed since the last emission.
    pub(crate) dirty: bool,
}

impl OpenFinding {
    /// Opens a finding from its first occurrence.
    pub(crate) fn from_input(
        id: String,
        first_seq: u64,
        input: &FindingInput,
        max_evidence: usize,
    ) -> Self {
        let process = &input.process;
        let mut open = Self {
            id,
            first_seq,
            finding_type: input.raw.finding_type.clone(),
            severity: clamp_severity(input.raw.severity),
            title: input.raw.title.clone(),
            description: input.raw.description.clone(),
            mitre_technique: input.raw.mitre_technique.clone(),
            detectors: BTreeSet::from([input.detector.label()]),
            provenance: BTreeSet::from([input.detector.clone()]),
            count: 1,
            first_seen_ns: input.time_ns,
            last_seen_ns: input.time_ns,
            process: process.clone(),
            container: input.container.clone(),
            kubernetes: input.kubernetes.clone(),
            evidence: Vec::new(),
            evidence_truncated: false,
            events: Vec::new(),
            related: Vec::new(),
            processes: Vec::new(),
            processes_truncated: false,
            sequence: None,
            emissions: 0,
            last_emit_ns: input.time_ns,
            dirty: true,
        };
        open.add_samples(input, max_evidence);
        open
    }

    /// Merges a repeat of this finding.
    pub(crate) fn absorb(&mut self, input: &FindingInput, max_evidence: usize) {
        self.count += 1;
        self.severity = self.severity.max(clamp_severity(input.raw.severity));
        if self.mitre_technique.is_none() {
            self.mitre_technique = input.raw.mitre_technique.clone();
        }
        self.detectors.insert(input.detector.label());
        if !self.provenance.contains(&input.detector) {
            self.provenance.insert(input.detector.clone());
        }
        self.first_seen_ns = self.first_seen_ns.min(input.time_ns);
        self.last_seen_ns = self.last_seen_ns.max(input.time_ns);
        self.add_samples(input, max_evidence);
        self.dirty = true;
    }

    /// Adds the input's evidence and events to the bounded samples, and to
    /// its process's own entry.
    fn add_samples(&mut self, input: &FindingInput, max_evidence: usize) {
        for item in &input.raw.evidence {
            self.add_evidence(&item.key, &item.value, max_evidence);
        }
        self.add_process(input, max_evidence);
        for event in &input.events {
            self.add_event(
                EventEntry {
                    seq: event.seq,
                    kind: event.kind.clone(),
                    time: rfc3339(event.time_ns),
                },
                max_evidence,
            );
        }
    }

    /// Records the input's process (distinct by pid and executable) with
    /// its evidence, unless the list is full.
    fn add_process(&mut self, input: &FindingInput, max_evidence: usize) {
        let p = &input.process;
        let index = match self
            .processes
            .iter()
            .position(|o| o.pid == p.pid && o.exe == p.exe)
        {
            Some(index) => index,
            None if self.processes.len() < MAX_PROCESSES => {
                self.processes.push(OpenProcess {
                    pid: p.pid,
                    exe: p.exe.clone(),
                    cmdline: p.cmdline.clone(),
                    uid: p.uid,
                    euid: p.euid,
                    first_seen_ns: input.time_ns,
                    last_seen_ns: input.time_ns,
                    count: 0,
                    evidence: Vec::new(),
                    evidence_truncated: false,
                });
                self.processes.len() - 1
            }
            None => {
                self.processes_truncated = true;
                return;
            }
        };
        let entry = &mut self.processes[index];
        entry.count += 1;
        entry.first_seen_ns = entry.first_seen_ns.min(input.time_ns);
        entry.last_seen_ns = entry.last_seen_ns.max(input.time_ns);
        for item in &input.raw.evidence {
            push_distinct(
                &mut entry.evidence,
                &mut entry.evidence_truncated,
                &item.key,
                &item.value,
                max_evidence,
            );
        }
    }

    /// Adds one distinct evidence item unless the sample is full.
    pub(crate) fn add_evidence(&mut self, key: &str, value: &str, max_evidence: usize) {
        push_distinct(
            &mut self.evidence,
            &mut self.evidence_truncated,
            key,
            value,
            max_evidence,
        );
    }

    /// Adds one event reference unless known or the sample is full.
    pub(crate) fn add_event(&mut self, event: EventEntry, max_events: usize) {
        if self.events.len() < max_events && !self.events.iter().any(|e| e.seq == event.seq) {
            self.events.push(event);
        }
    }

    /// Whether an update is due at `now_ns`: it changed since its last
    /// emission and at least `interval_ns` has passed since then.
    pub(crate) fn update_due(&self, now_ns: u64, interval_ns: u64) -> bool {
        self.dirty && now_ns.saturating_sub(self.last_emit_ns) >= interval_ns
    }

    /// Renders the finding for emission at `now_ns` and records the emission.
    pub(crate) fn emit(&mut self, site: &Site, now_ns: u64) -> UnifiedFinding {
        let finding = UnifiedFinding {
            schema_version: SCHEMA_VERSION.to_string(),
            id: self.id.clone(),
            revision: self.emissions,
            finding_type: self.finding_type.clone(),
            severity: self.severity,
            severity_label: SeverityLabel::from_score(self.severity),
            title: self.title.clone(),
            description: self.description.clone(),
            mitre_technique: self.mitre_technique.clone(),
            detectors: self.detectors.iter().cloned().collect(),
            count: self.count,
            first_seen: rfc3339(self.first_seen_ns),
            last_seen: rfc3339(self.last_seen_ns),
            node: site.node.clone(),
            process: self.process.clone(),
            container: self.container.clone(),
            kubernetes: self.kubernetes.clone().map(|workload| KubernetesSection {
                cluster_name: site.cluster.clone(),
                workload_details: workload,
            }),
            evidence: self.evidence.clone(),
            evidence_truncated: self.evidence_truncated,
            events: self.events.clone(),
            related: self.related.clone(),
            processes: self.processes.iter().map(OpenProcess::render).collect(),
            processes_truncated: self.processes_truncated,
            sequence: self.sequence.clone(),
            provenance: self.provenance.iter().cloned().collect(),
            shadow: self.provenance.iter().any(|p| p.shadow),
        };
        self.emissions += 1;
        self.last_emit_ns = self.last_emit_ns.max(now_ns);
        self.dirty = false;
        finding
    }
}

/// One process of an open finding.
#[derive(Debug, Clone)]
pub(crate) struct OpenProcess {
    pub(crate) pid: u32,
    pub(crate) exe: String,
    cmdline: String,
    uid: u32,
    euid: u32,
    first_seen_ns: u64,
    last_seen_ns: u64,
    count: u64,
    evidence: Vec<EvidenceItem>,
    evidence_truncated: bool,
}

impl OpenProcess {
    fn render(&self) -> MergedProcess {
        MergedProcess {
            pid: self.pid,
            exe: self.exe.clone(),
            cmdline: self.cmdline.clone(),
            uid: self.uid,
            euid: self.euid,
            first_seen: rfc3339(self.first_seen_ns),
            last_seen: rfc3339(self.last_seen_ns),
            count: self.count,
            evidence: self.evidence.clone(),
            evidence_truncated: self.evidence_truncated,
        }
    }
}

/// Appends `key = value` to `items` unless already there; past `max` marks
/// `truncated` instead.
fn push_distinct(
    items: &mut Vec<EvidenceItem>,
    truncated: &mut bool,
    key: &str,
    value: &str,
    max: usize,
) {
    if items.iter().any(|e| e.key == key && e.value == value) {
        return;
    }
    if items.len() >= max {
        *truncated = true;
        return;
    }
    items.push(EvidenceItem {
        key: key.to_string(),
        value: value.to_string(),
    });
}
