//! The install store: a packs directory holding one verified pack per subdirectory
//! (`PACKS_DIR/<name>/`), replaced atomically, re-verified at every load.
//!
//! Entries whose names start with `.` are the store's own temporary directories and are ignored.

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::PackError;
use crate::keys::TrustStore;
use crate::manifest::{MANIFEST_FILE, Manifest, SIGNATURE_FILE, validate_name};
use crate::signature::PackSignature;
use crate::verify::{VerifiedPack, VerifyOptions, verify};

/// What [`install`] did.
#[derive(Debug, Clone)]
pub struct InstallOutcome {
    /// The pack as installed (verified from its installed copy).
    pub pack: VerifiedPack,
    /// Where it is installed.
    pub dir: PathBuf,
    /// Version it replaced, if one was installed (`None` also when the old one was unreadable).
    pub replaced: Option<String>,
}

fn store_err(dir: &Path, reason: impl Into<String>) -> PackError {
    PackError::Store {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

/// What an install may do besides adding or upgrading a pack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// Replace an installed version by an older one (a rollback).
    pub allow_downgrade: bool,
}

/// [`install_with`] allowing any version change: for callers that decide on versions
/// themselves (a fleet rollback). Operator input goes through [`install_with`].
pub fn install(
    pack_path: &Path,
    packs_dir: &Path,
    trust: &TrustStore,
    opts: &VerifyOptions,
) -> Result<InstallOutcome, PackError> {
    let any = InstallOptions {
        allow_downgrade: true,
    };
    install_with(pack_path, packs_dir, trust, opts, any)
}

/// Verifies a pack, then installs it as `packs_dir/<name>/`: written to a temporary directory
/// inside `packs_dir`, verified again there, then swapped in with one atomic rename (a previous
/// version is replaced in the same step and then deleted). Replacing an installed version by
/// an older one is refused unless `options` allow a downgrade.
pub fn install_with(
    pack_path: &Path,
    packs_dir: &Path,
    trust: &TrustStore,
    opts: &VerifyOptions,
    options: InstallOptions,
) -> Result<InstallOutcome, PackError> {
    let pack = verify(pack_path, trust, opts)?;
    if !options.allow_downgrade {
        refuse_downgrade(&pack, packs_dir)?;
    }
    fs::create_dir_all(packs_dir).map_err(|e| PackError::io(packs_dir, e))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".incoming-{}-", pack.name()))
        .tempdir_in(packs_dir)
        .map_err(|e| PackError::io(packs_dir, e))?;
    for (rel, bytes) in &pack.files {
        write_synced(&staging.path().join(rel), bytes)?;
    }
    let installed = verify(staging.path(), trust, opts)?;
    if installed.digest() != pack.digest() {
        return Err(store_err(
            packs_dir,
            format!(
                "pack {}: installed copy differs from the verified pack",
                pack.label()
            ),
        ));
    }
    let target = packs_dir.join(pack.name());
    let replaced = match fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => Some(installed_version(&target)),
        Ok(_) => {
            return Err(store_err(
                packs_dir,
                format!("{} exists and is not a directory", target.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(PackError::io(&target, e)),
    };
    let staging = staging.keep();
    let swap = if replaced.is_some() {
        exchange(&staging, &target).or_else(|e| match e.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::ENOSYS) => {
                replace_in_two_steps(&staging, &target, packs_dir)
            }
            _ => Err(e),
        })
    } else {
        fs::rename(&staging, &target)
    };
    if let Err(e) = swap {
        let _ = fs::remove_dir_all(&staging);
        return Err(PackError::io(&target, e));
    }
    // After an exchange the staging path holds the old version.
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| PackError::io(&staging, e))?;
    }
    sync_dir(packs_dir)?;
    Ok(InstallOutcome {
        pack: VerifiedPack {
            source: target.clone(),
            ..installed
        },
        dir: target,
        replaced: replaced.flatten(),
    })
}

fn refuse_downgrade(pack: &VerifiedPack, packs_dir: &Path) -> Result<(), PackError> {
    let installed = installed_version(&packs_dir.join(pack.name()))
        .and_then(|v| semver::Version::parse(&v).ok());
    match installed {
        Some(installed) if installed > *pack.version() => Err(store_err(
            packs_dir,
            format!(
                "pack {}: installing version {} over the installed {installed} is a downgrade; pass --allow-downgrade to do it",
                pack.name(),
                pack.version()
            ),
        )),
        _ => Ok(()),
    }
}

fn installed_version(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?;
    Manifest::parse(&text).ok().map(|m| m.version)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), PackError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| PackError::io(parent, e))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| PackError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| PackError::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), PackError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| PackError::io(dir, e))
}

/// Atomically swaps two directory entries (Linux `renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Fallback where the filesystem cannot exchange: move the old version aside, then rename the
/// new one in (readers may briefly see no pack, never a partial one). Leaves the old version at
/// `staging` so the caller deletes it.
fn replace_in_two_steps(staging: &Path, target: &Path, packs_dir: &Path) -> std::io::Result<()> {
    let aside = tempfile::Builder::new()
        .prefix(".old-")
        .tempdir_in(packs_dir)?
        .keep();
    fs::remove_dir(&aside)?;
    fs::rename(target, &aside)?;
    fs::rename(staging, target)?;
    fs::rename(&aside, staging)
}

