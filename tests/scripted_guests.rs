//! Detectors written in Python (componentize-py) and JavaScript
//! (componentize-js), built from source by scripts/build-guests.sh, run by
//! the host's plugin runtime like any other: they load in the sandbox with
//! the permissions their language runtime needs and nothing else (Python's
//! reads the environment, empty here, and random bytes for its hash seed;
//! JavaScript's needs none), report on their fixtures and stay quiet on the
//! benign workload; without those permissions the Python one is refused,
//! naming what it called.

use std::path::Path;
use std::sync::Arc;

use harrier_events::Event;
use harrier_events::capture::CaptureReader;
use harrier_plugins::{
    EngineConfig, LoadError, NoHostServices, Permission, Permissions, Plugin, PluginEngine,
    PluginLimits, PluginSource, PluginSpec,
};
use harrier_tests::repo_root;

fn capture(path: &Path) -> Vec<Event> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    CaptureReader::new(std::io::BufReader::new(file))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Loads a built guest with `permissions`, or says why it was refused.
fn try_load(component: &str, permissions: Permissions) -> Result<Plugin, LoadError> {
    let path = repo_root().join("target/guests").join(component);
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the scripted guests first: scripts/build-guests.sh (./test.sh does)",
            path.display()
        )
    });
    // Scripted guests take seconds to compile: keep the compiled artifact.
    let engine = PluginEngine::new(&EngineConfig {
        cache_dir: Some(repo_root().join("target/guest-cache")),
        ..EngineConfig::default()
    })
    .unwrap();
    let spec = PluginSpec {
        origin: path.display().to_string(),
        source: PluginSource::Directory { path: path.clone() },
        wasm: wasm.into(),
        config_json: "{}".into(),
        limits: PluginLimits {
            memory_bytes: 256 << 20,
            call_deadline_ms: 5_000,
            ..PluginLimits::default()
        },
        severity_override: None,
        permissions,
        shadow: None,
    };
    let started = std::time::Instant::now();
    let loaded = engine.load(spec, Arc::new(NoHostServices));
    eprintln!(
        "{component}: load took {:?} (compiled cache: target/guest-cache)",
        started.elapsed()
    );
    loaded
}

fn load(component: &str, permissions: Permissions) -> Plugin {
    try_load(component, permissions).unwrap_or_else(|e| panic!("{e}"))
}

fn run(plugin: &mut Plugin, events: &[Event]) -> Vec<harrier_events::Finding> {
    let subs = plugin.subscriptions();
    let routed: Vec<&Event> = events
        .iter()
        .filter(|e| subs.contains(e.detail.kind()))
        .collect();
    plugin.on_events(&routed).unwrap()
}

fn check(component: &str, permissions: Permissions, fixture: &str, finding_type: &str) {
    let mut plugin = load(component, permissions);
    assert!(
        plugin
            .metadata()
            .finding_types
            .iter()
            .any(|t| t == finding_type)
    );
    let found = run(
        &mut plugin,
        &capture(&repo_root().join(format!("plugins/fixtures/{fixture}/detect.jsonl"))),
    );
    assert!(
        found.iter().any(|f| f.finding_type == finding_type),
        "{component} found nothing of type {finding_type} in its fixture: {found:?}"
    );
    let benign = run(
        &mut plugin,
        &capture(&repo_root().join("plugins/fixtures/benign.jsonl")),
    );
    let loud: Vec<_> = benign.iter().filter(|f| f.severity >= 4.0).collect();
    assert!(
        loud.is_empty(),
        "{component} raised on the benign workload: {loud:?}"
    );
}

#[test]
fn python_detector_runs_in_the_host() {
    check(
        "persistence-py.wasm",
        [Permission::WasiCli, Permission::WasiRandom]
            .into_iter()
            .collect(),
        "python-persistence",
        "Persistence:Runtime/SuspiciousCommand",
    );
}

#[test]
fn javascript_detector_runs_in_the_host() {
    check(
        "discovery-js.wasm",
        Permissions::NONE,
        "js-discovery",
        "Discovery:Runtime/SuspiciousCommand",
    );
}

#[test]
fn python_detector_without_its_permissions_is_refused_naming_the_call() {
    let err = try_load("persistence-py.wasm", Permissions::NONE)
        .err()
        .expect("refused without wasi:cli")
        .to_string();
    assert!(
        err.contains("wasi:cli/environment") && err.contains("permission `wasi:cli`"),
        "{err}"
    );
}
