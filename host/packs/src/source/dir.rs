//! Reading a pack directory: regular files only, no links, devices, fifos or sockets.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::{Limits, check_size, unsafe_entry};
use crate::PackError;
use crate::manifest::validate_relative_path;

/// Deepest directory nesting accepted inside a pack.
const MAX_DEPTH: usize = 16;

/// Walks a directory, collecting file contents under the size limits.
pub(super) struct DirReader<'a> {
    pub(super) label: &'a str,
    pub(super) limits: &'a Limits,
    pub(super) total: u64,
    pub(super) files: BTreeMap<String, Vec<u8>>,
}

impl DirReader<'_> {
    /// Reads every file under `dir`, recording it as `prefix/name`.
    pub(super) fn walk(&mut self, dir: &Path, prefix: &str, depth: usize) -> Result<(), PackError> {
        if depth > MAX_DEPTH {
            return Err(unsafe_entry(
                self.label,
                prefix,
                format!("nested deeper than {MAX_DEPTH} directories"),
            ));
        }
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| PackError::io(dir, e))? {
            entries.push(entry.map_err(|e| PackError::io(dir, e))?);
        }
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                unsafe_entry(
                    self.label,
                    &name.to_string_lossy(),
                    "file name is not UTF-8",
                )
            })?;
            let rel = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            validate_relative_path(&rel)
                .map_err(|reason| unsafe_entry(self.label, &rel, reason))?;
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(|e| PackError::io(&path, e))?;
            let kind = meta.file_type();
            if kind.is_symlink() {
                let target = fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                return Err(unsafe_entry(
                    self.label,
                    &rel,
                    format!("symbolic link (to {target:?}) refused"),
                ));
            } else if kind.is_dir() {
                self.walk(&path, &rel, depth + 1)?;
            } else if kind.is_file() {
                let bytes = self.read_file(&path, &rel)?;
                self.files.insert(rel, bytes);
            } else {
                return Err(unsafe_entry(
                    self.label,
                    &rel,
                    format!("{} refused", special_kind(&kind)),
                ));
            }
        }
        Ok(())
    }

    fn read_file(&mut self, path: &Path, rel: &str) -> Result<Vec<u8>, PackError> {
        // O_NOFOLLOW + fstat: the checks apply to the file actually read, even if the entry is
        // swapped for a link between the directory scan and the open.
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| PackError::io(path, e))?;
        let meta = file.metadata().map_err(|e| PackError::io(path, e))?;
        if !meta.is_file() {
            return Err(unsafe_entry(
                self.label,
                rel,
                format!("{} refused", special_kind(&meta.file_type())),
            ));
        }
        if meta.nlink() > 1 {
            return Err(unsafe_entry(
                self.label,
                rel,
                format!(
                    "hard link ({} names for one file) refused; copy the file instead",
                    meta.nlink()
                ),
            ));
        }
        check_size(self.label, rel, meta.len(), self.limits, &mut self.total)?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(self.limits.max_entry_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| PackError::io(path, e))?;
        if bytes.len() as u64 != meta.len() {
            // The file changed while being read: account for what was read and re-check.
            self.total -= meta.len();
            check_size(
                self.label,
                rel,
                bytes.len() as u64,
                self.limits,
                &mut self.total,
            )?;
        }
        Ok(bytes)
    }
}

fn special_kind(kind: &fs::FileType) -> &'static str {
    if kind.is_block_device() {
        "block device"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}
