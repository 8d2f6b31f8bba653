//! Which detectors the agent loads, and with what configuration: the
//! default pack built into the binary, plugin directories, installed rule
//! packs. A detector that fails to load is reported by name and skipped;
//! the others load.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use harrier_pipeline::DetectorSet;
use harrier_plugins::{HostServices, PluginEngine, PluginSource, PluginSpec};

use crate::config::Config;

/// Detector specs gathered from every source, and what was refused before
/// compiling (unreadable files, tampered packs...).
#[derive(Default)]
pub struct Gathered {
    /// Ready to compile and load.
    pub specs: Vec<PluginSpec>,
    /// One message per refusal, naming the culprit.
    pub refused: Vec<String>,
}

/// Gather detector specs from the default pack, plugin directories and packs.
pub fn gather(config: &Config) -> Gathered {
    let mut out = Gathered::default();
    if !config.plugins.no_default_pack {
        for detector in harrier_default_pack::detectors() {
            let config_json = merged_config(config, detector.name, detector.default_config);
            out.specs.push(PluginSpec {
                origin: format!("embedded:{}", detector.name),
                source: PluginSource::Embedded,
                wasm: Arc::from(detector.wasm),
                config_json,
                limits: config.plugins.limits.clone(),
                severity_override: None,
                shadow: config.plugins.shadow.get(detector.name).cloned(),
            });
        }
    }
    for dir in &config.plugins.dirs {
        match wasm_files(dir) {
            Ok(files) => {
                for file in files {
                    match dir_spec(config, &file) {
                        Ok(spec) => out.specs.push(spec),
                        Err(e) => out.refused.push(format!("{e:#}")),
                    }
                }
            }
            Err(e) => out.refused.push(format!("{e:#}")),
        }
    }
    if config.packs_enabled() {
        let packs = pack_specs(config);
        out.specs.extend(packs.specs);
        out.refused.extend(packs.refused);
    }
    out.specs
        .retain(|spec| !config.plugins.disable.iter().any(|d| spec_key(spec) == *d));
    out
}

/// Specs of every enabled plugin of the installed packs, each pack verified
/// again (signature, digests) before anything is compiled.
pub fn pack_specs(config: &Config) -> Gathered {
    let mut out = Gathered::default();
    let loaded = harrier_packs::load_configured(&config.packs, harrier_events::WIT_VERSION);
    out.refused
        .extend(loaded.refused.iter().map(|e| e.to_string()));
    for warning in &loaded.warnings {
        tracing::warn!("packs: {warning}");
    }
    for pack in &loaded.packs {
        let (name, version) = (
            pack.pack.name().to_string(),
            pack.pack.version().to_string(),
        );
        let signer = pack.pack.signer();
        for plugin in pack.pack.plugins().iter().filter(|p| p.enabled()) {
            let shadow = match pack_shadow(config, plugin) {
                Ok(shadow) => shadow,
                Err(e) => {
                    out.refused
                        .push(format!("pack {name}: detector {}: {e}", plugin.name()));
                    continue;
                }
            };
            out.specs.push(PluginSpec {
                origin: format!("pack:{name}/{}", plugin.name()),
                source: PluginSource::Pack {
                    pack: name.clone(),
                    version: version.clone(),
                    signer: signer.to_string(),
                    key_id: match signer {
                        harrier_packs::Signer::Key(id) => Some(id.clone()),
                        harrier_packs::Signer::Unsigned => None,
                    },
                },
                wasm: plugin.bytes().clone(),
                config_json: plugin.config_json(),
                limits: config.plugins.limits.clone(),
                severity_override: plugin.severity(),
                shadow,
            });
        }
    }
    out.specs
        .retain(|spec| !config.plugins.disable.iter().any(|d| spec_key(spec) == *d));
    out
}

