//! The agent's configuration file (TOML). Every option has a default; the
//! documented defaults live in config/harrier.toml, which a test keeps equal
//! to `Config::default()`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use harrier_enrich::EnrichConfig;
use harrier_findings::{MergeConfig, SinkSettings};
use harrier_packs::PacksConfig;
use harrier_pipeline::QuarantinePolicy;
use harrier_pipeline::agent::AgentConfig;
use harrier_plugins::limits::check_range;
use harrier_plugins::{EngineConfig, Permissions, PluginLimits, ShadowMode};
use harrier_runtime::RuntimeConfig;
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
    /// `[runtime]`: container runtimes asked for workload names.
    pub runtime: RuntimeConfig,
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
    /// `[intel]`: threat-intelligence feeds.
    pub intel: IntelSection,
    /// `[fleet]`: node status and pack rollout over NATS.
    pub fleet: harrier_fleet::FleetConfig,
    /// `[collector]`: `harrier collector`.
    pub collector: harrier_fleet::CollectorConfig,
}

/// `[intel]`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IntelSection {
    /// Load GuardDuty's public test indicators (true): domains AWS
    /// publishes only to check detection end to end, like the EICAR file.
    pub test_indicators: bool,
    /// Directories of feed files (plain lists, CSV, STIX 2.1 JSON),
    /// watched: a changed feed is reloaded, a bad one refused by name.
    pub dirs: Vec<PathBuf>,
    /// Addresses remembered from DNS answers, to name the domain behind a
    /// connection (65536).
    pub resolved_capacity: usize,
}

impl Default for IntelSection {
    fn default() -> Self {
        Self {
            test_indicators: true,
            dirs: Vec::new(),
            resolved_capacity: harrier_intel::resolved::DEFAULT_CAPACITY,
        }
    }
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
    /// What plugin-directory detectors are granted, keyed like `config`
    /// (the file name without `.wasm`): `wasi:cli`, `wasi:clocks`,
    /// `wasi:random`, `intel`, `workload`. Nothing by default.
    pub permissions: BTreeMap<String, Permissions>,
    /// Detectors run in shadow mode, keyed like `config`: findings marked
    /// `shadow`, counted, written only to `shadow:`/`all:` outputs, until
    /// `until` (RFC 3339), then `off` (unloaded) or `live`.
    pub shadow: BTreeMap<String, ShadowMode>,
}

/// `[output]`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSection {
    /// Sinks: `stdout`, `file:PATH`, `webhook:URL`,
    /// `nats://HOST:PORT[/SUBJECT]` (["stdout"]).
    pub sinks: Vec<String>,
    /// `native`, `ocsf` or `falco` ("native").
    pub format: String,
    /// `[output.settings]`: queues, file rotation, webhook retries.
    pub settings: SinkSettings,
    /// `[output.nats]`: the NATS server, credentials, stream, subject and
    /// spool (also used by `[fleet]` and the collector).
    pub nats: harrier_fleet::NatsConfig,
}

