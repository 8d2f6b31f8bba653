//! The node and cluster a finding comes from.

/// Environment variables read for the node name, in order (the DaemonSet
/// sets the first from `spec.nodeName`).
pub const NODE_NAME_ENV: &[&str] = &["HARRIER_NODE_NAME", "NODE_NAME"];
/// Environment variables read for the cluster name, in order.
pub const CLUSTER_NAME_ENV: &[&str] = &["HARRIER_CLUSTER_NAME", "CLUSTER_NAME"];

/// The node's name and its cluster's, when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeIdentity {
    /// The Kubernetes node name (`None`: findings use the host name).
    pub node_name: Option<String>,
    /// The cluster name (`None`: not written).
    pub cluster_name: Option<String>,
}

impl NodeIdentity {
    /// Configured values win; otherwise the first non-empty variable of
    /// [`NODE_NAME_ENV`] / [`CLUSTER_NAME_ENV`] read by `env`.
    pub fn resolve(
        node: Option<&str>,
        cluster: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> NodeIdentity {
        let pick = |configured: Option<&str>, names: &[&str]| {
            configured
                .map(str::to_string)
                .or_else(|| names.iter().find_map(|n| env(n)))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        NodeIdentity {
            node_name: pick(node, NODE_NAME_ENV),
            cluster_name: pick(cluster, CLUSTER_NAME_ENV),
        }
    }

    /// [`resolve`](NodeIdentity::resolve) with the process environment.
    pub fn from_env(node: Option<&str>, cluster: Option<&str>) -> NodeIdentity {
        NodeIdentity::resolve(node, cluster, |n| std::env::var(n).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_wins_then_the_downward_api_variables() {
        let env = |n: &str| match n {
            "NODE_NAME" => Some("worker-3".to_string()),
            "HARRIER_CLUSTER_NAME" => Some("prod-eu".to_string()),
            _ => None,
        };
        let id = NodeIdentity::resolve(None, None, env);
        assert_eq!(id.node_name.as_deref(), Some("worker-3"));
        assert_eq!(id.cluster_name.as_deref(), Some("prod-eu"));
        let id = NodeIdentity::resolve(Some("n1"), Some("c1"), env);
        assert_eq!(
            (id.node_name.as_deref(), id.cluster_name.as_deref()),
            (Some("n1"), Some("c1"))
        );
        let none = NodeIdentity::resolve(None, None, |_| Some("  ".into()));
        assert_eq!(none, NodeIdentity::default());
    }
}
