//! An open (still growing) finding and how it absorbs repeats.

use std::collections::BTreeSet;

use crate::finding::{
    ContainerSection, EventEntry, EvidenceItem, ProcessSection, SCHEMA_VERSION, SeverityLabel,
    UnifiedFinding, clamp_severity,
};
use crate::input::{DetectorRef, FindingInput};
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
    pub(crate) evidence: Vec<EvidenceItem>,
    pub(crate) evidence_truncated: bool,
    pub(crate) events: Vec<EventEntry>,
    pub(crate) related: Vec<String>,
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
            evidence: Vec::new(),
            evidence_truncated: false,
            events: Vec::new(),
            related: Vec::new(),
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

    /// Adds the input's evidence and events to the bounded samples.
    fn add_samples(&mut self, input: &FindingInput, max_evidence: usize) {
        for item in &input.raw.evidence {
            self.add_evidence(&item.key, &item.value, max_evidence);
        }
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

    /// Adds one distinct evidence item unless the sample is full.
    pub(crate) fn add_evidence(&mut self, key: &str, value: &str, max_evidence: usize) {
        if self
            .evidence
            .iter()
            .any(|e| e.key == key && e.value == value)
        {
            return;
        }
        if self.evidence.len() >= max_evidence {
            self.evidence_truncated = true;
            return;
        }
        self.evidence.push(EvidenceItem {
            key: key.to_string(),
            value: value.to_string(),
        });
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
    pub(crate) fn emit(&mut self, node: &str, now_ns: u64) -> UnifiedFinding {
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
            node: node.to_string(),
            process: self.process.clone(),
            container: self.container.clone(),
            evidence: self.evidence.clone(),
            evidence_truncated: self.evidence_truncated,
            events: self.events.clone(),
            related: self.related.clone(),
            provenance: self.provenance.iter().cloned().collect(),
            shadow: self.provenance.iter().any(|p| p.shadow),
        };
        self.emissions += 1;
        self.last_emit_ns = self.last_emit_ns.max(now_ns);
        self.dirty = false;
        finding
    }
}
