//! `harrier run`: the live agent.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use harrier_catalog::{WatchConfig, Watcher};
use harrier_enrich::Enricher;
use harrier_intel::{IntelStore, ResolvedNames};
use harrier_pipeline::{Agent, EnricherServices};
use harrier_runtime::{NodeIdentity, RuntimeMetadata};
use harrier_sensor::{LiveSensor, SensorConfig};

use super::{admin, assemble, require_root, shutdown_sinks, signals};
use crate::catalog;
use crate::cli::RunArgs;
use crate::config::Config;
use crate::live::{LiveSource, apply_interest};

/// Attach the sensor, load detectors, print findings until stopped.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.detectors.config.as_deref())?;
    config.apply_detector_args(&args.detectors);
    config.apply_output_args(&args.output);
    if let Some(socket) = args.admin_socket {
        config.admin.socket = socket;
    }
    require_root("harrier run")?;
    if config.admin.enabled {
        admin::check_path(&config.admin.socket)?;
    }
    let started = Instant::now();
    let node = NodeIdentity::from_env(
        config.findings.node.as_deref(),
        config.findings.cluster.as_deref(),
    );
    config.findings.node = node.node_name;
    config.findings.cluster = node.cluster_name;

    let enricher = Arc::new(Enricher::new(config.enrich.clone()));
    let runtime = start_runtime(&config, &enricher)?;
    let seeded = enricher.seed_from_proc().context("reading /proc")?;
    let services = Arc::new(EnricherServices::live(enricher).with_intel(
        Arc::new(IntelStore::new()),
        Arc::new(ResolvedNames::with_capacity(config.intel.resolved_capacity)),
    ));
    let assembled = assemble(&config, services.clone())?;

    let mut sensor = LiveSensor::start(&SensorConfig {
        ring_buffer_bytes: config.sensor.ring_buffer_bytes,
        max_args: config.sensor.max_args,
        exclude_pids: vec![std::process::id()],
    })?;
    // Switch on what detectors want before saying ready, so nothing that
    // happens after `ready` is missed.
    apply_interest(&mut sensor, &assembled.pipeline.detectors().interest())?;
    let attached = sensor.features().attached.len();

    let intel_watcher = assembled.intel.watch(services.intel().clone())?;
    let detectors = assembled.pipeline.detectors().len();
    let standing_by = assembled.pipeline.detectors().standing_by();
    let (agent, handle) = Agent::new(
        assembled.pipeline,
        Box::new(LiveSource(sensor)),
        config.agent.agent_config(),
    );
    let watcher = if catalog::watchable(&config) {
        Some(Watcher::start(
            assembled.catalog,
            catalog::compiler(assembled.engine.clone(), services.clone()),
            handle.clone(),
            WatchConfig::default(),
        )?)
    } else {
        None
    };
    let rescan = watcher.as_ref().map(Watcher::rescan_handle);
    let stop = handle.clone();
    signals::spawn(
        move || stop.stop(),
        move || {
            tracing::info!("SIGHUP: rescanning plugin directories and packs");
            if let Some(rescan) = &rescan {
                rescan.rescan();
            }
        },
    )?;
    let admin_state = admin::AdminState {
        handle: handle.clone(),
        sinks: assembled.sinks.clone(),
        runtime: runtime.clone(),
        services: services.clone(),
    };
    let admin = if config.admin.enabled {
        Some(admin::serve(&config.admin.socket, admin_state.clone())?)
    } else {
        None
    };
    // The state holds the outputs: only the servers may keep it, so the
    // outputs are flushed once they stop.
    let metrics_listener = match &config.admin.metrics_address {
        Some(address) => Some(admin::serve_tcp(address, admin_state)?),
        None => {
            drop(admin_state);
            None
        }
    };

    let member = super::fleet::join(
        &config,
        &assembled.node,
        handle.clone(),
        assembled.sinks.clone(),
    )?;

    // Start-up parsed the kernel's BTF and compiled every detector; give the
    // freed heap back so the steady-state footprint is what the agent uses.
    // SAFETY: malloc_trim only releases free memory of glibc's heap.
    unsafe { libc::malloc_trim(0) };
    tracing::info!(
        detectors,
        standing_by,
        refused = assembled.refused.len(),
        programs = attached,
        processes = seeded,
        startup_ms = started.elapsed().as_millis() as u64,
        "ready: sensor attached and detectors loaded"
    );
    let pipeline = std::thread::Builder::new()
        .name("harrier-pipeline".into())
        .spawn(move || agent.run())?
        .join()
        .map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))??;

    let stats = pipeline.stats();
    drop(pipeline);
    drop(watcher);
    drop(intel_watcher);
    drop(admin);
    drop(metrics_listener);
    drop(runtime);
    if let Some(member) = member {
        member.stop();
    }
    shutdown_sinks(assembled.sinks);
    drop(assembled.engine);
    tracing::info!(
        batches = stats.batches,
        findings = stats.raw_findings,
        emissions = stats.emissions,
        "stopped"
    );
    Ok(())
}

/// Starts the container-runtime metadata source (unless disabled) and gives
/// it to the enricher.
fn start_runtime(
    config: &Config,
    enricher: &Arc<Enricher>,
) -> anyhow::Result<Option<Arc<RuntimeMetadata>>> {
    if !config.runtime.enabled {
        return Ok(None);
    }
    let runtime =
        Arc::new(RuntimeMetadata::start(&config.runtime).context("starting runtime clients")?);
    enricher.set_workload_source(runtime.clone());
    Ok(Some(runtime))
}
