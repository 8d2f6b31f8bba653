//! Fleet benchmarks against a private `nats-server -js` (see BENCHMARKS.md):
//!
//! - throughput and end-to-end latency: `--agents` NATS sinks each emit
//!   `--findings` findings as fast as the sink takes them (or, with
//!   `--rate N`, N findings/s in all, for latency below saturation); one
//!   collector consumes them into a sink that records when each arrived;
//!   latency is emission to the collector's sink, in this one process's
//!   clock;
//! - spool drain rate: findings spooled while the server is down, then the
//!   time to send them all once it is back.
//!
//! `cargo run --release -p harrier-fleet --example fleet_bench -- [--agents N] [--findings N] [--rate N]`
//! Ends with one JSON line of figures.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harrier_findings::{External, ExternalSink, Format, Rendered, Sinks, UnifiedFinding};
use harrier_fleet::collector::Collector;
use harrier_fleet::server::TestServer;
use harrier_fleet::{CollectorConfig, FleetConfig, NatsConfig, NatsSink};

/// Records when each finding reached the collector's sink.
struct Arrivals(Arc<Mutex<HashMap<String, Instant>>>);

impl ExternalSink for Arrivals {
    fn deliver(&mut self, finding: &Rendered) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .entry(format!(
                "{}:{}:{}",
                finding.node, finding.id, finding.revision
            ))
            .or_insert_with(Instant::now);
        Ok(())
    }
}

fn finding(node: &str, n: u64) -> UnifiedFinding {
    serde_json::from_value(serde_json::json!({
        "schema_version": "1.0", "id": format!("{n:032x}"), "revision": 0,
        "type": "Execution:Runtime/ReverseShell", "severity": 8.0, "severity_label": "High",
        "title": "Reverse shell", "description": "a shell with its standard streams on a socket",
        "mitre_technique": "T1059", "detectors": ["execution@0.1.0"], "count": 1,
        "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z", "node": node,
        "process": {"pid": 7, "ppid": 1, "exe": "/bin/sh", "cmdline": "sh -i", "uid": 0, "euid": 0,
                    "user": "root", "exe_sha256": null, "cwd": "/", "ancestry": []},
        "container": {"id": "c0ffee", "pod_uid": null},
        "evidence": [{"key": "remote_address", "value": "10.0.0.9:4444"}],
        "evidence_truncated": false, "events": [], "related": [],
        "provenance": [{"detector": "execution", "version": "0.1.0", "shadow": false,
                        "component_sha256": "00".repeat(32),
                        "source": {"kind": "embedded"}}],
        "shadow": false
    }))
    .unwrap()
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let agents = arg("--agents", 4);
    let per_agent = arg("--findings", 5000);
    // Findings per second over all agents; 0: as fast as the sinks take them.
    let rate = arg("--rate", 0);
    let mut server = TestServer::start_new(None)?;
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let base = NatsConfig {
        url: server.url(),
        cluster: "bench".into(),
        spool_max_bytes: 1 << 30,
        ..NatsConfig::default()
    };
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(&base.url).await?);
        harrier_fleet::setup::ensure(&js, &base, &FleetConfig::default()).await
    })?;

    // Collector with a recording sink.
    let arrivals = Arc::new(Mutex::new(HashMap::new()));
    let sinks = Arc::new(Sinks::start_with(
        &[],
        vec![External {
            name: "arrivals".into(),
            queue_capacity: 1 << 20,
            sink: Box::new(Arrivals(arrivals.clone())),
        }],
        Format::Native,
    )?);
    let stop = Arc::new(AtomicBool::new(false));
    let collector_config = CollectorConfig {
        batch: 512,
        ..CollectorConfig::default()
    };
    let (c_sinks, c_stop, c_base) = (sinks.clone(), stop.clone(), base.clone());
    let collector = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut collector =
                Collector::start(&c_base, &FleetConfig::default(), &collector_config).await?;
            collector.run(&c_sinks, c_stop).await?;
            anyhow::Ok(collector.stats())
        })
    });

    // Agents emitting as fast as their sinks take findings.
    let total = agents * per_agent;
    let mut emitted: HashMap<String, Instant> = HashMap::with_capacity(total as usize);
    let mut buses = Vec::new();
    let mut agent_sinks = Vec::new();
    for a in 0..agents {
        let node = format!("bench-{a}");
        let config = NatsConfig {
            spool_dir: dir.path().join(&node),
            ..base.clone()
        };
        let (external, bus) = NatsSink::start(&base.url, &config, &node, 1 << 16)?;
        agent_sinks.push((
            node,
            Sinks::start_with(&[], vec![external], Format::Native)?,
        ));
        buses.push(bus);
    }
    let started = Instant::now();
    for n in 0..per_agent {
        if rate > 0 {
            let due = started + Duration::from_secs_f64((n * agents) as f64 / rate as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        for (node, sinks) in &agent_sinks {
            emitted.insert(format!("{node}:{n:032x}:0"), Instant::now());
            sinks.emit(&finding(node, n));
        }
        if n % 1000 == 999 {
            // Stay within the sinks' queues.
            while agent_sinks
                .iter()
                .any(|(_, s)| s.stats()[0].pending > 30_000)
            {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    while arrivals.lock().unwrap().len() < total as usize {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "collector fell behind"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = {
        let arrivals = arrivals.lock().unwrap();
        emitted
            .iter()
            .map(|(k, t)| arrivals[k].duration_since(*t))
            .collect()
    };
    latencies.sort();
    for (_, s) in agent_sinks {
        s.shutdown(Duration::from_secs(2));
    }
    for bus in &buses {
        bus.close();
    }

    // Spool drain: spool while the server is down, then time the drain.
    let drain_n = per_agent * 2;
    let config = NatsConfig {
        spool_dir: dir.path().join("drain"),
        drain_timeout: Duration::from_secs(60),
        ..base.clone()
    };
    server.kill();
    let (external, bus) = NatsSink::start(&base.url, &config, "drain", 1 << 20)?;
    let drain_sinks = Sinks::start_with(&[], vec![external], Format::Native)?;
    for n in 0..drain_n {
        drain_sinks.emit(&finding("drain", n));
    }
    while bus.stats().spooled < drain_n {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.start()?;
    let drain_started = Instant::now();
    while bus.stats().pending > 0 {
        anyhow::ensure!(
            drain_started.elapsed() < Duration::from_secs(300),
            "spool did not drain"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let drain = drain_started.elapsed();
    drain_sinks.shutdown(Duration::from_secs(2));
    bus.close();

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let stats = collector.join().unwrap()?;
    let figures = serde_json::json!({
        "agents": agents,
        "findings": total,
        "offered_rate": rate,
        "findings_per_sec": (total as f64 / elapsed.as_secs_f64()).round(),
        "latency_p50_ms": percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        "latency_p99_ms": percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        "spool_drained": drain_n,
        "spool_drain_per_sec": (drain_n as f64 / drain.as_secs_f64()).round(),
        "collector": stats,
    });
    println!("{figures}");
    Ok(())
}
