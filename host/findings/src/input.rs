//! What the pipeline hands the merger: a detector's raw finding plus context.

use serde::{Deserialize, Serialize};

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
    /// The events named by `raw.event_seqs` that the pipeline still knows.
    pub events: Vec<EventRef>,
    /// Event time of the finding, nanoseconds since the Unix epoch: the time
    /// of its latest event. Replay uses event time, so merging is
    /// deterministic.
    pub time_ns: u64,
}

/// Which detector (plugin) produced a finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DetectorRef {
    /// The detector's metadata name.
    pub name: String,
    /// The detector's metadata version.
    pub version: String,
}

impl DetectorRef {
    /// Builds a detector reference from its name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
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
    /// User name of `uid`, when the host could resolve it.
    pub user_name: Option<String>,
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
