//! The catalog with real rule packs and a running agent: packs installed,
//! upgraded, tampered and removed while it runs; a pack can never replace a
//! built-in detector (it stands by, or is refused when its manifest and
//! component disagree), the built-in keeps serving throughout and after the
//! pack goes; a refused pack is reported once, and an idle store costs no
//! reconcile round.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harrier_catalog::embedded::{BuiltIn, EmbeddedSource};
use harrier_catalog::packs::PackSource;
use harrier_catalog::{Catalog, Settings, WatchConfig, Watcher};
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_findings::{MergeConfig, Merger};
use harrier_packs::{BuildOptions, PacksConfig, SecretKey, TrustStore, VerifyOptions};
use harrier_pipeline::agent::{AgentConfig, Clock};
use harrier_pipeline::{
    Agent, AgentHandle, DetectorSet, EnricherServices, Pipeline, QuarantinePolicy,
};
use harrier_plugins::{EngineConfig, PluginEngine};
use harrier_tests::{GeneratedSource, with_nonce};

const MINER: &str = "crypto-miner";

fn miner() -> &'static harrier_default_pack::EmbeddedDetector {
    harrier_default_pack::detector(MINER).unwrap()
}

/// A world: a key, a trust store holding it, a packs store, sources.
struct World {
    tmp: tempfile::TempDir,
    key: SecretKey,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let generated = harrier_packs::keygen(&tmp.path().join("keys"), "vendor").unwrap();
        std::fs::create_dir_all(tmp.path().join("trust")).unwrap();
        std::fs::copy(&generated.public_path, tmp.path().join("trust/vendor.pub")).unwrap();
        let key = SecretKey::load(&generated.secret_path).unwrap();
        World { tmp, key }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn config(&self) -> PacksConfig {
        PacksConfig {
            dir: Some(self.path("store")),
            trust: Some(self.path("trust")),
            ..PacksConfig::default()
        }
    }

    /// A signed pack `name` `version` listing one plugin as `listed`,
    /// whose component is `wasm`.
    fn pack(&self, name: &str, version: &str, listed: &str, wasm: &[u8]) -> PathBuf {
        self.pack_asking(name, version, listed, wasm, &[])
    }

    /// The same, its plugin asking for `permissions` in the manifest.
    fn pack_asking(
        &self,
        name: &str,
        version: &str,
        listed: &str,
        wasm: &[u8],
        permissions: &[&str],
    ) -> PathBuf {
        let dir = self.path(&format!("src/{name}-{version}-{listed}"));
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        std::fs::write(dir.join(format!("plugins/{listed}.wasm")), wasm).unwrap();
        let asked: Vec<String> = permissions.iter().map(|p| format!("\"{p}\"")).collect();
        let manifest = format!(
            "name = \"{name}\"\nversion = \"{version}\"\nvendor = \"Test\"\ndescription = \"test\"\nwit = \"^0.2\"\n\n[[plugin]]\nname = \"{listed}\"\nfile = \"plugins/{listed}.wasm\"\nversion = \"1.0.0\"\npermissions = [{}]\n",
            asked.join(", ")
        );
        std::fs::write(dir.join("pack.toml"), manifest).unwrap();
        let opts = BuildOptions {
            default_wit: "^0.2".into(),
            ..BuildOptions::default()
        };
        harrier_packs::build(&dir, &opts).unwrap();
        harrier_packs::sign(&dir, &self.key).unwrap();
        dir
    }

    fn install(&self, pack: &Path) {
        let trust = TrustStore::load(&self.path("trust")).unwrap();
        let opts = VerifyOptions::new(harrier_events::WIT_VERSION).unwrap();
        harrier_packs::install(pack, &self.path("store"), &trust, &opts).unwrap();
    }
}

