//! The unified finding: the one JSON shape every sink and format starts from.

use serde::{Deserialize, Serialize};

/// Version of the native finding schema, written in every finding's
/// `schema_version`. Bumped on any incompatible change; the matching schema
/// file is `schema/finding-v<major>.schema.json`.
pub const SCHEMA_VERSION: &str = "1.0";

/// The JSON Schema (draft 2020-12) of the native format, version 1.
pub const NATIVE_SCHEMA_V1: &str = include_str!("../schema/finding-v1.schema.json");

/// Finding type of an attack sequence (Harrier's own type, shaped after
/// GuardDuty's attack sequence findings): findings that progress through
/// several tactics on what one attacker holds (a container, a login
/// session, the subtree of one network-facing process), at least one of
/// them Medium or worse, reported together; `related` lists the members'
/// ids and `sequence` their signals, actors and indicators.
pub const ATTACK_SEQUENCE_TYPE: &str = "AttackSequence:Runtime/MultiStageAttack";

/// One unified finding, as emitted to sinks in the native format.
///
/// The same `id` is emitted several times as the finding grows; a later
/// `revision` supersedes an earlier one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnifiedFinding {
    /// Native schema version ([`SCHEMA_VERSION`]).
    pub schema_version: String,
    /// Stable id: 32 hex digits derived from type, resource and first event.
    pub id: String,
    /// 0 on first emission, incremented on every later emission of this id.
    pub revision: u32,
    /// Finding type in GuardDuty's vocabulary, e.g.
    /// `Impact:Runtime/CryptoMinerExecuted`.
    #[serde(rename = "type")]
    pub finding_type: String,
    /// Severity on GuardDuty's 1.0–10.0 scale (the highest merged one).
    pub severity: f32,
    /// Severity band of `severity`.
    pub severity_label: SeverityLabel,
    /// Short human title (from the first occurrence).
    pub title: String,
    /// Longer human description (from the first occurrence).
    pub description: String,
    /// MITRE ATT&CK technique id, e.g. `T1496`.
    pub mitre_technique: Option<String>,
    /// Every detector that contributed, as `name@version`, sorted.
    pub detectors: Vec<String>,
    /// How many raw findings were merged into this one (for an attack
    /// sequence: how many member findings it links).
    pub count: u64,
    /// Event time of the first occurrence, RFC 3339 UTC.
    pub first_seen: String,
    /// Event time of the latest occurrence, RFC 3339 UTC.
    pub last_seen: String,
    /// Host name of the node that saw it.
    pub node: String,
    /// The process the finding is about (its first occurrence).
    pub process: ProcessSection,
    /// The container, present only when the process runs in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerSection>,
    /// The Kubernetes pod, present only when the container is in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSection>,
    /// A bounded sample of distinct evidence, in order of first appearance.
    pub evidence: Vec<EvidenceItem>,
    /// Whether evidence was left out because the sample was full.
    pub evidence_truncated: bool,
    /// A bounded sample of the events behind the finding, in order of arrival.
    pub events: Vec<EventEntry>,
    /// Ids of related findings: the members of an attack sequence; empty for
    /// other findings.
    pub related: Vec<String>,
    /// Each distinct process merged into this finding (at most
    /// [`MAX_PROCESSES`], in order of first appearance), with its own
    /// evidence; for an attack sequence, empty (see `sequence.actors`).
    #[serde(default)]
    pub processes: Vec<MergedProcess>,
    /// Whether processes were left out because the list was full.
    #[serde(default)]
    pub processes_truncated: bool,
    /// What an attack sequence links, in the shape of GuardDuty's sequence
    /// findings; absent for other findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceSection>,
    /// Every contributing detector as it was loaded (name, version,
    /// component digest, source, shadow), sorted like `detectors`.
    #[serde(default)]
    pub provenance: Vec<crate::DetectorRef>,
    /// Whether the finding comes from detectors in shadow mode: it reaches
    /// only the sinks that ask for shadow findings.
    #[serde(default)]
    pub shadow: bool,
}

/// Most distinct processes listed in one merged finding.
pub const MAX_PROCESSES: usize = 10;

/// One process a merged finding is about, with what was seen of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedProcess {
    /// Thread-group id.
    pub pid: u32,
    /// Executable path ("" if unknown).
    pub exe: String,
    /// Command line ("" if unknown).
    pub cmdline: String,
    /// Real user id.
    pub uid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Event time of its first occurrence, RFC 3339 UTC.
    pub first_seen: String,
    /// Event time of its latest occurrence, RFC 3339 UTC.
    pub last_seen: String,
    /// Raw findings about this process merged in.
    pub count: u64,
    /// Its own distinct evidence (at most `max_evidence`), verbatim.
    pub evidence: Vec<EvidenceItem>,
    /// Whether some of its evidence was left out.
    pub evidence_truncated: bool,
}

/// The attack-sequence part of a finding: GuardDuty's `Sequence` (signals,
/// actors, sequence indicators), for runtime findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceSection {
    /// What one attacker holds that links the members: `container`,
    /// `session` (a login session or the subtree of one network-facing
    /// process) or `process-tree`.
    pub scope: String,
    /// The shared resource, e.g. a container id or `sshd (pid 900)`.
    pub scope_id: String,
    /// The tactics the members progress through, in order of first sight.
    pub tactics: Vec<String>,
    /// The member findings, in join order.
    pub signals: Vec<Signal>,
    /// The distinct processes behind the members.
    pub actors: Vec<Actor>,
    /// What the sequence rests on: `ATTACK_TACTIC`, `ATTACK_TECHNIQUE`,
    /// `PROCESS_PATH`, `CONTAINER_ID` values.
    pub indicators: Vec<Indicator>,
}

