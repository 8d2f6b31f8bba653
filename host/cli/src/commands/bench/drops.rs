//! `harrier bench drops`: ramp the event rate until the sensor drops, and
//! check that what was generated equals what arrived plus what was counted
//! as dropped.
//!
//! Child processes (`harrier bench-worker open-rate`, `--generators` of
//! them) open a file at a fixed rate between them; the agent (live sensor,
//! default pack, one pipeline thread) runs in this process and counts the
//! events of their pids.

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use harrier_enrich::Enricher;
use harrier_events::EventKind;
use harrier_pipeline::EnricherServices;
use harrier_sensor::{LiveSensor, SensorConfig};
use serde_json::json;

use crate::commands::{assemble, require_root, shutdown_sinks};
use crate::config::Config;
use crate::live::apply_interest;

/// Options of `harrier bench drops`.
#[derive(Debug, Args)]
pub struct DropsArgs {
    /// Event rates to try, in file opens per second, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "50000,100000,200000,400000,800000"
    )]
    pub rates: Vec<u64>,
    /// Seconds at each rate.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Ring buffer size in bytes (default: the agent's default).
    #[arg(long)]
    pub ring_bytes: Option<u32>,
    /// Processes sharing each rate: one process cannot open much faster than
    /// about 140 000 files/s here with the sensor attached.
    #[arg(long, default_value_t = 2)]
    pub generators: u32,
}

/// One step of the ramp.
struct Step {
    rate: u64,
    generated: u64,
    received: u64,
    dropped: u64,
    /// Program runs the kernel skipped (a program already running on that
    /// CPU); counted, but not per kind.
    missed: u64,
    achieved: f64,
}

/// Run the ramp and print its figures.
pub fn run(args: DropsArgs) -> anyhow::Result<()> {
    require_root("harrier bench drops")?;
    let mut config = Config::default();
    config.admin.enabled = false;
    let sink =
        std::env::temp_dir().join(format!("harrier-bench-drops-{}.jsonl", std::process::id()));
    config.output.sinks = vec![format!("file:{}", sink.display())];
    if let Some(bytes) = args.ring_bytes {
        config.sensor.ring_buffer_bytes = bytes;
    }
    let mut steps = Vec::new();
    for &rate in &args.rates {
        let step = one_rate(&config, rate, args.seconds, args.generators.max(1))?;
        println!(
            "{:>9} opens/s asked, {:>9.0} achieved: generated {:>9}, received {:>9}, dropped {:>8}, missed {:>5}, exact: {}",
            step.rate,
            step.achieved,
            step.generated,
            step.received,
            step.dropped,
            step.missed,
            step.accounted()
        );
        steps.push(step);
    }
    let _ = std::fs::remove_file(&sink);
    // What the machine achieved, not what was asked for.
    let highest_clean = steps
        .iter()
        .filter(|s| s.dropped == 0 && s.missed == 0)
        .map(|s| s.achieved.round() as u64)
        .max()
        .unwrap_or(0);
    let exact = steps.iter().all(Step::accounted);
    println!(
        "highest rate with zero drops: {highest_clean}/s; counters exact at every step: {exact}"
    );
    let figures = json!({
        "bench": "drops",
        "seconds_per_step": args.seconds,
        "highest_zero_drop_rate": highest_clean,
        "counters_exact": exact,
        "steps": steps.iter().map(|s| json!({
            "rate": s.rate, "achieved": s.achieved.round(), "generated": s.generated,
            "received": s.received, "dropped": s.dropped, "missed": s.missed,
        })).collect::<Vec<_>>(),
    });
    println!("{figures}");
    Ok(())
}

impl Step {
    /// Every generated event either arrived or was counted as lost.
    fn accounted(&self) -> bool {
        self.received + self.dropped + self.missed == self.generated
    }
}

fn one_rate(config: &Config, rate: u64, seconds: u64, generators: u32) -> anyhow::Result<Step> {
    let enricher = Arc::new(Enricher::new(config.enrich.clone()));
    let assembled = assemble(config, Arc::new(EnricherServices::live(enricher)))?;
    let mut pipeline = assembled.pipeline;
    let mut sensor = LiveSensor::start(&SensorConfig {
        ring_buffer_bytes: config.sensor.ring_buffer_bytes,
        max_args: config.sensor.max_args,
        exclude_pids: vec![std::process::id()],
    })?;
    apply_interest(&mut sensor, &pipeline.detectors().interest())?;
    // The worker's opens must reach the agent: this measures the path from
    // kernel to findings, not the in-kernel filter.
    sensor.set_open_prefixes(None)?;

    let worker_pids: Arc<Vec<AtomicU32>> =
        Arc::new((0..generators).map(|_| AtomicU32::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let (pids, finished) = (worker_pids.clone(), done.clone());
    let agent = std::thread::spawn(move || -> anyhow::Result<(u64, u64, u64)> {
        let mut batch = Vec::with_capacity(4096);
        let mut received = 0u64;
        let mut quiet_since: Option<Instant> = None;
        loop {
            batch.clear();
            let n = sensor.poll(&mut batch, 4096, Duration::from_millis(20))?;
            let is_worker = |pid: u32| pids.iter().any(|p| p.load(Ordering::SeqCst) == pid);
            received += batch
                .iter()
                .filter(|e| is_worker_open(&e.detail) && is_worker(e.process.pid))
                .count() as u64;
            pipeline.process(&mut batch);
            // After the worker is done, drain until the ring stays empty.
            if finished.load(Ordering::SeqCst) {
                if n == 0 {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > Duration::from_millis(300) {
                        break;
                    }
                } else {
                    quiet_since = None;
                }
            }
        }
        let stats = sensor.stats();
        pipeline.finish();
        Ok((
            received,
            stats.dropped_of(EventKind::FileOpen),
            stats.missed,
        ))
    });

    let exe = std::env::current_exe()?;
    let share = (rate / u64::from(generators)).max(1).to_string();
    let mut children = Vec::new();
    for slot in worker_pids.iter() {
        let child = Command::new(&exe)
            .args(["bench-worker", "open-rate", &share, "--seconds"])
            .arg(seconds.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        slot.store(child.id(), Ordering::SeqCst);
        children.push(child);
    }
    // Every pid is known before any of them opens a file.
    let started = Instant::now();
    for child in &mut children {
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(b"go\n")?;
    }
    let mut generated = 0u64;
    for child in children {
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "open-rate worker failed");
        generated += String::from_utf8(out.stdout)?.trim().parse::<u64>()?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    let (received, dropped, missed) = agent
        .join()
        .map_err(|_| anyhow::anyhow!("agent thread panicked"))??;
    shutdown_sinks(assembled.sinks);
    Ok(Step {
        rate,
        generated,
        received,
        dropped,
        missed,
        achieved: generated as f64 / elapsed,
    })
}

/// The worker's own opens (not the loader's at its start).
fn is_worker_open(detail: &harrier_events::EventDetail) -> bool {
    matches!(detail, harrier_events::EventDetail::FileOpen(open) if open.path == WORKER_FILE)
}

/// The file the open-rate worker opens.
const WORKER_FILE: &str = "/etc/hostname";
