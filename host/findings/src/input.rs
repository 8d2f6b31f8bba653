//! What the pipeline hands the merger: a detector's raw finding plus context.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::provenance::ProvenanceSource;

/// One raw finding from a detector, with the context the pipeline adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingInput {
    /// What the detector returned, unchanged.
    pub raw: harrier_events::Finding,
    /// The detector that returned it.
    pub detector: DetectorRef,
    /// The process the finding is about (`raw.pid`), from the process table.
    pub process: ProcessContext,
    /// The container the process runs in, if any.
    pub container: Option<ContainerContext>,
    /// The Kubernetes pod that container belongs to, if any.
    #[serde(default)]
    pub kubernetes: Option<KubernetesWorkload>,
    /// The events named by `raw.event_seqs` that the pipeline still knows.
    pub events: Vec<EventRef>,
    /// Event time of the finding, nanoseconds since the Unix epoch: the time
    /// of its latest event. Replay uses event time, so merging is
    /// deterministic.
    pub time_ns: u64,
}

/// Which detector (plugin) produced a finding, exactly as it was loaded:
/// the provenance every unified finding carries (`provenance`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DetectorRef {
    /// The detector's metadata name.
    #[serde(rename = "detector")]
    pub name: String,
    /// The detector's metadata version.
    pub version: String,
    /// SHA-256 of the component's bytes, lower-case hex.
    pub component_sha256: String,
    /// Where the component was loaded from.
    pub source: ProvenanceSource,
    /// Whether the detector ran in shadow mode: its findings are marked
    /// `shadow` and reach only the sinks that ask for shadow findings.
    pub shadow: bool,
}

impl DetectorRef {
    /// A reference by name and version alone (tests and tools without a
    /// component at hand): embedded, live, digest all zeros.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            component_sha256: "0".repeat(64),
            source: ProvenanceSource::Embedded,
            shadow: false,
        }
    }

    /// The `name@version` form used in [`crate::UnifiedFinding::detectors`].
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// The process a finding is about, as the host's process table knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProcessContext {
    /// Thread-group id.
    pub pid: u32,
    /// Parent's pid.
    pub ppid: u32,
    /// Absolute path of the executable ("" if unknown).
    pub exe: String,
    /// Command line, arguments separated by spaces ("" if unknown).
    pub cmdline: String,
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// User name of `uid`, when the host could resolve it (null otherwise).
    pub user: Option<String>,
    /// SHA-256 of the executable, lower-case hex, once the host hashed it.
    pub exe_sha256: Option<String>,
    /// Working directory ("" if unknown).
    pub cwd: String,
    /// Ancestors, nearest first (parent, grandparent, ...).
    pub ancestry: Vec<AncestorSummary>,
}

/// One ancestor of a process.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AncestorSummary {
    /// Its pid.
    pub pid: u32,
    /// Its executable path ("" if unknown).
    pub exe: String,
    /// Its command line ("" if unknown).
    pub cmdline: String,
}

/// The container (and pod) a process runs in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContainerContext {
    /// Container id as the runtime names it (usually 64 hex digits).
    pub id: String,
    /// Kubernetes pod uid, when the container belongs to a pod.
    pub pod_uid: Option<String>,
    /// The container's name, from the runtime (null if it did not answer).
    #[serde(default)]
    pub name: Option<String>,
    /// The image it runs, from the runtime.
    #[serde(default)]
    pub image: Option<String>,
    /// The image by digest (`…@sha256:…`), or its id, from the runtime.
    #[serde(default)]
    pub image_digest: Option<String>,
    /// The container runtime: `containerd`, `cri-o`, `docker`, `podman`
    /// (from the runtime's answer, else from the cgroup path's naming; null
    /// when neither tells).
    #[serde(default)]
    pub runtime: Option<String>,
}

/// The Kubernetes workload of a finding, shaped like GuardDuty's
/// `kubernetesWorkloadDetails`: the pod and the container in it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KubernetesWorkload {
    /// The workload type: always `Pod` (the runtime sees pods, not their owners).
    #[serde(rename = "type")]
    pub kind: String,
    /// Pod name (null when the runtime did not answer).
    pub name: Option<String>,
    /// Pod uid (from the runtime, else from the cgroup path).
    pub uid: Option<String>,
    /// Namespace of the pod.
    pub namespace: Option<String>,
    /// The pod's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The container the finding is about.
    pub containers: Vec<KubernetesContainer>,
}

/// One container of a [`KubernetesWorkload`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KubernetesContainer {
    /// Name in the pod spec.
    pub name: Option<String>,
    /// Image as the pod spec names it.
    pub image: Option<String>,
    /// Image by digest, or its id.
    pub image_digest: Option<String>,
    /// What the runtime says of the container's security context.
    pub security_context: SecurityContext,
}

