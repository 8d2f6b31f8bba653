//! Cluster-wide merging and correlation, over findings from every node.
//!
//! - The same finding type on the same workload seen on several nodes
//!   becomes one cluster finding that lists the nodes (`evidence` items
//!   keyed `node`) and links the node findings (`related`).
//! - Findings of several types on one workload, or one namespace, from
//!   several nodes become one cluster attack sequence
//!   ([`CLUSTER_SEQUENCE_TYPE`], after GuardDuty's
//!   `AttackSequence:EKS/CompromisedCluster`) whose evidence lists its
//!   signals, actors and endpoints.
//!
//! Everything is driven by the findings' event times, so the same input
//! gives the same output, ids included.

use std::collections::{BTreeMap, BTreeSet};

use harrier_findings::{EvidenceItem, SeverityLabel, UnifiedFinding, rfc3339};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Type of a cluster-level attack sequence.
pub const CLUSTER_SEQUENCE_TYPE: &str = "AttackSequence:EKS/CompromisedCluster";

/// Evidence keys whose values are network endpoints.
const ENDPOINT_KEYS: [&str; 8] = [
    "remote_address",
    "remote_ip",
    "address",
    "endpoint",
    "domain",
    "url",
    "pool",
    "destination",
];

/// Most member ids, actors or endpoints one cluster finding lists (its
/// `count` keeps counting); beyond it `evidence_truncated` is set.
const MAX_LISTED: usize = 50;

/// Inserts into a set kept to [`MAX_LISTED`]; returns whether it grew.
fn insert_bounded(set: &mut BTreeSet<String>, value: String, truncated: &mut bool) -> bool {
    if set.contains(&value) {
        return false;
    }
    if set.len() >= MAX_LISTED {
        *truncated = true;
        return false;
    }
    set.insert(value)
}

/// The workload a finding is about, as one key: the Kubernetes workload
/// when the finding names one, else the container image, else the
/// container id, else the executable.
pub fn workload_key(finding: &UnifiedFinding, json: &Value) -> String {
    let container = &json["container"];
    let text = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let workload = &container["workload"];
    if let (Some(ns), Some(pod)) = (text(&workload["namespace"]), text(&workload["pod_name"])) {
        return format!("k8s:{ns}/{}", workload_name(&pod));
    }
    if let Some(image) = text(&workload["image"]).or_else(|| text(&container["image"])) {
        return format!("image:{image}");
    }
    match &finding.container {
        Some(c) => format!("container:{}", c.id),
        None => format!("exe:{}", finding.process.exe),
    }
}

