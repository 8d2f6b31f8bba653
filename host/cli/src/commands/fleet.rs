//! `harrier fleet` (init, status, publish, rollback), `harrier collector`,
//! and the agent's fleet membership (`[fleet] enabled`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Args, Subcommand};
use harrier_findings::{Format, SinkSpec, Sinks};
use harrier_fleet::connect::{Patience, jetstream};
use harrier_fleet::member::{Member, PackTarget};
use harrier_fleet::status::{LocalStatus, ServingDetector, ServingPack};
use harrier_pipeline::AgentHandle;
use harrier_plugins::PluginSource;

use super::outputs::Outputs;
use crate::cli::OutputArgs;
use crate::config::Config;

/// Where the fleet commands find the server.
#[derive(Debug, Args, Clone)]
pub struct FleetArgs {
    /// Configuration file ([output.nats] server and credentials, [fleet]
    /// bucket names).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// NATS server URL (overrides [output.nats] url).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

/// `harrier fleet`.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Create the findings stream, the status and packs buckets and the pack
    /// object store (operator, once).
    Init(FleetArgs),
    /// One line per node from the status bucket; stale nodes flagged.
    Status {
        #[command(flatten)]
        args: FleetArgs,
        /// Print the records as JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Put a signed pack (directory or .tar.gz) in the object store and make
    /// it the desired version of its pack.
    Publish {
        #[command(flatten)]
        args: FleetArgs,
        /// The pack.
        pack: PathBuf,
        /// Only nodes whose labels match (`node=NAME`, `cluster=NAME` or a
        /// `[fleet.labels]` key); may be repeated. Others keep the release
        /// before.
        #[arg(long = "select", value_name = "KEY=VALUE")]
        select: Vec<String>,
    },
    /// Drop the newest release of a pack; nodes return to the one before.
    Rollback {
        #[command(flatten)]
        args: FleetArgs,
        /// The pack's name.
        name: String,
    },
}

/// `harrier collector`.
#[derive(Debug, Args)]
pub struct CollectorArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn load(args: &FleetArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(url) = &args.nats {
        config.output.nats.url = url.clone();
    }
    Ok(config)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Run one `harrier fleet` command.
pub fn fleet(command: FleetCommand) -> anyhow::Result<()> {
    let args = match &command {
        FleetCommand::Init(args)
        | FleetCommand::Status { args, .. }
        | FleetCommand::Publish { args, .. }
        | FleetCommand::Rollback { args, .. } => args.clone(),
    };
    let config = load(&args)?;
    let (nats, fleet) = (&config.output.nats, &config.fleet);
    runtime()?.block_on(async {
        let js = jetstream(nats, "harrier fleet", Patience::Now).await?;
        match command {
            FleetCommand::Init(_) => {
                harrier_fleet::setup::ensure(&js, nats, fleet).await?;
                println!(
                    "stream {} (subjects {}), buckets {} and {}, object store {}: ready",
                    nats.stream,
                    harrier_fleet::subject::wildcard(&nats.subject),
                    fleet.status_bucket,
                    fleet.packs_bucket,
                    fleet.packs_store
                );
            }
            FleetCommand::Status { json, .. } => {
                let nodes = harrier_fleet::status::read_all(&js, &fleet.status_bucket).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&nodes)?);
                } else {
                    let now = harrier_fleet::status::now_ms();
                    print!(
                        "{}",
                        harrier_fleet::status::table(&nodes, now, fleet.stale_after)
                    );
                }
            }
            FleetCommand::Publish { pack, select, .. } => {
                let selector = harrier_fleet::rollout::parse_selector(&select)?;
                let release = harrier_fleet::rollout::publish(&js, fleet, &pack, selector).await?;
                println!(
                    "published {} as {} (sha256 {}){}",
                    pack.display(),
                    release.object,
                    release.sha256,
                    if release.selector.is_empty() {
                        String::new()
                    } else {
                        format!(" for nodes matching {:?}", release.selector)
                    }
                );
            }
            FleetCommand::Rollback { name, .. } => {
                match harrier_fleet::rollout::rollback(&js, fleet, &name).await? {
                    Some(release) => println!("{name}: back to {}", release.version),
                    None => println!("{name}: no release left"),
                }
            }
        }
        Ok(())
    })
}

