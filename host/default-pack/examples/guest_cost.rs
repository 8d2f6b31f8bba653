//! Measure what each detector costs per event, and what it finds, through the
//! real plugin runtime (harrier-plugins: wasmtime, pooling, epochs, limits).
//!
//! Loads every embedded detector plus any component files given as
//! arguments (e.g. `target/guests/*.wasm`, which need WASI), runs each one's
//! self-test (the runtime does on load), feeds it the detection fixtures and a
//! benign workload repeated to `HARRIER_COST_EVENTS` events (default 100000)
//! in batches of 256 events of its subscribed kinds, and prints one line per
//! detector.
//!
//! ```text
//! cargo run --release -p harrier-default-pack --example guest_cost -- target/guests/*.wasm
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use harrier_events::Event;
use harrier_events::capture::CaptureReader;
use harrier_plugins::{
    EngineConfig, NoHostServices, Plugin, PluginEngine, PluginLimits, PluginSource, PluginSpec,
};

const BATCH: usize = 256;

fn load_capture(path: &Path) -> anyhow::Result<Vec<Event>> {
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    CaptureReader::new(std::io::BufReader::new(file))
        .with_context(|| path.display().to_string())?
        .collect::<Result<_, _>>()
        .with_context(|| path.display().to_string())
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixtures = root.join("plugins/fixtures");
    let total: usize = std::env::var("HARRIER_COST_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);

    let mut specs: Vec<(String, Arc<[u8]>, String, PluginSource)> =
        harrier_default_pack::detectors()
            .iter()
            .map(|d| {
                (
                    format!("embedded:{}", d.name),
                    Arc::from(d.wasm),
                    d.default_config.to_string(),
                    PluginSource::Embedded,
                )
            })
            .collect();
    for arg in std::env::args().skip(1) {
        let bytes = std::fs::read(&arg).with_context(|| arg.clone())?;
        specs.push((
            arg.clone(),
            Arc::from(bytes),
            "{}".to_string(),
            PluginSource::Directory { path: arg.into() },
        ));
    }

    let mut detect: Vec<(String, Vec<Event>)> = Vec::new();
    for entry in std::fs::read_dir(&fixtures)? {
        let path = entry?.path().join("detect.jsonl");
        if path.is_file() {
            let name = path
                .parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            detect.push((name, load_capture(&path)?));
        }
    }
    detect.sort_by(|a, b| a.0.cmp(&b.0));
    let benign = load_capture(&fixtures.join("benign.jsonl"))?;

    // A file-open storm: the hot path of file detectors.
    let opens: Vec<Event> = benign
        .iter()
        .filter(|e| matches!(e.detail, harrier_events::EventDetail::FileOpen(_)))
        .cycle()
        .take(total)
        .cloned()
        .collect();

    let engine = PluginEngine::new(&EngineConfig::default())?;
    println!(
        "{:<28} {:>9} {:>12} {:>12} {:>12} {:>10}  findings on detection fixtures",
        "detector", "size KiB", "load ms", "ns/event", "ns/file-open", "benign M+"
    );
    for (origin, wasm, config, source) in specs {
        let size = wasm.len() / 1024;
        let started = Instant::now();
        let limits = PluginLimits {
            memory_bytes: 256 << 20,
            call_deadline_ms: 5_000,
            ..PluginLimits::default()
        };
        let mut plugin: Plugin = engine
            .load(
                PluginSpec {
                    origin: origin.clone(),
                    source,
                    wasm,
                    config_json: config,
                    limits,
                    severity_override: None,
                    permissions: harrier_plugins::Permissions::NONE,
                    shadow: None,
                },
                Arc::new(NoHostServices),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let load_ms = started.elapsed().as_secs_f64() * 1000.0;
        let subs = plugin.subscriptions();

        let mut found = Vec::new();
        for (name, events) in &detect {
            let mine: Vec<&Event> = events
                .iter()
                .filter(|e| subs.contains(e.detail.kind()))
                .collect();
            let n = plugin
                .on_events(&mine)
                .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?
                .len();
            if n > 0 {
                found.push(format!("{name}:{n}"));
            }
        }

        let mine: Vec<&Event> = benign
            .iter()
            .filter(|e| subs.contains(e.detail.kind()))
            .collect();
        let mut medium = 0;
        let mut fed = 0;
        let started = Instant::now();
        while fed < total && !mine.is_empty() {
            for chunk in mine.chunks(BATCH) {
                medium += plugin
                    .on_events(chunk)
                    .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?
                    .iter()
                    .filter(|f| f.severity >= 4.0)
                    .count();
                fed += chunk.len();
            }
        }
        let ns = started.elapsed().as_nanos() as f64 / fed.max(1) as f64;

        let open_ns = if subs.contains(harrier_events::EventKind::FileOpen) {
            let refs: Vec<&Event> = opens.iter().collect();
            let started = Instant::now();
            for chunk in refs.chunks(BATCH) {
                plugin
                    .on_events(chunk)
                    .map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
            }
            format!(
                "{:.0}",
                started.elapsed().as_nanos() as f64 / refs.len().max(1) as f64
            )
        } else {
            "-".to_string()
        };
        println!(
            "{:<28} {:>9} {:>12.1} {:>12.0} {:>12} {:>10}  {}",
            plugin.name_version(),
            size,
            load_ms,
            ns,
            open_ns,
            medium,
            found.join(" ")
        );
    }
    Ok(())
}
