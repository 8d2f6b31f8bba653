//! Command-line flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Runtime threat detection: an eBPF sensor feeding sandboxed WebAssembly
/// detectors that report unified findings.
#[derive(Debug, Parser)]
#[command(name = "harrier", version, about)]
pub struct Cli {
    /// More logging (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent: attach the sensor, load detectors, print findings as
    /// JSON lines on stdout until SIGINT/SIGTERM. Needs root.
    Run(RunArgs),
    /// Record live events to a capture file (JSON lines). Needs root.
    Record(RecordArgs),
    /// Run the detectors over a capture file and print findings.
    Replay(ReplayArgs),
    /// Test one detector component against a capture, like a unit test:
    /// print its findings and compare them with an expectation file.
    Test(TestArgs),
    /// Start a detector project in Rust, Python, JavaScript or C that builds
    /// to a component (`make`) and passes its own test (`make test`).
    #[command(subcommand)]
    New(NewCommand),
    /// List detectors: from the running agent's admin socket if it is up,
    /// else the set `run` would load.
    Plugins(PluginsArgs),
    /// Rule packs: keys, building, signing, verifying, installing.
    #[command(subcommand)]
    Pack(harrier_packs::cli::PackCommand),
    /// Write the built-in detectors as a rule pack directory (to sign and
    /// verify like any vendor pack).
    ExportDefaultPack(crate::commands::export::ExportArgs),
    /// The fleet over NATS JetStream: set-up, node status, pack rollout.
    #[command(subcommand)]
    Fleet(crate::commands::fleet::FleetCommand),
    /// Consume every node's findings from JetStream: cluster-wide merging
    /// and attack sequences, to stdout, files or webhooks.
    Collector(crate::commands::fleet::CollectorArgs),
    /// Benchmarks; each ends its output with one JSON line of figures.
    #[command(subcommand)]
    Bench(crate::commands::bench::BenchCommand),
    /// Workloads run by `bench overhead` in a child process (so the sensor,
    /// which ignores the agent's own pid, sees them).
    #[command(hide = true)]
    BenchWorker(crate::commands::bench::WorkerArgs),
}

/// Options shared by every command that loads detectors.
#[derive(Debug, Args, Clone, Default)]
pub struct DetectorArgs {
    /// Agent configuration file (TOML). Every option has a default.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Extra directory of detector components (*.wasm); may be repeated.
    /// Watched: files added, changed or removed are hot-swapped.
    #[arg(long = "plugins", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Directory of installed rule packs to load.
    #[arg(long, value_name = "DIR")]
    pub packs: Option<PathBuf>,
    /// Directory of trusted public keys for rule packs.
    #[arg(long, value_name = "DIR")]
    pub trust: Option<PathBuf>,
    /// Load unsigned packs (development only; shown as unsigned everywhere).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Do not load the detectors built into the binary.
    #[arg(long)]
    pub no_default_pack: bool,
    /// Extra directory of threat-intelligence feeds (plain lists, CSV, STIX
    /// 2.1 JSON); may be repeated. Watched: changed feeds are reloaded.
    #[arg(long = "intel", value_name = "DIR")]
    pub intel_dirs: Vec<PathBuf>,
}

/// Options shared by commands that print findings.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Where findings go: `stdout`, `file:PATH`, `webhook:URL`; may be
    /// repeated. Default: stdout.
    #[arg(long = "output", short = 'o', value_name = "SINK")]
    pub outputs: Vec<String>,
    /// Finding format: native, ocsf or falco.
    #[arg(long)]
    pub format: Option<String>,
}

/// `harrier run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub detectors: DetectorArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Admin socket (plugin status, Prometheus metrics).
    #[arg(long, value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,
}

/// `harrier record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Capture file to write.
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Event kinds to record (comma-separated names); default all.
    #[arg(long, value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long, value_parser = parse_seconds)]
    pub duration: Option<std::time::Duration>,
    /// Agent configuration file (sensor and enrichment settings).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

/// `harrier replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture file written by `harrier record`.
    pub capture: PathBuf,
    #[command(flatten)]
    pub detectors: DetectorArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `harrier test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The detector component (`.wasm`) to test.
    pub component: PathBuf,
    /// Capture file (the `harrier record` format) to feed it.
    #[arg(long, value_name = "CAPTURE")]
    pub events: PathBuf,
    /// The detector's configuration: a JSON object, or a file holding one.
    #[arg(long, value_name = "JSON")]
    pub config: Option<String>,
    /// Expected findings (one JSON finding per line); exit non-zero on any
    /// difference.
    #[arg(long, value_name = "FINDINGS")]
    pub expect: Option<PathBuf>,
    /// Write the findings to the --expect file instead of comparing.
    #[arg(long, requires = "expect")]
    pub update: bool,
    /// Grant a permission (`wasi:cli`, `wasi:clocks`, `wasi:random`,
    /// `intel`, `workload`), as `[plugins.permissions]` does; repeatable.
    /// Without it, what the agent configuration grants the file's name.
    #[arg(long = "grant", value_name = "PERMISSION")]
    pub grants: Vec<harrier_plugins::Permission>,
    /// Agent configuration (TOML) for the engine, limits and enrichment;
    /// every option has a default.
    #[arg(long, value_name = "FILE")]
    pub agent_config: Option<PathBuf>,
}

/// `harrier new`.
#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A detector: source, native tests, a capture and the findings expected
    /// from it, the contract and the language's SDK vendored in.
    Detector(NewDetectorArgs),
}

/// `harrier new detector`.
#[derive(Debug, Args)]
pub struct NewDetectorArgs {
    /// The detector's name: lower-case words joined by `-` (`kubectl-exec`).
    pub name: String,
    /// The language: rust, python, js or c.
    #[arg(long)]
    pub lang: harrier_authoring::Language,
    /// Where to write it (must not exist or be empty); default `./NAME`.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// `harrier plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    pub detectors: DetectorArgs,
    /// Admin socket of a running agent.
    #[arg(long, value_name = "PATH")]
    pub admin_socket: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Longest `--duration` accepted: 100 years.
const MAX_SECONDS: f64 = 100.0 * 365.0 * 86_400.0;

/// A number of seconds (fractions allowed), from 0 to 100 years.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(0.0..=MAX_SECONDS).contains(&seconds) {
        return Err(format!(
            "`{text}` is out of range: expected 0 to {MAX_SECONDS} seconds (100 years)"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;

    #[test]
    fn durations_out_of_range_are_refused_not_panicked_on() {
        assert_eq!(parse_seconds("1.5").unwrap().as_millis(), 1500);
        for bad in ["1e20", "-1", "NaN", "inf", "soon"] {
            let err = parse_seconds(bad).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
