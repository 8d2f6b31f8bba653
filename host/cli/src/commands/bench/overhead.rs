//! `harrier bench overhead`: what the sensor costs the workloads of a node.
//!
//! Each workload runs in a child process (`harrier bench-worker`), which
//! times itself, because the sensor ignores the agent's own pid. Three
//! phases, in one run: no sensor (baseline), the sensor's hooks attached
//! with every event kind switched off (the floor: what merely enabling the
//! tracepoints costs on this kernel), and the live agent with the default
//! pack. Figures are medians of `--reps` runs, reported as ratios.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use harrier_enrich::Enricher;
use harrier_pipeline::{Agent, EnricherServices};
use harrier_plugins::{PluginEngine, PluginLimits, PluginSource, PluginSpec};
use harrier_sensor::{LiveSensor, SensorConfig};
use serde_json::json;

use super::memory::agent_resident;
use super::{median, rss_bytes};
use crate::commands::{assemble, require_root, shutdown_sinks};
use crate::config::Config;
use crate::live::{LiveSource, apply_interest};

/// Options of `harrier bench overhead`.
#[derive(Debug, Args)]
pub struct OverheadArgs {
    /// Runs of each workload per phase (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Multiplies every workload's size.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
}

/// Options of the hidden `harrier bench-worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// open-close, open-append, exec, connect or archive.
    pub workload: String,
    /// Iterations.
    pub n: u64,
    /// Directory tree for `archive`.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Seconds to run, for `open-rate` (where `n` is opens per second).
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

/// The workloads and their sizes at scale 1.
///
/// `open-close` reads a file no detector reads, so the kernel drops its
/// opens; `open-append` opens a file for writing, which every detector
/// subscribed to file opens gets: the two ends of the open path's cost.
const WORKLOADS: &[(&str, u64)] = &[
    ("open-close", 200_000),
    ("open-append", 200_000),
    ("exec", 1_000),
    ("connect", 10_000),
    ("archive", 10),
];

/// Run one workload in this process and print the seconds it took.
pub fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.workload == "open-rate" {
        // Starts when the parent says so (a line on stdin), so every open
        // happens after the parent knows this pid. Prints opens done.
        std::io::stdin().read_line(&mut String::new())?;
        println!(
            "{}",
            open_at_rate(args.n, Duration::from_secs(args.seconds))?
        );
        return Ok(());
    }
    match args.workload.as_str() {
        "open-close" => {
            for _ in 0..args.n {
                drop(std::fs::File::open("/etc/hostname")?);
            }
        }
        "open-append" => {
            let dir = args.dir.context("open-append needs --dir")?;
            let path = dir.join("appended");
            for _ in 0..args.n {
                drop(
                    std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(&path)?,
                );
            }
        }
        "exec" => {
            for _ in 0..args.n {
                Command::new("/bin/true").status()?;
            }
        }
        "connect" => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let n = args.n;
            let server = std::thread::spawn(move || {
                for stream in listener.incoming().take(n as usize) {
                    let _ = stream.map(|mut s| s.write_all(b"k"));
                }
            });
            for _ in 0..args.n {
                let mut stream = TcpStream::connect(addr)?;
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte)?;
            }
            let _ = server.join();
        }
        "archive" => {
            let dir = args.dir.context("archive needs --dir")?;
            // The generated tree only (the agent writes its findings next to
            // it), into a real file: tar skips reading when writing to /dev/null.
            let mut parts: Vec<_> = std::fs::read_dir(&dir)
                .with_context(|| format!("archive tree {}", dir.display()))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()?;
            parts.retain(|name| name.to_string_lossy().starts_with("dir"));
            let archive = dir.with_extension("tar");
            for _ in 0..args.n {
                let status = Command::new("tar")
                    .arg("-cf")
                    .arg(&archive)
                    .arg("-C")
                    .arg(&dir)
                    .args(&parts)
                    .status()?;
                anyhow::ensure!(status.success(), "tar failed");
            }
            std::fs::remove_file(&archive)?;
        }
        other => anyhow::bail!("unknown workload `{other}`"),
    }
    println!("{}", started.elapsed().as_secs_f64());
    Ok(())
}