/// An installed pack as found on disk, without verification (for listing).
#[derive(Debug, Clone)]
pub struct InstalledPack {
    /// Directory name (the pack name).
    pub name: String,
    /// The pack's directory.
    pub dir: PathBuf,
    /// The manifest, if it parses.
    pub manifest: Option<Manifest>,
    /// The key id `pack.sig` claims (not verified here); `None` when unsigned.
    pub claimed_key_id: Option<String>,
    /// What is wrong with it, if something obviously is.
    pub problem: Option<String>,
}

/// Lists the installed packs, sorted by name, without verifying them (see [`load_installed`]).
pub fn list(packs_dir: &Path) -> Result<Vec<InstalledPack>, PackError> {
    let mut packs = Vec::new();
    for (name, dir) in pack_dirs(packs_dir)? {
        let manifest = fs::read_to_string(dir.join(MANIFEST_FILE))
            .map_err(|e| format!("{MANIFEST_FILE}: {e}"))
            .and_then(|text| Manifest::parse(&text).map_err(|e| format!("{MANIFEST_FILE}: {e}")));
        let signature = match fs::read_to_string(dir.join(SIGNATURE_FILE)) {
            Ok(text) => {
                Some(PackSignature::parse(&text).map_err(|e| format!("{SIGNATURE_FILE}: {e}")))
            }
            Err(_) => None,
        };
        let problem = match (&manifest, &signature) {
            (Err(e), _) | (_, Some(Err(e))) => Some(e.clone()),
            (Ok(m), _) if m.name != name => Some(format!("directory holds pack {:?}", m.name)),
            _ => None,
        };
        packs.push(InstalledPack {
            claimed_key_id: signature.and_then(|s| s.ok()).map(|s| s.key_id),
            manifest: manifest.ok(),
            problem,
            name,
            dir,
        });
    }
    Ok(packs)
}

/// The non-hidden entries of the packs directory, sorted; non-directories are an error.
fn pack_dirs(packs_dir: &Path) -> Result<Vec<(String, PathBuf)>, PackError> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(packs_dir).map_err(|e| PackError::io(packs_dir, e))? {
        let entry = entry.map_err(|e| PackError::io(packs_dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        dirs.push((name, entry.path()));
    }
    dirs.sort();
    Ok(dirs)
}

/// Removes an installed pack: renamed out of sight atomically, then deleted.
pub fn remove(packs_dir: &Path, name: &str) -> Result<(), PackError> {
    validate_name("pack name", name).map_err(|reason| store_err(packs_dir, reason))?;
    let target = packs_dir.join(name);
    match fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(store_err(
                packs_dir,
                format!("{name}: not a pack directory"),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(store_err(
                packs_dir,
                format!("pack {name} is not installed"),
            ));
        }
        Err(e) => return Err(PackError::io(&target, e)),
    }
    let doomed = tempfile::Builder::new()
        .prefix(&format!(".removing-{name}-"))
        .tempdir_in(packs_dir)
        .map_err(|e| PackError::io(packs_dir, e))?
        .keep();
    fs::remove_dir(&doomed).map_err(|e| PackError::io(&doomed, e))?;
    fs::rename(&target, &doomed).map_err(|e| PackError::io(&target, e))?;
    sync_dir(packs_dir)?;
    fs::remove_dir_all(&doomed).map_err(|e| PackError::io(&doomed, e))
}

/// Verifies every installed pack again, one result per pack directory (sorted by name; see
/// [`load_installed_pack`]). An unreadable packs directory gives a single error.
pub fn load_installed(
    packs_dir: &Path,
    trust: &TrustStore,
    opts: &VerifyOptions,
) -> Vec<Result<VerifiedPack, PackError>> {
    match pack_dirs(packs_dir) {
        Ok(dirs) => dirs
            .into_iter()
            .map(|(name, _)| load_installed_pack(packs_dir, &name, trust, opts))
            .collect(),
        Err(e) => vec![Err(e)],
    }
}

/// Verifies one installed pack, `packs_dir/<name>` (for a hot reload of that pack). A
/// directory whose name differs from its manifest's pack name is refused.
pub fn load_installed_pack(
    packs_dir: &Path,
    name: &str,
    trust: &TrustStore,
    opts: &VerifyOptions,
) -> Result<VerifiedPack, PackError> {
    let dir = packs_dir.join(name);
    if !dir.is_dir() {
        return Err(store_err(
            packs_dir,
            format!("{name}: not an installed pack (use `harrier pack install`)"),
        ));
    }
    let pack = verify(&dir, trust, opts)?;
    if pack.name() != name {
        return Err(store_err(
            packs_dir,
            format!("directory {name} holds pack {}", pack.label()),
        ));
    }
    Ok(pack)
}
