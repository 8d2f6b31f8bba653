//! Reading a `.tar.gz` pack: regular files only, pack-relative paths only, decompression capped.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::rc::Rc;

use super::{Limits, check_size, oversized, unsafe_entry};
use crate::PackError;
use crate::manifest::{MANIFEST_FILE, validate_relative_path};

/// Slack for tar headers and padding on top of `max_total_bytes` when decompressing.
const ARCHIVE_OVERHEAD: u64 = 8 << 20;

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

/// Reads every regular file of a gzip-compressed tar stream, refusing unsafe entries.
pub(super) fn read_archive(
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
pub(super) fn strip_single_top_dir(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
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
