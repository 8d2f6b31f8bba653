//! The cache of compiled components: restarts and reloads of a detector
//! already compiled by this engine take milliseconds instead of seconds
//! (a 12 MB JavaScript guest takes ~5 s to compile).
//!
//! Entries are named by the sha256 of the component bytes plus the engine's
//! compatibility hash, so a changed component or another wasmtime build or
//! setting never reuses an entry. Loading an entry runs native code written
//! by wasmtime, so a directory is used only if this user owns it and nobody
//! else may write to it (created 0700); otherwise the next candidate is
//! tried. The directory is bounded: after each write the oldest entries go
//! until the total fits `max_bytes`.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Default cache directory (a daemon's cache under the FHS).
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/harrier";

/// A usable cache directory and its bound.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
    max_bytes: u64,
    compat_tag: String,
}

impl CompiledCache {
    /// The first usable directory of `preferred` then the per-user
    /// fallbacks (`$XDG_CACHE_HOME/harrier`, `~/.cache/harrier`,
    /// `$TMPDIR/harrier-cache-<uid>`); none when no candidate is usable
    /// (then every start compiles, with a warning).
    pub fn open(preferred: &Path, max_bytes: u64, compat_tag: String) -> Option<Self> {
        let candidates = std::iter::once(preferred.to_path_buf()).chain(fallbacks());
        for dir in candidates {
            match usable(&dir) {
                Ok(()) => {
                    if dir != preferred {
                        tracing::info!(
                            preferred = %preferred.display(),
                            using = %dir.display(),
                            "compiled-component cache directory not usable; using a fallback"
                        );
                    }
                    return Some(Self {
                        dir,
                        max_bytes,
                        compat_tag,
                    });
                }
                Err(e) => tracing::debug!(dir = %dir.display(), "cache directory not usable: {e}"),
            }
        }
        tracing::warn!(
            preferred = %preferred.display(),
            "no usable directory for compiled components; every start compiles them"
        );
        None
    }

    /// The directory in use.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry for these component bytes.
    pub fn path_for(&self, wasm: &[u8]) -> PathBuf {
        let digest = hex::encode(Sha256::digest(wasm));
        self.dir.join(format!("{digest}-{}.cwasm", self.compat_tag))
    }

    /// The compiled component, if cached and loadable.
    pub fn get(&self, engine: &Engine, wasm: &[u8]) -> Option<Component> {
        let path = self.path_for(wasm);
        if !path.exists() {
            return None;
        }
        // SAFETY: the directory is owned by this user and writable by nobody
        // else (checked in `open`), and entries are named by the sha256 of
        // the source bytes plus the engine's compatibility hash, so these
        // bytes come from our own `Component::serialize` of this component.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => {
                // Touch it so eviction keeps recently used entries.
                let _ = std::fs::File::open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cached component: {e}");
                None
            }
        }
    }

    /// Store a compiled component, then evict beyond the bound; failures
    /// are logged (the component still serves).
    pub fn put(&self, wasm: &[u8], component: &Component) {
        let path = self.path_for(wasm);
        let written = component
            .serialize()
            .map_err(anyhow::Error::from)
            .and_then(|bytes| {
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&tmp, bytes)?;
                std::fs::rename(&tmp, &path)?;
                Ok(())
            });
        match written {
            Ok(()) => self.evict(&path),
            Err(e) => {
                tracing::warn!(path = %path.display(), "could not cache compiled component: {e:#}")
            }
        }
    }

    /// Remove the least recently used entries (never `keep`) until the
    /// directory holds at most `max_bytes`.
    fn evict(&self, keep: &Path) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                tracing::debug!(path = %path.display(), "evicted compiled component");
            }
        }
    }
}

/// Per-user fallbacks for an unusable preferred directory.
fn fallbacks() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(xdg).join("harrier"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(home).join(".cache/harrier"));
    }
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    out.push(std::env::temp_dir().join(format!("harrier-cache-{uid}")));
    out
}

/// Create `dir` (0700) if needed and check this user owns it, nobody else
/// may write to it, and it is writable.
fn usable(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let refuse = |why: &str| Err(std::io::Error::other(why.to_string()));
    if !meta.is_dir() {
        return refuse("not a directory");
    }
    if meta.uid() != uid {
        return refuse("owned by another user");
    }
    if meta.mode() & 0o022 != 0 {
        return refuse("writable by group or others");
    }
    let probe = dir.join(format!(".probe{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refuses_directories_others_may_write() {
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            usable(&open)
                .unwrap_err()
                .to_string()
                .contains("writable by group or others")
        );
        let fresh = tmp.path().join("a/b");
        usable(&fresh).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn eviction_keeps_the_newest_within_the_bound() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = CompiledCache {
            dir: tmp.path().to_path_buf(),
            max_bytes: 250,
            compat_tag: "t".into(),
        };
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let path = tmp.path().join(format!("{name}.cwasm"));
            std::fs::write(&path, [0u8; 100]).unwrap();
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(old + std::time::Duration::from_secs(i as u64))
                .unwrap();
        }
        cache.evict(&tmp.path().join("a.cwasm"));
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // b (the oldest that may go) went; a is the entry just written.
        assert_eq!(left, ["a.cwasm", "c.cwasm"]);
    }
}