/// The security context of a [`KubernetesContainer`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecurityContext {
    /// Whether the container is privileged (null when the runtime does not say).
    pub privileged: Option<bool>,
}

/// A reference to one event that led to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    /// The event's sequence number.
    pub seq: u64,
    /// The event kind's name (`EventKind::name()`, e.g. `exec`).
    pub kind: String,
    /// The event's time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
}

impl ProcessContext {
    /// Builds the context from the host's process table: the process and its
    /// ancestors (nearest first), as `host.process`/`host.ancestry` return
    /// them.
    pub fn from_info(
        info: &harrier_events::ProcessInfo,
        ancestry: &[harrier_events::ProcessInfo],
    ) -> Self {
        Self {
            pid: info.pid,
            ppid: info.ppid,
            exe: info.exe.clone(),
            cmdline: info.cmdline.clone(),
            uid: info.uid,
            euid: info.euid,
            user: info.user_name.clone(),
            exe_sha256: info.exe_sha256.clone(),
            cwd: info.cwd.clone(),
            ancestry: ancestry
                .iter()
                .map(|a| AncestorSummary {
                    pid: a.pid,
                    exe: a.exe.clone(),
                    cmdline: a.cmdline.clone(),
                })
                .collect(),
        }
    }

    /// Builds a minimal context from an event's process, for when the
    /// process table no longer knows the pid (command line = `comm`).
    pub fn from_event_process(process: &harrier_events::Process) -> Self {
        Self {
            pid: process.pid,
            ppid: process.ppid,
            exe: process.exe.clone(),
            cmdline: process.comm.clone(),
            uid: process.uid,
            euid: process.euid,
            ..Self::default()
        }
    }
}

impl ContainerContext {
    /// The container of a process-table entry, if it runs in one, with
    /// the runtime's names where the host has them.
    pub fn from_info(info: &harrier_events::ProcessInfo) -> Option<Self> {
        let workload = info.workload.as_ref();
        info.container_id.as_ref().map(|id| Self {
            id: id.clone(),
            pod_uid: info
                .pod_uid
                .clone()
                .or_else(|| workload.and_then(|w| w.pod_uid.clone())),
            name: workload.and_then(|w| w.container_name.clone()),
            image: workload.and_then(|w| w.image.clone()),
            image_digest: workload.and_then(|w| w.image_digest.clone()),
            runtime: workload.and_then(|w| w.runtime.clone()),
        })
    }
}

impl EventRef {
    /// A reference to an event.
    pub fn from_event(event: &harrier_events::Event) -> Self {
        Self {
            seq: event.seq,
            kind: event.detail.kind().name().to_string(),
            time_ns: event.time_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_events::{Event, EventDetail, ExitEvent, Process, ProcessInfo};

    fn info(pid: u32, exe: &str, container: Option<&str>) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid: pid - 1,
            uid: 0,
            euid: 0,
            exe: exe.into(),
            cmdline: format!("{exe} -x"),
            start_time_ns: 0,
            container_id: container.map(str::to_string),
            pod_uid: container.map(|_| "pod".to_string()),
            cwd: "/".into(),
            user_name: Some("root".into()),
            exe_sha256: None,
            workload: None,
        }
    }

    #[test]
    fn contexts_come_from_the_process_table() {
        let me = info(10, "/bin/sh", Some("c1"));
        let parents = [info(9, "/usr/sbin/sshd", None)];
        let process = ProcessContext::from_info(&me, &parents);
        assert_eq!(process.pid, 10);
        assert_eq!(process.cmdline, "/bin/sh -x");
        assert_eq!(process.user.as_deref(), Some("root"));
        assert_eq!(process.ancestry[0].exe, "/usr/sbin/sshd");
        let container = ContainerContext::from_info(&me).unwrap();
        assert_eq!(
            (container.id.as_str(), container.pod_uid.as_deref()),
            ("c1", Some("pod"))
        );
        assert!(ContainerContext::from_info(&parents[0]).is_none());
    }

    #[test]
    fn event_refs_and_fallback_process() {
        let process = Process {
            pid: 5,
            tid: 5,
            ppid: 4,
            uid: 1,
            euid: 1,
            gid: 1,
            egid: 1,
            comm: "sh".into(),
            exe: "/bin/sh".into(),
            container_id: None,
            cgroup_id: None,
        };
        let event = Event {
            fidelity: None,
            seq: 42,
            time_ns: 7,
            process: process.clone(),
            detail: EventDetail::Exit(ExitEvent { code: 0, signal: 0 }),
        };
        let reference = EventRef::from_event(&event);
        assert_eq!(
            (reference.seq, reference.kind.as_str(), reference.time_ns),
            (42, "exit", 7)
        );
        let context = ProcessContext::from_event_process(&process);
        assert_eq!((context.pid, context.cmdline.as_str()), (5, "sh"));
    }
}
