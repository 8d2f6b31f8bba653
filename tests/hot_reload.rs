//! Hot reload and plugin lifecycle: swaps under load lose and repeat no
//! event; files that are half-written, renamed into place, deleted, garbage,
//! for the wrong WIT version, or failing init or self-test all end with the
//! right detector set serving; misbehaving detectors are quarantined and
//! come back with backoff.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harrier_catalog::directory::DirectorySource;
use harrier_catalog::{Catalog, Settings, WatchConfig, Watcher};
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_findings::{Emission, MergeConfig, Merger};
use harrier_pipeline::agent::{AgentConfig, Clock};
use harrier_pipeline::detectors::QuarantinePolicy;
use harrier_pipeline::{Agent, AgentHandle, Change, DetectorSet, EnricherServices, Pipeline};
use harrier_plugins::{EngineConfig, Plugin, PluginEngine};
use harrier_tests::{GeneratedSource, embedded_spec, exec_event, hostile_wasm, with_nonce};

fn services() -> Arc<EnricherServices> {
    let config = EnrichConfig {
        read_proc: false,
        ..EnrichConfig::default()
    };
    Arc::new(EnricherServices::replay(Arc::new(Enricher::new(config))))
}

fn engine(cache: &Path) -> Arc<PluginEngine> {
    let config = EngineConfig {
        cache_dir: Some(cache.to_path_buf()),
        ..EngineConfig::default()
    };
    Arc::new(PluginEngine::new(&config).unwrap())
}

fn load(
    engine: &PluginEngine,
    services: &Arc<EnricherServices>,
    wasm: Vec<u8>,
    config: &str,
) -> Result<Plugin, String> {
    engine
        .load(embedded_spec("test", wasm, config), services.clone())
        .map_err(|e| e.reason.to_string())
}

type Collected = Arc<Mutex<Vec<Emission>>>;

fn pipeline(services: Arc<EnricherServices>, set: DetectorSet) -> (Pipeline, Collected) {
    let merge = MergeConfig {
        node: Some("test-node".into()),
        ..MergeConfig::default()
    };
    let collected: Collected = Arc::default();
    let sink = collected.clone();
    let emit = Box::new(move |e: Emission| sink.lock().unwrap().push(e));
    (
        Pipeline::new(services, set, Merger::new(merge).unwrap(), emit),
        collected,
    )
}

fn replay_config() -> AgentConfig {
    AgentConfig {
        batch_size: 4096,
        clock: Clock::Events,
        tick_interval: Duration::from_secs(3600),
        ..AgentConfig::default()
    }
}

#[test]
fn hundred_swaps_under_load_lose_and_repeat_no_event() {
    const EVENTS: u64 = 32_000;
    const SWAPS: u64 = 100;
    let cache = tempfile::tempdir().unwrap();
    let engine = engine(cache.path());
    let services = services();
    let wasm = hostile_wasm();
    let mut set = DetectorSet::new(QuarantinePolicy::default());
    set.upsert(load(&engine, &services, with_nonce(&wasm, 0), "{}").unwrap());
    // Every version is ready before streaming starts, so swaps are quick.
    // Each swap brings a fresh instance; the same bytes keep compiling
    // (from the cache) out of the test's time.
    let versions: Vec<Plugin> = (1..=SWAPS)
        .map(|_| load(&engine, &services, with_nonce(&wasm, 0), "{}").unwrap())
        .collect();

    let (pipeline, collected) = pipeline(services, set);
    let source = GeneratedSource::new(EVENTS, 32, Duration::from_micros(300));
    let (agent, handle) = Agent::new(pipeline, Box::new(source), replay_config());
    let swapper = std::thread::spawn(move || {
        for plugin in versions {
            handle.change(Change::Upsert(Box::new(plugin)));
            std::thread::sleep(Duration::from_millis(1));
        }
        handle
    });
    let pipeline = agent.run().unwrap();
    let _ = swapper.join().unwrap();

    let status = pipeline.detectors().status();
    assert_eq!(status.len(), 1);
    assert_eq!(
        status[0].reloads, SWAPS,
        "every swap happened while events streamed"
    );

    // The detector carries its last sequence number across every swap and
    // reports any batch that does not follow on: there must be none, and
    // exactly one echo per event.
    let emissions = collected.lock().unwrap();
    let gaps: Vec<_> = emissions
        .iter()
        .filter(|e| e.finding.finding_type == "Test:Runtime/SequenceGap")
        .map(|e| e.finding.title.clone())
        .collect();
    assert!(
        gaps.is_empty(),
        "events lost or repeated across swaps: {gaps:?}"
    );
    let echo = emissions
        .iter()
        .rev()
        .find(|e| e.finding.finding_type == "Test:Runtime/Echo")
        .unwrap();
    assert_eq!(echo.finding.count, EVENTS, "one finding per event");
    assert_eq!(pipeline.stats().raw_findings, EVENTS);
}

