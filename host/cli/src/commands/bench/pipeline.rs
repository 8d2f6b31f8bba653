//! `harrier bench pipeline`: the host's event path on one core.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::Event;
use harrier_findings::{MergeConfig, Merger};
use harrier_pipeline::{DetectorSet, EnricherServices, Pipeline};
use harrier_plugins::{EngineConfig, Plugin, PluginEngine, PluginLimits, PluginSource, PluginSpec};
use serde_json::json;

use super::{rss_bytes, stream};
use crate::config::Config;
use crate::loader;

/// Options of `harrier bench pipeline`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Events in the synthetic stream.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Events per batch.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// Detector threads for the default-pack figure (a second figure with
    /// 1 thread is always given).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// The detector loaded 1 and 10 times for the copies figure.
    #[arg(long, default_value = "file-access")]
    pub copies_of: String,
}

fn services() -> Arc<EnricherServices> {
    let config = EnrichConfig {
        read_proc: false,
        ..EnrichConfig::default()
    };
    Arc::new(EnricherServices::replay(Arc::new(Enricher::new(config))))
}

/// Events per second of a pipeline over `events`, in batches.
fn throughput(
    set: DetectorSet,
    services: Arc<EnricherServices>,
    events: &[Event],
    batch: usize,
    workers: usize,
) -> (f64, Pipeline) {
    let merger = Merger::new(MergeConfig {
        node: Some("bench".into()),
        ..MergeConfig::default()
    })
    .expect("default merge config");
    let mut pipeline = Pipeline::new(services, set, merger, Box::new(|_| {})).with_workers(workers);
    let mut work = events.to_vec();
    let started = Instant::now();
    for chunk in work.chunks_mut(batch) {
        pipeline.process(chunk);
    }
    pipeline.finish();
    (
        events.len() as f64 / started.elapsed().as_secs_f64(),
        pipeline,
    )
}

/// Run the benchmark and print its figures.
pub fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let engine = PluginEngine::new(&EngineConfig::default())?;
    let mut config = Config::default();
    config.enrich.read_proc = false;

    let services = services();
    let load_pack = || -> anyhow::Result<DetectorSet> {
        let mut set = DetectorSet::default();
        let specs = loader::gather(&config).specs;
        let refused = loader::load_all(&engine, specs, services.clone(), &mut set);
        anyhow::ensure!(
            refused.is_empty(),
            "default pack failed to load: {refused:?}"
        );
        Ok(set)
    };
    let set = load_pack()?;
    // Measured before the synthetic stream takes its share of memory.
    let rss_default_pack = rss_bytes();
    let events = stream::generate(args.events);
    // Baseline: enrichment, routing and merging with no detector at all.
    let (baseline, _) = throughput(
        DetectorSet::default(),
        self::services(),
        &events,
        args.batch,
        1,
    );
    let (full, pipeline) = throughput(set, services.clone(), &events, args.batch, 1);
    let (parallel, _) = throughput(
        load_pack()?,
        services.clone(),
        &events,
        args.batch,
        args.workers,
    );
    let detectors: serde_json::Map<String, serde_json::Value> = pipeline
        .detectors()
        .status()
        .iter()
        .map(|d| {
            let ns = d.stats.busy_ns as f64 / d.stats.events_in.max(1) as f64;
            (
                d.name.clone(),
                json!({"events": d.stats.events_in, "ns_per_event": (ns * 10.0).round() / 10.0}),
            )
        })
        .collect();

    let embedded = harrier_default_pack::detector(&args.copies_of)
        .ok_or_else(|| anyhow::anyhow!("no embedded detector `{}`", args.copies_of))?;
    let copies = |n: usize| -> anyhow::Result<f64> {
        let mut plugins: Vec<Plugin> = (0..n)
            .map(|i| {
                let spec = PluginSpec {
                    origin: format!("bench:{}#{i}", embedded.name),
                    source: PluginSource::Embedded,
                    wasm: Arc::from(embedded.wasm),
                    config_json: embedded.default_config.to_string(),
                    limits: PluginLimits::default(),
                    severity_override: None,
                    shadow: None,
                };
                engine
                    .load(spec, services.clone())
                    .map_err(anyhow::Error::from)
            })
            .collect::<anyhow::Result<_>>()?;
        let started = Instant::now();
        for chunk in events.chunks(args.batch) {
            for plugin in &mut plugins {
                let subs = plugin.subscriptions();
                let routed: Vec<&Event> = chunk
                    .iter()
                    .filter(|e| subs.contains(e.detail.kind()))
                    .collect();
                plugin.on_events(&routed)?;
            }
        }
        Ok(events.len() as f64 / started.elapsed().as_secs_f64())
    };
    let (one, ten) = (copies(1)?, copies(10)?);

    println!(
        "stream: {} events ({} per batch), one core",
        args.events, args.batch
    );
    println!("baseline (enrich + route + merge, no detector): {baseline:>12.0} events/s");
    println!(
        "default pack ({} detectors):                    {full:>12.0} events/s  ({:.2} of baseline)",
        detectors.len(),
        full / baseline
    );
    for (name, d) in &detectors {
        println!(
            "  {name:<22} {:>9} events  {:>7} ns/event",
            d["events"], d["ns_per_event"]
        );
    }
    println!(
        "default pack, detectors on {} threads:       {parallel:>12.0} events/s",
        args.workers
    );
    println!(
        "{} x1:  {one:>12.0} events/s   x10: {ten:>12.0} events/s",
        args.copies_of
    );
    println!(
        "agent RSS with the default pack loaded: {} MiB",
        rss_default_pack >> 20
    );
    let figures = json!({
        "bench": "pipeline",
        "events": args.events,
        "batch": args.batch,
        "baseline_events_per_sec": baseline.round(),
        "events_per_sec": full.round(),
        "ratio": (full / baseline * 1000.0).round() / 1000.0,
        "workers": args.workers,
        "parallel_events_per_sec": parallel.round(),
        "detectors": detectors,
        "copies_of": args.copies_of,
        "copies_1_events_per_sec": one.round(),
        "copies_10_events_per_sec": ten.round(),
        "rss_bytes": rss_default_pack,
    });
    println!("{figures}");
    Ok(())
}
