//! One batch through every stage: enrich, route by subscription, detect,
//! merge, emit.

use std::sync::Arc;

use harrier_events::{Event, EventKind, Finding};
use harrier_findings::{DetectorRef, Emission, MergeStats, Merger};
use serde::Serialize;

use crate::context::finding_input;
use crate::detectors::DetectorSet;
use crate::services::EnricherServices;
use crate::snapshots::ConsistentRuns;

/// Where emissions go (the sinks, or a test's vector).
pub type EmitFn = Box<dyn FnMut(Emission) + Send>;

/// Counters of the event path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PipelineStats {
    /// Events processed, by kind name.
    pub events: Vec<(String, u64)>,
    /// Runs of events handed to the detectors (a batch is cut before an
    /// exec of a process already in it, so there can be more than batches).
    pub batches: u64,
    /// Raw findings returned by detectors.
    pub raw_findings: u64,
    /// Of those, findings of detectors in shadow mode.
    pub shadow_findings: u64,
    /// Emissions handed to the sinks.
    pub emissions: u64,
    /// What the merger did (live findings).
    pub merge: MergeStats,
    /// What the shadow merger did (findings of detectors in shadow mode).
    pub shadow_merge: MergeStats,
}

/// The event path from enrichment to the sinks.
pub struct Pipeline {
    services: Arc<EnricherServices>,
    detectors: DetectorSet,
    merger: Merger,
    /// Findings of shadow detectors merge apart, so they never join (or
    /// raise) a live finding or attack sequence.
    shadow_merger: Merger,
    emit: EmitFn,
    events_by_kind: Vec<u64>,
    batches: u64,
    raw_findings: u64,
    shadow_findings: u64,
    emissions: u64,
    workers: usize,
    runs: ConsistentRuns,
}

impl Pipeline {
    /// A pipeline over these detectors, merging with `merger` and handing
    /// every emission to `emit`.
    pub fn new(
        services: Arc<EnricherServices>,
        detectors: DetectorSet,
        merger: Merger,
        emit: EmitFn,
    ) -> Self {
        Self {
            services,
            detectors,
            shadow_merger: merger.fresh(),
            merger,
            emit,
            events_by_kind: vec![0; EventKind::ALL.len()],
            batches: 0,
            raw_findings: 0,
            shadow_findings: 0,
            emissions: 0,
            workers: 1,
            runs: ConsistentRuns::default(),
        }
    }

    /// Run detectors on up to `workers` threads per batch (default 1: the
    /// agent stays within one CPU).
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// The loaded detectors.
    pub fn detectors(&self) -> &DetectorSet {
        &self.detectors
    }

    /// The loaded detectors, to add, swap or remove one between batches.
    pub fn detectors_mut(&mut self) -> &mut DetectorSet {
        &mut self.detectors
    }

    /// The host services the detectors use.
    pub fn services(&self) -> &Arc<EnricherServices> {
        &self.services
    }

    /// Run one batch (in sequence order) through every stage, cut before any
    /// exec of a process already seen in it, so that what detectors ask the
    /// process table is still true of the events they were given.
    pub fn process(&mut self, events: &mut [Event]) {
        let mut rest = events;
        while !rest.is_empty() {
            let len = self.runs.next_len(rest);
            let (run, tail) = rest.split_at_mut(len);
            self.process_run(run);
            rest = tail;
        }
    }

    fn process_run(&mut self, events: &mut [Event]) {
        for event in events.iter_mut() {
            self.services.observe(event);
            self.events_by_kind[event.detail.kind().index()] += 1;
        }
        let Some(last) = events.last() else { return };
        let now_ns = last.time_ns;
        self.services.observe_time(now_ns);
        self.batches += 1;

        let events: &[Event] = events;
        let raw = self.detectors.deliver(events, self.workers);
        self.merge(raw, events, now_ns);
    }

    /// Periodic work: detector ticks (windowed logic), merge windows,
    /// quarantine releases, process-table sweeps.
    pub fn tick(&mut self, now_ns: u64) {
        self.services.observe_time(now_ns);
        self.detectors.release_expired(std::time::Instant::now());
        let raw = self.detectors.tick(now_ns);
        self.merge(raw, &[], now_ns);
        let closed = [self.merger.tick(now_ns), self.shadow_merger.tick(now_ns)];
        for emission in closed.into_iter().flatten() {
            self.emit_one(emission);
        }
        self.services.enricher().sweep(now_ns);
    }

    /// Close every open finding and emit its final state.
    pub fn finish(&mut self) {
        let closed = [self.merger.finish(), self.shadow_merger.finish()];
        for emission in closed.into_iter().flatten() {
            self.emit_one(emission);
        }
    }

    /// End the shadow periods that are over at `now_ns` (see
    /// [`DetectorSet::end_shadow_periods`]); whether the set changed.
    pub fn end_shadow_periods(&mut self, now_ns: u64) -> bool {
        self.detectors.end_shadow_periods(now_ns)
    }

    /// Counters of the event path.
    pub fn stats(&self) -> PipelineStats {
        PipelineStats {
            events: EventKind::ALL
                .iter()
                .map(|k| (k.name().to_string(), self.events_by_kind[k.index()]))
                .collect(),
            batches: self.batches,
            raw_findings: self.raw_findings,
            shadow_findings: self.shadow_findings,
            emissions: self.emissions,
            merge: self.merger.stats(),
            shadow_merge: self.shadow_merger.stats(),
        }
    }

    fn merge(&mut self, raw: Vec<(DetectorRef, Finding)>, batch: &[Event], now_ns: u64) {
        self.raw_findings += raw.len() as u64;
        for (detector, finding) in raw {
            let input = finding_input(self.services.enricher(), &detector, finding, batch, now_ns);
            let merger = if detector.shadow {
                self.shadow_findings += 1;
                &mut self.shadow_merger
            } else {
                &mut self.merger
            };
            for emission in merger.ingest(input) {
                self.emit_one(emission);
            }
        }
    }

    fn emit_one(&mut self, emission: Emission) {
        self.emissions += 1;
        (self.emit)(emission);
    }
}