/// Open and close a file `rate` times a second for `duration`, in 1 ms
/// slices; the number of opens done.
fn open_at_rate(rate: u64, duration: Duration) -> anyhow::Result<u64> {
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < duration {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while done < due {
            drop(std::fs::File::open("/etc/hostname")?);
            done += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok(done)
}

/// A tree of small files for the everyday (archive) workload.
fn make_tree(root: &Path) -> anyhow::Result<()> {
    for d in 0..40 {
        let dir = root.join(format!("dir{d}"));
        std::fs::create_dir_all(&dir)?;
        for f in 0..50 {
            std::fs::write(dir.join(format!("file{f}.txt")), vec![b'x'; 4096])?;
        }
    }
    Ok(())
}

/// Median seconds of each workload, in a child process.
fn time_workloads(reps: usize, scale: f64, tree: &Path) -> anyhow::Result<Vec<f64>> {
    let exe = std::env::current_exe()?;
    WORKLOADS
        .iter()
        .map(|(name, n)| {
            let n = ((*n as f64) * scale).max(1.0) as u64;
            let samples = (0..reps.max(1))
                .map(|_| {
                    let out = Command::new(&exe)
                        .args(["bench-worker", name, &n.to_string(), "--dir"])
                        .arg(tree)
                        .output()?;
                    anyhow::ensure!(
                        out.status.success(),
                        "workload {name}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    Ok(String::from_utf8(out.stdout)?.trim().parse::<f64>()?)
                })
                .collect::<anyhow::Result<Vec<f64>>>()?;
            Ok(median(samples))
        })
        .collect()
}

fn sensor_config(config: &Config) -> SensorConfig {
    SensorConfig {
        ring_buffer_bytes: config.sensor.ring_buffer_bytes,
        max_args: config.sensor.max_args,
        exclude_pids: vec![std::process::id()],
    }
}

/// Run the benchmark and print its figures.
pub fn run(args: OverheadArgs) -> anyhow::Result<()> {
    require_root("harrier bench overhead")?;
    let tree = tempfile_dir()?;
    make_tree(&tree)?;
    let mut config = Config::default();
    config.admin.enabled = false;
    let sink = tree.join("findings.jsonl");
    config.output.sinks = vec![format!("file:{}", sink.display())];

    eprintln!("baseline: no sensor");
    let baseline = time_workloads(args.reps, args.scale, &tree)?;

    eprintln!("floor: hooks attached, every kind off");
    let floor = {
        let mut sensor = LiveSensor::start(&sensor_config(&config))?;
        sensor.set_enabled(&[])?;
        time_workloads(args.reps, args.scale, &tree)?
    };

    eprintln!("agent: live sensor and the default pack");
    let enricher = Arc::new(Enricher::new(config.enrich.clone()));
    enricher.seed_from_proc()?;
    let assembled = assemble(&config, Arc::new(EnricherServices::live(enricher)))?;
    let mut sensor = LiveSensor::start(&sensor_config(&config))?;
    apply_interest(&mut sensor, &assembled.pipeline.detectors().interest())?;
    let (agent, handle) = Agent::new(
        assembled.pipeline,
        Box::new(LiveSource(sensor)),
        config.agent.agent_config(),
    );
    let thread = std::thread::spawn(move || agent.run());
    std::thread::sleep(Duration::from_millis(200));
    let with_agent = time_workloads(args.reps, args.scale, &tree)?;
    handle.stop();
    let pipeline = thread
        .join()
        .map_err(|_| anyhow::anyhow!("agent thread panicked"))??;
    let status = handle.status();
    let dropped: u64 = status.source_dropped.iter().map(|(_, n)| n).sum();
    let received: u64 = status.source_received.iter().map(|(_, n)| n).sum();
    drop(pipeline);
    shutdown_sinks(assembled.sinks);

    eprintln!("memory: `harrier run` with the default pack, then 50 more detector instances");
    let agent_config = tree.join("agent.toml");
    std::fs::write(
        &agent_config,
        format!(
            "[admin]\nenabled = false\n[output]\nsinks = [\"file:{}\"]\n",
            sink.display()
        ),
    )?;
    let resident = agent_resident(&agent_config, Duration::from_secs(3))?;
    let per_instance = bytes_per_plugin_instance(&assembled.engine)?;
    let rss_50 = resident.total + 50 * per_instance;
    let _ = std::fs::remove_dir_all(&tree);

    let mut rows = serde_json::Map::new();
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>12} {:>12} {:>14}",
        "workload", "base s", "floor s", "agent s", "floor/base", "agent/base", "agent/floor"
    );
    for (i, (name, _)) in WORKLOADS.iter().enumerate() {
        let (b, f, a) = (baseline[i], floor[i], with_agent[i]);
        println!(
            "{name:<12} {b:>10.3} {f:>10.3} {a:>10.3} {:>12.3} {:>12.3} {:>14.3}",
            f / b,
            a / b,
            a / f
        );
        rows.insert(
            name.to_string(),
            json!({"baseline_s": b, "floor_s": f, "agent_s": a, "floor_ratio": f / b, "ratio": a / b, "agent_over_floor": a / f}),
        );
    }
    println!("events received by the agent: {received}, dropped: {dropped}");
    println!(
        "`harrier run` RSS with the default pack: {} MiB ({} MiB allocated, {} MiB mapped: program text and the {} MiB ring buffer, mapped twice); each further detector instance: {} KiB; with 50 more: {} MiB",
        resident.total >> 20,
        resident.anon >> 20,
        resident.mapped >> 20,
        config.sensor.ring_buffer_bytes >> 20,
        per_instance >> 10,
        rss_50 >> 20
    );
    let figures = json!({
        "bench": "overhead",
        "reps": args.reps,
        "workloads": rows,
        "events_received": received,
        "events_dropped": dropped,
        "rss_bytes": resident.total,
        "rss_anon_bytes": resident.anon,
        "rss_mapped_bytes": resident.mapped,
        "plugin_instance_bytes": per_instance,
        "rss_50_plugins_bytes": rss_50,
    });
    println!("{figures}");
    Ok(())
}

/// What one more detector instance adds to the resident set: the growth
/// while 50 instances (the default pack's detectors in turn, compiled
/// already) are loaded, divided by 50.
fn bytes_per_plugin_instance(engine: &PluginEngine) -> anyhow::Result<u64> {
    let before = rss_bytes();
    let detectors = harrier_default_pack::detectors();
    let services: Arc<dyn harrier_plugins::HostServices> =
        Arc::new(harrier_plugins::NoHostServices);
    let plugins = (0..50)
        .map(|i| {
            let d = &detectors[i % detectors.len()];
            let spec = PluginSpec {
                origin: format!("bench:{}#{i}", d.name),
                source: PluginSource::Embedded,
                wasm: Arc::from(d.wasm),
                config_json: d.default_config.to_string(),
                limits: PluginLimits::default(),
                severity_override: None,
                permissions: harrier_plugins::Permissions::NONE,
                shadow: None,
            };
            engine
                .load(spec, services.clone())
                .map_err(anyhow::Error::from)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let grown = rss_bytes().saturating_sub(before);
    drop(plugins);
    Ok(grown / 50)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("harrier-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
