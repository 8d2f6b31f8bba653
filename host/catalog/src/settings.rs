//! What the operator sets for every detector whatever its source: sandbox
//! limits, per-detector configuration, permissions and shadow mode,
//! detectors switched off.

use std::collections::{BTreeMap, BTreeSet};

use harrier_plugins::{Permissions, PluginLimits, ShadowMode};
use serde_json::{Map, Value};

/// Operator settings applied to every spec a source offers.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Sandbox bounds of every detector.
    pub limits: PluginLimits,
    /// Per-detector configuration by configuration name
    /// ([`crate::DetectorKey::config_name`]), laid over the detector's own
    /// defaults (top-level keys replaced).
    pub config: BTreeMap<String, Map<String, Value>>,
    /// Configuration names of detectors not to run.
    pub disabled: BTreeSet<String>,
    /// Permissions the operator grants, by configuration name
    /// (`[plugins.permissions]`).
    pub permissions: BTreeMap<String, Permissions>,
    /// Detectors run in shadow mode, by configuration name
    /// (`[plugins.shadow.<name>]`).
    pub shadow: BTreeMap<String, ShadowMode>,
}

impl Settings {
    /// `default_json` (a detector's own configuration) with the operator's
    /// table for `name` laid over it.
    pub fn merged_config(&self, name: &str, default_json: &str) -> String {
        let mut merged: Value =
            serde_json::from_str(default_json).unwrap_or_else(|_| Value::Object(Map::new()));
        if let (Some(overrides), Some(object)) = (self.config.get(name), merged.as_object_mut()) {
            object.extend(overrides.clone());
        }
        merged.to_string()
    }

    /// What the operator grants the detector configured as `name`.
    pub fn permissions(&self, name: &str) -> Permissions {
        self.permissions.get(name).copied().unwrap_or_default()
    }

    /// The shadow mode the operator set for the detector configured as
    /// `name`, if any.
    pub fn shadow(&self, name: &str) -> Option<ShadowMode> {
        self.shadow.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_keys_replace_defaults_and_others_stay() {
        let mut settings = Settings::default();
        let table = serde_json::json!({"threshold": 5});
        settings
            .config
            .insert("det".into(), table.as_object().unwrap().clone());
        let merged: Value =
            serde_json::from_str(&settings.merged_config("det", r#"{"threshold":1,"mode":"x"}"#))
                .unwrap();
        assert_eq!(merged, serde_json::json!({"threshold": 5, "mode": "x"}));
        assert_eq!(settings.merged_config("other", "{}"), "{}");
    }
}
