//! What verification produces: a pack and its plugins whose bytes match the signed manifest.
//!
//! Fields are private to the crate, so a [`VerifiedPack`] only comes from [`crate::verify()`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::manifest::Manifest;

/// Who vouches for a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// Signed by the trusted key with this key id.
    Key(String),
    /// Not signed; accepted only because unsigned packs were allowed.
    Unsigned,
}

impl Signer {
    /// Whether the pack is unsigned.
    pub fn is_unsigned(&self) -> bool {
        matches!(self, Signer::Unsigned)
    }
}

impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signer::Key(id) => write!(f, "signed by key {id}"),
            Signer::Unsigned => f.write_str("UNSIGNED (development only)"),
        }
    }
}

/// A plugin of a verified pack: its bytes match the signed digest.
#[derive(Debug, Clone)]
pub struct VerifiedPlugin {
    pub(crate) name: String,
    pub(crate) version: semver::Version,
    pub(crate) file: String,
    pub(crate) sha256: String,
    pub(crate) bytes: Arc<[u8]>,
    pub(crate) config: serde_json::Value,
    pub(crate) permissions: Vec<String>,
    pub(crate) enabled: bool,
    pub(crate) severity: Option<f32>,
    pub(crate) shadow: Option<toml::Value>,
}

impl VerifiedPlugin {
    /// Detector name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Plugin version from the manifest.
    pub fn version(&self) -> &semver::Version {
        &self.version
    }
    /// Pack-relative path of the component.
    pub fn file(&self) -> &str {
        &self.file
    }
    /// Lower-case hex sha256 of the component (checked).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    /// The component bytes, checked against the signed sha256.
    pub fn bytes(&self) -> &Arc<[u8]> {
        &self.bytes
    }
    /// Configuration for `init` (manifest config with operator overrides applied).
    pub fn config(&self) -> &serde_json::Value {
        &self.config
    }
    /// Configuration for `init` as a JSON string.
    pub fn config_json(&self) -> String {
        self.config.to_string()
    }
    /// Permissions the plugin requests.
    pub fn permissions(&self) -> &[String] {
        &self.permissions
    }
    /// Whether the operator left this detector enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// Severity the operator imposes on this detector's findings, if any.
    pub fn severity(&self) -> Option<f32> {
        self.severity
    }

    /// The operator's shadow-mode override, as written (`true`, `false` or
    /// a table; see [`crate::DetectorOverride::shadow`]).
    pub fn shadow(&self) -> Option<&toml::Value> {
        self.shadow.as_ref()
    }
}

/// A pack whose signature, WIT requirement and every file were checked.
#[derive(Debug, Clone)]
pub struct VerifiedPack {
    pub(crate) source: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) version: semver::Version,
    pub(crate) digest: String,
    pub(crate) signer: Signer,
    pub(crate) plugins: Vec<VerifiedPlugin>,
    /// Every file of the pack as verified (manifest, signature, plugins, fixtures), for install.
    pub(crate) files: BTreeMap<String, Arc<[u8]>>,
}

impl VerifiedPack {
    /// Pack name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }
    /// Pack version.
    pub fn version(&self) -> &semver::Version {
        &self.version
    }
    /// `name version`, plus `[UNSIGNED]` when unsigned: how to show the pack to people.
    pub fn label(&self) -> String {
        let unsigned = if self.signer.is_unsigned() {
            " [UNSIGNED]"
        } else {
            ""
        };
        format!("{} {}{unsigned}", self.manifest.name, self.version)
    }
    /// The manifest as signed (overrides do not change it).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// Who signed the pack.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
    /// sha256 of the canonical manifest: identifies this exact pack content.
    pub fn digest(&self) -> &str {
        &self.digest
    }
    /// Where the pack was read from.
    pub fn source(&self) -> &Path {
        &self.source
    }
    /// The plugins, in manifest order.
    pub fn plugins(&self) -> &[VerifiedPlugin] {
        &self.plugins
    }
    /// The plugin with this detector name.
    pub fn plugin(&self, name: &str) -> Option<&VerifiedPlugin> {
        self.plugins.iter().find(|p| p.name == name)
    }
    /// Fixture files by pack-relative path, checked against their digests.
    pub fn fixtures(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.listed(&self.manifest.fixtures)
    }

    /// Threat-intelligence feeds by pack-relative path, checked against
    /// their digests.
    pub fn feeds(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.listed(&self.manifest.feeds)
    }

    fn listed<'a>(
        &'a self,
        entries: &'a [crate::manifest::FileEntry],
    ) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        entries
            .iter()
            .filter_map(|f| self.files.get(&f.file).map(|b| (f.file.as_str(), &b[..])))
    }
}
