//! Verification of a pack against a trust store: the only way to obtain a [`VerifiedPack`].
//!
//! Order of checks: files are read under the safety and size rules of [`crate::source`]; the
//! manifest is parsed and validated; the signature is checked over the canonical manifest; the
//! WIT requirement is checked against the host; then every listed file is checked against its
//! sha256 and any unlisted file is refused. Plugin bytes are only handed out after all of that.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::PackError;
use crate::canonical::{canonical_bytes, table_to_json};
use crate::keys::TrustStore;
use crate::manifest::{MANIFEST_FILE, Manifest, SIGNATURE_FILE, listed_files};
use crate::signature::{PackSignature, SignatureProblem};
use crate::source::{Limits, PackFiles, read_pack};

/// Default largest single file in a pack (Python components are tens of MiB).
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 128 << 20;
/// Default largest pack (sum of its files).
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 512 << 20;

/// What verification accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Accept packs without `pack.sig` (development only); they are marked [`Signer::Unsigned`].
    /// A `pack.sig` that is present is always checked, even with this set.
    pub allow_unsigned: bool,
    /// Version of the WIT package `harrier:detector` this host implements.
    pub host_wit_version: semver::Version,
    /// Largest single file accepted.
    pub max_entry_bytes: u64,
    /// Largest pack accepted (sum of its files).
    pub max_total_bytes: u64,
}

impl VerifyOptions {
    /// Options with default limits, signatures required, for a host WIT version given as
    /// `0.1.0` or `harrier:detector@0.1.0`.
    pub fn new(host_wit_version: &str) -> Result<VerifyOptions, PackError> {
        Ok(VerifyOptions {
            allow_unsigned: false,
            host_wit_version: parse_host_wit(host_wit_version)?,
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
        })
    }

    fn limits(&self) -> Limits {
        Limits {
            max_entry_bytes: self.max_entry_bytes,
            max_total_bytes: self.max_total_bytes,
        }
    }
}

/// Parses the host's WIT version, `0.1.0` or `harrier:detector@0.1.0`.
pub fn parse_host_wit(text: &str) -> Result<semver::Version, PackError> {
    let version = text.rsplit_once('@').map_or(text, |(_, v)| v);
    semver::Version::parse(version).map_err(|e| PackError::Manifest {
        pack: "(host)".into(),
        reason: format!("host WIT version {text:?} is not a semver version: {e}"),
    })
}

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
        self.manifest
            .fixtures
            .iter()
            .filter_map(|f| self.files.get(&f.file).map(|b| (f.file.as_str(), &b[..])))
    }
}

/// Lower-case hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Verifies a pack directory or `.tar.gz` against a trust store; see the module docs.
pub fn verify(
    path: &Path,
    trust: &TrustStore,
    opts: &VerifyOptions,
) -> Result<VerifiedPack, PackError> {
    let files = read_pack(path, &opts.limits())?;
    verify_files(path, files, trust, opts)
}

fn manifest_err(pack: &str, reason: impl Into<String>) -> PackError {
    PackError::Manifest {
        pack: pack.to_string(),
        reason: reason.into(),
    }
}

/// Parses and validates `pack.toml` from a pack's files (no signature or digest checks).
pub(crate) fn read_manifest(files: &PackFiles) -> Result<Manifest, PackError> {
    let bytes = files
        .files
        .get(MANIFEST_FILE)
        .ok_or_else(|| PackError::MissingFile {
            pack: files.label.clone(),
            file: MANIFEST_FILE.into(),
        })?;
    let text = std::str::from_utf8(bytes).map_err(|_| manifest_err(&files.label, "not UTF-8"))?;
    let manifest = Manifest::parse(text).map_err(|e| manifest_err(&files.label, e))?;
    manifest
        .validate()
        .map_err(|e| manifest_err(&files.label, e))?;
    Ok(manifest)
}

