//! The pack manifest (`pack.toml`): its types, parsing and validation.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// File name of the manifest at the root of every pack.
pub const MANIFEST_FILE: &str = "pack.toml";
/// File name of the detached signature at the root of a signed pack.
pub const SIGNATURE_FILE: &str = "pack.sig";

/// A pack manifest as written in `pack.toml`.
///
/// ```toml
/// name = "acme-runtime"
/// version = "1.2.0"
/// vendor = "ACME Security"
/// description = "Crypto-miner and reverse-shell detectors"
/// wit = "^0.1"
///
/// [[plugin]]
/// name = "crypto-miner"
/// file = "plugins/crypto_miner.wasm"
/// sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/// version = "1.0.0"
/// permissions = []
/// [plugin.config]
/// pools = ["pool.example"]
///
/// [[fixture]]
/// file = "fixtures/miner.jsonl"
/// sha256 = "..."
///
/// [[feed]]
/// file = "intel/c2-domains.txt"
/// sha256 = "..."
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Pack name: lower-case letters, digits, `-`, `_`, `.`; also its directory name once installed.
    pub name: String,
    /// Pack version (semver).
    pub version: String,
    /// Who ships the pack.
    #[serde(default)]
    pub vendor: String,
    /// What the pack is for.
    #[serde(default)]
    pub description: String,
    /// Semver requirement on the WIT package `harrier:detector` the plugins were built against.
    pub wit: String,
    /// The detector plugins.
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<PluginEntry>,
    /// Extra files shipped with the pack (test fixtures), covered by their digests.
    #[serde(default, rename = "fixture")]
    pub fixtures: Vec<FileEntry>,
    /// Threat-intelligence feeds (plain lists, CSV, STIX 2.1 bundles, as
    /// in an intel directory), covered by their digests and the signature;
    /// the agent loads them beside its own feeds while the pack is installed.
    #[serde(default, rename = "feed", skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<FileEntry>,
}

/// One detector plugin in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// Detector name; unique across every loaded pack.
    pub name: String,
    /// Path of the component inside the pack (relative, `/`-separated, ends in `.wasm`).
    pub file: String,
    /// Lower-case hex sha256 of the component (written by `pack build`).
    #[serde(default)]
    pub sha256: String,
    /// Plugin version (semver).
    pub version: String,
    /// Configuration handed to the plugin's `init` as a JSON object.
    #[serde(default)]
    pub config: toml::Table,
    /// Permissions the plugin requests (e.g. extra host functions); granted only if the operator
    /// allows them.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// The plugin's own test vectors (`[[plugin.test]]`): `pack verify` and
    /// `pack install` run each and refuse the pack if its findings differ.
    #[serde(default, rename = "test", skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestVector>,
}

/// One test vector of a plugin: a capture and the findings expected of it,
/// both files of the pack listed as fixtures (so covered by their digests).
///
/// ```toml
/// [[plugin.test]]
/// events = "fixtures/miner.jsonl"            # a `harrier record` capture
/// expect = "fixtures/miner.expect.jsonl"     # `harrier test --update` writes it
/// config = { extra_miner_names = ["x"] }     # optional; default: the plugin's config
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestVector {
    /// The capture fed to the plugin (pack-relative path of a fixture).
    pub events: String,
    /// The findings expected, one JSON finding per line (a fixture).
    pub expect: String,
    /// Configuration for this vector instead of the plugin's `config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<toml::Table>,
}

/// A non-plugin file listed in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the pack (relative, `/`-separated).
    pub file: String,
    /// Lower-case hex sha256 of the file.
    #[serde(default)]
    pub sha256: String,
}

impl Manifest {
    /// Parses `pack.toml` text without validating it (see [`Manifest::validate`]).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Serialises the manifest back to TOML (comments and layout of the original are not kept).
    pub fn to_toml(&self) -> Result<String, String> {
        toml::to_string_pretty(self).map_err(|e| e.to_string())
    }

