//! Configuration of the enricher (the `[enrich]` table of the agent's TOML).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Settings of the [`Enricher`](crate::Enricher); every field has a default.
///
/// Durations are written as human-readable strings: `"90s"`, `"10m"`, `"1h"`.
///
/// | key | default | meaning |
/// | --- | --- | --- |
/// | `proc_root` | `"/proc"` | where procfs is mounted (`/host/proc` in a container) |
/// | `host_root` | `"/"` | root of the host file system; user names come from `<host_root>/etc/passwd` |
/// | `read_proc` | `true` | read `/proc` for unseen processes, cgroups at exec, executables to hash; `false` for replay |
/// | `max_processes` | `65536` | process-table capacity; exited entries are evicted first |
/// | `exit_linger` | `"2m"` | how long an exited process stays answerable |
/// | `recent_write_window` | `"10m"` | how long a file write is remembered |
/// | `max_recent_writes` | `65536` | how many written paths are remembered (least recently written dropped first) |
/// | `hash_max_file_bytes` | `134217728` (128 MiB) | executables larger than this are not hashed |
/// | `hash_cache_entries` | `4096` | executables (by dev, inode, mtime) whose hash is cached |
/// | `hash_queue_len` | `1024` | pending hash jobs; further jobs are dropped and counted |
/// | `max_cgroups` | `65536` | cgroup v2 directories indexed by id |
/// | `cgroup2_mount` | unset | where the cgroup2 hierarchy is mounted; unset: found in `<proc_root>/self/mountinfo` (when `read_proc`) |
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnrichConfig {
    /// Where procfs is mounted.
    pub proc_root: PathBuf,
    /// Root of the host file system, for `etc/passwd`.
    pub host_root: PathBuf,
    /// Whether the enricher may read `proc_root` at all (off when replaying a capture).
    pub read_proc: bool,
    /// Most processes kept in the table.
    pub max_processes: usize,
    /// How long exited processes are kept so late look-ups and findings still resolve.
    #[serde(with = "humantime_serde")]
    pub exit_linger: Duration,
    /// How long a created or modified file is remembered.
    #[serde(with = "humantime_serde")]
    pub recent_write_window: Duration,
    /// Most written paths remembered.
    pub max_recent_writes: usize,
    /// Executables larger than this many bytes are not hashed.
    pub hash_max_file_bytes: u64,
    /// Capacity of the executable-hash cache.
    pub hash_cache_entries: usize,
    /// Capacity of the queue feeding the hashing thread.
    pub hash_queue_len: usize,
    /// Most cgroup v2 directories indexed by id.
    pub max_cgroups: usize,
    /// Where the cgroup2 hierarchy is mounted (unset: discovered).
    pub cgroup2_mount: Option<PathBuf>,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            proc_root: PathBuf::from("/proc"),
            host_root: PathBuf::from("/"),
            read_proc: true,
            max_processes: 65_536,
            exit_linger: Duration::from_secs(120),
            recent_write_window: Duration::from_secs(600),
            max_recent_writes: 65_536,
            hash_max_file_bytes: 128 * 1024 * 1024,
            hash_cache_entries: 4096,
            hash_queue_len: 1024,
            max_cgroups: 65_536,
            cgroup2_mount: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_defaults() {
        let config: EnrichConfig = toml::from_str("").unwrap();
        assert_eq!(config, EnrichConfig::default());
        assert_eq!(config.recent_write_window, Duration::from_secs(600));
    }

    #[test]
    fn durations_are_human_readable() {
        let config: EnrichConfig = toml::from_str(
            "exit_linger = \"90s\"\nrecent_write_window = \"5m\"\nmax_processes = 10",
        )
        .unwrap();
        assert_eq!(config.exit_linger, Duration::from_secs(90));
        assert_eq!(config.recent_write_window, Duration::from_secs(300));
        assert_eq!(config.max_processes, 10);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = toml::from_str::<EnrichConfig>("max_procs = 3").unwrap_err();
        assert!(err.to_string().contains("max_procs"), "{err}");
    }
}
