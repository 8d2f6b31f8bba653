//! The cost of handing events to a detector: one `on-events` call with a
//! batch of file opens, per default detector that reads them, against a
//! call with one open (the fixed cost of entering the guest) in the same
//! run. Per event: (time of the batch − time of one) / (batch − 1).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harrier_events::{Event, EventDetail, FileOpenEvent, Process};
use harrier_plugins::{
    EngineConfig, NoHostServices, Plugin, PluginEngine, PluginLimits, PluginSource, PluginSpec,
};

/// Events per call, as the agent batches them.
const BATCH: usize = 256;

fn open(seq: u64) -> Event {
    Event {
        fidelity: None,
        seq,
        time_ns: 1_700_000_000_000_000_000 + seq,
        process: Process {
            pid: 4242,
            tid: 4242,
            ppid: 1,
            uid: 1000,
            euid: 1000,
            gid: 1000,
            egid: 1000,
            comm: "nginx".into(),
            exe: "/usr/sbin/nginx".into(),
            container_id: None,
            cgroup_id: None,
        },
        detail: EventDetail::FileOpen(FileOpenEvent {
            // A written file: it reaches every detector subscribed to opens.
            path: "/var/cache/nginx/proxy_temp/1/00/0000000001".into(),
            flags: 0o1101,
            mode: 0o600,
            result: 7,
        }),
    }
}

fn load(engine: &PluginEngine, name: &str) -> Plugin {
    let detector = harrier_default_pack::detector(name).expect("a default detector");
    let spec = PluginSpec {
        origin: format!("embedded:{name}"),
        source: PluginSource::Embedded,
        wasm: Arc::from(detector.wasm),
        config_json: detector.default_config.to_string(),
        limits: PluginLimits::default(),
        severity_override: None,
        permissions: harrier_plugins::Permissions::NONE,
        shadow: None,
    };
    engine
        .load(spec, Arc::new(NoHostServices))
        .expect("default detector loads")
}

fn on_events(c: &mut Criterion) {
    let engine = PluginEngine::new(&EngineConfig::default()).expect("engine");
    let events: Vec<Event> = (1..=BATCH as u64).map(open).collect();
    let batch: Vec<&Event> = events.iter().collect();
    let mut group = c.benchmark_group("on_events");
    for name in ["file-access", "defense-evasion", "privilege-escalation"] {
        let mut plugin = load(&engine, name);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{name}/1 open"), |b| {
            b.iter(|| black_box(plugin.on_events(black_box(&batch[..1])).expect("call")))
        });
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("{name}/{BATCH} opens"), |b| {
            b.iter(|| black_box(plugin.on_events(black_box(&batch)).expect("call")))
        });
    }
    group.finish();
}

criterion_group!(benches, on_events);
criterion_main!(benches);