impl Default for OutputSection {
    fn default() -> Self {
        Self {
            sinks: vec!["stdout".into()],
            format: "native".into(),
            settings: SinkSettings::default(),
            nats: harrier_fleet::NatsConfig::default(),
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
    /// Start even when no detector loads (false: a configuration that
    /// leaves nothing serving is refused).
    pub allow_no_detectors: bool,
}

impl Default for AgentSection {
    fn default() -> Self {
        let d = AgentConfig::default();
        Self {
            batch_size: d.batch_size,
            poll_timeout_ms: d.poll_timeout.as_millis() as u64,
            tick_interval_ms: d.tick_interval.as_millis() as u64,
            workers: 1,
            allow_no_detectors: false,
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
    /// TCP `host:port` also serving `/metrics` and `/healthz` (for
    /// Prometheus and Kubernetes probes); unset: none.
    pub metrics_address: Option<String>,
}

impl Default for AdminSection {
    fn default() -> Self {
        Self {
            enabled: true,
            socket: PathBuf::from("/run/harrier/admin.sock"),
            metrics_address: None,
        }
    }
}

/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

impl Config {
    /// Read a configuration file (a regular file of at most
    /// [`MAX_CONFIG_BYTES`]); `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text =
            read_bounded(path).with_context(|| format!("reading config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config {}", path.display()))
    }

    /// Parse configuration text and check its values; deprecated spellings
    /// are accepted with a warning.
    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let (config, deprecated) = Self::parse_noting_deprecated(text)?;
        for message in &deprecated {
            tracing::warn!("{message}");
        }
        config.validate().map_err(anyhow::Error::msg)?;
        Ok(config)
    }

    /// Parse configuration text, and say which deprecated spellings it uses.
    fn parse_noting_deprecated(text: &str) -> anyhow::Result<(Config, Vec<String>)> {
        let table: toml::Table = toml::from_str(text)?;
        let deprecated = table
            .get("packs")
            .and_then(toml::Value::as_table)
            .map(harrier_packs::config::deprecated_keys)
            .unwrap_or_default();
        Ok((toml::from_str(text)?, deprecated))
    }

    /// Check every value is in its range: a configuration the agent would
    /// accept and then be useless (or unresponsive) under is refused.
    pub fn validate(&self) -> Result<(), String> {
        let engine = &self.plugins.engine;
        engine.validate()?;
        self.plugins.limits.validate(engine.max_memory_bytes)?;
        check_range(
            "[plugins.engine] epoch_tick_ms",
            engine.epoch_tick_ms,
            1..=self.plugins.limits.call_deadline_ms.max(1),
        )
        .map_err(|e| format!("{e} ([plugins.limits] call_deadline_ms)"))?;
        check_range(
            "[sensor] ring_buffer_bytes",
            self.sensor.ring_buffer_bytes,
            4096..=(1 << 30),
        )?;
        check_range("[sensor] max_args", self.sensor.max_args, 1..=4096)?;
        check_range("[agent] batch_size", self.agent.batch_size, 1..=1 << 20)?;
        check_range("[agent] workers", self.agent.workers, 1..=256)?;
        check_range(
            "[agent] tick_interval_ms",
            self.agent.tick_interval_ms,
            1..=3_600_000,
        )?;
        check_range(
            "[agent] poll_timeout_ms",
            self.agent.poll_timeout_ms,
            0..=60_000,
        )?;
        if self.output.sinks.is_empty() {
            return Err(
                "[output] sinks = [] leaves findings nowhere to go: name at least one of stdout, file:PATH, webhook:URL"
                    .into(),
            );
        }
        Ok(())
    }

    /// Keys of `[plugins.config.<name>]`, `[plugins.permissions]` and
    /// `[plugins.shadow.<name>]` that
    /// name no detector in `loaded` (detector names and plugin file names):
    /// most likely typos, which would silently switch tuning off.
    pub fn unmatched_detector_keys(&self, loaded: &BTreeSet<String>) -> Vec<String> {
        let config = self.plugins.config.keys().map(|k| ("config", k));
        let permissions = self.plugins.permissions.keys().map(|k| ("permissions", k));
        let shadow = self.plugins.shadow.keys().map(|k| ("shadow", k));
        config
            .chain(permissions)
            .chain(shadow)
            .filter(|(_, key)| !loaded.contains(*key))
            .map(|(table, key)| format!("[plugins.{table}] {key}"))
            .collect()
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
        self.intel.dirs.extend(args.intel_dirs.iter().cloned());
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

/// The text of a regular file of at most [`MAX_CONFIG_BYTES`].
fn read_bounded(path: &Path) -> anyhow::Result<String> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        anyhow::bail!("not a regular file");
    }
    if meta.len() > MAX_CONFIG_BYTES {
        anyhow::bail!(
            "{} bytes, more than the {MAX_CONFIG_BYTES} a configuration may have",
            meta.len()
        );
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        anyhow::bail!("grew past {MAX_CONFIG_BYTES} bytes while being read");
    }
    Ok(text)
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
    fn values_out_of_range_are_refused_with_their_key() {
        for (text, key) in [
            ("[plugins.limits]\nmemory_bytes = 0\n", "memory_bytes = 0"),
            ("[plugins.engine]\nmax_instances = 0\n", "max_instances = 0"),
            (
                "[plugins.limits]\ncall_deadline_ms = 0\n",
                "call_deadline_ms = 0",
            ),
            (
                "[plugins.limits]\nmax_findings_per_call = 0\n",
                "max_findings_per_call = 0",
            ),
            (
                "[plugins.engine]\nepoch_tick_ms = 3600000\n",
                "epoch_tick_ms = 3600000",
            ),
            (
                "[sensor]\nring_buffer_bytes = 4294967295\n",
                "ring_buffer_bytes = 4294967295",
            ),
            ("[output]\nsinks = []\n", "sinks = []"),
            (
                "[plugins.permissions]\nx = [\"wasi:filesystem\"]\n",
                "wasi:filesystem",
            ),
        ] {
            let err = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(err.contains(key), "{text}: {err}");
        }
        // A tick longer than the deadline could never enforce it.
        let err = Config::parse("[plugins.engine]\nepoch_tick_ms = 300\n").unwrap_err();
        assert!(err.to_string().contains("call_deadline_ms"), "{err}");
    }

    #[test]
    fn special_and_oversized_files_are_refused_without_reading_them() {
        for path in ["/dev/zero", "/proc/self", "/"] {
            let err = format!("{:#}", Config::load(Some(Path::new(path))).unwrap_err());
            assert!(err.contains(path), "{err}");
        }
        let big = tempfile::NamedTempFile::new().unwrap();
        big.as_file().set_len(MAX_CONFIG_BYTES + 1).unwrap();
        let err = format!("{:#}", Config::load(Some(big.path())).unwrap_err());
        assert!(err.contains("more than"), "{err}");
    }

    #[test]
    fn tables_for_no_loaded_detector_are_reported() {
        let config = Config::parse(
            "[plugins.config.crypto-minr]\nx = 1\n[plugins.config.crypto-miner]\nx = 1\n[plugins.permissions]\nmy-det = [\"wasi:cli\"]\n",
        )
        .unwrap();
        let loaded: BTreeSet<String> = ["crypto-miner".to_string()].into();
        assert_eq!(
            config.unmatched_detector_keys(&loaded),
            [
                "[plugins.config] crypto-minr",
                "[plugins.permissions] my-det"
            ]
        );
    }

    #[test]
    fn old_packs_spelling_is_accepted_with_a_deprecation() {
        let (config, deprecated) =
            Config::parse_noting_deprecated("[packs]\nallow-unsigned = true\n").unwrap();
        assert!(config.packs.allow_unsigned);
        assert_eq!(deprecated.len(), 1);
        assert!(
            deprecated[0].contains("allow-unsigned") && deprecated[0].contains("allow_unsigned"),
            "{deprecated:?}"
        );
        let (config, deprecated) =
            Config::parse_noting_deprecated("[packs]\nallow_unsigned = true\n").unwrap();
        assert!(config.packs.allow_unsigned && deprecated.is_empty());
    }

    #[test]
    fn the_kubernetes_configmap_is_a_valid_configuration() {
        let manifest = include_str!("../../../deploy/kubernetes/configmap.yaml");
        let (_, block) = manifest
            .split_once("  harrier.toml: |\n")
            .expect("the ConfigMap holds harrier.toml");
        let text: String = block
            .lines()
            .map(|l| l.strip_prefix("    ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::parse(&text).unwrap();
        assert_eq!(config.enrich.proc_root, PathBuf::from("/host/proc"));
        assert_eq!(
            config.admin.metrics_address.as_deref(),
            Some("0.0.0.0:9464")
        );
        assert!(
            config
                .runtime
                .cri_sockets
                .iter()
                .all(|p| p.starts_with("/host/run"))
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = Config::parse("[plugins]\nlimitz = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limitz"), "{err}");
    }
}
