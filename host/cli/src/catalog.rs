//! The agent's catalog, built from the configuration: the default pack
//! built into the binary, plugin directories, installed rule packs.

use std::sync::Arc;

use harrier_catalog::directory::DirectorySource;
use harrier_catalog::embedded::{BuiltIn, EmbeddedSource};
use harrier_catalog::packs::PackSource;
use harrier_catalog::{Catalog, Compile, Settings, WatchConfig};
use harrier_plugins::{HostServices, Permission, Permissions, PluginEngine, PluginSpec};

use crate::config::Config;

/// Every source the configuration names, with the operator's settings;
/// packs' feeds go to `intel`.
pub fn build(config: &Config, intel: Arc<harrier_intel::IntelStore>) -> Catalog {
    let mut catalog = Catalog::new(settings(config));
    if !config.plugins.no_default_pack {
        catalog.add(EmbeddedSource::new(
            harrier_default_pack::detectors().iter().map(|d| BuiltIn {
                name: d.name.to_string(),
                wasm: Arc::from(d.wasm),
                default_config: d.default_config.to_string(),
                permissions: built_in_permissions(d),
            }),
        ));
    }
    let mut dirs = Vec::new();
    for dir in &config.plugins.dirs {
        let source = DirectorySource::new(dir, WatchConfig::default().debounce);
        // The same directory given twice (relative and absolute) is one source.
        if !dirs.contains(&source.dir().to_path_buf()) {
            dirs.push(source.dir().to_path_buf());
            catalog.add(source);
        }
    }
    if config.packs_enabled() {
        catalog.add(
            PackSource::new(config.packs.clone(), harrier_events::WIT_VERSION).with_intel(intel),
        );
    }
    catalog
}

/// What a built-in detector declares it needs. A name this host does not
/// know is logged and left out: the detector's calls that need it are
/// then denied, naming it.
fn built_in_permissions(d: &harrier_default_pack::EmbeddedDetector) -> Permissions {
    d.permissions
        .iter()
        .filter_map(|name| match name.parse::<Permission>() {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!("built-in detector {}: {e}", d.name);
                None
            }
        })
        .collect()
}

/// Whether anything the catalog holds can change while the agent runs.
pub fn watchable(config: &Config) -> bool {
    !config.plugins.dirs.is_empty() || config.packs_enabled()
}

fn settings(config: &Config) -> Settings {
    let tables =
        config.plugins.config.iter().filter_map(|(name, table)| {
            match serde_json::to_value(table) {
                Ok(serde_json::Value::Object(object)) => Some((name.clone(), object)),
                _ => None,
            }
        });
    Settings {
        limits: config.plugins.limits.clone(),
        config: tables.collect(),
        disabled: config.plugins.disable.iter().cloned().collect(),
        permissions: config.plugins.permissions.clone(),
        shadow: config.plugins.shadow.clone(),
    }
}

/// Compile, instantiate, initialise and self-test with `engine`, on the
/// calling thread.
pub fn compiler(engine: Arc<PluginEngine>, services: Arc<dyn HostServices>) -> Box<Compile> {
    Box::new(move |spec: PluginSpec| {
        engine
            .load(spec, services.clone())
            .map_err(|e| e.reason.to_string())
    })
}
