//! Every embedded detector is a valid component exporting the detector world
//! with no imports beyond the host interface, and runs in wasmtime: its
//! metadata is sound, its default configuration is accepted and its built-in
//! self-test passes inside the sandbox.

use std::path::PathBuf;

use harrier_default_pack::detectors;
use harrier_events::Event;
use harrier_events::capture::CaptureReader;
use harrier_events::{Detector, FileWriteInfo, LogLevel, ProcessInfo};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store};
use wit_component::DecodedWasm;

/// The exports the world promises.
const EXPORTS: [&str; 7] = [
    "metadata",
    "init",
    "on-events",
    "tick",
    "self-test",
    "snapshot",
    "restore",
];

#[test]
fn the_pack_is_not_empty_and_names_are_unique() {
    let names: Vec<&str> = detectors().iter().map(|d| d.name).collect();
    assert!(names.contains(&"crypto-miner"), "{names:?}");
    let mut sorted = names.clone();
    sorted.dedup();
    assert_eq!(sorted, names, "names must be sorted and unique");
}

#[test]
fn declared_permissions_are_known_to_the_host() {
    for d in detectors() {
        for name in d.permissions {
            name.parse::<harrier_plugins::Permission>()
                .unwrap_or_else(|e| panic!("{}: {e}", d.name));
        }
    }
    let intel = |name| harrier_default_pack::detector(name).unwrap().permissions;
    assert_eq!(intel("threat-intel"), ["intel"]);
    assert!(intel("crypto-miner").is_empty());
}

#[test]
fn every_component_exports_the_detector_world_and_imports_only_the_host() {
    for d in detectors() {
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(d.wasm)
            .unwrap_or_else(|e| panic!("{}: invalid wasm: {e}", d.name));
        let DecodedWasm::Component(resolve, world) = wit_component::decode(d.wasm)
            .unwrap_or_else(|e| panic!("{}: not decodable: {e}", d.name))
        else {
            panic!("{}: a WIT package, not a component", d.name);
        };
        let world = &resolve.worlds[world];
        let exports: Vec<String> = world
            .exports
            .keys()
            .map(|k| resolve.name_world_key(k))
            .collect();
        for e in EXPORTS {
            assert!(
                exports.iter().any(|x| x == e),
                "{}: missing export {e}: {exports:?}",
                d.name
            );
        }
        for (k, item) in &world.imports {
            let name = resolve.name_world_key(k);
            if matches!(item, wit_parser::WorldItem::Type { .. }) {
                continue;
            }
            assert!(
                name.starts_with("harrier:detector/"),
                "{}: unexpected import {name} (detectors get no WASI)",
                d.name
            );
        }
        serde_json::from_str::<serde_json::Value>(d.default_config)
            .unwrap_or_else(|e| panic!("{}: default config is not JSON: {e}", d.name));
    }
}

/// A host that knows nothing: the self-tests must not depend on it. For
/// the fixtures it knows the indicators their capture header declares
/// (`indicators`: kind, value, category; `*.parent` covers subdomains).
struct EmptyHost {
    logs: Vec<String>,
    indicators: Vec<(String, String, String)>,
}

impl EmptyHost {
    fn new() -> EmptyHost {
        EmptyHost {
            logs: Vec::new(),
            indicators: Vec::new(),
        }
    }
}

impl harrier_events::host::Host for EmptyHost {
    fn log(&mut self, level: LogLevel, message: String) {
        self.logs.push(format!("{level:?}: {message}"));
    }
    fn now_ns(&mut self) -> u64 {
        1
    }
    fn process(&mut self, _pid: u32) -> Option<ProcessInfo> {
        None
    }
    fn ancestry(&mut self, _pid: u32, _max_depth: u32) -> Vec<ProcessInfo> {
        Vec::new()
    }
    fn recent_write(&mut self, _path: String) -> Option<FileWriteInfo> {
        None
    }
    fn intel_match(
        &mut self,
        kind: harrier_events::IndicatorKind,
        value: String,
    ) -> Option<harrier_events::IntelHit> {
        let kind = match kind {
            harrier_events::IndicatorKind::Domain => "domain",
            harrier_events::IndicatorKind::Ip => "ip",
            harrier_events::IndicatorKind::Sha256 => "sha256",
        };
        // The most specific entry: the exact value, then the nearest parent.
        let covers = |listed: &str| match listed.strip_prefix("*.") {
            Some(parent) => value.ends_with(&format!(".{parent}")),
            None => listed == value,
        };
        self.indicators
            .iter()
            .filter(|(k, v, _)| k == kind && covers(v))
            .max_by_key(|(_, v, _)| (!v.starts_with("*."), v.len()))
            .map(|(_, v, category)| harrier_events::IntelHit {
                category: category.clone(),
                source: "fixture".into(),
                indicator: v.clone(),
            })
    }
}

