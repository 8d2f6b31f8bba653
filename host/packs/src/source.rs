//! Reading a pack's files into memory, from a directory or a `.tar.gz`, refusing anything that
//! could escape or alias the pack (traversal, absolute paths, links, devices) or is too large.
//!
//! Nothing here interprets the files: [`crate::verify`] checks them against the manifest.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::rc::Rc;

use crate::PackError;
use crate::manifest::{MANIFEST_FILE, validate_relative_path};

/// Deepest directory nesting accepted inside a pack.
const MAX_DEPTH: usize = 16;
/// Slack for tar headers and padding on top of `max_total_bytes` when decompressing.
const ARCHIVE_OVERHEAD: u64 = 8 << 20;

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
/// named it); nothing inside the pack may be.
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
    let files = read_archive(&label, file, limits)?;
    Ok(PackFiles {
        files: strip_single_top_dir(files),
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
        let mut reader = DirReader {
            label: &label,
            limits,
            total: 0,
            files: BTreeMap::new(),
        };
        let walked = reader.walk(path, "", 0);
        let after = fs::metadata(path).map_err(|e| PackError::io(path, e))?;
        if (after.dev(), after.ino()) == (before.dev(), before.ino()) {
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

fn unsafe_entry(label: &str, entry: &str, reason: impl Into<String>) -> PackError {
    PackError::UnsafeEntry {
        pack: label.to_string(),
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

fn oversized(label: &str, entry: &str, size: u64, limit: u64) -> PackError {
    PackError::Oversized {
        pack: label.to_string(),
        entry: entry.to_string(),
        size,
        limit,
    }
}

struct DirReader<'a> {
    label: &'a str,
    limits: &'a Limits,
    total: u64,
    files: BTreeMap<String, Vec<u8>>,
}

impl DirReader<'_> {
    fn walk(&mut self, dir: &Path, prefix: &str, depth: usize) -> Result<(), PackError> {
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

fn check_size(
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

/// A reader that stops with an error once more than `limit` bytes have passed, and says so.
struct CappedReader<R> {
    inner: R,
    remaining: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.remaining {
            self.exceeded.set(true);
            return Err(io::Error::other(
                "archive decompresses to more than the size limit",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn read_archive(
    label: &str,
    file: fs::File,
    limits: &Limits,
) -> Result<BTreeMap<String, Vec<u8>>, PackError> {
    let exceeded = Rc::new(Cell::new(false));
    let cap = limits.max_total_bytes.saturating_add(ARCHIVE_OVERHEAD);
    let reader = CappedReader {
        inner: flate2::read::GzDecoder::new(io::BufReader::new(file)),
        remaining: cap,
        exceeded: exceeded.clone(),
    };
    let mut archive = tar::Archive::new(reader);
    let io_err = |e: io::Error| {
        if exceeded.get() {
            oversized(label, "(decompressed archive)", cap + 1, cap)
        } else {
            PackError::io(label, e)
        }
    };
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for entry in archive.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let path = std::str::from_utf8(&raw)
            .map_err(|_| unsafe_entry(label, &shown, "path is not UTF-8"))?;
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let Some(rel) =
            normalise_archive_path(path).map_err(|reason| unsafe_entry(label, &shown, reason))?
        else {
            continue; // the archive root itself ("./")
        };
        if kind.is_dir() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            let what = if kind.is_symlink() {
                "symbolic link"
            } else {
                "hard link"
            };
            return Err(unsafe_entry(
                label,
                &shown,
                format!("{what} (to {target:?}) refused"),
            ));
        }
        if kind.is_character_special() || kind.is_block_special() {
            return Err(unsafe_entry(label, &shown, "device entry refused"));
        }
        if kind.is_fifo() {
            return Err(unsafe_entry(label, &shown, "fifo entry refused"));
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            return Err(unsafe_entry(
                label,
                &shown,
                format!(
                    "unsupported entry type {:?} refused",
                    kind.as_byte() as char
                ),
            ));
        }
        check_size(label, &rel, entry.size(), limits, &mut total)?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        (&mut entry)
            .take(limits.max_entry_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        if bytes.len() as u64 > limits.max_entry_bytes {
            return Err(oversized(
                label,
                &rel,
                bytes.len() as u64,
                limits.max_entry_bytes,
            ));
        }
        if files.insert(rel.clone(), bytes).is_some() {
            return Err(unsafe_entry(label, &rel, "appears twice in the archive"));
        }
    }
    Ok(files)
}

/// Turns an archive path into a pack-relative path: strips leading `./` and a trailing `/`,
/// refuses absolute paths and `..`. `None` for the archive root itself.
fn normalise_archive_path(path: &str) -> Result<Option<String>, String> {
    if path.starts_with('/') {
        return Err("absolute path refused".into());
    }
    if path.split('/').any(|c| c == "..") {
        return Err("path escapes the pack with '..'".into());
    }
    let mut rest = path;
    while let Some(stripped) = rest.strip_prefix("./") {
        rest = stripped;
    }
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest == "." {
        return Ok(None);
    }
    validate_relative_path(rest)?;
    Ok(Some(rest.to_string()))
}

/// Archives made with `tar czf x.tar.gz mypack/` hold everything under one directory: if there is
/// no root `pack.toml` but every file sits under one directory that has it, strip that directory.
fn strip_single_top_dir(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    if files.contains_key(MANIFEST_FILE) {
        return files;
    }
    let Some(top) = files
        .keys()
        .next()
        .and_then(|k| k.split_once('/'))
        .map(|(t, _)| format!("{t}/"))
    else {
        return files;
    };
    let all_under = files.keys().all(|k| k.starts_with(&top));
    if !all_under || !files.contains_key(&format!("{top}{MANIFEST_FILE}")) {
        return files;
    }
    files
        .into_iter()
        .map(|(k, v)| (k[top.len()..].to_string(), v))
        .collect()
}
