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
use crate::loader;

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
    // A CI check built on replay must not pass without running a detector.
    if let Err(e) = requested_loaded(&args.detectors, &assembled.refused) {
        shutdown_sinks(assembled.sinks);
        return Err(e);
    }
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
    outcome.with_context(|| format!("capture {capture}"))
}

/// An error when a detector asked for did not load: a refusal (not a
/// component, failed init or self-test, unreadable file or pack), or a
/// `--plugins` directory without any `.wasm` file.
fn requested_loaded(args: &crate::cli::DetectorArgs, refused: &[String]) -> anyhow::Result<()> {
    for dir in &args.plugin_dirs {
        if loader::wasm_files(dir).is_ok_and(|files| files.is_empty()) {
            anyhow::bail!(
                "plugin directory {} holds no .wasm component",
                dir.display()
            );
        }
    }
    match refused {
        [] => Ok(()),
        [one] => anyhow::bail!("a requested detector did not load: {one}"),
        many => anyhow::bail!(
            "{} requested detectors did not load: {}",
            many.len(),
            many.join("; ")
        ),
    }
}
