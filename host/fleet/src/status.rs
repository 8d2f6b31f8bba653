//! Node status: the record each agent keeps under its own key of the status
//! bucket (its heartbeat), and the table `harrier fleet status` prints.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A detector the node serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingDetector {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 of its component.
    pub sha256: String,
    /// Where it came from: `embedded`, a directory path, `pack:NAME@VERSION`.
    pub source: String,
}

/// A rule pack the node serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingPack {
    /// The pack's name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// What happened to the latest fleet rollout of one pack on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutOutcome {
    /// The version the fleet asked for.
    pub version: String,
    /// `installed`, `refused` or `not-selected`.
    pub state: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// When, RFC 3339.
    pub at: String,
}

/// One node's status record (JSON in the status bucket, key = node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's name.
    pub node: String,
    /// Its cluster.
    pub cluster: String,
    /// Harrier's version.
    pub version: String,
    /// Its labels (canary selectors match them).
    pub labels: BTreeMap<String, String>,
    /// When this record was written, milliseconds since the Unix epoch.
    pub updated_ms: u64,
    /// Detectors serving.
    pub detectors: Vec<ServingDetector>,
    /// Packs serving.
    pub packs: Vec<ServingPack>,
    /// Loss counters by where it happened (`sensor`, `sinks`,
    /// `spool_overflow`).
    pub drops: BTreeMap<String, u64>,
    /// The latest error the agent reported, if any.
    pub last_error: Option<String>,
    /// Outcome of the latest rollout of each pack.
    pub rollouts: BTreeMap<String, RolloutOutcome>,
}

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The agent's side of its status, gathered when the heartbeat is written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalStatus {
    /// Detectors serving.
    pub detectors: Vec<ServingDetector>,
    /// Packs serving.
    pub packs: Vec<ServingPack>,
    /// Loss counters.
    pub drops: BTreeMap<String, u64>,
    /// The latest error.
    pub last_error: Option<String>,
}

/// Every record of the status bucket `bucket`.
pub async fn read_all(
    js: &async_nats::jetstream::Context,
    bucket: &str,
) -> anyhow::Result<Vec<NodeStatus>> {
    use anyhow::Context;
    use futures_util::StreamExt;
    let kv = js
        .get_key_value(bucket)
        .await
        .with_context(|| format!("bucket {bucket} (run `harrier fleet init`)"))?;
    let mut keys = kv.keys().await?;
    let mut nodes = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key?;
        if let Some(bytes) = kv.get(&key).await? {
            match serde_json::from_slice::<NodeStatus>(&bytes) {
                Ok(node) => nodes.push(node),
                Err(e) => tracing::warn!(%key, error = %e, "status record unreadable"),
            }
        }
    }
    Ok(nodes)
}

/// Renders `harrier fleet status`: one line per node, sorted, nodes whose
/// record is older than `stale_after` flagged `STALE`.
pub fn table(nodes: &[NodeStatus], now_ms: u64, stale_after: Duration) -> String {
    let mut out = String::from(
        "NODE\tCLUSTER\tVERSION\tSEEN\tDETECTORS\tPACKS\tDROPS\tROLLOUT\tLAST ERROR\n",
    );
    let mut nodes: Vec<&NodeStatus> = nodes.iter().collect();
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    for n in nodes {
        let age = Duration::from_millis(now_ms.saturating_sub(n.updated_ms));
        let seen = if age > stale_after {
            format!("STALE {}s ago", age.as_secs())
        } else {
            format!("{}s ago", age.as_secs())
        };
        let packs: Vec<String> = n
            .packs
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        let drops: u64 = n.drops.values().sum();
        let rollouts: Vec<String> = n
            .rollouts
            .iter()
            .map(|(pack, r)| match &r.reason {
                Some(reason) => format!("{pack}@{} {}: {reason}", r.version, r.state),
                None => format!("{pack}@{} {}", r.version, r.state),
            })
            .collect();
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{seen}\t{}\t{}\t{drops}\t{}\t{}",
            n.node,
            n.cluster,
            n.version,
            n.detectors.len(),
            or_dash(&packs.join(",")),
            or_dash(&rollouts.join("; ")),
            or_dash(n.last_error.as_deref().unwrap_or("")),
        );
    }
    out
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, updated_ms: u64) -> NodeStatus {
        NodeStatus {
            node: name.into(),
            cluster: "c".into(),
            version: "0.1.0".into(),
            labels: BTreeMap::new(),
            updated_ms,
            detectors: vec![],
            packs: vec![ServingPack {
                name: "acme".into(),
                version: "1.0.0".into(),
            }],
            drops: BTreeMap::from([("sensor".into(), 2), ("spool_overflow".into(), 3)]),
            last_error: None,
            rollouts: BTreeMap::from([(
                "acme".into(),
                RolloutOutcome {
                    version: "2.0.0".into(),
                    state: "refused".into(),
                    reason: Some("bad signature".into()),
                    at: "t".into(),
                },
            )]),
        }
    }

    #[test]
    fn stale_nodes_are_flagged_and_rollout_reasons_shown() {
        let text = table(
            &[node("b", 100_000), node("a", 40_000)],
            101_000,
            Duration::from_secs(30),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].starts_with(
                "a\tc\t0.1.0\tSTALE 61s ago\t0\tacme@1.0.0\t5\tacme@2.0.0 refused: bad signature"
            ),
            "{text}"
        );
        assert!(lines[2].starts_with("b\tc\t0.1.0\t1s ago\t"), "{text}");
    }
}
