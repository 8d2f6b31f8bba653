//! Authoring packs: `build` (digests into pack.toml), `sign` (pack.sig), `archive` (.tar.gz)
//! and `inspect` (a printable summary of any pack, verified or not).

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::Path;

use crate::PackError;
use crate::canonical::{canonical_bytes, table_to_json};
use crate::keys::SecretKey;
use crate::manifest::{
    FileEntry, MANIFEST_FILE, Manifest, PluginEntry, SIGNATURE_FILE, listed_files,
};
use crate::signature::PackSignature;
use crate::source::{Limits, PackFiles, read_pack};
use crate::verify::{
    DEFAULT_MAX_ENTRY_BYTES, DEFAULT_MAX_TOTAL_BYTES, check_files, read_manifest, sha256_hex,
    unlisted_files,
};

/// Directory (inside a pack) whose files `build` lists as fixtures.
pub const FIXTURES_DIR: &str = "fixtures";
/// Directory (inside a pack) whose files `build` lists as intel feeds.
pub const FEEDS_DIR: &str = "intel";

const DEFAULT_LIMITS: Limits = Limits {
    max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
    max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
};

/// Manifest fields `build` sets (each `None` keeps the existing value, or the default for a
/// new manifest: name = directory name, version 0.1.0, wit = `default_wit`).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Pack name.
    pub name: Option<String>,
    /// Pack version.
    pub version: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// WIT requirement.
    pub wit: Option<String>,
    /// WIT requirement for a new manifest when `wit` is not given (e.g. `^0.1` for host 0.1.0).
    pub default_wit: String,
}

/// What [`build`] did.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The manifest written.
    pub manifest: Manifest,
    /// Plugins added because no plugin was listed (found `.wasm` files).
    pub discovered: Vec<String>,
    /// Whether an existing `pack.sig` was deleted because the manifest changed.
    pub removed_signature: bool,
    /// Files in the directory the manifest does not list: `verify` refuses the pack until they
    /// are removed (or, for components, listed).
    pub unlisted: Vec<String>,
}

/// Computes digests of the listed (or, if none are listed, found) `.wasm` files and of the
/// files under `fixtures/`, and writes `pack.toml`. A `pack.sig` that no longer matches is
/// deleted. The original file's comments and layout are not kept.
pub fn build(dir: &Path, opts: &BuildOptions) -> Result<BuildOutcome, PackError> {
    let files = read_pack(dir, &DEFAULT_LIMITS)?;
    if files.archive {
        return Err(PackError::NotAPack {
            pack: format!("{} (build needs a directory)", files.label),
        });
    }
    let label = files.label.clone();
    let manifest_err = |reason: String| PackError::Manifest {
        pack: label.clone(),
        reason,
    };
    let previous = match files.files.get(MANIFEST_FILE) {
        Some(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(|_| manifest_err("not UTF-8".into()))?;
            Some(Manifest::parse(text).map_err(manifest_err)?)
        }
        None => None,
    };
    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_lowercase()))
        .unwrap_or_default();
    let mut manifest = previous.clone().unwrap_or_else(|| Manifest {
        name: dir_name,
        version: "0.1.0".into(),
        vendor: String::new(),
        description: String::new(),
        wit: opts.default_wit.clone(),
        plugins: Vec::new(),
        fixtures: Vec::new(),
        feeds: Vec::new(),
    });
    set(&mut manifest.name, &opts.name);
    set(&mut manifest.version, &opts.version);
    set(&mut manifest.vendor, &opts.vendor);
    set(&mut manifest.description, &opts.description);
    set(&mut manifest.wit, &opts.wit);

    let mut discovered = Vec::new();
    if manifest.plugins.is_empty() {
        for file in files.files.keys().filter(|f| f.ends_with(".wasm")) {
            let stem = file
                .rsplit('/')
                .next()
                .unwrap_or(file)
                .trim_end_matches(".wasm");
            let name = stem.to_lowercase().replace('_', "-");
            discovered.push(name.clone());
            manifest.plugins.push(PluginEntry {
                name,
                file: file.clone(),
                sha256: String::new(),
                version: manifest.version.clone(),
                config: toml::Table::new(),
                permissions: Vec::new(),
                tests: Vec::new(),
            });
        }
    }
    for (dir, listed) in [
        (FIXTURES_DIR, &mut manifest.fixtures),
        (FEEDS_DIR, &mut manifest.feeds),
    ] {
        for file in files
            .files
            .keys()
            .filter(|f| f.starts_with(&format!("{dir}/")))
        {
            if !listed.iter().any(|f| f.file == *file) {
                listed.push(FileEntry {
                    file: file.clone(),
                    sha256: String::new(),
                });
            }
        }
    }
    let digest = |file: &str| -> Result<String, PackError> {
        files
            .files
            .get(file)
            .map(|b| sha256_hex(b))
            .ok_or_else(|| PackError::MissingFile {
                pack: label.clone(),
                file: file.to_string(),
            })
    };
    for plugin in &mut manifest.plugins {
        plugin.sha256 = digest(&plugin.file)?;
    }
    for entry in manifest
        .fixtures
        .iter_mut()
        .chain(manifest.feeds.iter_mut())
    {
        entry.sha256 = digest(&entry.file)?;
    }
    manifest.validate().map_err(manifest_err)?;

    let changed = match &previous {
        Some(old) => {
            old.validate().is_err() || canonical_bytes(old).ok() != canonical_bytes(&manifest).ok()
        }
        None => true,
    };
    let removed_signature = changed && files.files.contains_key(SIGNATURE_FILE);
    if removed_signature {
        let sig = dir.join(SIGNATURE_FILE);
        fs::remove_file(&sig).map_err(|e| PackError::io(&sig, e))?;
    }
    let text = manifest.to_toml().map_err(manifest_err)?;
    write_atomic(&dir.join(MANIFEST_FILE), text.as_bytes())?;
    Ok(BuildOutcome {
        unlisted: unlisted_files(&manifest, &files),
        manifest,
        discovered,
        removed_signature,
    })
}