/// The namespace a finding's workload runs in, when it names one.
pub fn namespace(json: &Value) -> Option<String> {
    json["container"]["workload"]["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A pod name without the suffixes its controller adds (`web-5d9f8-abcde`
/// → `web`), so pods of one deployment on different nodes are one workload.
fn workload_name(pod: &str) -> &str {
    let parts: Vec<&str> = pod.rsplitn(3, '-').collect();
    let generated =
        |s: &str| s.len() >= 5 && s.len() <= 10 && s.chars().all(|c| c.is_ascii_alphanumeric());
    match parts.as_slice() {
        [last, hash, base] if generated(last) && generated(hash) => base,
        _ => pod,
    }
}

#[derive(Debug)]
struct Group {
    template: UnifiedFinding,
    nodes: BTreeSet<String>,
    members: BTreeSet<String>,
    count: u64,
    severity: f32,
    first_ns: u64,
    last_ns: u64,
    revision: Option<u32>,
    truncated: bool,
}

impl Group {
    fn new(template: &UnifiedFinding, ns: u64) -> Self {
        Self {
            template: template.clone(),
            nodes: BTreeSet::new(),
            members: BTreeSet::new(),
            count: 0,
            severity: 0.0,
            first_ns: ns,
            last_ns: ns,
            revision: None,
            truncated: false,
        }
    }

    /// Adds a node finding (a later revision of one it holds counts once);
    /// returns whether a node joined, the one change that is emitted.
    fn add(&mut self, finding: &UnifiedFinding, ns: u64) -> bool {
        let member = format!("{}:{}", finding.node, finding.id);
        if !self.members.contains(&member) {
            self.count += 1;
            insert_bounded(&mut self.members, member, &mut self.truncated);
        }
        let new_node = self.nodes.insert(finding.node.clone());
        self.severity = self.severity.max(finding.severity);
        self.first_ns = self.first_ns.min(ns);
        self.last_ns = self.last_ns.max(ns);
        new_node
    }

    fn next_revision(&mut self) -> u32 {
        let next = self.revision.map_or(0, |r| r + 1);
        self.revision = Some(next);
        next
    }
}

#[derive(Debug)]
struct Sequence {
    group: Group,
    signals: BTreeSet<String>,
    actors: BTreeSet<String>,
    endpoints: BTreeSet<String>,
}

/// Counters of the cluster merger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClusterStats {
    /// Node findings taken in.
    pub ingested: u64,
    /// Cluster findings (multi-node merges) opened.
    pub merged: u64,
    /// Cluster attack sequences opened.
    pub sequences: u64,
}

/// The cluster-wide merger of one collector.
#[derive(Debug)]
pub struct ClusterMerger {
    cluster: String,
    window_ns: u64,
    groups: BTreeMap<(String, String), Group>,
    sequences: BTreeMap<String, Sequence>,
    stats: ClusterStats,
}

impl ClusterMerger {
    /// A merger for `cluster` with a merge/correlation window.
    pub fn new(cluster: &str, window: std::time::Duration) -> Self {
        Self {
            cluster: cluster.to_string(),
            window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
            groups: BTreeMap::new(),
            sequences: BTreeMap::new(),
            stats: ClusterStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ClusterStats {
        self.stats
    }

    /// Takes one node finding (and its JSON, for fields the typed finding
    /// does not know yet); returns the cluster findings to emit.
    pub fn ingest(&mut self, finding: &UnifiedFinding, json: &Value) -> Vec<UnifiedFinding> {
        if finding.is_attack_sequence() || finding.finding_type == CLUSTER_SEQUENCE_TYPE {
            return Vec::new();
        }
        self.stats.ingested += 1;
        let ns = finding.last_seen_ns();
        self.expire(ns);
        let workload = workload_key(finding, json);
        let mut out = Vec::new();

        let key = (finding.finding_type.clone(), workload.clone());
        let group = self
            .groups
            .entry(key.clone())
            .or_insert_with(|| Group::new(finding, ns));
        if group.add(finding, ns) && group.nodes.len() >= 2 {
            if group.revision.is_none() {
                self.stats.merged += 1;
            }
            let id = cluster_id(&self.cluster, &key.0, &key.1);
            out.push(render(
                group,
                &id,
                &self.cluster,
                &finding.finding_type,
                Vec::new(),
            ));
        }

        let scope = namespace(json).map_or(workload, |ns| format!("namespace:{ns}"));
        let sequence = self
            .sequences
            .entry(scope.clone())
            .or_insert_with(|| Sequence {
                group: Group::new(finding, ns),
                signals: BTreeSet::new(),
                actors: BTreeSet::new(),
                endpoints: BTreeSet::new(),
            });
        let mut changed = sequence.group.add(finding, ns);
        let truncated = &mut sequence.group.truncated;
        changed |= insert_bounded(
            &mut sequence.signals,
            finding.finding_type.clone(),
            truncated,
        );
        let actor = match &finding.process.user {
            Some(user) => format!("{} ({user})", finding.process.exe),
            None => finding.process.exe.clone(),
        };
        changed |= insert_bounded(&mut sequence.actors, actor, truncated);
        for item in &finding.evidence {
            if ENDPOINT_KEYS.contains(&item.key.as_str()) {
                changed |= insert_bounded(&mut sequence.endpoints, item.value.clone(), truncated);
            }
        }
        if changed && sequence.signals.len() >= 2 && sequence.group.nodes.len() >= 2 {
            if sequence.group.revision.is_none() {
                self.stats.sequences += 1;
            }
            let id = cluster_id(&self.cluster, CLUSTER_SEQUENCE_TYPE, &scope);
            let mut extra: Vec<EvidenceItem> = Vec::new();
            extra.push(item("scope", &scope));
            extra.extend(sequence.signals.iter().map(|s| item("signal", s)));
            extra.extend(sequence.actors.iter().map(|a| item("actor", a)));
            extra.extend(sequence.endpoints.iter().map(|e| item("endpoint", e)));
            let mut emitted = render(
                &mut sequence.group,
                &id,
                &self.cluster,
                CLUSTER_SEQUENCE_TYPE,
                extra,
            );
            emitted.severity = emitted.severity.max(9.0);
            emitted.severity_label = SeverityLabel::from_score(emitted.severity);
            emitted.title = format!(
                "Attack sequence across {} nodes of cluster {}",
                sequence.group.nodes.len(),
                self.cluster
            );
            emitted.description = format!(
                "{} kinds of findings on {scope} from nodes {}: {}",
                sequence.signals.len(),
                sequence
                    .group
                    .nodes
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                sequence
                    .signals
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            emitted.mitre_technique = None;
            out.push(emitted);
        }
        out
    }

    /// Forgets groups whose latest finding is older than the window.
    fn expire(&mut self, now_ns: u64) {
        let window = self.window_ns;
        self.groups
            .retain(|_, g| now_ns.saturating_sub(g.last_ns) <= window);
        self.sequences
            .retain(|_, s| now_ns.saturating_sub(s.group.last_ns) <= window);
    }
}

fn item(key: &str, value: &str) -> EvidenceItem {
    EvidenceItem {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// A stable id for a cluster finding.
fn cluster_id(cluster: &str, finding_type: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    for part in ["cluster", cluster, finding_type, key] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..16])
}

/// The group as a unified finding of `finding_type`.
fn render(
    group: &mut Group,
    id: &str,
    cluster: &str,
    finding_type: &str,
    extra: Vec<EvidenceItem>,
) -> UnifiedFinding {
    let revision = group.next_revision();
    let mut finding = group.template.clone();
    finding.id = id.to_string();
    finding.revision = revision;
    finding.finding_type = finding_type.to_string();
    finding.node = format!("cluster:{cluster}");
    finding.count = group.count;
    finding.severity = group.severity.max(finding.severity);
    finding.severity_label = SeverityLabel::from_score(finding.severity);
    finding.first_seen = rfc3339(group.first_ns);
    finding.last_seen = rfc3339(group.last_ns);
    finding.related = group.members.iter().cloned().collect();
    finding.evidence = group.nodes.iter().map(|n| item("node", n)).collect();
    finding.evidence.extend(extra);
    finding.evidence_truncated = group.truncated;
    finding.events.clear();
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(
        node: &str,
        id: &str,
        finding_type: &str,
        container: &str,
        secs: u64,
    ) -> (UnifiedFinding, Value) {
        let json = serde_json::json!({
            "schema_version": "1.0", "id": id, "revision": 0, "type": finding_type,
            "severity": 6.0, "severity_label": "Medium", "title": "t", "description": "d",
            "mitre_technique": null, "detectors": ["d@1"], "count": 1,
            "first_seen": rfc3339(secs * 1_000_000_000), "last_seen": rfc3339(secs * 1_000_000_000),
            "node": node,
            "process": {"pid": 1, "ppid": 0, "exe": "/bin/sh", "cmdline": "sh", "uid": 0, "euid": 0,
                        "user": "root", "exe_sha256": null, "cwd": "/", "ancestry": []},
            "container": {"id": container, "pod_uid": null},
            "evidence": [{"key": "remote_address", "value": "10.0.0.9:4444"}],
            "evidence_truncated": false, "events": [], "related": []
        });
        (serde_json::from_value(json.clone()).unwrap(), json)
    }

    #[test]
    fn one_type_on_one_workload_from_two_nodes_is_one_cluster_finding() {
        let mut merger = ClusterMerger::new("prod", std::time::Duration::from_secs(600));
        let (a, ja) = finding("node-a", "1", "Execution:Runtime/ReverseShell", "c1", 100);
        let (b, jb) = finding("node-b", "2", "Execution:Runtime/ReverseShell", "c1", 101);
        assert!(merger.ingest(&a, &ja).is_empty());
        assert!(
            merger.ingest(&a, &ja).is_empty(),
            "a repeat changes nothing"
        );
        let (a2, ja2) = finding("node-a", "9", "Execution:Runtime/ReverseShell", "c1", 100);
        assert!(
            merger.ingest(&a2, &ja2).is_empty(),
            "nor does another one on the same node"
        );
        let out = merger.ingest(&b, &jb);
        assert_eq!(out.len(), 1);
        let nodes: Vec<_> = out[0]
            .evidence
            .iter()
            .filter(|e| e.key == "node")
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(nodes, ["node-a", "node-b"]);
        assert_eq!(out[0].related, ["node-a:1", "node-a:9", "node-b:2"]);
        assert_eq!(out[0].count, 3);
        assert_eq!(out[0].node, "cluster:prod");
        assert_eq!(merger.stats().merged, 1);
    }

    #[test]
    fn kinds_across_nodes_on_one_workload_form_one_cluster_sequence() {
        let mut merger = ClusterMerger::new("prod", std::time::Duration::from_secs(600));
        let (a, ja) = finding("node-a", "1", "Execution:Runtime/ReverseShell", "c1", 100);
        let (b, jb) = finding(
            "node-b",
            "2",
            "Impact:Runtime/CryptoMinerExecuted",
            "c1",
            105,
        );
        let (c, jc) = finding(
            "node-b",
            "3",
            "Impact:Runtime/CryptoMinerExecuted",
            "other",
            106,
        );
        assert!(merger.ingest(&a, &ja).is_empty());
        let out = merger.ingest(&b, &jb);
        assert_eq!(out.len(), 1);
        let seq = &out[0];
        assert_eq!(seq.finding_type, CLUSTER_SEQUENCE_TYPE);
        assert_eq!(seq.severity_label, SeverityLabel::Critical);
        let signals: Vec<_> = seq
            .evidence
            .iter()
            .filter(|e| e.key == "signal")
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(
            signals,
            [
                "Execution:Runtime/ReverseShell",
                "Impact:Runtime/CryptoMinerExecuted"
            ]
        );
        assert!(
            seq.evidence
                .iter()
                .any(|e| e.key == "endpoint" && e.value == "10.0.0.9:4444")
        );
        assert!(
            seq.evidence
                .iter()
                .any(|e| e.key == "actor" && e.value == "/bin/sh (root)")
        );
        assert!(
            merger.ingest(&c, &jc).is_empty(),
            "another workload is another scope"
        );
        assert_eq!(merger.stats().sequences, 1);
    }

    #[test]
    fn pods_of_one_deployment_are_one_workload_and_old_groups_expire() {
        assert_eq!(workload_name("web-5d9f8b7c4-x2k9p"), "web");
        assert_eq!(workload_name("etcd-master"), "etcd-master");
        let mut merger = ClusterMerger::new("prod", std::time::Duration::from_secs(60));
        let (a, ja) = finding("node-a", "1", "Execution:Runtime/ReverseShell", "c1", 100);
        let (b, jb) = finding("node-b", "2", "Execution:Runtime/ReverseShell", "c1", 1000);
        merger.ingest(&a, &ja);
        assert!(merger.ingest(&b, &jb).is_empty(), "outside the window");
    }
}
