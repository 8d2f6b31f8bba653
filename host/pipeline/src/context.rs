//! The context a raw finding is given before merging: the process it names
//! (with ancestry), its container and pod, and the events it cites.

use harrier_enrich::Enricher;
use harrier_events::{Event, Finding, ProcessInfo};
use harrier_findings::{
    AncestorSummary, ContainerContext, DetectorRef, EventRef, FindingInput, ProcessContext,
};

/// How many ancestors a finding carries.
pub const ANCESTRY_DEPTH: u32 = 8;

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
    let events = cited
        .iter()
        .map(|e| EventRef {
            seq: e.seq,
            kind: e.detail.kind().name().to_string(),
            time_ns: e.time_ns,
        })
        .collect();
    let time_ns = cited.iter().map(|e| e.time_ns).max().unwrap_or(now_ns);
    let event_of_process = cited.iter().find(|e| e.process.pid == raw.pid).copied();
    let (process, container) = process_context(enricher, raw.pid, event_of_process);
    FindingInput {
        raw,
        detector: detector.clone(),
        process,
        container,
        events,
        time_ns,
    }
}

/// The process section, from the process table, or from the event itself
/// when the table does not know the pid (e.g. it exited long ago).
fn process_context(
    enricher: &Enricher,
    pid: u32,
    event: Option<&Event>,
) -> (ProcessContext, Option<ContainerContext>) {
    let ancestry = enricher
        .ancestry(pid, ANCESTRY_DEPTH)
        .into_iter()
        .map(|a| AncestorSummary {
            pid: a.pid,
            exe: a.exe,
            cmdline: a.cmdline,
        })
        .collect();
    if let Some(info) = enricher.process(pid) {
        let container = container_of(&info);
        let ProcessInfo {
            pid,
            ppid,
            uid,
            euid,
            exe,
            cmdline,
            cwd,
            user_name,
            exe_sha256,
            ..
        } = info;
        let context = ProcessContext {
            pid,
            ppid,
            exe,
            cmdline,
            uid,
            euid,
            user_name,
            exe_sha256,
            cwd,
            ancestry,
        };
        return (context, container);
    }
    let Some(event) = event else {
        return (
            ProcessContext {
                pid,
                ancestry,
                ..ProcessContext::default()
            },
            None,
        );
    };
    let p = &event.process;
    let context = ProcessContext {
        pid: p.pid,
        ppid: p.ppid,
        exe: p.exe.clone(),
        uid: p.uid,
        euid: p.euid,
        ancestry,
        ..ProcessContext::default()
    };
    let container = p
        .container_id
        .clone()
        .map(|id| ContainerContext { id, pod_uid: None });
    (context, container)
}

fn container_of(info: &ProcessInfo) -> Option<ContainerContext> {
    info.container_id.clone().map(|id| ContainerContext {
        id,
        pod_uid: info.pod_uid.clone(),
    })
}
