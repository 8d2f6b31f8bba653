//! The detectors built into the binary.

use std::sync::Arc;

use harrier_pipeline::DetectorKey;
use harrier_plugins::{Permissions, PluginSource, PluginSpec};
use sha2::{Digest, Sha256};

use crate::{Offer, Settings, Source, Wanted, Watch};

/// One built-in detector.
#[derive(Debug, Clone)]
pub struct BuiltIn {
    /// Its name (the component must declare the same).
    pub name: String,
    /// The component.
    pub wasm: Arc<[u8]>,
    /// Its default configuration, a JSON object.
    pub default_config: String,
    /// What it needs beyond the basic host functions (the operator's
    /// grants for its name are added).
    pub permissions: Permissions,
}

/// The built-in detectors: they never change while the agent runs.
pub struct EmbeddedSource {
    detectors: Vec<(BuiltIn, String)>,
}

impl EmbeddedSource {
    /// A source offering these detectors.
    pub fn new(detectors: impl IntoIterator<Item = BuiltIn>) -> EmbeddedSource {
        let detectors = detectors
            .into_iter()
            .map(|d| {
                let sha = hex::encode(Sha256::digest(&d.wasm));
                (d, sha)
            })
            .collect();
        EmbeddedSource { detectors }
    }
}

impl Source for EmbeddedSource {
    fn watched(&self) -> Vec<Watch> {
        Vec::new()
    }

    fn offer(&mut self, settings: &Settings) -> Offer {
        let wanted = self
            .detectors
            .iter()
            .map(|(d, sha)| Wanted {
                key: DetectorKey::Embedded {
                    name: d.name.clone(),
                },
                sha256: sha.clone(),
                spec: PluginSpec {
                    origin: format!("embedded:{}", d.name),
                    source: PluginSource::Embedded,
                    wasm: d.wasm.clone(),
                    config_json: settings.merged_config(&d.name, &d.default_config),
                    limits: settings.limits.clone(),
                    severity_override: None,
                    permissions: d
                        .permissions
                        .iter()
                        .chain(settings.permissions(&d.name).iter())
                        .collect(),
                    shadow: settings.shadow(&d.name),
                },
            })
            .collect();
        Offer {
            wanted,
            ..Offer::default()
        }
    }
}
