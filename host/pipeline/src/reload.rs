//! Hot reload: watch plugin directories and swap detectors in place.
//!
//! Deploy tools write in chunks, write a temporary file and rename it, or
//! delete and recreate. So events only mark a file as dirty; a file is acted
//! on once it has been quiet for the debounce interval and its size and
//! modification time held still between two looks. Then it is compiled,
//! initialised and self-tested off the event path (on this thread) and sent
//! to the agent, which swaps it in between two batches. A version that fails
//! any step is refused with a message naming the file, and the old version
//! keeps serving. A deleted file unloads its detector.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant, SystemTime};

use harrier_plugins::Plugin;
use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};

use crate::agent::{AgentHandle, Change, ReloadStats};

/// Loads one plugin file (compile, instantiate, init, self-test).
pub type LoadFn = Box<dyn Fn(&Path) -> Result<Plugin, String> + Send>;

/// How the watcher debounces.
#[derive(Debug, Clone)]
pub struct ReloadConfig {
    /// Quiet time after the last change before a file is looked at (100 ms).
    pub debounce: Duration,
}

impl Default for ReloadConfig {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(100),
        }
    }
}

/// A running watcher; stops when dropped.
pub struct Reloader {
    stop: Arc<AtomicBool>,
    rescan: std::sync::mpsc::Sender<()>,
    agent: AgentHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reloader {
    /// Watch `dirs`. `known` maps files already loaded at start-up to
    /// (detector name, sha256), so an unchanged file is not loaded twice.
    pub fn start(
        dirs: Vec<PathBuf>,
        known: Vec<(PathBuf, String, String)>,
        load: LoadFn,
        agent: AgentHandle,
        config: ReloadConfig,
    ) -> anyhow::Result<Reloader> {
        let (fs_tx, fs_rx) = channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    for path in event.paths {
                        let _ = fs_tx.send(path);
                    }
                }
            })?;
        for dir in &dirs {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|e| anyhow::anyhow!("watching plugin directory {}: {e}", dir.display()))?;
        }
        let (rescan_tx, rescan_rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut state = State {
            dirs,
            loaded: known
                .into_iter()
                .map(|(path, name, sha)| (path, Loaded { name, sha256: sha }))
                .collect(),
            refused: HashMap::new(),
            dirty: HashMap::new(),
            load,
            agent: agent.clone(),
            debounce: config.debounce,
        };
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("harrier-reload".into())
            .spawn(move || {
                // The watcher lives as long as the thread.
                let _watcher = watcher;
                state.run(&fs_rx, &rescan_rx, &stop_flag);
            })?;
        Ok(Reloader {
            stop,
            rescan: rescan_tx,
            agent,
            thread: Some(thread),
        })
    }

    /// Look at every file again (SIGHUP).
    pub fn rescan(&self) {
        let _ = self.rescan.send(());
    }

    /// A handle that can request rescans from another thread.
    pub fn rescan_handle(&self) -> std::sync::mpsc::Sender<()> {
        self.rescan.clone()
    }

    /// Current counters.
    pub fn stats(&self) -> ReloadStats {
        self.agent.status().reload
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Loaded {
    name: String,
    sha256: String,
}

/// What we saw of a dirty file: when it last changed, and its last shape.
struct Dirty {
    last_event: Instant,
    shape: Option<(u64, SystemTime)>,
}

struct State {
    dirs: Vec<PathBuf>,
    loaded: BTreeMap<PathBuf, Loaded>,
    /// The sha256 of the last refused content of each file, so the same
    /// bad bytes are not reported again at every touch.
    refused: HashMap<PathBuf, String>,
    dirty: HashMap<PathBuf, Dirty>,
    load: LoadFn,
    agent: AgentHandle,
    debounce: Duration,
}

/// Whether a path is a plugin file (not a hidden or temporary file).
fn is_plugin_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.') && name.ends_with(".wasm")
}

