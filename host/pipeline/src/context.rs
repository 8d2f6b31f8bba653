//! The context a raw finding is given before merging: the detector's
//! provenance, the process it names (with ancestry), its container and pod,
//! and the events it cites.

use harrier_enrich::Enricher;
use harrier_events::{Event, Finding};
use harrier_findings::{
    ContainerContext, DetectorRef, EventRef, FindingInput, ProcessContext, ProvenanceSource,
};
use harrier_plugins::{Plugin, PluginSource};

/// How many ancestors a finding carries.
pub const ANCESTRY_DEPTH: u32 = 8;

/// Who reported a finding: the detector as it is loaded now (name,
/// version, component digest, source, shadow mode).
pub fn provenance(plugin: &Plugin) -> DetectorRef {
    let metadata = plugin.metadata();
    DetectorRef {
        name: metadata.name.clone(),
        version: metadata.version.clone(),
        component_sha256: plugin.sha256().to_string(),
        source: match plugin.source() {
            PluginSource::Embedded => ProvenanceSource::Embedded,
            PluginSource::Directory { path } => ProvenanceSource::Directory {
                path: path.display().to_string(),
            },
            PluginSource::Pack {
                pack,
                version,
                key_id,
                ..
            } => ProvenanceSource::Pack {
                pack: pack.clone(),
                pack_version: version.clone(),
                key_id: key_id.clone(),
            },
        },
        shadow: plugin.shadow().is_some(),
    }
}

/// Build the merger's input for `raw`, reported by `detector` while it
/// processed `batch` (sorted by sequence number). `now_ns` is used when the
/// finding cites no event of the batch (e.g. findings from `tick`).
pub fn finding_input(
    enricher: &Enricher,
    detector: &DetectorRef,
    raw: Finding,
    batch: &[Event],
    now_ns: u64,
) -> FindingInput {
    let cited: Vec<&Event> = raw
        .event_seqs
        .iter()
        .filter_map(|seq| {
            batch
                .binary_search_by_key(seq, |e| e.seq)
                .ok()
                .map(|i| &batch[i])
        })
        .collect();
    let time_ns = cited.iter().map(|e| e.time_ns).max().unwrap_or(now_ns);
    let ancestry = enricher.ancestry(raw.pid, ANCESTRY_DEPTH);
    // From the process table; from the cited event when the table no
    // longer knows the pid.
    let (process, container) = match enricher.process(raw.pid) {
        Some(info) => (
            ProcessContext::from_info(&info, &ancestry),
            ContainerContext::from_info(&info),
        ),
        None => match cited.iter().find(|e| e.process.pid == raw.pid) {
            Some(event) => {
                let p = &event.process;
                let container = p
                    .container_id
                    .clone()
                    .map(|id| ContainerContext { id, pod_uid: None });
                (ProcessContext::from_event_process(p), container)
            }
            None => (
                ProcessContext {
                    pid: raw.pid,
                    ..ProcessContext::default()
                },
                None,
            ),
        },
    };
    FindingInput {
        events: cited.iter().map(|e| EventRef::from_event(e)).collect(),
        raw,
        detector: detector.clone(),
        process,
        container,
        time_ns,
    }
}
