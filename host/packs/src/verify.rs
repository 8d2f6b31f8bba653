//! Verification of a pack against a trust store: the only way to obtain a [`VerifiedPack`].
//!
//! Order of checks: files are read under the safety and size rules of [`crate::source`]; the
//! manifest is parsed and validated; the signature is checked over the canonical manifest; the
//! WIT requirement is checked against the host; then every listed file is checked against its
//! sha256 and any unlisted file is refused. Plugin bytes are only handed out after all of that.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::PackError;
use crate::canonical::{canonical_bytes, table_to_json};
use crate::keys::TrustStore;
use crate::manifest::{MANIFEST_FILE, Manifest, SIGNATURE_FILE, listed_files};
use crate::signature::{PackSignature, SignatureProblem};
use crate::source::{Limits, PackFiles, read_pack};
pub use crate::verified::{Signer, VerifiedPack, VerifiedPlugin};

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
                shadow: None,
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
