//! Configuration of merging, correlation and suppression (the agent's TOML).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How findings are merged, correlated and suppressed.
///
/// Every key is optional; defaults in brackets. Durations are written as
/// human durations (`"90s"`, `"5m"`, `"1h 30m"`) or as integer seconds.
///
/// ```toml
/// window = "5m"                # [5m] gap that still merges a repeat
/// update_interval = "10s"      # [10s] minimum time between updates of one id
/// correlation_window = "10m"   # [10m] gap that still links findings into an attack sequence
/// correlation_min_types = 2    # [2] distinct types that make an attack sequence; 0 disables
/// max_evidence = 20            # [20] evidence items and events kept per finding
/// lineage_depth = 3            # [3] ancestors' executables in a host process's resource key
/// max_open = 10000             # [10000] open findings kept; the oldest is closed beyond it
/// node = "worker-1"            # [the host name] node name written in findings
/// cluster = "prod-eu"          # [unset] cluster name written in Kubernetes sections
///
/// [[suppressions]]
/// name = "backup job"          # [suppression[N]] name shown in the stats
/// type = "Execution:Runtime/*" # glob on the finding type
/// exe = "/usr/local/bin/backup*"  # glob on the process executable
/// path = "/var/backups/**"     # glob on any evidence value
/// container = "4f1c*"          # glob on the container id
/// pod = "0d9c2a*"              # glob on the pod uid
/// namespace = "ci-*"           # glob on the Kubernetes namespace
/// pod_label = "app=build-*"    # a pod label: key, `=`, glob on its value
/// image = "registry.example/ci/*"  # glob on the image (or its digest)
/// max_severity = 6.9           # only findings at or below this severity
/// ```
///
/// A suppression rule mutes a finding when every field it sets matches; it
/// must set at least one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MergeConfig {
    /// A repeat of the same type on the same resource merges into the open
    /// finding when it comes at most this long after the finding's
    /// `last_seen`; later, a new finding (new id) starts.
    #[serde(with = "crate::duration")]
    pub window: Duration,
    /// An open finding whose count grew is re-emitted (same id) at most this
    /// often.
    #[serde(with = "crate::duration")]
    pub update_interval: Duration,
    /// Findings on one container or process lineage are linked into an
    /// attack sequence while each comes at most this long after the previous
    /// one.
    #[serde(with = "crate::duration")]
    pub correlation_window: Duration,
    /// How many distinct finding types make an attack sequence; 0 or 1
    /// turns correlation off.
    pub correlation_min_types: usize,
    /// Evidence items (distinct key/value pairs) and event references kept
    /// per finding.
    pub max_evidence: usize,
    /// How many ancestors' executables identify a host process's lineage in
    /// the merge key.
    pub lineage_depth: usize,
    /// Open findings (and open attack sequences) kept in memory; beyond it the
    /// least recently seen is closed with a final update.
    pub max_open: usize,
    /// Node name written in findings; the host name when unset.
    pub node: Option<String>,
    /// Cluster name written in findings' Kubernetes section; none when unset.
    pub cluster: Option<String>,
    /// Rules that mute known-good behaviour.
    pub suppressions: Vec<Suppression>,
}

impl Default for MergeConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(300),
            update_interval: Duration::from_secs(10),
            correlation_window: Duration::from_secs(600),
            correlation_min_types: 2,
            max_evidence: 20,
            lineage_depth: 3,
            max_open: 10_000,
            node: None,
            cluster: None,
            suppressions: Vec::new(),
        }
    }
}

/// One suppression rule: mutes findings matching every field it sets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Suppression {
    /// Name shown in the stats; `suppression[N]` (its position) when unset.
    pub name: Option<String>,
    /// Glob on the finding type, e.g. `Execution:Runtime/*`.
    #[serde(rename = "type")]
    pub finding_type: Option<String>,
    /// Glob on the process executable path.
    pub exe: Option<String>,
    /// Glob matched against every evidence value (any match counts).
    pub path: Option<String>,
    /// Glob on the container id (never matches host processes).
    pub container: Option<String>,
    /// Glob on the pod uid (never matches outside a pod).
    pub pod: Option<String>,
    /// Glob on the Kubernetes namespace (never matches outside a named pod).
    pub namespace: Option<String>,
    /// `key=glob`: the pod has label `key` with a value matching `glob`.
    pub pod_label: Option<String>,
    /// Glob on the container's image or image digest.
    pub image: Option<String>,
    /// Only mute findings whose severity is at most this.
    pub max_severity: Option<f32>,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A suppression glob does not parse.
    #[error("suppression rule `{rule}`: field `{field}`: invalid glob `{pattern}`: {source}")]
    InvalidGlob {
        /// The rule's name.
        rule: String,
        /// Which field.
        field: &'static str,
        /// The pattern as written.
        pattern: String,
        /// Why it does not parse.
        source: globset::Error,
    },
    /// A suppression rule's `pod_label` is not `key=glob`.
    #[error("suppression rule `{rule}`: field `pod_label`: `{text}` is not `key=glob`")]
    InvalidLabel {
        /// The rule's name.
        rule: String,
        /// The value as written.
        text: String,
    },
    /// A suppression rule sets no field, so it would mute everything.
    #[error("suppression rule `{rule}` sets no field; it would mute every finding")]
    EmptyRule {
        /// The rule's name.
        rule: String,
    },
    /// A setting is out of range.
    #[error("findings setting `{key}`: {reason}")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

impl MergeConfig {
    /// Checks values that serde cannot, naming the offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.window.is_zero() {
            return Err(ConfigError::OutOfRange {
                key: "window",
                reason: "must be longer than zero",
            });
        }
        if self.max_open == 0 {
            return Err(ConfigError::OutOfRange {
                key: "max_open",
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_to_missing_keys() {
        let config: MergeConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, MergeConfig::default());
        assert_eq!(config.window, Duration::from_secs(300));
    }

    #[test]
    fn durations_accept_text_and_seconds() {
        let config: MergeConfig =
            serde_json::from_str(r#"{"window": "90s", "update_interval": 3}"#).unwrap();
        assert_eq!(config.window, Duration::from_secs(90));
        assert_eq!(config.update_interval, Duration::from_secs(3));
        let err = serde_json::from_str::<MergeConfig>(r#"{"window": "soon"}"#).unwrap_err();
        assert!(err.to_string().contains("invalid duration `soon`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = serde_json::from_str::<MergeConfig>(r#"{"windw": "5m"}"#).unwrap_err();
        assert!(err.to_string().contains("windw"), "{err}");
    }
}
