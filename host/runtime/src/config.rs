//! Configuration of the runtime clients (the `[runtime]` table of the agent's TOML).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Settings of the workload metadata source; every field has a default.
///
/// | key | default | meaning |
/// | --- | --- | --- |
/// | `enabled` | `true` | ask container runtimes for workload names at all |
/// | `cri_sockets` | containerd's and CRI-O's usual sockets | CRI endpoints (unix sockets) tried for Kubernetes containers; missing ones are skipped |
/// | `docker_sockets` | `["/var/run/docker.sock"]` | Docker Engine API sockets |
/// | `podman_sockets` | `["/run/podman/podman.sock"]` | Podman's Docker-compatible API sockets |
/// | `timeout` | `"2s"` | one look-up (connect included) |
/// | `max_containers` | `4096` | containers whose metadata is cached (least recently used evicted first) |
/// | `queue_len` | `1024` | look-ups waiting; further ones are dropped and counted |
/// | `retry_after` | `"10s"` | how long a container no runtime could name stays unnamed before it is asked again |
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Whether to ask runtimes at all.
    pub enabled: bool,
    /// CRI endpoints (containerd, CRI-O), unix socket paths.
    pub cri_sockets: Vec<PathBuf>,
    /// Docker Engine API sockets.
    pub docker_sockets: Vec<PathBuf>,
    /// Podman API sockets (Docker-compatible).
    pub podman_sockets: Vec<PathBuf>,
    /// Deadline of one look-up.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Capacity of the metadata cache.
    pub max_containers: usize,
    /// Capacity of the look-up queue.
    pub queue_len: usize,
    /// How long an unanswered container waits before it is looked up again.
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            enabled: true,
            cri_sockets: [
                "/run/containerd/containerd.sock",
                "/run/k3s/containerd/containerd.sock",
                "/run/crio/crio.sock",
                "/var/run/crio/crio.sock",
            ]
            .map(PathBuf::from)
            .to_vec(),
            docker_sockets: vec![PathBuf::from("/var/run/docker.sock")],
            podman_sockets: vec![PathBuf::from("/run/podman/podman.sock")],
            timeout: Duration::from_secs(2),
            max_containers: 4096,
            queue_len: 1024,
            retry_after: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_defaults() {
        let config: RuntimeConfig = toml::from_str("").unwrap();
        assert_eq!(config, RuntimeConfig::default());
    }

    #[test]
    fn sockets_and_durations_are_read() {
        let config: RuntimeConfig = toml::from_str(
            "cri_sockets = [\"/tmp/c.sock\"]\ntimeout = \"500ms\"\nmax_containers = 3",
        )
        .unwrap();
        assert_eq!(config.cri_sockets, vec![PathBuf::from("/tmp/c.sock")]);
        assert_eq!(config.timeout, Duration::from_millis(500));
        assert_eq!(config.max_containers, 3);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = toml::from_str::<RuntimeConfig>("cri_socket = []").unwrap_err();
        assert!(err.to_string().contains("cri_socket"), "{err}");
    }
}
