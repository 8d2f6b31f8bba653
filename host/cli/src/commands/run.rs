//! `harrier run`: the live agent.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use harrier_enrich::Enricher;
use std::path::PathBuf;

use harrier_pipeline::reload::LoadFn;
use harrier_pipeline::{Agent, AgentHandle, EnricherServices, ReloadConfig, Reloader};
use harrier_plugins::{PluginEngine, PluginSource};
use harrier_sensor::{LiveSensor, SensorConfig};

use super::{admin, assemble, require_root, shutdown_sinks, signals};
use crate::cli::RunArgs;
use crate::config::Config;
use crate::live::{LiveSource, apply_interest};
use crate::loader;

/// Attach the sensor, load detectors, print findings until stopped.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.detectors.config.as_deref())?;
    config.apply_detector_args(&args.detectors);
    config.apply_output_args(&args.output);
    if let Some(socket) = args.admin_socket {
        config.admin.socket = socket;
    }
    require_root("harrier run")?;
    let started = Instant::now();

    let enricher = Arc::new(Enricher::new(config.enrich.clone()));
    let seeded = enricher.seed_from_proc().context("reading /proc")?;
    let services = Arc::new(EnricherServices::live(enricher));
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

    let detectors = assembled.pipeline.detectors().len();
    let known = directory_plugins(&assembled.pipeline);
    let (agent, handle) = Agent::new(
        assembled.pipeline,
        Box::new(LiveSource(sensor)),
        config.agent.agent_config(),
    );
    let config = Arc::new(config);
    let reloader = watch_plugin_dirs(&config, known, &assembled.engine, &services, &handle)?;
    let rescan = reloader.as_ref().map(|r| r.rescan_handle());
    let pack_watcher = if config.packs_enabled() {
        Some(crate::pack_watch::start(
            config.clone(),
            assembled.engine.clone(),
            services.clone(),
            handle.clone(),
        )?)
    } else {
        None
    };
    let stop = handle.clone();
    signals::spawn(
        move || stop.stop(),
        move || {
            tracing::info!("SIGHUP: rescanning plugin directories");
            if let Some(rescan) = &rescan {
                let _ = rescan.send(());
            }
        },
    )?;
    let admin = if config.admin.enabled {
        Some(admin::serve(
            &config.admin.socket,
            handle.clone(),
            assembled.sinks.clone(),
        )?)
    } else {
        None
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
    drop(reloader);
    drop(pack_watcher);
    drop(admin);
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

/// Files of plugin directories loaded at start-up: (path, name, sha256).
fn directory_plugins(pipeline: &harrier_pipeline::Pipeline) -> Vec<(PathBuf, String, String)> {
    pipeline
        .detectors()
        .status()
        .into_iter()
        .filter_map(|d| match d.source {
            PluginSource::Directory { path } => Some((path, d.name, d.sha256)),
            _ => None,
        })
        .collect()
}

/// Start hot reload on the configured plugin directories (none: no watcher).
fn watch_plugin_dirs(
    config: &Arc<Config>,
    known: Vec<(PathBuf, String, String)>,
    engine: &Arc<PluginEngine>,
    services: &Arc<EnricherServices>,
    handle: &AgentHandle,
) -> anyhow::Result<Option<Reloader>> {
    if config.plugins.dirs.is_empty() {
        return Ok(None);
    }
    let (config_for_load, engine, services) = (config.clone(), engine.clone(), services.clone());
    let load: LoadFn = Box::new(move |path| {
        let spec = loader::dir_spec(&config_for_load, path).map_err(|e| format!("{e:#}"))?;
        engine
            .load(spec, services.clone())
            .map_err(|e| e.reason.to_string())
    });
    let reloader = Reloader::start(
        config.plugins.dirs.clone(),
        known,
        load,
        handle.clone(),
        ReloadConfig::default(),
    )?;
    Ok(Some(reloader))
}
