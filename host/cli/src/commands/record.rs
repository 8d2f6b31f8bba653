//! `harrier record`: live events to a capture file.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use harrier_enrich::Enricher;
use harrier_events::EventKind;
use harrier_events::capture::CaptureWriter;
use harrier_sensor::{LiveSensor, SensorConfig};

use super::{require_root, signals};
use crate::cli::RecordArgs;
use crate::config::Config;

/// Record until SIGINT/SIGTERM or `--duration`.
pub fn record(args: RecordArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?;
    let kinds = if args.kinds.is_empty() {
        EventKind::ALL.to_vec()
    } else {
        args.kinds
            .iter()
            .map(|k| EventKind::from_name(k.trim()))
            .collect::<Result<Vec<_>, _>>()?
    };
    require_root("harrier record")?;
    let output = args.output.display().to_string();
    let file = File::create(&args.output).with_context(|| format!("creating {output}"))?;
    let mut writer =
        CaptureWriter::new(BufWriter::new(file)).with_context(|| format!("writing {output}"))?;

    // Events carry what the process table knows (exe, container), so a
    // replay elsewhere sees what the live agent saw.
    let enricher = Enricher::new(config.enrich.clone());
    enricher.seed_from_proc().context("reading /proc")?;
    let mut sensor = LiveSensor::start(&SensorConfig {
        ring_buffer_bytes: config.sensor.ring_buffer_bytes,
        max_args: config.sensor.max_args,
        exclude_pids: vec![std::process::id()],
    })?;
    sensor.set_enabled(&kinds)?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    signals::spawn(move || flag.store(true, Ordering::SeqCst), || {})?;
    let until = args.duration.and_then(|d| Instant::now().checked_add(d));
    tracing::info!(kinds = kinds.len(), output = %output, "ready: recording");

    let mut batch = Vec::with_capacity(4096);
    let mut written = 0u64;
    let mut stopping_since: Option<Instant> = None;
    loop {
        let stopping = stop.load(Ordering::SeqCst) || until.is_some_and(|t| Instant::now() >= t);
        if stopping && stopping_since.is_none() {
            stopping_since = Some(Instant::now());
        }
        batch.clear();
        let timeout = if stopping {
            Duration::ZERO
        } else {
            Duration::from_millis(100)
        };
        let n = sensor.poll(&mut batch, 4096, timeout)?;
        for event in &mut batch {
            enricher.observe(event);
            writer
                .write(event)
                .with_context(|| format!("writing {output}"))?;
        }
        written += n as u64;
        // After a stop, drain what the ring still holds (bounded in time).
        if stopping
            && (n == 0 || stopping_since.is_some_and(|t| t.elapsed() > Duration::from_secs(2)))
        {
            break;
        }
    }
    writer
        .flush()
        .with_context(|| format!("writing {output}"))?;
    let stats = sensor.stats();
    tracing::info!(events = written, dropped = stats.total_dropped(), decode_errors = stats.decode_errors, output = %output, "recording finished");
    Ok(())
}
