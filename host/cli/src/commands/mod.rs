//! One module per subcommand, plus the assembly they share.

mod admin;
mod admin_request;
pub mod bench;
pub mod export;
pub mod fleet;
mod metrics;
mod new;
mod outputs;
mod plugins;
mod record;
mod replay;
mod run;
mod signals;
mod test;

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use harrier_catalog::Catalog;
use harrier_findings::{Format, Merger};
use harrier_pipeline::pipeline::EmitFn;
use harrier_pipeline::{DetectorKey, DetectorSet, EnricherServices, Pipeline};
use harrier_plugins::PluginEngine;

use crate::catalog;
use crate::cli::{Cli, Command};
use crate::config::Config;

/// Run the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Record(args) => record::record(args),
        Command::Replay(args) => replay::replay(args),
        Command::Test(args) => test::test(args),
        Command::New(cmd) => new::new(cmd),
        Command::Plugins(args) => plugins::plugins(args),
        Command::Pack(cmd) => harrier_packs::run(
            cmd,
            harrier_events::WIT_VERSION,
            &test::PackVectors::default(),
        ),
        Command::Fleet(cmd) => fleet::fleet(cmd),
        Command::Collector(args) => fleet::collector(args),
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
    sinks: Arc<outputs::Outputs>,
    engine: Arc<PluginEngine>,
    /// The catalog the detectors came from, to keep reconciling (`run`).
    catalog: Catalog,
    refused: Vec<String>,
    intel: crate::intel::LoadedIntel,
    /// The node name written in findings.
    node: String,
}

/// Load threat intelligence, build the engine, load every detector, start
/// the sinks and the merger.
fn assemble(config: &Config, services: Arc<EnricherServices>) -> anyhow::Result<Assembled> {
    let engine =
        Arc::new(PluginEngine::new(&config.plugins.engine).context("starting the plugin engine")?);
    let mut intel = crate::intel::load(&config.intel, services.intel())?;
    let (set, catalog, mut refused) = load_detectors(config, &engine, services.clone());
    refused.append(&mut intel.refused);
    check_detectors(config, &set, &refused)?;

    let format = Format::from_str(&config.output.format)
        .map_err(|e| anyhow::anyhow!("output format: {e}"))?;
    let merger = Merger::new(config.findings.clone()).context("[findings] configuration")?;
    let node = merger.node().to_string();
    let sinks = Arc::new(outputs::Outputs::start(config, format, &node)?);
    let emit_to = sinks.clone();
    let emit: EmitFn = Box::new(move |emission| emit_to.emit(&emission.finding));
    Ok(Assembled {
        pipeline: Pipeline::new(services, set, merger, emit).with_workers(config.agent.workers),
        sinks,
        engine,
        catalog,
        refused,
        intel,
        node,
    })
}

/// Refuse to start with no detector serving (unless `[agent]
/// allow_no_detectors`) when refusals emptied the set or nothing watched
/// could fill it later, and warn about per-detector tables that name no
/// loaded detector.
fn check_detectors(config: &Config, set: &DetectorSet, refused: &[String]) -> anyhow::Result<()> {
    let status = set.status();
    if status.is_empty() && !config.agent.allow_no_detectors {
        if !refused.is_empty() || !catalog::watchable(config) {
            anyhow::bail!(
                "no detector serving: {} refused and none loaded, so nothing would be detected; fix the errors above or set [agent] allow_no_detectors = true to start anyway",
                refused.len()
            );
        }
        tracing::warn!(
            "no detector serving yet: waiting for the plugin directories and packs to provide one"
        );
    }
    let loaded: std::collections::BTreeSet<String> = status
        .iter()
        .flat_map(|d| {
            let file = match &d.source {
                harrier_plugins::PluginSource::Directory { path } => {
                    Some(DetectorKey::File { path: path.clone() }.config_name())
                }
                _ => None,
            };
            std::iter::once(d.name.clone()).chain(file)
        })
        .collect();
    for key in config.unmatched_detector_keys(&loaded) {
        tracing::warn!(
            "{key} names no loaded detector (loaded: {}); its settings apply to nothing",
            loaded.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// One catalog round into a new detector set: every refusal is logged
/// (naming the culprit) and returned; the rest load.
fn load_detectors(
    config: &Config,
    engine: &Arc<PluginEngine>,
    services: Arc<EnricherServices>,
) -> (DetectorSet, Catalog, Vec<String>) {
    let mut set = DetectorSet::new(config.quarantine.clone());
    let mut catalog = catalog::build(config, services.intel().clone());
    let round = catalog.reconcile(&mut set, &*catalog::compiler(engine.clone(), services));
    for message in &round.refused {
        tracing::error!("{message}");
    }
    (set, catalog, round.refused)
}

/// Flush the sinks once the pipeline (which holds the other reference)
/// is gone.
fn shutdown_sinks(sinks: Arc<outputs::Outputs>) {
    match Arc::try_unwrap(sinks) {
        Ok(sinks) => {
            let report = sinks.shutdown(std::time::Duration::from_secs(2));
            let losses = report.losses();
            for loss in &losses {
                tracing::warn!("{loss}");
            }
            if losses.is_empty() {
                tracing::info!("outputs flushed: every finding delivered");
            }
            tracing::debug!(?report, "outputs flushed");
        }
        Err(_) => tracing::warn!("outputs still in use at shutdown; not flushed"),
    }
}
