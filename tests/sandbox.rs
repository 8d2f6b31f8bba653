//! The sandbox: a detector that loops, eats memory, traps, floods findings,
//! sleeps, reaches for WASI it was not granted or is not a detector at all
//! gets a clear error naming it, and the other detectors on the same engine
//! keep serving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use harrier_events::Event;
use harrier_plugins::error::LoadFailure;
use harrier_plugins::{
    EngineConfig, LoadError, NoHostServices, Permission, Permissions, Plugin, PluginEngine,
    PluginError, PluginLimits, PluginSpec,
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
    load_granted(engine, origin, config, limits, Permissions::NONE)
}

fn load_granted(
    engine: &PluginEngine,
    origin: &str,
    config: &str,
    limits: PluginLimits,
    permissions: Permissions,
) -> Result<Plugin, LoadError> {
    let spec = PluginSpec {
        permissions,
        ..spec(origin, hostile_wasm(), config, limits)
    };
    engine.load(spec, Arc::new(NoHostServices))
}

fn granted(permissions: &[Permission]) -> Permissions {
    permissions.iter().copied().collect()
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

    // Built against the previous contract, or a later one: refused, naming
    // both versions, before anything is linked.
    for found in ["0.1.0", "9.0.0"] {
        let wat = format!(
            r#"(component (import "harrier:detector/host@{found}" (instance (export "now-ns" (func (result u64))))))"#
        );
        let other = load_bytes("other.wasm", wat::parse_str(&wat).unwrap());
        assert!(
            matches!(&other.reason, LoadFailure::ContractVersion { found: f } if f == found),
            "{other}"
        );
        let text = other.to_string();
        assert!(
            text.contains(&format!("harrier:detector@{found}"))
                && text.contains(&format!("@{}", harrier_events::WIT_VERSION))
                && text.contains("rebuild"),
            "{text}"
        );
    }
}