/// A pack detector's shadow mode: the pack override's `shadow` (`true`,
/// `false` or a table) over `[plugins.shadow.<name>]`.
fn pack_shadow(
    config: &Config,
    plugin: &harrier_packs::VerifiedPlugin,
) -> anyhow::Result<Option<harrier_plugins::ShadowMode>> {
    Ok(match plugin.shadow() {
        None => config.plugins.shadow.get(plugin.name()).cloned(),
        Some(toml::Value::Boolean(on)) => on.then(Default::default),
        Some(table) => Some(
            table
                .clone()
                .try_into()
                .context("override `shadow`: expected true, false or { until, then }")?,
        ),
    })
}

/// The spec of one component file in a plugin directory.
pub fn dir_spec(config: &Config, path: &Path) -> anyhow::Result<PluginSpec> {
    let wasm =
        std::fs::read(path).with_context(|| format!("plugin {}: cannot read", path.display()))?;
    let stem = file_key(path);
    Ok(PluginSpec {
        origin: path.display().to_string(),
        source: PluginSource::Directory {
            path: path.to_path_buf(),
        },
        wasm: wasm.into(),
        config_json: merged_config(config, &stem, "{}"),
        limits: config.plugins.limits.clone(),
        severity_override: None,
        shadow: config.plugins.shadow.get(&stem).cloned(),
    })
}

/// The `*.wasm` files of a plugin directory, sorted.
pub fn wasm_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("plugin directory {}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The name a plugin file is configured and disabled by: its file stem.
pub fn file_key(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn spec_key(spec: &PluginSpec) -> String {
    match &spec.source {
        PluginSource::Directory { path } => file_key(path),
        _ => spec
            .origin
            .rsplit([':', '/'])
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// The detector's default JSON configuration with the operator's
/// `[plugins.config.<key>]` table laid over it (top-level keys replaced).
fn merged_config(config: &Config, key: &str, default_json: &str) -> String {
    let mut merged: serde_json::Value =
        serde_json::from_str(default_json).unwrap_or_else(|_| serde_json::json!({}));
    if let (Some(overrides), Some(object)) =
        (config.plugins.config.get(key), merged.as_object_mut())
        && let Ok(serde_json::Value::Object(extra)) = serde_json::to_value(overrides)
    {
        object.extend(extra);
    }
    merged.to_string()
}

/// Compile and start every spec; refusals are logged with their reason and
/// returned. Two detectors may not share a name: the later one is refused.
pub fn load_all(
    engine: &PluginEngine,
    specs: Vec<PluginSpec>,
    services: Arc<dyn HostServices>,
    set: &mut DetectorSet,
) -> Vec<String> {
    let mut refused = Vec::new();
    for spec in specs {
        match engine.load(spec, services.clone()) {
            Ok(plugin) => {
                if let Some(named) = manifest_name_mismatch(&plugin) {
                    refused.push(named);
                    continue;
                }
                if let Some(existing) = set.status().iter().find(|s| s.name == plugin.name()) {
                    refused.push(format!(
                        "plugin {}: detector name `{}` is already loaded from {}",
                        plugin.origin(),
                        plugin.name(),
                        existing.origin
                    ));
                    continue;
                }
                tracing::info!(detector = %plugin.name_version(), origin = plugin.origin(), "detector loaded");
                set.upsert(plugin);
            }
            Err(e) => refused.push(e.to_string()),
        }
    }
    for message in &refused {
        tracing::error!("{message}");
    }
    refused
}

/// A pack's manifest names each detector; the component must agree, or the
/// duplicate-name checks and operator overrides would target the wrong one.
fn manifest_name_mismatch(plugin: &harrier_plugins::Plugin) -> Option<String> {
    let PluginSource::Pack { pack, .. } = plugin.source() else {
        return None;
    };
    let listed = plugin.origin().rsplit('/').next().unwrap_or_default();
    (listed != plugin.name()).then(|| {
        format!(
            "plugin {}: pack {pack} lists it as `{listed}` but the component calls itself `{}`",
            plugin.origin(),
            plugin.name()
        )
    })
}
