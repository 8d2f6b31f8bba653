//! The sandbox: a detector that loops, eats memory, traps, floods findings
//! or is not a detector at all gets a clear error naming it, and the other
//! detectors on the same engine keep serving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use harrier_events::Event;
use harrier_plugins::error::LoadFailure;
use harrier_plugins::{
    EngineConfig, LoadError, NoHostServices, Plugin, PluginEngine, PluginError, PluginLimits,
    PluginSpec,
};
use harrier_tests::{embedded_spec, exec_event, hostile_wasm, open_event};

fn engine() -> PluginEngine {
    PluginEngine::new(&EngineConfig::default()).expect("engine")
}

fn spec(origin: &str, wasm: Vec<u8>, config: &str, limits: PluginLimits) -> PluginSpec {
    PluginSpec {
        limits,
        ..embedded_spec(origin, wasm, config)
    }
}

fn load(
    engine: &PluginEngine,
    origin: &str,
    config: &str,
    limits: PluginLimits,
) -> Result<Plugin, LoadError> {
    engine.load(
        spec(origin, hostile_wasm(), config, limits),
        Arc::new(NoHostServices),
    )
}

fn batch() -> Vec<Event> {
    vec![
        exec_event(1, 100, "/bin/true", &["true"]),
        open_event(2, 100, "/etc/hosts"),
    ]
}

fn refs(events: &[Event]) -> Vec<&Event> {
    events.iter().collect()
}

#[test]
fn well_behaved_detector_echoes_events() {
    let engine = engine();
    let mut plugin = load(&engine, "echo", "{}", PluginLimits::default()).unwrap();
    assert_eq!(plugin.name(), "hostile");
    assert_eq!(plugin.name_version(), "hostile@1.0.0");
    let events = batch();
    let findings = plugin.on_events(&refs(&events)).unwrap();
    let seqs: Vec<u64> = findings.iter().flat_map(|f| f.event_seqs.clone()).collect();
    assert_eq!(seqs, vec![1, 2]);
    assert_eq!(plugin.stats().events_in, 2);
    assert_eq!(plugin.stats().findings_out, 2);
}

