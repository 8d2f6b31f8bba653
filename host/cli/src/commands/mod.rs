//! One module per subcommand, plus the assembly they share.

mod admin;
pub mod bench;
pub mod export;
mod metrics;
mod plugins;
mod record;
mod replay;
mod run;
mod signals;
mod test;

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use harrier_findings::{Format, Merger, SinkSpec, Sinks};
use harrier_pipeline::pipeline::EmitFn;
use harrier_pipeline::{DetectorSet, EnricherServices, Pipeline};
use harrier_plugins::PluginEngine;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::loader;

/// Run the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Record(args) => record::record(args),
        Command::Replay(args) => replay::replay(args),
        Command::Test(args) => test::test(args),
        Command::Plugins(args) => plugins::plugins(args),
        Command::Pack(cmd) => harrier_packs::run(
            cmd,
            harrier_events::WIT_VERSION,
            &test::PackVectors::default(),
        ),
        Command::Bench(cmd) => bench::bench(cmd),
        Command::ExportDefaultPack(args) => export::export(args),
        Command::BenchWorker(args) => bench::worker(args),
    }
}

/// Refuse early, in one line, when a command needs root.
fn require_root(what: &str) -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        anyhow::bail!(
            "{what} needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN to load eBPF programs and mount tracefs); run it with sudo"
        );
    }
    Ok(())
}

/// The pieces of an agent, assembled from the configuration.
struct Assembled {
    pipeline: Pipeline,
    sinks: Arc<Sinks>,
    engine: Arc<PluginEngine>,
    refused: Vec<String>,
}

/// Build the engine, load every detector, start the sinks and the merger.
fn assemble(config: &Config, services: Arc<EnricherServices>) -> anyhow::Result<Assembled> {
    let engine =
        Arc::new(PluginEngine::new(&config.plugins.engine).context("starting the plugin engine")?);
    let mut set = DetectorSet::new(config.quarantine.clone());
    let gathered = loader::gather(config);
    for message in &gathered.refused {
        tracing::error!("{message}");
    }
    let mut refused = gathered.refused;
    refused.extend(loader::load_all(
        &engine,
        gathered.specs,
        services.clone(),
        &mut set,
    ));

    let format = Format::from_str(&config.output.format)
        .map_err(|e| anyhow::anyhow!("output format: {e}"))?;
    let specs = config
        .output
        .sinks
        .iter()
        .map(|s| {
            SinkSpec::parse_with(s, &config.output.settings)
                .with_context(|| format!("output `{s}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sinks = Arc::new(Sinks::start(&specs, format).context("starting outputs")?);
    let merger = Merger::new(config.findings.clone()).context("[findings] configuration")?;
    let emit_to = sinks.clone();
    let emit: EmitFn = Box::new(move |emission| emit_to.emit(&emission.finding));
    Ok(Assembled {
        pipeline: Pipeline::new(services, set, merger, emit).with_workers(config.agent.workers),
        sinks,
        engine,
        refused,
    })
}

/// Flush the sinks once the pipeline (which holds the other reference)
/// is gone.
fn shutdown_sinks(sinks: Arc<Sinks>) {
    match Arc::try_unwrap(sinks) {
        Ok(sinks) => {
            let report = sinks.shutdown(std::time::Duration::from_secs(2));
            tracing::debug!(?report, "outputs flushed");
        }
        Err(_) => tracing::warn!("outputs still in use at shutdown; not flushed"),
    }
}
