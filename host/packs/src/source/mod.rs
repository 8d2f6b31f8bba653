//! Reading a pack's files into memory, from a directory or a `.tar.gz`, refusing anything that
//! could escape or alias the pack (traversal, absolute paths, links, devices) or is too large.
//!
//! Nothing here interprets the files: [`crate::verify()`] checks them against the manifest.

mod archive;
mod configmap;
mod dir;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::PackError;

/// Size limits applied while reading a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single file accepted.
    pub max_entry_bytes: u64,
    /// Largest sum of all file sizes accepted.
    pub max_total_bytes: u64,
}

/// A pack's files, read into memory, by pack-relative `/`-separated path.
#[derive(Debug, Clone)]
pub struct PackFiles {
    /// How to name the pack in errors (its path).
    pub label: String,
    /// Whether the pack was a `.tar.gz` archive.
    pub archive: bool,
    /// File contents by path.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// How many times a directory that changes while being read (e.g. swapped by an install) is
/// read again before giving up.
const DIR_READ_ATTEMPTS: usize = 3;

/// Reads a pack directory or `.tar.gz` archive. The path itself may be a symlink (the operator
/// named it); nothing inside the pack may be, except the links of a Kubernetes ConfigMap
/// volume (see [`configmap`]), which are followed into its data directory.
pub fn read_pack(path: &Path, limits: &Limits) -> Result<PackFiles, PackError> {
    let label = path.display().to_string();
    let meta = fs::metadata(path).map_err(|e| PackError::io(path, e))?;
    if meta.is_dir() {
        return read_dir_consistently(path, label, limits, meta);
    }
    if !meta.is_file() {
        return Err(PackError::NotAPack { pack: label });
    }
    let mut magic = [0u8; 2];
    let mut file = fs::File::open(path).map_err(|e| PackError::io(path, e))?;
    if file.read_exact(&mut magic).is_err() || magic != [0x1f, 0x8b] {
        return Err(PackError::NotAPack { pack: label });
    }
    let file = fs::File::open(path).map_err(|e| PackError::io(path, e))?;
    let files = archive::read_archive(&label, file, limits)?;
    Ok(PackFiles {
        files: archive::strip_single_top_dir(files),
        label,
        archive: true,
    })
}

/// Reads a directory, and reads it again if the directory at `path` was replaced meanwhile (an
/// install swaps `packs/<name>` atomically), so files of two versions are never mixed.
fn read_dir_consistently(
    path: &Path,
    label: String,
    limits: &Limits,
    mut before: fs::Metadata,
) -> Result<PackFiles, PackError> {
    for _ in 0..DIR_READ_ATTEMPTS {
        let mut reader = dir::DirReader {
            label: &label,
            limits,
            total: 0,
            files: BTreeMap::new(),
        };
        let data = configmap::data_dir(path, &label)?;
        let walked = reader.walk(data.as_deref().unwrap_or(path), "", 0);
        let after = fs::metadata(path).map_err(|e| PackError::io(path, e))?;
        // A ConfigMap update swaps `..data` instead of the directory.
        let swapped = data.is_some() && configmap::data_dir(path, &label)? != data;
        if (after.dev(), after.ino()) == (before.dev(), before.ino()) && !swapped {
            walked?;
            return Ok(PackFiles {
                files: reader.files,
                label,
                archive: false,
            });
        }
        before = after;
    }
    Err(PackError::io(
        path,
        io::Error::other(format!(
            "directory replaced while being read, {DIR_READ_ATTEMPTS} times in a row"
        )),
    ))
}

pub(crate) fn unsafe_entry(label: &str, entry: &str, reason: impl Into<String>) -> PackError {
    PackError::UnsafeEntry {
        pack: label.to_string(),
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn oversized(label: &str, entry: &str, size: u64, limit: u64) -> PackError {
    PackError::Oversized {
        pack: label.to_string(),
        entry: entry.to_string(),
        size,
        limit,
    }
}

pub(crate) fn check_size(
    label: &str,
    rel: &str,
    size: u64,
    limits: &Limits,
    total: &mut u64,
) -> Result<(), PackError> {
    if size > limits.max_entry_bytes {
        return Err(oversized(label, rel, size, limits.max_entry_bytes));
    }
    *total += size;
    if *total > limits.max_total_bytes {
        return Err(oversized(
            label,
            "(all files together)",
            *total,
            limits.max_total_bytes,
        ));
    }
    Ok(())
}
