//! Operator overrides per pack: disable a detector, replace or merge its configuration,
//! impose a severity on its findings, run it in shadow mode.
//!
//! In the agent's TOML configuration (see [`crate::PacksConfig`]):
//!
//! ```toml
//! [packs.overrides.acme-runtime.crypto-miner]
//! enabled = false
//!
//! [packs.overrides.acme-runtime.reverse-shell]
//! severity = 9.0
//! config-mode = "merge"          # or "replace"; default "merge"
//! config = { allowed-ports = [22, 443] }
//!
//! [packs.overrides.acme-runtime.new-rule]
//! shadow = { until = "2026-12-31T00:00:00Z", then = "live" }   # or `shadow = true`
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::PackError;
use crate::canonical::table_to_json;
use crate::verify::VerifiedPack;

/// Overrides for the detectors of one pack, by detector name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PackOverrides {
    /// Override per detector name.
    pub detectors: BTreeMap<String, DetectorOverride>,
}

/// How an override's `config` combines with the manifest's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigMode {
    /// Deep-merge: tables merge key by key, anything else (arrays included) is replaced.
    #[default]
    Merge,
    /// The override's table replaces the manifest's configuration entirely.
    Replace,
}

/// What the operator changes about one detector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DetectorOverride {
    /// `false` disables the detector (it is not loaded).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Configuration to merge into or replace the manifest's.
    #[serde(default)]
    pub config: Option<toml::Table>,
    /// How `config` applies.
    #[serde(default)]
    pub config_mode: ConfigMode,
    /// Severity (0.0–10.0) imposed on every finding of this detector.
    #[serde(default)]
    pub severity: Option<f32>,
    /// Shadow mode: `true` (until changed), `false` (live, whatever
    /// `[plugins.shadow]` says) or `{ until = "RFC 3339", then = "off"|"live" }`;
    /// read by the agent when it loads the detector.
    #[serde(default)]
    pub shadow: Option<toml::Value>,
}

/// Applies overrides to a verified pack's plugins (the signed manifest is not changed). An
/// override naming a detector the pack does not have, or an out-of-range severity, is an error
/// and leaves the pack unchanged.
pub fn apply_overrides(
    pack: &mut VerifiedPack,
    overrides: &PackOverrides,
) -> Result<(), PackError> {
    let err = |reason: String| PackError::Override {
        pack: pack.label(),
        reason,
    };
    let mut plugins = pack.plugins.clone();
    for (name, o) in &overrides.detectors {
        let plugin = plugins
            .iter_mut()
            .find(|p| p.name == *name)
            .ok_or_else(|| err(format!("detector {name}: not in this pack")))?;
        if let Some(enabled) = o.enabled {
            plugin.enabled = enabled;
        }
        if let Some(severity) = o.severity {
            if !(0.0..=10.0).contains(&severity) {
                return Err(err(format!(
                    "detector {name}: severity {severity} is outside 0.0-10.0"
                )));
            }
            plugin.severity = Some(severity);
        }
        if let Some(shadow) = &o.shadow {
            plugin.shadow = Some(shadow.clone());
        }
        if let Some(table) = &o.config {
            let patch =
                table_to_json(table).map_err(|e| err(format!("detector {name}: config: {e}")))?;
            match o.config_mode {
                ConfigMode::Replace => plugin.config = patch,
                ConfigMode::Merge => merge(&mut plugin.config, patch),
            }
        }
    }
    pack.plugins = plugins;
    Ok(())
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}