/// `harrier collector`: consume every node's findings until SIGINT/SIGTERM.
pub fn collector(args: CollectorArgs) -> anyhow::Result<()> {
    let mut config = load(&args.fleet)?;
    config.apply_output_args(&args.output);
    let format = Format::from_str(&config.output.format)
        .map_err(|e| anyhow::anyhow!("output format: {e}"))?;
    let specs = config
        .output
        .sinks
        .iter()
        .map(|s| {
            anyhow::ensure!(
                !s.starts_with("nats://") && !s.starts_with("tls://"),
                "output `{}`: a collector writes to stdout, files or webhooks",
                harrier_fleet::subject::redact(s)
            );
            SinkSpec::parse_with(s, &config.output.settings)
                .with_context(|| format!("output `{s}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sinks = Sinks::start(&specs, format).context("starting outputs")?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    super::signals::spawn(move || flag.store(true, Ordering::Relaxed), || {})?;
    let stats = runtime()?.block_on(async {
        let mut collector = harrier_fleet::collector::Collector::start(
            &config.output.nats,
            &config.fleet,
            &config.collector,
        )
        .await?;
        tracing::info!(durable = %config.collector.durable, "ready: collector consuming");
        collector.run(&sinks, stop).await?;
        anyhow::Ok(collector.stats())
    })?;
    sinks.shutdown(std::time::Duration::from_secs(2));
    tracing::info!(stats = %serde_json::to_string(&stats)?, "collector stopped");
    Ok(())
}

/// Starts the agent's fleet membership when `[fleet] enabled`.
pub fn join(
    config: &Config,
    node: &str,
    agent: AgentHandle,
    outputs: Arc<Outputs>,
) -> anyhow::Result<Option<Member>> {
    if !config.fleet.enabled {
        return Ok(None);
    }
    let packs = if config.packs_enabled() {
        Some(PackTarget {
            packs_dir: config.packs.packs_dir(),
            trust_dir: config.packs.trust_dir(),
            verify: config.packs.verify_options(harrier_events::WIT_VERSION)?,
        })
    } else {
        None
    };
    let local = Box::new(move || local_status(&agent, &outputs));
    Member::start(&config.output.nats, &config.fleet, node, packs, local).map(Some)
}

/// What the agent serves and lost, for its status record.
fn local_status(agent: &AgentHandle, outputs: &Outputs) -> LocalStatus {
    let status = agent.status();
    let mut packs = BTreeMap::new();
    let detectors = status
        .detectors
        .iter()
        .map(|d| {
            let source = match &d.source {
                PluginSource::Embedded => "embedded".to_string(),
                PluginSource::Directory { path } => path.display().to_string(),
                PluginSource::Pack { pack, version, .. } => {
                    packs.insert(pack.clone(), version.clone());
                    format!("pack:{pack}@{version}")
                }
            };
            ServingDetector {
                name: d.name.clone(),
                version: d.version.clone(),
                sha256: d.sha256.clone(),
                source,
            }
        })
        .collect();
    let buses = outputs.bus_stats();
    // The bus sinks' own queue losses show as spool overflow.
    let sinks: Vec<_> = outputs
        .sink_stats()
        .into_iter()
        .filter(|s| !buses.iter().any(|b| b.name == s.name))
        .collect();
    let drops: BTreeMap<String, u64> = BTreeMap::from([
        (
            "sensor".to_string(),
            status.source_dropped.iter().map(|(_, n)| n).sum(),
        ),
        (
            "sinks".to_string(),
            sinks.iter().map(|s| s.dropped + s.failed).sum(),
        ),
        (
            "spool_overflow".to_string(),
            buses.iter().map(|b| b.overflowed).sum(),
        ),
    ]);
    LocalStatus {
        detectors,
        packs: packs
            .into_iter()
            .map(|(name, version)| ServingPack { name, version })
            .collect(),
        drops,
        last_error: buses.iter().find_map(|b| b.last_error.clone()),
    }
}