/// Poll `check` until it holds or 10 s pass.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for: {what}");
}

/// Wait for the next refusal and check its message.
fn next_refusal(reloader: &Watcher, seen: &mut u64, text: &str) {
    eventually(text, || reloader.stats().refusals > *seen);
    *seen = reloader.stats().refusals;
    let message = reloader.stats().last_refusal.unwrap();
    assert!(
        message.contains(text),
        "refusal `{message}` should say `{text}`"
    );
}

fn serving(handle: &AgentHandle) -> Vec<(String, String)> {
    handle
        .status()
        .detectors
        .into_iter()
        .filter(|d| d.state != "standing-by")
        .map(|d| (d.name, d.sha256))
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Watch `dir` with the catalog, loading through `engine`; `configs` gives
/// the configuration of files by stem (`{"on_events":"quiet"}` otherwise).
fn watch(
    dir: &Path,
    engine: Arc<PluginEngine>,
    services: Arc<EnricherServices>,
    handle: &AgentHandle,
    configs: &[(&str, &str)],
) -> Watcher {
    let mut settings = Settings::default();
    for (stem, config) in configs {
        let table: serde_json::Value = serde_json::from_str(config).unwrap();
        settings
            .config
            .insert(stem.to_string(), table.as_object().unwrap().clone());
    }
    let debounce = WatchConfig::default().debounce;
    let mut catalog = Catalog::new(settings);
    catalog.add(DirectorySource::new(dir, debounce));
    let compile = Box::new(move |spec: harrier_plugins::PluginSpec| {
        engine
            .load(spec, services.clone())
            .map_err(|e| e.reason.to_string())
    });
    Watcher::start(catalog, compile, handle.clone(), WatchConfig::default()).unwrap()
}

#[test]
fn plugin_directory_changes_end_with_the_right_set_serving() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(cache.path());
    let services = services();
    let (pipeline, _collected) = pipeline(
        services.clone(),
        DetectorSet::new(QuarantinePolicy::default()),
    );
    let source = GeneratedSource::new(u64::MAX, 16, Duration::from_millis(5));
    let (agent, handle) = Agent::new(pipeline, Box::new(source), replay_config());
    let agent_thread = std::thread::spawn(move || agent.run().map(|_| ()));

    // The file name picks the test detector's behaviour.
    let reloader = watch(
        dir.path(),
        engine,
        services,
        &handle,
        &[
            ("det", r#"{"on_events":"quiet"}"#),
            ("bad-init", r#"{"init":"fail","on_events":"quiet"}"#),
            ("bad-test", r#"{"self_test":"fail","on_events":"quiet"}"#),
        ],
    );
    let det = dir.path().join("det.wasm");
    let wasm = hostile_wasm();
    let (v1, v2, v3) = (
        with_nonce(&wasm, 1),
        with_nonce(&wasm, 2),
        with_nonce(&wasm, 3),
    );

    // New file: loaded (compile, init and self-test included).
    let written = Instant::now();
    std::fs::write(&det, &v1).unwrap();
    eventually("v1 serving", || {
        serving(&handle) == vec![("hostile".into(), sha(&v1))]
    });
    eprintln!(
        "reload latency, file written -> new version serving: {:?}",
        written.elapsed()
    );

    // Half-written new version: refused, v1 keeps serving; once complete, v2 serves.
    std::fs::write(&det, &v2[..v2.len() / 2]).unwrap();
    let mut refusals = 0;
    next_refusal(
        &reloader,
        &mut refusals,
        "det.wasm: refused: not a valid WebAssembly component",
    );
    assert_eq!(serving(&handle), vec![("hostile".into(), sha(&v1))]);
    let written = Instant::now();
    std::fs::write(&det, &v2).unwrap();
    eventually("v2 serving", || {
        serving(&handle) == vec![("hostile".into(), sha(&v2))]
    });
    eprintln!(
        "reload latency, new version replacing the old: {:?}",
        written.elapsed()
    );

    // Written to a temporary name, then renamed into place.
    let tmp = dir.path().join(".det.wasm.tmp");
    std::fs::write(&tmp, &v3).unwrap();
    std::fs::rename(&tmp, &det).unwrap();
    eventually("v3 serving", || {
        serving(&handle) == vec![("hostile".into(), sha(&v3))]
    });

    // Garbage and a component for another WIT version: refused, v3 stays.
    std::fs::write(&det, b"\0asm not really").unwrap();
    next_refusal(
        &reloader,
        &mut refusals,
        "det.wasm: refused: not a valid WebAssembly component",
    );
    let future = wat::parse_str(
        r#"(component (import "harrier:detector/host@0.1.0" (instance (export "now-ns" (func (result u64))))))"#,
    )
    .unwrap();
    std::fs::write(&det, future).unwrap();
    next_refusal(
        &reloader,
        &mut refusals,
        "built against contract harrier:detector@0.1.0",
    );
    assert_eq!(serving(&handle), vec![("hostile".into(), sha(&v3))]);

    // Init and self-test failures of new files: refused, set unchanged.
    std::fs::write(dir.path().join("bad-init.wasm"), with_nonce(&wasm, 4)).unwrap();
    next_refusal(
        &reloader,
        &mut refusals,
        "bad-init.wasm: refused: init failed",
    );
    std::fs::write(dir.path().join("bad-test.wasm"), with_nonce(&wasm, 5)).unwrap();
    next_refusal(
        &reloader,
        &mut refusals,
        "bad-test.wasm: refused: self-test failed",
    );
    assert_eq!(serving(&handle), vec![("hostile".into(), sha(&v3))]);

    // Deleted: unloaded.
    std::fs::remove_file(&det).unwrap();
    eventually("detector unloaded", || serving(&handle).is_empty());
    assert_eq!(reloader.stats().unloads, 1);

    drop(reloader);
    handle.stop();
    agent_thread.join().unwrap().unwrap();
}

#[test]
fn misbehaving_detector_is_quarantined_and_comes_back_with_backoff() {
    let cache = tempfile::tempdir().unwrap();
    let engine = engine(cache.path());
    let services = services();
    let wasm = hostile_wasm();
    let policy = QuarantinePolicy {
        strikes: 2,
        window_secs: 60,
        backoff_secs: 1,
        max_backoff_secs: 60,
    };
    let mut set = DetectorSet::new(policy);
    set.upsert(
        load(
            &engine,
            &services,
            with_nonce(&wasm, 1),
            r#"{"on_events":"trap"}"#,
        )
        .unwrap(),
    );
    let (mut pipeline, collected) = pipeline(services, set);
    let mut seq = 0;
    let mut batch = || {
        seq += 1;
        vec![exec_event(seq, 7, "/bin/true", &["true"])]
    };
    let state = |p: &Pipeline| {
        let s = &p.detectors().status()[0];
        (s.state.clone(), s.quarantines, s.events_missed)
    };

    pipeline.process(&mut batch());
    assert_eq!(state(&pipeline).0, "serving");
    pipeline.process(&mut batch());
    assert_eq!(state(&pipeline), ("quarantined".into(), 1, 2));
    // While quarantined it gets nothing, and what it misses is counted.
    pipeline.process(&mut batch());
    assert_eq!(state(&pipeline), ("quarantined".into(), 1, 3));

    std::thread::sleep(Duration::from_millis(1100));
    pipeline.tick(0);
    assert_eq!(state(&pipeline).0, "serving");
    pipeline.process(&mut batch());
    pipeline.process(&mut batch());
    let status = &pipeline.detectors().status()[0];
    assert_eq!(
        (status.state.as_str(), status.quarantines),
        ("quarantined", 2)
    );
    assert!(
        status.quarantine_secs_left.unwrap() >= 1,
        "second quarantine is longer: {status:?}"
    );
    assert!(
        status
            .stats
            .last_error
            .as_deref()
            .unwrap()
            .contains("trapped")
    );
    assert!(collected.lock().unwrap().is_empty());
}

/// An agent streaming generated events, with a plugin-directory watcher on
/// `dir` whose detectors keep quiet.
struct Watched {
    handle: AgentHandle,
    reloader: Option<Watcher>,
    agent: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    _cache: tempfile::TempDir,
}

impl Watched {
    fn start(dir: &Path) -> Watched {
        let cache = tempfile::tempdir().unwrap();
        let engine = engine(cache.path());
        let services = services();
        let (pipeline, _collected) = pipeline(
            services.clone(),
            DetectorSet::new(QuarantinePolicy::default()),
        );
        let source = GeneratedSource::new(u64::MAX, 16, Duration::from_millis(5));
        let (agent, handle) = Agent::new(pipeline, Box::new(source), replay_config());
        let agent = std::thread::spawn(move || agent.run().map(|_| ()));
        let quiet = r#"{"on_events":"quiet"}"#;
        let reloader = watch(
            dir,
            engine,
            services,
            &handle,
            &[("a", quiet), ("b", quiet)],
        );
        Watched {
            handle,
            reloader: Some(reloader),
            agent: Some(agent),
            _cache: cache,
        }
    }

    /// Wait until the watcher has nothing left to do: a few debounce
    /// intervals with no change to what serves.
    fn settled(&self) -> Vec<(String, String)> {
        let mut last = serving(&self.handle);
        let mut quiet = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(10);
        while quiet.elapsed() < Duration::from_millis(600) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            let now = serving(&self.handle);
            if now != last {
                last = now;
                quiet = Instant::now();
            }
        }
        last
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        drop(self.reloader.take());
        self.handle.stop();
        if let Some(agent) = self.agent.take() {
            let _ = agent.join();
        }
    }
}

#[test]
fn two_new_files_naming_one_detector_each_keep_it_serving() {
    let dir = tempfile::tempdir().unwrap();
    let watched = Watched::start(dir.path());
    let wasm = hostile_wasm();
    let (a, b) = (dir.path().join("a.wasm"), dir.path().join("b.wasm"));
    let (va, vb) = (with_nonce(&wasm, 11), with_nonce(&wasm, 12));
    // Both land within one debounce interval: they settle in one round.
    std::fs::write(&a, &va).unwrap();
    std::fs::write(&b, &vb).unwrap();
    eventually("the detector serving", || {
        !serving(&watched.handle).is_empty()
    });
    let first = watched.settled();
    assert_eq!(first.len(), 1, "one detector name, one serving: {first:?}");

    // Deleting either file leaves the detector the other provides.
    std::fs::remove_file(&a).unwrap();
    assert_eq!(
        watched.settled(),
        vec![("hostile".into(), sha(&vb))],
        "b.wasm still provides the detector after a.wasm is deleted"
    );
    std::fs::write(&a, &va).unwrap();
    watched.settled();
    std::fs::remove_file(&b).unwrap();
    assert_eq!(
        watched.settled(),
        vec![("hostile".into(), sha(&va))],
        "a.wasm still provides the detector after b.wasm is deleted"
    );
}

#[test]
fn deleting_the_serving_file_lets_the_other_file_take_over() {
    let dir = tempfile::tempdir().unwrap();
    let watched = Watched::start(dir.path());
    let wasm = hostile_wasm();
    let (a, b) = (dir.path().join("a.wasm"), dir.path().join("b.wasm"));
    let (va, vb) = (with_nonce(&wasm, 21), with_nonce(&wasm, 22));
    std::fs::write(&a, &va).unwrap();
    eventually("a.wasm serving", || {
        serving(&watched.handle) == vec![("hostile".into(), sha(&va))]
    });
    // A second valid file naming the same detector: a.wasm keeps serving,
    // b.wasm is loaded and reported as standing by for it.
    std::fs::write(&b, &vb).unwrap();
    eventually("b.wasm standing by", || {
        watched.handle.status().detectors.iter().any(|d| {
            d.state == "standing-by"
                && d.origin.ends_with("b.wasm")
                && d.standing_by_for
                    .as_deref()
                    .is_some_and(|s| s.ends_with("a.wasm"))
        })
    });
    assert_eq!(watched.settled(), vec![("hostile".into(), sha(&va))]);

    std::fs::remove_file(&a).unwrap();
    eventually("b.wasm takes over", || {
        serving(&watched.handle) == vec![("hostile".into(), sha(&vb))]
    });
}

#[test]
fn a_relative_plugin_directory_reloads_like_an_absolute_one() {
    let dir = tempfile::tempdir().unwrap();
    // The same directory, named relative to the current directory.
    let cwd = std::env::current_dir().unwrap();
    let mut relative = std::path::PathBuf::new();
    for _ in cwd.components().skip(1) {
        relative.push("..");
    }
    relative.push(dir.path().strip_prefix("/").unwrap());
    assert!(relative.is_relative() && relative.is_dir());
    let watched = Watched::start(&relative);
    let wasm = hostile_wasm();
    let (v1, v2) = (with_nonce(&wasm, 31), with_nonce(&wasm, 32));
    let a = dir.path().join("a.wasm");
    std::fs::write(&a, &v1).unwrap();
    eventually("v1 serving", || {
        serving(&watched.handle) == vec![("hostile".into(), sha(&v1))]
    });
    std::fs::write(&a, &v2).unwrap();
    eventually("v2 replacing v1", || {
        serving(&watched.handle) == vec![("hostile".into(), sha(&v2))]
    });
    let stats = watched.handle.status().reload;
    assert_eq!(stats.refusals, 0, "{:?}", stats.last_refusal);
}