/// A pack's threat-intelligence feed is served while the pack is installed
/// and goes with it; a pack that did not change, or has no feeds, costs no
/// snapshot rebuild.
#[test]
fn a_packs_feeds_come_and_go_with_it() {
    let world = World::new();
    let dir = world.pack("feeds", "1.0.0", MINER, miner().wasm);
    std::fs::create_dir_all(dir.join("intel")).unwrap();
    std::fs::write(
        dir.join("intel/c2.txt"),
        "[command-and-control]\nc2.harrier-feeds.test\n",
    )
    .unwrap();
    let opts = BuildOptions {
        default_wit: "^0.2".into(),
        ..BuildOptions::default()
    };
    harrier_packs::build(&dir, &opts).unwrap();
    harrier_packs::sign(&dir, &world.key).unwrap();
    world.install(&dir);

    let store = Arc::new(harrier_intel::IntelStore::new());
    let mut catalog = Catalog::new(Settings::default());
    catalog.add(
        PackSource::new(world.config(), harrier_events::WIT_VERSION).with_intel(store.clone()),
    );
    let compile = |_: harrier_plugins::PluginSpec| Err("not compiled here".to_string());
    let mut set = DetectorSet::new(QuarantinePolicy::default());
    let c2 = || store.lookup(harrier_intel::Kind::Domain, "c2.harrier-feeds.test");
    catalog.reconcile(&mut set, &compile);
    assert!(c2().is_some(), "the pack's feed does not serve");
    let snapshot = store.snapshot();
    catalog.reconcile(&mut set, &compile);
    assert!(
        Arc::ptr_eq(&snapshot, &store.snapshot()),
        "an unchanged pack rebuilt the intel snapshot"
    );
    let plain = world.pack("plain", "1.0.0", "other-miner", miner().wasm);
    world.install(&plain);
    catalog.reconcile(&mut set, &compile);
    assert!(
        Arc::ptr_eq(&snapshot, &store.snapshot()),
        "a pack without feeds rebuilt the intel snapshot"
    );

    harrier_packs::remove(&world.path("store"), "feeds").unwrap();
    catalog.reconcile(&mut set, &compile);
    assert!(c2().is_none(), "the feed outlived its pack");
}

/// A running agent whose catalog holds the built-in crypto-miner and the
/// world's packs store.
struct Running {
    handle: AgentHandle,
    watcher: Option<Watcher>,
    agent: Option<std::thread::JoinHandle<()>>,
    _cache: tempfile::TempDir,
}

impl Running {
    fn start(world: &World) -> Running {
        let cache = tempfile::tempdir().unwrap();
        let engine = Arc::new(
            PluginEngine::new(&EngineConfig {
                cache_dir: Some(cache.path().to_path_buf()),
                ..EngineConfig::default()
            })
            .unwrap(),
        );
        let enrich = EnrichConfig {
            read_proc: false,
            ..EnrichConfig::default()
        };
        let services = Arc::new(EnricherServices::replay(Arc::new(Enricher::new(enrich))));
        let merger = Merger::new(MergeConfig::default()).unwrap();
        let pipeline = Pipeline::new(
            services.clone(),
            DetectorSet::new(QuarantinePolicy::default()),
            merger,
            Box::new(|_: harrier_findings::Emission| {}),
        );
        let config = AgentConfig {
            clock: Clock::Events,
            tick_interval: Duration::from_secs(3600),
            ..AgentConfig::default()
        };
        let source = GeneratedSource::new(u64::MAX, 16, Duration::from_millis(5));
        let (agent, handle) = Agent::new(pipeline, Box::new(source), config);
        let agent = std::thread::spawn(move || {
            agent.run().unwrap();
        });
        let mut catalog = Catalog::new(Settings::default());
        catalog.add(EmbeddedSource::new([BuiltIn {
            name: MINER.into(),
            wasm: Arc::from(miner().wasm),
            default_config: miner().default_config.into(),
            permissions: harrier_plugins::Permissions::NONE,
        }]));
        catalog.add(PackSource::new(world.config(), harrier_events::WIT_VERSION));
        let compile = Box::new(move |spec: harrier_plugins::PluginSpec| {
            engine
                .load(spec, services.clone())
                .map_err(|e| e.reason.to_string())
        });
        let watcher =
            Watcher::start(catalog, compile, handle.clone(), WatchConfig::default()).unwrap();
        Running {
            handle,
            watcher: Some(watcher),
            agent: Some(agent),
            _cache: cache,
        }
    }