#[test]
fn looping_detector_hits_its_deadline_and_others_keep_serving() {
    let engine = engine();
    let limits = PluginLimits {
        call_deadline_ms: 50,
        ..PluginLimits::default()
    };
    let mut looping = load(&engine, "looper", r#"{"on_events":"loop"}"#, limits).unwrap();
    let mut healthy = load(&engine, "healthy", "{}", PluginLimits::default()).unwrap();
    let events = batch();

    let started = Instant::now();
    let err = looping.on_events(&refs(&events)).unwrap_err();
    assert_eq!(err, PluginError::Deadline { ms: 50 });
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "interrupted late: {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("deadline"));
    assert_eq!(looping.stats().deadline_errors, 1);

    assert_eq!(healthy.on_events(&refs(&events)).unwrap().len(), 2);
    // The looping detector is rebuilt and fails the same way, not worse.
    assert_eq!(
        looping.on_events(&refs(&events)).unwrap_err(),
        PluginError::Deadline { ms: 50 }
    );
    assert_eq!(looping.stats().restarts, 1);
}

#[test]
fn memory_hungry_detector_hits_its_cap() {
    let engine = engine();
    let limits = PluginLimits {
        memory_bytes: 16 << 20,
        ..PluginLimits::default()
    };
    let mut hungry = load(&engine, "hungry", r#"{"on_events":"grow"}"#, limits).unwrap();
    let events = batch();
    let err = hungry.on_events(&refs(&events)).unwrap_err();
    assert_eq!(err, PluginError::MemoryCap { limit: 16 << 20 });
    assert!(err.to_string().contains("16 MiB"), "{err}");
    assert_eq!(hungry.stats().memory_errors, 1);
}

#[test]
fn trapping_detector_is_reported_and_rebuilt() {
    let engine = engine();
    let mut trapping = load(
        &engine,
        "trapper",
        r#"{"on_events":"trap"}"#,
        PluginLimits::default(),
    )
    .unwrap();
    let events = batch();
    let err = trapping.on_events(&refs(&events)).unwrap_err();
    let PluginError::Trap(message) = &err else {
        panic!("expected a trap, got {err:?}")
    };
    assert!(message.contains("unreachable"), "{message}");
    assert!(
        trapping
            .stats()
            .last_error
            .as_deref()
            .unwrap()
            .contains("trapped")
    );
    // Ticks still work after the rebuild.
    assert!(trapping.tick(1).unwrap().is_empty());
}

#[test]
fn finding_flood_is_capped_and_counted() {
    let engine = engine();
    let limits = PluginLimits {
        max_findings_per_call: 100,
        ..PluginLimits::default()
    };
    let mut flooder = load(&engine, "flooder", r#"{"on_events":"flood"}"#, limits).unwrap();
    let events = batch();
    assert_eq!(flooder.on_events(&refs(&events)).unwrap().len(), 100);
    assert_eq!(flooder.stats().findings_dropped, 9_900);
    assert!(
        flooder
            .stats()
            .last_error
            .as_deref()
            .unwrap()
            .contains("flooded")
    );
}

fn startup_failure(result: Result<Plugin, LoadError>) -> (String, &'static str, PluginError) {
    let err = result.err().expect("load must fail");
    let text = err.to_string();
    match err.reason {
        LoadFailure::Startup { stage, error } => (text, stage, error),
        other => panic!("expected a start-up failure, got {other}"),
    }
}

#[test]
fn init_and_self_test_failures_refuse_the_plugin_with_its_name() {
    let engine = engine();
    let (text, stage, error) = startup_failure(load(
        &engine,
        "/plugins/bad-init.wasm",
        r#"{"init":"fail"}"#,
        PluginLimits::default(),
    ));
    assert_eq!(stage, "init");
    assert!(matches!(error, PluginError::Refused(_)));
    assert!(
        text.starts_with("plugin /plugins/bad-init.wasm: init failed"),
        "{text}"
    );

    let limits = PluginLimits {
        call_deadline_ms: 30,
        ..PluginLimits::default()
    };
    let (_, stage, error) =
        startup_failure(load(&engine, "slow-init", r#"{"init":"loop"}"#, limits));
    assert_eq!((stage, error), ("init", PluginError::Deadline { ms: 30 }));

    let (text, stage, _) = startup_failure(load(
        &engine,
        "bad-test",
        r#"{"self_test":"fail"}"#,
        PluginLimits::default(),
    ));
    assert_eq!(stage, "self-test");
    assert!(text.contains("configured to fail its self-test"), "{text}");
}

#[test]
fn non_components_and_wrong_worlds_are_refused() {
    let engine = engine();
    let services = Arc::new(NoHostServices);
    let load_bytes = |origin: &str, wasm: Vec<u8>| {
        engine
            .load(
                spec(origin, wasm, "{}", PluginLimits::default()),
                services.clone(),
            )
            .err()
            .expect("must be refused")
    };

    let garbage = load_bytes("garbage.wasm", b"\0asm garbage".to_vec());
    assert!(
        matches!(garbage.reason, LoadFailure::NotAComponent(_)),
        "{garbage}"
    );
    assert!(
        garbage
            .to_string()
            .starts_with("plugin garbage.wasm: not a valid WebAssembly component")
    );

    let core = load_bytes("core.wasm", wat::parse_str("(module)").unwrap());
    assert!(
        matches!(core.reason, LoadFailure::NotAComponent(_)),
        "{core}"
    );

    let empty = load_bytes("empty.wasm", wat::parse_str("(component)").unwrap());
    assert!(
        matches!(empty.reason, LoadFailure::WrongWorld(_)),
        "{empty}"
    );

    let future = wat::parse_str(r#"(component (import "harrier:detector/host@0.2.0" (instance (export "now-ns" (func (result u64))))))"#).unwrap();
    let future = load_bytes("future.wasm", future);
    assert!(
        matches!(future.reason, LoadFailure::WrongWorld(_)),
        "{future}"
    );
    assert!(
        future.to_string().contains("harrier:detector/host@0.2.0"),
        "{future}"
    );
}