fn verify_files(
    path: &Path,
    files: PackFiles,
    trust: &TrustStore,
    opts: &VerifyOptions,
) -> Result<VerifiedPack, PackError> {
    let manifest = read_manifest(&files)?;
    let version = semver::Version::parse(&manifest.version)
        .map_err(|e| manifest_err(&files.label, e.to_string()))?;
    let pack = format!("{} {} ({})", manifest.name, version, files.label);
    let canonical = canonical_bytes(&manifest).map_err(|e| manifest_err(&pack, e))?;

    let signer = match files.files.get(SIGNATURE_FILE) {
        Some(bytes) => {
            let sig_err = |reason: String| PackError::SignatureFile {
                pack: pack.clone(),
                reason,
            };
            let text = std::str::from_utf8(bytes).map_err(|_| sig_err("not UTF-8".into()))?;
            let signature = PackSignature::parse(text).map_err(sig_err)?;
            signature
                .verify(&canonical, trust)
                .map_err(|problem| match problem {
                    SignatureProblem::UnknownKey => PackError::UnknownKey {
                        pack: pack.clone(),
                        key_id: signature.key_id.clone(),
                    },
                    SignatureProblem::BadSignature => PackError::BadSignature {
                        pack: pack.clone(),
                        key_id: signature.key_id.clone(),
                    },
                })?;
            Signer::Key(signature.key_id)
        }
        None if opts.allow_unsigned => Signer::Unsigned,
        None => return Err(PackError::Unsigned { pack }),
    };

    let requirement = manifest
        .wit_requirement()
        .map_err(|e| manifest_err(&pack, e))?;
    if !requirement.matches(&opts.host_wit_version) {
        return Err(PackError::IncompatibleWit {
            pack,
            required: requirement.to_string(),
            host: opts.host_wit_version.to_string(),
        });
    }

    check_files(&pack, &manifest, &files)?;

    let files: BTreeMap<String, Arc<[u8]>> = files
        .files
        .into_iter()
        .map(|(k, v)| (k, Arc::from(v)))
        .collect();
    let plugins = manifest
        .plugins
        .iter()
        .map(|p| {
            Ok(VerifiedPlugin {
                name: p.name.clone(),
                version: semver::Version::parse(&p.version)
                    .map_err(|e| manifest_err(&pack, e.to_string()))?,
                file: p.file.clone(),
                sha256: p.sha256.clone(),
                bytes: files[&p.file].clone(),
                config: table_to_json(&p.config).map_err(|e| manifest_err(&pack, e))?,
                permissions: p.permissions.clone(),
                enabled: true,
                severity: None,
            })
        })
        .collect::<Result<Vec<_>, PackError>>()?;
    Ok(VerifiedPack {
        source: path.to_path_buf(),
        digest: sha256_hex(&canonical),
        manifest,
        version,
        signer,
        plugins,
        files,
    })
}

/// Checks every listed file is present with its sha256 and that no unlisted file is present.
pub(crate) fn check_files(
    pack: &str,
    manifest: &Manifest,
    files: &PackFiles,
) -> Result<(), PackError> {
    for listed in listed_files(manifest) {
        let bytes = files
            .files
            .get(listed.file)
            .ok_or_else(|| PackError::MissingFile {
                pack: pack.to_string(),
                file: listed.file.to_string(),
            })?;
        let actual = sha256_hex(bytes);
        if actual != listed.sha256 {
            return Err(PackError::DigestMismatch {
                pack: pack.to_string(),
                file: listed.file.to_string(),
                expected: listed.sha256.to_string(),
                actual,
            });
        }
    }
    if let Some(extra) = unlisted_files(manifest, files).into_iter().next() {
        return Err(PackError::ExtraFile {
            pack: pack.to_string(),
            file: extra,
        });
    }
    Ok(())
}

/// Files present in the pack but not listed by the manifest (besides pack.toml and pack.sig).
pub(crate) fn unlisted_files(manifest: &Manifest, files: &PackFiles) -> Vec<String> {
    let listed: BTreeSet<&str> = listed_files(manifest).iter().map(|f| f.file).collect();
    files
        .files
        .keys()
        .filter(|f| !listed.contains(f.as_str()) && *f != MANIFEST_FILE && *f != SIGNATURE_FILE)
        .cloned()
        .collect()
}
