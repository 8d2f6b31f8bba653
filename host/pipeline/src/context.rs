//! The context a raw finding is given before merging: the detector's
//! provenance, the process it names (with ancestry), its container and pod,
//! and the events it cites.

use std::time::Duration;

use harrier_enrich::{Enricher, Workload};
use harrier_events::{Event, Finding};
use harrier_findings::{
    ContainerContext, DetectorRef, EventRef, FindingInput, KubernetesContainer, KubernetesWorkload,
    ProcessContext, ProvenanceSource, SecurityContext,
};
use harrier_plugins::{Plugin, PluginSource};

/// How many ancestors a finding carries.
pub const ANCESTRY_DEPTH: u32 = 8;

/// Longest a finding waits for a runtime look-up of its container that is
/// already under way (a container seen for the first time in this batch).
pub const WORKLOAD_WAIT: Duration = Duration::from_millis(100);

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
                let container = p.container_id.clone().map(|id| ContainerContext {
                    id,
                    ..ContainerContext::default()
                });
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
    let mut container = container;
    let workload = container
        .as_ref()
        .and_then(|c| enricher.workload(&c.id, WORKLOAD_WAIT));
    let kubernetes = container
        .as_mut()
        .and_then(|c| name_workload(c, workload.as_deref()));
    FindingInput {
        events: cited.iter().map(|e| EventRef::from_event(e)).collect(),
        raw,
        detector: detector.clone(),
        process,
        container,
        kubernetes,
        time_ns,
    }
}

/// Fills the container's names from the runtime's answer and returns its
/// pod, if it is in one (named by the runtime, or only by its cgroup's pod uid).
fn name_workload(
    container: &mut ContainerContext,
    workload: Option<&Workload>,
) -> Option<KubernetesWorkload> {
    if let Some(w) = workload {
        container.name = container.name.take().or_else(|| w.container_name.clone());
        container.image = container.image.take().or_else(|| w.image.clone());
        container.image_digest = container
            .image_digest
            .take()
            .or_else(|| w.image_digest.clone());
        container.runtime = container.runtime.take().or_else(|| Some(w.runtime.clone()));
        container.pod_uid = container.pod_uid.take().or_else(|| w.pod_uid.clone());
    }
    let namespace = workload.and_then(|w| w.namespace.clone());
    let name = workload.and_then(|w| w.pod_name.clone());
    let uid = container.pod_uid.clone();
    if namespace.is_none() && name.is_none() && uid.is_none() {
        return None;
    }
    Some(KubernetesWorkload {
        kind: "Pod".to_string(),
        name,
        uid,
        namespace,
        labels: workload.map(|w| w.labels.clone()).unwrap_or_default(),
        containers: vec![KubernetesContainer {
            name: container.name.clone(),
            image: container.image.clone(),
            image_digest: container.image_digest.clone(),
            security_context: SecurityContext {
                privileged: workload.and_then(|w| w.privileged),
            },
        }],
    })
}