fn shape(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

impl State {
    fn run(&mut self, fs: &Receiver<PathBuf>, rescan: &Receiver<()>, stop: &AtomicBool) {
        let tick = (self.debounce / 2).max(Duration::from_millis(10));
        while !stop.load(Ordering::SeqCst) {
            match fs.recv_timeout(tick) {
                Ok(path) => self.mark(path),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(path) = fs.try_recv() {
                self.mark(path);
            }
            if rescan.try_recv().is_ok() {
                while rescan.try_recv().is_ok() {}
                self.mark_all();
            }
            self.settle();
        }
    }

    fn mark(&mut self, path: PathBuf) {
        if is_plugin_file(&path) {
            self.dirty.insert(
                path,
                Dirty {
                    last_event: Instant::now(),
                    shape: None,
                },
            );
        }
    }

    /// SIGHUP: every file present, and every file we loaded, is looked at.
    fn mark_all(&mut self) {
        tracing::info!("rescanning plugin directories");
        let mut paths: Vec<PathBuf> = self.loaded.keys().cloned().collect();
        for dir in &self.dirs {
            if let Ok(entries) = std::fs::read_dir(dir) {
                paths.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        }
        for path in paths {
            self.mark(path);
        }
    }

    /// Act on files that have been quiet and still.
    fn settle(&mut self) {
        let now = Instant::now();
        let mut ready = Vec::new();
        for (path, dirty) in &mut self.dirty {
            if now.duration_since(dirty.last_event) < self.debounce {
                continue;
            }
            let current = shape(path);
            if current.is_some() && current != dirty.shape {
                // Still changing (or first look): look again next round.
                dirty.shape = current;
                continue;
            }
            ready.push(path.clone());
        }
        for path in ready {
            self.dirty.remove(&path);
            if path.exists() {
                self.load_file(&path);
            } else {
                self.unload_file(&path);
            }
        }
    }

    fn load_file(&mut self, path: &Path) {
        let started = Instant::now();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => return self.refuse(path, format!("cannot read: {e}")),
        };
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if self.loaded.get(path).is_some_and(|l| l.sha256 == sha256)
            || self.refused.get(path).is_some_and(|s| *s == sha256)
        {
            return;
        }
        let plugin = match (self.load)(path) {
            Ok(plugin) => plugin,
            Err(reason) => {
                self.refused.insert(path.to_path_buf(), sha256);
                return self.refuse(path, reason);
            }
        };
        let name = plugin.name().to_string();
        let clash = self
            .agent
            .status()
            .detectors
            .into_iter()
            .find(|d| d.name == name && self.loaded.get(path).is_none_or(|l| l.name != name));
        if let Some(other) = clash {
            self.refused.insert(path.to_path_buf(), sha256);
            return self.refuse(
                path,
                format!(
                    "detector name `{name}` is already served by {}",
                    other.origin
                ),
            );
        }
        // A file that now holds a different detector unloads the old one.
        if let Some(old) = self.loaded.get(path).filter(|l| l.name != name) {
            self.agent.change(Change::Remove(old.name.clone()));
        }
        tracing::info!(file = %path.display(), detector = %plugin.name_version(), sha256 = %sha256, "new version ready; swapping in");
        self.agent.change(Change::Upsert(Box::new(plugin)));
        self.loaded
            .insert(path.to_path_buf(), Loaded { name, sha256 });
        self.agent.record_reload(started.elapsed());
    }

    fn unload_file(&mut self, path: &Path) {
        self.refused.remove(path);
        if let Some(old) = self.loaded.remove(path) {
            tracing::info!(file = %path.display(), detector = %old.name, "plugin file removed; unloading");
            self.agent.change(Change::Remove(old.name));
            self.agent.record_unload();
        }
    }

    fn refuse(&mut self, path: &Path, reason: String) {
        let message = format!("plugin {}: refused: {reason}", path.display());
        tracing::error!("{message}; the previous version (if any) keeps serving");
        self.agent.record_refusal(message);
    }
}
