//! `harrier bench pipeline`: the host's event path on one core.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Args;
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::Event;
use harrier_findings::{MergeConfig, Merger};
use harrier_pipeline::{DetectorSet, EnricherServices, Pipeline};
use harrier_plugins::{EngineConfig, Plugin, PluginEngine, PluginLimits, PluginSource, PluginSpec};
use serde_json::json;

use super::super::load_detectors;
use super::{pods, rss_bytes, stream};
use crate::config::Config;

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
    /// Put every process in a Kubernetes pod whose container the workload
    /// source names: every finding then carries container and Kubernetes
    /// sections, every `process` host call a workload.
    #[arg(long)]
    pub in_pods: bool,
}

fn services(in_pods: bool) -> Arc<EnricherServices> {
    let config = EnrichConfig {
        read_proc: false,
        ..EnrichConfig::default()
    };
    let enricher = Arc::new(Enricher::new(config));
    if in_pods {
        enricher.set_workload_source(Arc::new(pods::PodWorkloads::default()));
    }
    Arc::new(EnricherServices::replay(enricher))
}

/// Emissions of a run, and how many of them carried a Kubernetes section.
#[derive(Debug, Default)]
struct Emitted {
    all: AtomicU64,
    with_kubernetes: AtomicU64,
}

/// Events per second of a pipeline over `events`, in batches.
fn throughput(
    set: DetectorSet,
    services: Arc<EnricherServices>,
    events: &[Event],
    batch: usize,
    workers: usize,
) -> (f64, Pipeline, Arc<Emitted>) {
    let merger = Merger::new(MergeConfig {
        node: Some("bench".into()),
        ..MergeConfig::default()
    })
    .expect("default merge config");
    let emitted = Arc::new(Emitted::default());
    let count = emitted.clone();
    let emit = Box::new(move |e: harrier_findings::Emission| {
        count.all.fetch_add(1, Ordering::Relaxed);
        if e.finding.kubernetes.is_some() {
            count.with_kubernetes.fetch_add(1, Ordering::Relaxed);
        }
    });
    let mut pipeline = Pipeline::new(services, set, merger, emit).with_workers(workers);
    let mut work = events.to_vec();
    let started = Instant::now();
    for chunk in work.chunks_mut(batch) {
        pipeline.process(chunk);
    }
    pipeline.finish();
    (
        events.len() as f64 / started.elapsed().as_secs_f64(),
        pipeline,
        emitted,
    )
}

/// Run the benchmark and print its figures.
pub fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let engine = Arc::new(PluginEngine::new(&EngineConfig::default())?);
    let mut config = Config::default();
    config.enrich.read_proc = false;

    let services = services(args.in_pods);
    let load_pack = || -> anyhow::Result<DetectorSet> {
        let (set, _, refused) = load_detectors(&config, &engine, services.clone());
        anyhow::ensure!(
            refused.is_empty(),
            "default pack failed to load: {refused:?}"
        );
        Ok(set)
    };
    let set = load_pack()?;
    // Measured before the synthetic stream takes its share of memory.
    let rss_default_pack = rss_bytes();
    let mut events = stream::generate(args.events);
    if args.in_pods {
        pods::place(&mut events);
    }
    // Baseline: enrichment, routing and merging with no detector at all.
    let (baseline, _, _) = throughput(
        DetectorSet::default(),
        self::services(args.in_pods),
        &events,
        args.batch,
        1,
    );
    let (full, pipeline, emitted) = throughput(set, services.clone(), &events, args.batch, 1);
    let emissions = emitted.all.load(Ordering::Relaxed);
    let stats = pipeline.stats();
    let raw_findings = stats.raw_findings;
    let with_kubernetes = emitted.with_kubernetes.load(Ordering::Relaxed);
    let (parallel, _, _) = throughput(
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
                json!({
                    "events": d.stats.events_in,
                    "ns_per_event": (ns * 10.0).round() / 10.0,
                    "calls": d.stats.calls,
                    "findings": d.stats.findings_out,
                }),
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
                    permissions: harrier_plugins::Permissions::NONE,
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
            "  {name:<22} {:>9} events  {:>7} ns/event  {:>6} calls  {:>6} findings",
            d["events"], d["ns_per_event"], d["calls"], d["findings"]
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
        "runs: {}, findings reported: {raw_findings}, emissions: {emissions}, with a Kubernetes section: {with_kubernetes}",
        stats.batches
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
        "in_pods": args.in_pods,
        "runs": stats.batches,
        "findings_reported": raw_findings,
        "emissions": emissions,
        "emissions_with_kubernetes": with_kubernetes,
    });
    println!("{figures}");
    Ok(())
}