    /// (origin, state) of every detector.
    fn detectors(&self) -> Vec<(String, String)> {
        self.handle
            .status()
            .detectors
            .into_iter()
            .map(|d| (d.origin, d.state))
            .collect()
    }

    fn eventually(&self, what: &str, check: impl Fn(&[(String, String)]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if check(&self.detectors()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("timed out waiting for {what}: {:?}", self.detectors());
    }

    /// For `window`, the built-in serves crypto-miner at every look.
    fn built_in_serves_throughout(&self, window: Duration) {
        let until = Instant::now() + window;
        while Instant::now() < until {
            let serving: Vec<String> = self
                .detectors()
                .into_iter()
                .filter(|(_, state)| state == "serving")
                .map(|(origin, _)| origin)
                .collect();
            assert_eq!(serving, vec![format!("embedded:{MINER}")], "flapped");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.watcher.take());
        self.handle.stop();
        if let Some(agent) = self.agent.take() {
            let _ = agent.join();
        }
    }
}

fn pair(origin: &str, state: &str) -> (String, String) {
    (origin.to_string(), state.to_string())
}

#[test]
fn a_pack_never_replaces_a_built_in_detector() {
    let world = World::new();
    let running = Running::start(&world);
    running.eventually("the built-in serving", |d| {
        d == [pair("embedded:crypto-miner", "serving")]
    });

    // A valid pack providing the same detector: it stands by.
    world.install(&world.pack("vendor-miner", "1.0.0", MINER, miner().wasm));
    running.eventually("the pack standing by", |d| {
        d.contains(&pair("pack:vendor-miner/crypto-miner", "standing-by"))
    });
    running.built_in_serves_throughout(Duration::from_millis(800));

    // A pack whose manifest says `rt-innocent` but whose component calls
    // itself crypto-miner: refused, once.
    let refusals = running.handle.status().reload.refusals;
    world.install(&world.pack("sneaky", "1.0.0", "rt-innocent", miner().wasm));
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.handle.status().reload.refusals == refusals {
        assert!(Instant::now() < deadline, "the sneaky pack was not refused");
        std::thread::sleep(Duration::from_millis(20));
    }
    let message = running.handle.status().reload.last_refusal.unwrap();
    assert!(
        message.contains("sneaky") && message.contains("rt-innocent") && message.contains(MINER),
        "{message}"
    );
    running.built_in_serves_throughout(Duration::from_millis(1500));
    assert_eq!(
        running.handle.status().reload.refusals,
        refusals + 1,
        "a refused pack is refused once, not again at every look"
    );

    // Both packs removed: the built-in still serves, alone.
    let store = world.path("store");
    harrier_packs::remove(&store, "vendor-miner").unwrap();
    harrier_packs::remove(&store, "sneaky").unwrap();
    running.eventually("the packs gone", |d| {
        d == [pair("embedded:crypto-miner", "serving")]
    });
}

#[test]
fn packs_installed_upgraded_tampered_and_removed_while_running() {
    let world = World::new();
    let running = Running::start(&world);
    running.eventually("the built-in serving", |d| d.len() == 1);
    let sha = |origin: &str| {
        running
            .handle
            .status()
            .detectors
            .into_iter()
            .find(|d| d.origin == origin)
            .map(|d| d.sha256)
    };
    let origin = "pack:acme/crypto-miner";
    let (v1, v2) = (with_nonce(miner().wasm, 1), with_nonce(miner().wasm, 2));
    world.install(&world.pack("acme", "1.0.0", MINER, &v1));
    running.eventually("acme 1.0.0", |d| d.contains(&pair(origin, "standing-by")));
    let first = sha(origin).unwrap();

    world.install(&world.pack("acme", "2.0.0", MINER, &v2));
    running.eventually("acme 2.0.0", |_| sha(origin).is_some_and(|s| s != first));

    // Idle: no round, no re-verification.
    std::thread::sleep(Duration::from_millis(300));
    let idle = running.handle.status().reload;
    std::thread::sleep(Duration::from_millis(1500));
    let after = running.handle.status().reload;
    assert_eq!(
        (after.rounds, after.refusals),
        (idle.rounds, idle.refusals),
        "an idle store is not looked at again"
    );

    // Tampered in place: refused once, the running version stays.
    let wasm = world.path("store/acme/plugins/crypto-miner.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&wasm, bytes).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.handle.status().reload.refusals == after.refusals {
        assert!(
            Instant::now() < deadline,
            "the tampered pack was not refused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let message = running.handle.status().reload.last_refusal.unwrap();
    assert!(message.contains("crypto-miner.wasm"), "{message}");
    assert!(sha(origin).is_some_and(|s| s != first), "2.0.0 stays");

    harrier_packs::remove(&world.path("store"), "acme").unwrap();
    running.eventually("acme gone", |d| {
        d == [pair("embedded:crypto-miner", "serving")]
    });
}

/// A pack plugin gets exactly the permissions its manifest asks for and the
/// operator allows: none unasked, a refusal naming the pack, plugin and
/// permission when the operator does not allow it, and a refusal for a
/// permission this host does not know. (tests/sandbox.rs shows a detector
/// without a grant refused at the call.)
#[test]
fn pack_grants_are_what_the_manifest_asks_and_the_operator_allows() {
    use harrier_plugins::{Permission, Permissions, PluginSpec};
    use std::sync::Mutex;

    let intel = harrier_default_pack::detector("threat-intel").unwrap();
    let engine = Arc::new(PluginEngine::new(&EngineConfig::default()).unwrap());
    let services = Arc::new(harrier_plugins::NoHostServices);
    // Each case: what the manifest asks, what the operator allows; what
    // the plugin is granted, or the refusal.
    type Case<'a> = (&'a [&'a str], &'a [&'a str], Result<Permissions, &'a str>);
    let cases: [Case; 4] = [
        (&[], &["intel"], Ok(Permissions::NONE)),
        (
            &["intel"],
            &["intel"],
            Ok(Permissions::NONE.with(Permission::Intel)),
        ),
        (
            &["intel"],
            &[],
            Err("permission intel is requested but not allowed"),
        ),
        (
            &["host:files"],
            &["host:files"],
            Err("unknown permission `host:files`"),
        ),
    ];
    for (i, (asked, allowed, expected)) in cases.into_iter().enumerate() {
        let world = World::new();
        let name = format!("intel-pack-{i}");
        let pack = world.pack_asking(&name, "1.0.0", "threat-intel", intel.wasm, asked);
        world.install(&pack);
        let mut config = world.config();
        config.allowed_permissions = allowed.iter().map(|p| p.to_string()).collect();
        let mut catalog = Catalog::new(Settings::default());
        catalog.add(PackSource::new(config, harrier_events::WIT_VERSION));
        let granted = Arc::new(Mutex::new(Vec::new()));
        let (seen, engine, services) = (granted.clone(), engine.clone(), services.clone());
        let compile = move |spec: PluginSpec| {
            seen.lock().unwrap().push(spec.permissions);
            engine
                .load(spec, services.clone())
                .map_err(|e| e.reason.to_string())
        };
        let mut set = DetectorSet::new(QuarantinePolicy::default());
        let round = catalog.reconcile(&mut set, &compile);
        match expected {
            Ok(permissions) => {
                assert!(round.refused.is_empty(), "{asked:?}: {:?}", round.refused);
                assert_eq!(*granted.lock().unwrap(), [permissions], "{asked:?}");
                assert_eq!(set.status().len(), 1);
            }
            Err(text) => {
                assert!(granted.lock().unwrap().is_empty(), "{asked:?}: compiled");
                assert!(
                    round
                        .refused
                        .iter()
                        .any(|r| r.contains(&name) && r.contains(text)),
                    "{asked:?} allowed {allowed:?}: {:?}",
                    round.refused
                );
            }
        }
    }
}