/// One member finding of an attack sequence (GuardDuty's `Signal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// The member finding's id.
    pub uid: String,
    /// Its type.
    pub name: String,
    /// Its tactic (the type's part before `:`).
    pub tactic: String,
    /// Its severity.
    pub severity: f32,
    /// Raw findings merged into it.
    pub count: u64,
    /// RFC 3339 UTC.
    pub first_seen: String,
    /// RFC 3339 UTC.
    pub last_seen: String,
    /// The `actors` ids of its processes.
    pub actor_ids: Vec<String>,
    /// Its own indicators (technique).
    pub indicators: Vec<Indicator>,
}

/// A process taking part in an attack sequence (GuardDuty's `Actor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `process:<pid>`.
    pub id: String,
    /// Its pid.
    pub pid: u32,
    /// Its executable path.
    pub exe: String,
    /// Its command line.
    pub cmdline: String,
    /// Its real user id.
    pub uid: u32,
    /// Its user name, when resolved.
    pub user: Option<String>,
}

/// A key and its values (GuardDuty's `Indicator`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// E.g. `ATTACK_TACTIC`.
    pub key: String,
    /// Distinct values, in order of first sight.
    pub values: Vec<String>,
}

impl UnifiedFinding {
    /// Whether this is an attack sequence ([`ATTACK_SEQUENCE_TYPE`]).
    pub fn is_attack_sequence(&self) -> bool {
        self.finding_type == ATTACK_SEQUENCE_TYPE
    }

    /// `first_seen` as nanoseconds since the Unix epoch (0 if unparsable).
    pub fn first_seen_ns(&self) -> u64 {
        parse_ns(&self.first_seen)
    }

    /// `last_seen` as nanoseconds since the Unix epoch (0 if unparsable).
    pub fn last_seen_ns(&self) -> u64 {
        parse_ns(&self.last_seen)
    }
}

/// Parses an RFC 3339 timestamp to nanoseconds since the Unix epoch.
fn parse_ns(text: &str) -> u64 {
    humantime::parse_rfc3339(text)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// GuardDuty's severity bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SeverityLabel {
    /// 1.0–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9.
    High,
    /// 9.0–10.0.
    Critical,
}

impl SeverityLabel {
    /// The band a severity score falls in (scores are clamped to 1.0–10.0).
    pub fn from_score(score: f32) -> Self {
        let score = clamp_severity(score);
        if score >= 9.0 {
            Self::Critical
        } else if score >= 7.0 {
            Self::High
        } else if score >= 4.0 {
            Self::Medium
        } else {
            Self::Low
        }
    }

    /// The label as written in JSON (`Low`, `Medium`, `High`, `Critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Critical => "Critical",
        }
    }
}

/// Clamps a detector's severity to GuardDuty's 1.0–10.0 scale (NaN -> 1.0).
pub(crate) fn clamp_severity(score: f32) -> f32 {
    if score.is_nan() {
        1.0
    } else {
        score.clamp(1.0, 10.0)
    }
}

/// The process section of a unified finding: the process context the
/// pipeline supplied with its first raw finding.
pub type ProcessSection = crate::input::ProcessContext;

/// The container section of a unified finding.
pub type ContainerSection = crate::input::ContainerContext;

/// The Kubernetes section of a unified finding, shaped like GuardDuty's
/// `kubernetesDetails` of EKS Runtime Monitoring findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesSection {
    /// The cluster's name (`[findings] cluster` or `HARRIER_CLUSTER_NAME`), null if unset.
    pub cluster_name: Option<String>,
    /// The pod and its container (GuardDuty's `kubernetesWorkloadDetails`).
    pub workload_details: crate::input::KubernetesWorkload,
}

/// Where findings are made: the node, and the cluster it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    /// Node name.
    pub node: String,
    /// Cluster name, if configured.
    pub cluster: Option<String>,
}

/// One piece of evidence (a detector's key/value pair).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// What the value is, e.g. `path`, `cmdline`, `remote_address`.
    pub key: String,
    /// The value.
    pub value: String,
}

/// One event behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventEntry {
    /// The event's sequence number.
    pub seq: u64,
    /// The event kind, e.g. `exec`.
    pub kind: String,
    /// The event's time, RFC 3339 UTC.
    pub time: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands_follow_guardduty() {
        assert_eq!(SeverityLabel::from_score(1.0), SeverityLabel::Low);
        assert_eq!(SeverityLabel::from_score(3.9), SeverityLabel::Low);
        assert_eq!(SeverityLabel::from_score(4.0), SeverityLabel::Medium);
        assert_eq!(SeverityLabel::from_score(6.9), SeverityLabel::Medium);
        assert_eq!(SeverityLabel::from_score(7.0), SeverityLabel::High);
        assert_eq!(SeverityLabel::from_score(8.9), SeverityLabel::High);
        assert_eq!(SeverityLabel::from_score(9.0), SeverityLabel::Critical);
        assert_eq!(SeverityLabel::from_score(42.0), SeverityLabel::Critical);
        assert_eq!(SeverityLabel::from_score(f32::NAN), SeverityLabel::Low);
    }
}
