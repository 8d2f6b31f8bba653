//! A plugin directory: every `*.wasm` file in it is one detector, keyed by
//! its canonical path (so a relative `--plugins ./dir` and the watcher's
//! absolute paths name the same file).
//!
//! Deploy tools write in chunks, write a temporary file and rename it, or
//! delete and recreate. A file is taken once it holds still: it was last
//! modified at least the debounce interval ago (not checked at the first
//! look, at start-up) and its size and modification time are the same
//! before and after reading it. Until then
//! its last settled version (if any) keeps being offered. Hidden files
//! (`.name.wasm.tmp`) are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use harrier_pipeline::DetectorKey;
use harrier_plugins::{PluginSource, PluginSpec};
use sha2::{Digest, Sha256};

use crate::{Offer, Settings, Source, Wanted, Watch};

/// Size, modification time and inode: what "changed" means before reading.
type Shape = (u64, SystemTime, u64);

struct Seen {
    shape: Shape,
    sha256: String,
    wasm: std::sync::Arc<[u8]>,
    /// The last read failed (reported once per shape).
    unreadable: bool,
}

/// One watched plugin directory.
pub struct DirectorySource {
    dir: PathBuf,
    given: PathBuf,
    debounce: Duration,
    seen: BTreeMap<PathBuf, Seen>,
    reported_missing: bool,
    looked: bool,
}

impl DirectorySource {
    /// The directory `dir` (made absolute and canonical when it exists);
    /// files modified less than `debounce` ago wait for the next look.
    pub fn new(dir: &Path, debounce: Duration) -> DirectorySource {
        let dir_abs = std::fs::canonicalize(dir).unwrap_or_else(|_| absolute(dir));
        DirectorySource {
            dir: dir_abs,
            given: dir.to_path_buf(),
            debounce,
            seen: BTreeMap::new(),
            reported_missing: false,
            looked: false,
        }
    }

    /// The directory as watched (canonical).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The component files of a plugin directory, sorted (hidden files and
/// names not ending in `.wasm` left out).
pub fn plugin_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_plugin_file(p))
        .collect();
    files.sort();
    Ok(files)
}

fn is_plugin_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.') && name.ends_with(".wasm")
}

fn shape(path: &Path) -> Option<Shape> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file()
        .then(|| Some((meta.len(), meta.modified().ok()?, meta.ino())))
        .flatten()
}

impl Source for DirectorySource {
    fn watched(&self) -> Vec<Watch> {
        vec![Watch {
            path: self.dir.clone(),
            recursive: false,
        }]
    }

    fn offer(&mut self, settings: &Settings) -> Offer {
        let mut offer = Offer::default();
        let files = match plugin_files(&self.dir) {
            Ok(files) => {
                self.reported_missing = false;
                files
            }
            Err(e) => {
                if !self.reported_missing {
                    self.reported_missing = true;
                    offer
                        .refused
                        .push(format!("plugin directory {}: {e}", self.given.display()));
                }
                Vec::new()
            }
        };
        self.seen.retain(|path, _| files.contains(path));
        let first = !std::mem::replace(&mut self.looked, true);
        for path in files {
            self.look_at(&path, first, &mut offer);
            if let Some(seen) = self.seen.get(&path).filter(|s| !s.unreadable) {
                offer.wanted.push(wanted(&path, seen, settings));
            }
        }
        offer
    }
}

impl DirectorySource {
    /// Read `path` again if its shape changed and it holds still.
    fn look_at(&mut self, path: &Path, first: bool, offer: &mut Offer) {
        let Some(before) = shape(path) else {
            return;
        };
        if self.seen.get(path).is_some_and(|s| s.shape == before) {
            return;
        }
        let recent = !first && before.1.elapsed().is_ok_and(|age| age < self.debounce);
        if recent {
            offer.unsettled = true;
            return;
        }
        let read = std::fs::read(path);
        if shape(path) != Some(before) {
            offer.unsettled = true;
            return;
        }
        match read {
            Ok(bytes) => {
                let seen = Seen {
                    shape: before,
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    wasm: bytes.into(),
                    unreadable: false,
                };
                self.seen.insert(path.to_path_buf(), seen);
            }
            Err(e) => {
                offer.refused.push(format!(
                    "plugin {}: refused: cannot read: {e}",
                    path.display()
                ));
                // Keep offering the last readable version, if any.
                if let Some(seen) = self.seen.get_mut(path) {
                    seen.shape = before;
                } else {
                    let seen = Seen {
                        shape: before,
                        sha256: String::new(),
                        wasm: Vec::new().into(),
                        unreadable: true,
                    };
                    self.seen.insert(path.to_path_buf(), seen);
                }
            }
        }
    }
}

fn wanted(path: &Path, seen: &Seen, settings: &Settings) -> Wanted {
    let key = DetectorKey::File {
        path: path.to_path_buf(),
    };
    Wanted {
        sha256: seen.sha256.clone(),
        spec: PluginSpec {
            origin: path.display().to_string(),
            source: PluginSource::Directory {
                path: path.to_path_buf(),
            },
            wasm: seen.wasm.clone(),
            config_json: settings.merged_config(&key.config_name(), "{}"),
            limits: settings.limits.clone(),
            severity_override: None,
            permissions: settings.permissions(&key.config_name()),
            shadow: settings.shadow(&key.config_name()),
        },
        key,
    }
}