fn set(field: &mut String, value: &Option<String>) {
    if let Some(value) = value {
        *field = value.clone();
    }
}

/// Writes a file by writing a sibling temporary file and renaming it over the target.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PackError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".harrier-write-")
        .tempfile_in(dir)
        .map_err(|e| PackError::io(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| PackError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| PackError::io(path, e.error))?;
    Ok(())
}

/// Signs a pack directory: checks that every listed file matches its digest and nothing is
/// unlisted (so a stale pack is never signed), then writes `pack.sig`. Returns the key id.
pub fn sign(dir: &Path, key: &SecretKey) -> Result<String, PackError> {
    let files = read_pack(dir, &DEFAULT_LIMITS)?;
    if files.archive {
        return Err(PackError::NotAPack {
            pack: format!("{} (sign needs a directory)", files.label),
        });
    }
    let manifest = read_manifest(&files)?;
    let pack = format!("{} {} ({})", manifest.name, manifest.version, files.label);
    check_files(&pack, &manifest, &files)?;
    let canonical = canonical_bytes(&manifest).map_err(|reason| PackError::Manifest {
        pack: pack.clone(),
        reason,
    })?;
    let signature = PackSignature::sign(&canonical, key);
    write_atomic(&dir.join(SIGNATURE_FILE), signature.render().as_bytes())?;
    Ok(signature.key_id)
}

/// Writes a pack directory as a `.tar.gz` (files sorted, owner 0, mode 0644, mtime 0, so the
/// same pack always gives the same archive). The directory is read under the usual safety
/// rules and must have a manifest.
pub fn archive(dir: &Path, out: &Path) -> Result<(), PackError> {
    let files = read_pack(dir, &DEFAULT_LIMITS)?;
    read_manifest(&files)?;
    let file = fs::File::create(out).map_err(|e| PackError::io(out, e))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (rel, bytes) in &files.files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(&mut header, rel, &bytes[..])
            .map_err(|e| PackError::io(out, e))?;
    }
    let gz = tar.into_inner().map_err(|e| PackError::io(out, e))?;
    let file = gz.finish().map_err(|e| PackError::io(out, e))?;
    file.sync_all().map_err(|e| PackError::io(out, e))
}

/// A printable summary of a pack (directory or archive) with each file's digest status. The
/// signature is only *claimed* here; `verify` checks it.
pub fn inspect(path: &Path) -> Result<String, PackError> {
    let files = read_pack(path, &DEFAULT_LIMITS)?;
    let manifest = read_manifest(&files)?;
    Ok(summary(&manifest, &files))
}

fn summary(m: &Manifest, files: &PackFiles) -> String {
    let mut out = String::new();
    let signature = match files.files.get(SIGNATURE_FILE) {
        None => "UNSIGNED".to_string(),
        Some(bytes) => match std::str::from_utf8(bytes)
            .map_err(|e| e.to_string())
            .and_then(PackSignature::parse)
        {
            Ok(sig) => format!(
                "claims key {} (not verified here; use `pack verify --trust DIR`)",
                sig.key_id
            ),
            Err(e) => format!("MALFORMED pack.sig: {e}"),
        },
    };
    let digest = canonical_bytes(m)
        .map(|c| sha256_hex(&c))
        .unwrap_or_else(|e| format!("(none: {e})"));
    let _ = writeln!(out, "pack {} {}  ({})", m.name, m.version, files.label);
    let _ = writeln!(out, "  vendor:      {}", m.vendor);
    let _ = writeln!(out, "  description: {}", m.description);
    let _ = writeln!(out, "  wit:         harrier:detector {}", m.wit);
    let _ = writeln!(out, "  signature:   {signature}");
    let _ = writeln!(out, "  digest:      {digest}");
    let status = |file: &str, expected: &str| match files.files.get(file) {
        None => "MISSING".to_string(),
        Some(b) if sha256_hex(b) == expected => format!("ok, {} bytes", b.len()),
        Some(b) => format!("DIGEST MISMATCH, {} bytes", b.len()),
    };
    let _ = writeln!(out, "  plugins:");
    for p in &m.plugins {
        let _ = writeln!(
            out,
            "    {} {}  {}  sha256 {}  [{}]",
            p.name,
            p.version,
            p.file,
            p.sha256,
            status(&p.file, &p.sha256)
        );
        let permissions = if p.permissions.is_empty() {
            "none".to_string()
        } else {
            p.permissions.join(", ")
        };
        let _ = writeln!(out, "      permissions: {permissions}");
        let config = table_to_json(&p.config)
            .map(|c| c.to_string())
            .unwrap_or_else(|e| format!("INVALID: {e}"));
        let _ = writeln!(out, "      config:      {config}");
    }
    for (title, listed) in [("fixtures", &m.fixtures), ("feeds", &m.feeds)] {
        if !listed.is_empty() {
            let _ = writeln!(out, "  {title}:");
            for f in listed {
                let _ = writeln!(out, "    {}  [{}]", f.file, status(&f.file, &f.sha256));
            }
        }
    }
    let extras = unlisted_files(m, files);
    let missing = listed_files(m)
        .iter()
        .filter(|f| !files.files.contains_key(f.file))
        .count();
    if !extras.is_empty() {
        let _ = writeln!(
            out,
            "  UNLISTED FILES (refused by verify): {}",
            extras.join(", ")
        );
    }
    if missing > 0 {
        let _ = writeln!(
            out,
            "  {missing} listed file(s) missing (refused by verify)"
        );
    }
    out
}