    /// Checks names, versions, paths, digests and config; returns the first problem found.
    pub fn validate(&self) -> Result<(), String> {
        validate_name("pack name", &self.name)?;
        parse_version("pack version", &self.version)?;
        semver::VersionReq::parse(&self.wit)
            .map_err(|e| format!("wit = {:?}: not a semver requirement: {e}", self.wit))?;
        let mut names = BTreeSet::new();
        let mut files = BTreeSet::new();
        for plugin in &self.plugins {
            let what = format!("plugin {}", plugin.name);
            validate_name("plugin name", &plugin.name)?;
            if !names.insert(plugin.name.as_str()) {
                return Err(format!("{what}: listed twice"));
            }
            parse_version(&format!("{what}: version"), &plugin.version)?;
            validate_relative_path(&plugin.file).map_err(|e| format!("{what}: file: {e}"))?;
            if !plugin.file.ends_with(".wasm") {
                return Err(format!("{what}: file {:?} must end in .wasm", plugin.file));
            }
            validate_sha256(&plugin.sha256).map_err(|e| format!("{what}: sha256: {e}"))?;
            crate::canonical::table_to_json(&plugin.config)
                .map_err(|e| format!("{what}: config: {e}"))?;
            for permission in &plugin.permissions {
                validate_permission(permission).map_err(|e| format!("{what}: {e}"))?;
            }
            if !files.insert(plugin.file.as_str()) {
                return Err(format!("{what}: file {} listed twice", plugin.file));
            }
        }
        let extras = self.fixtures.iter().map(|f| ("fixture", f));
        for (kind, entry) in extras.chain(self.feeds.iter().map(|f| ("feed", f))) {
            let what = format!("{kind} {}", entry.file);
            validate_relative_path(&entry.file).map_err(|e| format!("{what}: {e}"))?;
            validate_sha256(&entry.sha256).map_err(|e| format!("{what}: sha256: {e}"))?;
            if !files.insert(entry.file.as_str()) {
                return Err(format!("{what}: listed twice"));
            }
        }
        for plugin in &self.plugins {
            for (i, vector) in plugin.tests.iter().enumerate() {
                let what = format!("plugin {}: test {}", plugin.name, i + 1);
                for file in [&vector.events, &vector.expect] {
                    if !self.fixtures.iter().any(|f| f.file == *file) {
                        return Err(format!("{what}: {file} is not listed as a fixture"));
                    }
                }
                if let Some(config) = &vector.config {
                    crate::canonical::table_to_json(config)
                        .map_err(|e| format!("{what}: config: {e}"))?;
                }
            }
        }
        for reserved in [MANIFEST_FILE, SIGNATURE_FILE] {
            if files.contains(reserved) {
                return Err(format!(
                    "{reserved} cannot be listed as a plugin, fixture or feed"
                ));
            }
        }
        Ok(())
    }

    /// The parsed WIT requirement (call after [`Manifest::validate`]).
    pub fn wit_requirement(&self) -> Result<semver::VersionReq, String> {
        semver::VersionReq::parse(&self.wit).map_err(|e| format!("wit = {:?}: {e}", self.wit))
    }
}

/// A borrowed (file, sha256) pair listed by a manifest.
#[derive(Debug, Clone, Copy)]
pub struct FileRef<'a> {
    /// Pack-relative path.
    pub file: &'a str,
    /// Expected sha256.
    pub sha256: &'a str,
}

/// Every file the manifest lists with its expected digest (plugins, then
/// fixtures, then feeds).
pub fn listed_files(manifest: &Manifest) -> Vec<FileRef<'_>> {
    fn extra(f: &FileEntry) -> FileRef<'_> {
        FileRef {
            file: &f.file,
            sha256: &f.sha256,
        }
    }
    manifest
        .plugins
        .iter()
        .map(|p| FileRef {
            file: &p.file,
            sha256: &p.sha256,
        })
        .chain(manifest.fixtures.iter().map(extra))
        .chain(manifest.feeds.iter().map(extra))
        .collect()
}

/// Checks a pack or plugin name: 1–64 chars of `[a-z0-9._-]`, starting with a letter or digit.
pub fn validate_name(what: &str, name: &str) -> Result<(), String> {
    let ok_first = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if !ok_first || !ok_rest || name.len() > 64 {
        return Err(format!(
            "{what} {name:?}: use 1-64 characters of a-z 0-9 - _ . starting with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks a permission string: non-empty `[a-z0-9:._-]`.
pub fn validate_permission(permission: &str) -> Result<(), String> {
    let ok = !permission.is_empty()
        && permission.len() <= 128
        && permission.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '-' | '_' | '.')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "permission {permission:?}: use characters of a-z 0-9 : - _ ."
        ))
    }
}

/// Parses a semver version, naming the field on failure.
pub fn parse_version(what: &str, text: &str) -> Result<semver::Version, String> {
    semver::Version::parse(text).map_err(|e| format!("{what} {text:?}: not a semver version: {e}"))
}

/// Checks a lower-case hex sha256.
pub fn validate_sha256(digest: &str) -> Result<(), String> {
    if digest.is_empty() {
        return Err("missing (run `harrier pack build` to compute digests)".into());
    }
    if digest.len() != 64 || !digest.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(format!("{digest:?} is not 64 lower-case hex digits"));
    }
    Ok(())
}

/// Checks a pack-relative path: non-empty, `/`-separated, no absolute path, no `.`/`..`/empty
/// components, no backslashes or control characters.
pub fn validate_relative_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".into());
    }
    if path.starts_with('/') {
        return Err(format!("{path:?} is an absolute path"));
    }
    if path.contains('\\') || path.chars().any(char::is_control) {
        return Err(format!(
            "{path:?} contains a backslash or control character"
        ));
    }
    for component in path.split('/') {
        match component {
            "" => return Err(format!("{path:?} has an empty component")),
            "." => return Err(format!("{path:?} has a '.' component")),
            ".." => return Err(format!("{path:?} escapes the pack with '..'")),
            _ => {}
        }
    }
    Ok(())
}