impl harrier_events::types::Host for EmptyHost {}

#[test]
fn every_component_runs_metadata_init_and_self_test_in_wasmtime() -> anyhow::Result<()> {
    let engine = Engine::new(&Config::new())?;
    let mut linker = Linker::<EmptyHost>::new(&engine);
    Detector::add_to_linker::<_, HasSelf<EmptyHost>>(&mut linker, |h| h)?;
    for d in detectors() {
        let component = Component::new(&engine, d.wasm)?;
        let mut store = Store::new(&engine, EmptyHost::new());
        let det = Detector::instantiate(&mut store, &component, &linker)?;
        let meta = det.call_metadata(&mut store)?;
        assert_eq!(meta.name, d.name, "metadata name must match the directory");
        assert!(
            !meta.subscriptions.is_empty(),
            "{}: no subscriptions",
            d.name
        );
        assert!(
            !meta.finding_types.is_empty(),
            "{}: no finding types",
            d.name
        );
        det.call_init(&mut store, d.default_config)?
            .map_err(|e| anyhow::anyhow!("{}: default config refused: {e}", d.name))?;
        assert!(
            det.call_init(&mut store, "{\"no_such_key\":1}")?.is_err(),
            "{}: unknown configuration keys must be refused",
            d.name
        );
        det.call_init(&mut store, d.default_config)?.unwrap();
        det.call_self_test(&mut store)?
            .map_err(|e| anyhow::anyhow!("{}: self-test failed in wasm: {e}", d.name))?;
        let snap = det.call_snapshot(&mut store)?;
        det.call_restore(&mut store, &snap)?
            .map_err(|e| anyhow::anyhow!("{}: restore of own snapshot failed: {e}", d.name))?;
        assert!(det.call_tick(&mut store, 2)?.is_empty());
    }
    Ok(())
}

/// Events of a shared fixture (plugins/fixtures/<name>).
fn fixture(name: &str) -> Vec<Event> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/fixtures")
        .join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    CaptureReader::new(std::io::BufReader::new(file))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The indicators a fixture's capture header declares.
fn header_indicators(name: &str) -> Vec<(String, String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let field = |i: &serde_json::Value, key: &str| i[key].as_str().unwrap_or_default().to_string();
    header["indicators"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| (field(i, "kind"), field(i, "value"), field(i, "category")))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn in_wasm_benign_is_quiet_and_own_fixture_fires() -> anyhow::Result<()> {
    let engine = Engine::new(&Config::new())?;
    let mut linker = Linker::<EmptyHost>::new(&engine);
    Detector::add_to_linker::<_, HasSelf<EmptyHost>>(&mut linker, |h| h)?;
    let benign = fixture("benign.jsonl");
    for d in detectors() {
        let component = Component::new(&engine, d.wasm)?;
        let mut store = Store::new(&engine, EmptyHost::new());
        let det = Detector::instantiate(&mut store, &component, &linker)?;
        det.call_init(&mut store, d.default_config)?.unwrap();
        let subs = det.call_metadata(&mut store)?.subscriptions;
        let mine = |events: &[Event]| -> Vec<Event> {
            events
                .iter()
                .filter(|e| subs.contains(&e.detail.kind()))
                .cloned()
                .collect()
        };
        let noisy: Vec<String> = det
            .call_on_events(&mut store, &mine(&benign))?
            .into_iter()
            .filter(|f| f.severity >= 4.0)
            .map(|f| format!("{} pid {}", f.finding_type, f.pid))
            .collect();
        assert!(
            noisy.is_empty(),
            "{}: benign workload raised {noisy:?}",
            d.name
        );
        let own_fixture = format!("{}/detect.jsonl", d.name);
        store.data_mut().indicators = header_indicators(&own_fixture);
        let own = det.call_on_events(&mut store, &mine(&fixture(&own_fixture)))?;
        assert!(
            !own.is_empty(),
            "{}: nothing on its own detection fixture",
            d.name
        );
        for f in &own {
            assert!(
                (1.0..=10.0).contains(&f.severity),
                "{}: severity {}",
                d.name,
                f.severity
            );
            assert!(
                !f.event_seqs.is_empty(),
                "{}: {} cites no event",
                d.name,
                f.finding_type
            );
        }
    }
    Ok(())
}
