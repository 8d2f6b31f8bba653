//! The agent's configuration file (TOML). Every option has a default; the
//! documented defaults live in config/harrier.toml, which a test keeps equal
//! to `Config::default()`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use harrier_enrich::EnrichConfig;
use harrier_findings::{MergeConfig, SinkSettings};
use harrier_packs::PacksConfig;
use harrier_pipeline::QuarantinePolicy;
use harrier_pipeline::agent::AgentConfig;
use harrier_plugins::{EngineConfig, PluginLimits, ShadowMode};
use serde::Deserialize;

use crate::cli::{DetectorArgs, OutputArgs};

/// The whole configuration.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[sensor]`: the eBPF sensor.
    pub sensor: SensorSection,
    /// `[enrich]`: process table, hashing, recent writes.
    pub enrich: EnrichConfig,
    /// `[plugins]`: detectors and their sandbox.
    pub plugins: PluginsSection,
    /// `[quarantine]`: when misbehaving detectors are taken out of service.
    pub quarantine: QuarantinePolicy,
    /// `[findings]`: merging, correlation, suppression.
    pub findings: MergeConfig,
    /// `[output]`: sinks and format.
    pub output: OutputSection,
    /// `[packs]`: installed rule packs and trust.
    pub packs: PacksConfig,
    /// `[agent]`: batching and ticks.
    pub agent: AgentSection,
    /// `[admin]`: the local admin endpoint.
    pub admin: AdminSection,
}

/// `[sensor]`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SensorSection {
    /// Ring buffer size in bytes, rounded up to a power of two (4 MiB, about
    /// 80 ms of 200 000 events/s).
    pub ring_buffer_bytes: u32,
    /// Most exec arguments captured per exec (64).
    pub max_args: u32,
}

impl Default for SensorSection {
    fn default() -> Self {
        let d = harrier_sensor::SensorConfig::default();
        Self {
            ring_buffer_bytes: d.ring_buffer_bytes,
            max_args: d.max_args,
        }
    }
}

/// `[plugins]`.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsSection {
    /// Directories of detector components (*.wasm), watched for changes.
    pub dirs: Vec<PathBuf>,
    /// Names of detectors not to load.
    pub disable: Vec<String>,
    /// Don't load the detectors built into the binary (false).
    pub no_default_pack: bool,
    /// Sandbox bounds of every detector.
    pub limits: PluginLimits,
    /// Engine settings (pooling, epoch tick, compiled cache).
    pub engine: EngineConfig,
    /// Per-detector configuration, keyed by detector name (for files in a
    /// plugin directory: the file name without `.wasm`). Merged over the
    /// detector's defaults.
    pub config: BTreeMap<String, toml::Table>,
    /// Detectors run in shadow mode, keyed like `config`: findings marked
    /// `shadow`, counted, written only to `shadow:`/`all:` outputs, until
    /// `until` (RFC 3339), then `off` (unloaded) or `live`.
    pub shadow: BTreeMap<String, ShadowMode>,
}

/// `[output]`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSection {
    /// Sinks: `stdout`, `file:PATH`, `webhook:URL` (["stdout"]).
    pub sinks: Vec<String>,
    /// `native`, `ocsf` or `falco` ("native").
    pub format: String,
    /// `[output.settings]`: queues, file rotation, webhook retries.
    pub settings: SinkSettings,
}

impl Default for OutputSection {
    fn default() -> Self {
        Self {
            sinks: vec!["stdout".into()],
            format: "native".into(),
            settings: SinkSettings::default(),
        }
    }
}

/// `[agent]`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentSection {
    /// Most events per batch (4096).
    pub batch_size: usize,
    /// Longest wait for a batch, in milliseconds (50).
    pub poll_timeout_ms: u64,
    /// Interval of detector ticks and merge windows, in milliseconds (1000).
    pub tick_interval_ms: u64,
    /// Threads that run detectors on each batch (1: the agent stays
    /// within one CPU; more spreads detectors over cores).
    pub workers: usize,
}

impl Default for AgentSection {
    fn default() -> Self {
        let d = AgentConfig::default();
        Self {
            batch_size: d.batch_size,
            poll_timeout_ms: d.poll_timeout.as_millis() as u64,
            tick_interval_ms: d.tick_interval.as_millis() as u64,
            workers: 1,
        }
    }
}

impl AgentSection {
    /// The pipeline loop's settings.
    pub fn agent_config(&self) -> AgentConfig {
        AgentConfig {
            batch_size: self.batch_size.max(1),
            poll_timeout: Duration::from_millis(self.poll_timeout_ms),
            tick_interval: Duration::from_millis(self.tick_interval_ms.max(1)),
            ..AgentConfig::default()
        }
    }
}

/// `[admin]`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSection {
    /// Serve the admin endpoint (true).
    pub enabled: bool,
    /// Unix socket path, root-only ("/run/harrier/admin.sock").
    pub socket: PathBuf,
}

impl Default for AdminSection {
    fn default() -> Self {
        Self {
            enabled: true,
            socket: PathBuf::from("/run/harrier/admin.sock"),
        }
    }
}

impl Config {
    /// Read a configuration file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config {}", path.display()))
    }

    /// Parse configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        Ok(toml::from_str(text)?)
    }

    /// Fold the command-line detector options into the configuration.
    pub fn apply_detector_args(&mut self, args: &DetectorArgs) {
        self.plugins.dirs.extend(args.plugin_dirs.iter().cloned());
        self.plugins.no_default_pack |= args.no_default_pack;
        if let Some(dir) = &args.packs {
            self.packs.dir = Some(dir.clone());
        }
        if let Some(dir) = &args.trust {
            self.packs.trust = Some(dir.clone());
        }
        self.packs.allow_unsigned |= args.allow_unsigned;
    }

    /// Fold the command-line output options into the configuration.
    pub fn apply_output_args(&mut self, args: &OutputArgs) {
        if !args.outputs.is_empty() {
            self.output.sinks = args.outputs.clone();
        }
        if let Some(format) = &args.format {
            self.output.format = format.clone();
        }
    }

    /// Whether packs should be loaded: only when a packs directory was
    /// configured or given.
    pub fn packs_enabled(&self) -> bool {
        self.packs.dir.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_matches_the_defaults() {
        let text = include_str!("../../../config/harrier.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = Config::parse("[plugins]\nlimitz = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limitz"), "{err}");
    }
}
