//! `read-path-prefixes`: a detector that names the read-only opens it wants
//! gets only those (plus every writing open and relative path), the set
//! tells the sensor the union, and a bad answer refuses the plugin.

use std::sync::Arc;

use harrier_events::{EventDetail, EventKind};
use harrier_pipeline::{DetectorSet, QuarantinePolicy};
use harrier_plugins::{EngineConfig, NoHostServices, Plugin, PluginEngine};
use harrier_tests::{embedded_spec, exec_event, hostile_wasm, open_event, with_nonce};

fn load(engine: &PluginEngine, wasm: Vec<u8>, config: &str) -> Result<Plugin, String> {
    engine
        .load(
            embedded_spec("hostile.wasm", wasm, config),
            Arc::new(NoHostServices),
        )
        .map_err(|e| e.to_string())
}

#[test]
fn only_wanted_read_only_opens_reach_the_detector() {
    let engine = PluginEngine::new(&EngineConfig::default()).unwrap();
    let plugin = load(&engine, hostile_wasm(), r#"{"read_prefix":"/etc/shadow"}"#).unwrap();
    assert_eq!(
        plugin.read_prefixes(),
        Some(&["/etc/shadow".to_string()][..])
    );

    let mut write = open_event(4, 7, "/etc/hostname");
    if let EventDetail::FileOpen(open) = &mut write.detail {
        open.flags = libc::O_WRONLY as u32 | libc::O_TRUNC as u32;
    }
    let events = [
        open_event(1, 7, "/etc/shadow"),
        open_event(2, 7, "/etc/shadow-"),
        open_event(3, 7, "/etc/hostname"),
        write,
        open_event(5, 7, "relative/hostname"),
        exec_event(6, 7, "/bin/true", &["true"]),
    ];
    let wanted: Vec<u64> = events
        .iter()
        .filter(|e| plugin.wants(e))
        .map(|e| e.seq)
        .collect();
    assert_eq!(wanted, [1, 2, 4, 5, 6]);

    let all = load(&engine, hostile_wasm(), "{}").unwrap();
    assert_eq!(all.read_prefixes(), None);
    assert!(events.iter().all(|e| all.wants(e)));
}

#[test]
fn the_sensor_gets_the_union_or_every_open() {
    let engine = PluginEngine::new(&EngineConfig::default()).unwrap();
    let mut set = DetectorSet::new(QuarantinePolicy::default());
    set.upsert(load(&engine, hostile_wasm(), r#"{"read_prefix":"/root/"}"#).unwrap());
    let narrow = set.interest();
    assert!(narrow.kinds.contains(&EventKind::FileOpen));
    assert_eq!(narrow.read_prefixes, Some(vec!["/root/".to_string()]));

    // A default detector adds its own prefixes to the union...
    let file_access = harrier_default_pack::detector("file-access").unwrap();
    set.upsert(
        load(
            &engine,
            file_access.wasm.to_vec(),
            file_access.default_config,
        )
        .unwrap(),
    );
    let union = set.interest().read_prefixes.unwrap();
    assert!(union.contains(&"/root/".to_string()), "{union:?}");
    assert!(union.contains(&"/etc/shadow".to_string()), "{union:?}");
    assert!(
        !union
            .iter()
            .any(|p| "/etc/hostname".starts_with(p.as_str())),
        "{union:?}"
    );

    // ...and one that wants every open turns the filter off.
    set.upsert(load(&engine, with_nonce(&hostile_wasm(), 1), "{}").unwrap());
    assert_eq!(set.interest().read_prefixes, None);
}

#[test]
fn relative_prefixes_refuse_the_plugin_naming_it() {
    let engine = PluginEngine::new(&EngineConfig::default()).unwrap();
    let error = load(&engine, hostile_wasm(), r#"{"read_prefix":"etc/shadow"}"#).err();
    let error = error.expect("refused");
    assert!(error.contains("hostile.wasm"), "{error}");
    assert!(error.contains("read-path prefix `etc/shadow`"), "{error}");
}
