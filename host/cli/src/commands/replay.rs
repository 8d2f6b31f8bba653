//! `harrier replay`: the detectors over a capture file, deterministically.

use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use anyhow::Context;
use harrier_enrich::Enricher;
use harrier_pipeline::agent::Clock;
use harrier_pipeline::{Agent, EnricherServices, ReplaySource};

use super::{assemble, shutdown_sinks};
use crate::cli::ReplayArgs;
use crate::config::Config;

/// Run a capture through the pipeline and print findings as `run` does.
pub fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.detectors.config.as_deref())?;
    config.apply_detector_args(&args.detectors);
    config.apply_output_args(&args.output);
    // The capture is the only truth: nothing from this machine's /proc.
    config.enrich.read_proc = false;
    let capture = args.capture.display().to_string();
    let file = File::open(&args.capture).with_context(|| format!("capture {capture}"))?;
    let source =
        ReplaySource::new(BufReader::new(file)).with_context(|| format!("capture {capture}"))?;

    let services = Arc::new(EnricherServices::replay(Arc::new(Enricher::new(
        config.enrich.clone(),
    ))));
    let assembled = assemble(&config, services)?;
    // Whatever loaded runs, but a CI check built on replay must not pass
    // when a detector it asked for did not run.
    let loaded = requested_loaded(&args.detectors, &assembled.refused);
    let mut agent_config = config.agent.agent_config();
    agent_config.clock = Clock::Events;
    let (agent, handle) = Agent::new(assembled.pipeline, Box::new(source), agent_config);
    let result = agent.run().and_then(|pipeline| {
        let refused = handle.status().decode_errors;
        if refused > 0 {
            anyhow::bail!("{refused} lines refused (each named above); the rest was replayed");
        }
        Ok(pipeline)
    });
    let outcome = result.map(|pipeline| {
        let stats = pipeline.stats();
        tracing::info!(
            events = stats.events.iter().map(|(_, n)| n).sum::<u64>(),
            findings = stats.raw_findings,
            emissions = stats.emissions,
            "replay finished"
        );
    });
    shutdown_sinks(assembled.sinks);
    outcome.with_context(|| format!("capture {capture}"))?;
    loaded.context("the other detectors replayed the capture")
}

/// An error when a detector or feed asked for did not load: a refusal (not
/// a component, failed init or self-test, unreadable file, pack or feed),
/// or a `--plugins` directory without any `.wasm` file.
fn requested_loaded(args: &crate::cli::DetectorArgs, refused: &[String]) -> anyhow::Result<()> {
    for dir in &args.plugin_dirs {
        if harrier_catalog::directory::plugin_files(dir).is_ok_and(|files| files.is_empty()) {
            anyhow::bail!(
                "plugin directory {} holds no .wasm component",
                dir.display()
            );
        }
    }
    match refused {
        [] => Ok(()),
        [one] => anyhow::bail!("a requested detector or feed did not load: {one}"),
        many => anyhow::bail!(
            "{} requested detectors or feeds did not load: {}",
            many.len(),
            many.join("; ")
        ),
    }
}
