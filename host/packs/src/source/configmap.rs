//! Kubernetes ConfigMap and Secret volumes: the one shape of links a pack directory (or a
//! trust store) may have.
//!
//! The kubelet writes a volume's files into a hidden `..<timestamp>` directory, points the
//! `..data` link at it, and links every top-level entry `<name>` to `..data/<name>`; an
//! update writes a new timestamped directory and swaps `..data` atomically. A directory laid
//! out exactly so is read from the timestamped directory, under every usual rule (no links,
//! devices, traversal inside it). Any other link, anywhere, is still refused.

use std::fs;
use std::path::{Path, PathBuf};

use super::unsafe_entry;
use crate::PackError;

/// The link a ConfigMap volume swaps on update.
pub(super) const DATA_LINK: &str = "..data";

/// If `dir` is a ConfigMap-style volume, the directory holding its files (the target of
/// `..data`); `None` for a plain directory. A `..data` that is not that shape, or a
/// top-level link that does not point into it, is refused.
pub(super) fn data_dir(dir: &Path, label: &str) -> Result<Option<PathBuf>, PackError> {
    let link = dir.join(DATA_LINK);
    match fs::symlink_metadata(&link) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PackError::io(&link, e)),
        Ok(meta) if !meta.file_type().is_symlink() => {
            return Err(unsafe_entry(
                label,
                DATA_LINK,
                "not a symbolic link (in a ConfigMap volume it links to the data directory)",
            ));
        }
        Ok(_) => {}
    }
    let target = fs::read_link(&link).map_err(|e| PackError::io(&link, e))?;
    let sibling = target
        .to_str()
        .filter(|t| t.starts_with("..") && *t != ".." && !t.contains('/'));
    let Some(sibling) = sibling else {
        return Err(unsafe_entry(
            label,
            DATA_LINK,
            format!(
                "link to {target:?} refused: a ConfigMap volume's ..data names a sibling `..<timestamp>` directory"
            ),
        ));
    };
    let data = dir.join(sibling);
    let is_dir = fs::symlink_metadata(&data).is_ok_and(|m| m.is_dir());
    if !is_dir {
        return Err(unsafe_entry(
            label,
            DATA_LINK,
            format!("links to {sibling:?}, which is not a directory"),
        ));
    }
    check_top_level(dir, label)?;
    Ok(Some(data))
}

/// Every top-level entry of a ConfigMap volume: hidden real directories (the timestamped
/// data, an older one being replaced), the `..data` link, and links `<name>` → `..data/<name>`.
fn check_top_level(dir: &Path, label: &str) -> Result<(), PackError> {
    for entry in fs::read_dir(dir).map_err(|e| PackError::io(dir, e))? {
        let entry = entry.map_err(|e| PackError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta =
            fs::symlink_metadata(entry.path()).map_err(|e| PackError::io(entry.path(), e))?;
        let is_link = meta.file_type().is_symlink();
        if name == DATA_LINK || (name.starts_with("..") && meta.is_dir()) {
            continue;
        }
        let expected = format!("{DATA_LINK}/{name}");
        let target = is_link.then(|| fs::read_link(entry.path()).ok()).flatten();
        if target.as_deref() != Some(Path::new(&expected)) {
            let what = match &target {
                Some(t) => format!("link to {t:?}"),
                None => "an entry that is not a link".to_string(),
            };
            return Err(unsafe_entry(
                label,
                &name,
                format!("{what} refused: in a ConfigMap volume every entry links to {expected:?}"),
            ));
        }
    }
    Ok(())
}