#[test]
fn detector_without_permissions_cannot_reach_wasi() {
    let engine = engine();
    let events = batch();
    for (mode, import, permission) in [
        (
            "random",
            "wasi:random/random@0.2.0#get-random-u64",
            Permission::WasiRandom,
        ),
        (
            "environment",
            "wasi:cli/environment@0.2.0#get-environment",
            Permission::WasiCli,
        ),
        (
            "sleep",
            "wasi:clocks/monotonic-clock@0.2.0#subscribe-duration",
            Permission::WasiClocks,
        ),
    ] {
        let config = format!(r#"{{"on_events":"{mode}"}}"#);
        // It loads (guests import WASI they never call), and the call that
        // reaches for WASI is refused, naming the import and the permission.
        let mut plugin = load(&engine, mode, &config, PluginLimits::default()).unwrap();
        let err = plugin.on_events(&refs(&events)).unwrap_err();
        let PluginError::Denied(message) = &err else {
            panic!("{mode}: expected a denial, got {err:?}")
        };
        assert!(message.contains(import), "{message}");
        assert!(
            message.contains(&format!("permission `{permission}`")),
            "{message}"
        );
        assert_eq!(plugin.stats().trap_errors, 1);
        // Another WASI permission does not open this interface either.
        let other = Permission::ALL
            .into_iter()
            .find(|p| p.is_wasi() && *p != permission)
            .unwrap();
        let mut plugin = load_granted(
            &engine,
            mode,
            &config,
            PluginLimits::default(),
            granted(&[other]),
        )
        .unwrap();
        assert!(matches!(
            plugin.on_events(&refs(&events)),
            Err(PluginError::Denied(_))
        ));
    }

    // Granted, the same calls work: a random number, an empty environment.
    let mut random = load_granted(
        &engine,
        "random",
        r#"{"on_events":"random"}"#,
        PluginLimits::default(),
        granted(&[Permission::WasiRandom]),
    )
    .unwrap();
    let found = random.on_events(&refs(&events)).unwrap();
    assert_eq!(found[0].evidence[0].key, "wasi");
    let mut environment = load_granted(
        &engine,
        "environment",
        r#"{"on_events":"environment"}"#,
        PluginLimits::default(),
        granted(&[Permission::WasiCli]),
    )
    .unwrap();
    let found = environment.on_events(&refs(&events)).unwrap();
    assert_eq!(found[0].evidence[0].value, "0", "no host environment leaks");
}

#[test]
fn sleeping_detector_is_interrupted_by_its_deadline() {
    let engine = engine();
    let limits = PluginLimits {
        call_deadline_ms: 100,
        ..PluginLimits::default()
    };
    let clocks = granted(&[Permission::WasiClocks]);
    let mut sleeper = load_granted(
        &engine,
        "sleeper",
        r#"{"on_events":"sleep"}"#,
        limits,
        clocks,
    )
    .unwrap();
    let events = batch();
    for round in 1..=2 {
        let started = Instant::now();
        let err = sleeper.on_events(&refs(&events)).unwrap_err();
        let took = started.elapsed();
        eprintln!("sleeping detector interrupted after {took:?} (deadline 100 ms)");
        assert_eq!(err, PluginError::Deadline { ms: 100 });
        assert!(
            took < Duration::from_millis(1000),
            "interrupted late: {took:?}"
        );
        assert_eq!(sleeper.stats().deadline_errors, round);
    }
}

#[test]
fn init_that_sleeps_is_interrupted() {
    let engine = engine();
    let limits = PluginLimits {
        call_deadline_ms: 100,
        ..PluginLimits::default()
    };
    let started = Instant::now();
    let (text, stage, error) = startup_failure(load_granted(
        &engine,
        "/plugins/sleepy-init.wasm",
        r#"{"init":"sleep"}"#,
        limits,
        granted(&[Permission::WasiClocks]),
    ));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((stage, error), ("init", PluginError::Deadline { ms: 100 }));
    assert!(text.contains("sleepy-init.wasm: init failed"), "{text}");
}

mod agent {
    //! The same misbehaviour with an agent around it: the batch loop keeps
    //! going, the sleeper is quarantined, reloads and shutdown stay prompt.

    use super::*;
    use std::sync::mpsc;

    use harrier_catalog::directory::DirectorySource;
    use harrier_catalog::{Catalog, Settings, WatchConfig, Watcher};
    use harrier_enrich::{EnrichConfig, Enricher};
    use harrier_findings::{MergeConfig, Merger};
    use harrier_pipeline::agent::{AgentConfig, Clock};
    use harrier_pipeline::{Agent, DetectorSet, EnricherServices, Pipeline, QuarantinePolicy};
    use harrier_tests::GeneratedSource;

    fn services() -> Arc<EnricherServices> {
        let config = EnrichConfig {
            read_proc: false,
            ..EnrichConfig::default()
        };
        Arc::new(EnricherServices::replay(Arc::new(Enricher::new(config))))
    }

    fn pipeline(services: Arc<EnricherServices>, set: DetectorSet) -> Pipeline {
        Pipeline::new(
            services,
            set,
            Merger::new(MergeConfig::default()).unwrap(),
            Box::new(|_: harrier_findings::Emission| {}),
        )
    }

    fn agent_config() -> AgentConfig {
        AgentConfig {
            clock: Clock::Events,
            tick_interval: Duration::from_secs(3600),
            ..AgentConfig::default()
        }
    }

    /// Run `f` on a thread; fail if it takes longer than `limit`.
    fn within<R: Send + 'static>(
        limit: Duration,
        what: &str,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(limit)
            .unwrap_or_else(|_| panic!("{what}: still running after {limit:?}"))
    }

    #[test]
    fn sleeping_detector_stalls_nothing_and_is_quarantined() {
        const EVENTS: u64 = 2_000;
        let engine = super::engine();
        let services = services();
        let limits = PluginLimits {
            call_deadline_ms: 50,
            ..PluginLimits::default()
        };
        let sleeper = engine
            .load(
                PluginSpec {
                    permissions: granted(&[Permission::WasiClocks]),
                    ..spec(
                        "sleeper",
                        hostile_wasm(),
                        r#"{"on_events":"sleep"}"#,
                        limits,
                    )
                },
                services.clone(),
            )
            .unwrap();
        // A default detector that watches execs stands for the others.
        let healthy = harrier_default_pack::detectors()
            .iter()
            .map(|d| {
                engine
                    .load(
                        harrier_tests::embedded_spec(d.name, d.wasm.to_vec(), d.default_config),
                        services.clone(),
                    )
                    .unwrap()
            })
            .find(|p| p.subscriptions().contains(harrier_events::EventKind::Exec))
            .expect("a default detector subscribes to exec");
        let healthy_name = healthy.name().to_string();
        let mut set = DetectorSet::new(QuarantinePolicy {
            strikes: 3,
            window_secs: 60,
            backoff_secs: 600,
            max_backoff_secs: 600,
        });
        set.upsert(sleeper);
        set.upsert(healthy);
        let source = GeneratedSource::new(EVENTS, 50, Duration::ZERO);
        let (agent, _handle) =
            Agent::new(pipeline(services, set), Box::new(source), agent_config());
        let started = Instant::now();
        let pipeline = within(
            Duration::from_secs(20),
            "agent with a sleeping detector",
            move || agent.run().unwrap(),
        );
        eprintln!(
            "{EVENTS} events with a sleeping detector (50 ms deadline) took {:?}",
            started.elapsed()
        );
        let status = pipeline.detectors().status();
        let sleeper = status.iter().find(|s| s.name == "hostile").unwrap();
        assert_eq!(sleeper.state, "quarantined", "{sleeper:?}");
        assert_eq!(sleeper.stats.deadline_errors, 3);
        let healthy = status.iter().find(|s| s.name == healthy_name).unwrap();
        assert_eq!(
            healthy.stats.events_in, EVENTS,
            "the other detector saw every event"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn init_that_sleeps_during_a_reload_is_interrupted_and_shutdown_stays_prompt() {
        let engine = Arc::new(super::engine());
        let services = services();
        let dir = tempfile::tempdir().unwrap();
        let (pipeline, source) = (
            pipeline(
                services.clone(),
                DetectorSet::new(QuarantinePolicy::default()),
            ),
            GeneratedSource::new(u64::MAX, 16, Duration::from_millis(5)),
        );
        let (agent, handle) = Agent::new(pipeline, Box::new(source), agent_config());
        let agent_thread = std::thread::spawn(move || agent.run().map(|_| ()));
        // Every file of the directory is the sleeper, granted clocks.
        let settings = Settings {
            limits: PluginLimits {
                call_deadline_ms: 100,
                ..PluginLimits::default()
            },
            ..Settings::default()
        };
        let mut catalog = Catalog::new(settings);
        let config = WatchConfig::default();
        catalog.add(DirectorySource::new(dir.path(), config.debounce));
        let compile = Box::new(move |spec: PluginSpec| {
            let spec = PluginSpec {
                permissions: granted(&[Permission::WasiClocks]),
                config_json: r#"{"init":"sleep"}"#.into(),
                ..spec
            };
            engine
                .load(spec, services.clone())
                .map_err(|e| e.reason.to_string())
        });
        let reloader = Watcher::start(catalog, compile, handle.clone(), config).unwrap();
        let written = Instant::now();
        std::fs::write(dir.path().join("sleepy.wasm"), hostile_wasm()).unwrap();
        while reloader.stats().refusals == 0 {
            assert!(
                written.elapsed() < Duration::from_secs(5),
                "the reload of a detector whose init sleeps is still running"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let message = reloader.stats().last_refusal.unwrap();
        eprintln!(
            "sleeping init refused after {:?}: {message}",
            written.elapsed()
        );
        assert!(
            message.contains("init failed: exceeded its 100 ms deadline"),
            "{message}"
        );

        // A second sleepy version arrives, and the agent is stopped while it
        // initialises: both return promptly.
        std::fs::write(dir.path().join("sleepy2.wasm"), hostile_wasm()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let stopping = Instant::now();
        within(
            Duration::from_secs(3),
            "shutdown during a sleeping init",
            move || {
                drop(reloader);
                handle.stop();
                agent_thread.join().unwrap().unwrap();
            },
        );
        eprintln!("shutdown took {:?}", stopping.elapsed());
    }
}

mod boundary {
    //! What crosses from a detector to the host is bounded and checked.

    use super::*;
    use std::sync::Mutex;

    use harrier_enrich::{EnrichConfig, Enricher};
    use harrier_findings::{MergeConfig, Merger};
    use harrier_pipeline::{DetectorSet, EnricherServices, Pipeline, QuarantinePolicy};
    use harrier_plugins::bounds;

    fn rss_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    #[test]
    fn huge_findings_do_not_grow_the_host() {
        const CALLS: u64 = 8;
        let engine = super::engine();
        let services = Arc::new(EnricherServices::replay(Arc::new(Enricher::new(
            EnrichConfig {
                read_proc: false,
                ..EnrichConfig::default()
            },
        ))));
        let plugin = engine
            .load(
                spec(
                    "huge",
                    hostile_wasm(),
                    r#"{"on_events":"huge"}"#,
                    PluginLimits::default(),
                ),
                services.clone(),
            )
            .unwrap();
        let mut set = DetectorSet::new(QuarantinePolicy::default());
        set.upsert(plugin);
        let emitted = Arc::new(Mutex::new(Vec::<harrier_findings::Emission>::new()));
        let sink = emitted.clone();
        let mut pipeline = Pipeline::new(
            services,
            set,
            Merger::new(MergeConfig::default()).unwrap(),
            Box::new(move |e: harrier_findings::Emission| sink.lock().unwrap().push(e)),
        );
        // One call first, so the sandbox's own memory is in the baseline.
        pipeline.process(&mut [exec_event(1, 1000, "/bin/true", &["true"])]);
        let before = rss_bytes();
        for call in 2..=CALLS + 1 {
            // A new process each time: a new finding the merger keeps open.
            pipeline.process(&mut [exec_event(call, 1000 + call as u32, "/bin/true", &["true"])]);
        }
        let grown = rss_bytes().saturating_sub(before);
        eprintln!(
            "host RSS grew by {} MiB over {CALLS} calls returning a 40 MiB finding each",
            grown >> 20
        );
        let status = &pipeline.detectors().status()[0];
        assert_eq!(status.stats.findings_out, CALLS + 1, "{status:?}");
        assert!(status.stats.fields_truncated > CALLS, "{status:?}");
        let emitted = emitted.lock().unwrap();
        assert!(!emitted.is_empty());
        for e in emitted.iter() {
            assert!(e.finding.description.len() <= bounds::MAX_DESCRIPTION);
            assert!(e.finding.description.ends_with(bounds::TRUNCATED));
        }
        assert!(
            grown < 128 << 20,
            "host grew by {} MiB holding findings it should have cut",
            grown >> 20
        );
    }

    #[test]
    fn undeclared_spoofed_and_nameless_finding_types_are_refused_and_counted() {
        let engine = super::engine();
        let events = batch();
        for mode in ["undeclared", "spoof", "nameless"] {
            let config = format!(r#"{{"on_events":"{mode}"}}"#);
            let mut plugin = load(&engine, mode, &config, PluginLimits::default()).unwrap();
            let found = plugin.on_events(&refs(&events)).unwrap();
            let types: Vec<&str> = found.iter().map(|f| f.finding_type.as_str()).collect();
            assert_eq!(
                types,
                ["Test:Runtime/Echo"],
                "{mode}: only the declared type passes"
            );
            assert_eq!(plugin.stats().findings_refused, 1, "{mode}");
            assert!(
                plugin
                    .stats()
                    .last_error
                    .as_deref()
                    .unwrap()
                    .contains("undeclared"),
                "{mode}"
            );
        }
    }

    /// A writer collecting what the log subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn detector_log_lines_cannot_forge_lines_of_their_own() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let engine = super::engine();
            let mut plugin = load(
                &engine,
                "forger",
                r#"{"on_events":"forge"}"#,
                PluginLimits::default(),
            )
            .unwrap();
            plugin.on_events(&refs(&batch())).unwrap();
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let forged: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("harrier: ready"))
            .collect();
        assert_eq!(forged.len(), 1, "{text}");
        assert!(
            forged[0].contains("nothing to see\\n"),
            "escaped on its own line: {}",
            forged[0]
        );
        assert!(forged[0].contains("hostile"), "{}", forged[0]);
    }
}
