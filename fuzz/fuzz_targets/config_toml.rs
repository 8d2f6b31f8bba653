//! The TOML configuration's sections that live in library crates (plugin
//! limits and engine, quarantine, findings, outputs, packs, enrichment):
//! any text parses or is refused, and validation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn section<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    toml::from_str(text).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(engine) = section::<harrier_plugins::EngineConfig>(text) {
        let _ = engine.validate();
    }
    if let Some(limits) = section::<harrier_plugins::PluginLimits>(text) {
        let _ = limits.validate(256 << 20);
        let _ = limits.call_deadline();
    }
    let _ = section::<std::collections::BTreeMap<String, harrier_plugins::Permissions>>(text);
    let _ = section::<harrier_pipeline::QuarantinePolicy>(text);
    if let Some(merge) = section::<harrier_findings::MergeConfig>(text) {
        let _ = harrier_findings::Merger::new(merge);
    }
    if let Some(settings) = section::<harrier_findings::sink::SinkSettings>(text) {
        for spec in [
            "stdout",
            "file:/nonexistent/x",
            "webhook:http://127.0.0.1:1/",
        ] {
            let _ = harrier_findings::SinkSpec::parse_with(spec, &settings);
        }
    }
    let _ = section::<harrier_packs::PacksConfig>(text);
    let _ = section::<harrier_enrich::EnrichConfig>(text);
});
