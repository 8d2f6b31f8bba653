//! Watch intel directories and reload their feeds while the agent runs,
//! the way plugin directories are watched: changes are debounced, a bad
//! feed is refused by name (logged) and the old version keeps serving.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::dir::{DirReport, FeedDir};
use crate::store::IntelStore;

/// Quiet time after the last change before a directory is read again.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Feed files refused so far, across every watched directory.
#[derive(Debug, Default)]
pub struct WatchStats {
    /// Feed versions refused (parse errors).
    pub refused: AtomicU64,
    /// Directory reads that changed the store.
    pub reloads: AtomicU64,
}

/// Load every directory once, logging what happened; errors name the
/// directory or the feed.
pub fn load_dirs(dirs: &mut [FeedDir], store: &IntelStore, stats: &WatchStats) -> Vec<String> {
    let mut errors = Vec::new();
    for dir in dirs.iter_mut() {
        match dir.refresh(store) {
            Ok(report) => {
                errors.extend(report.refused.iter().map(|e| e.to_string()));
                log(&report, stats);
            }
            Err(e) => {
                let msg = format!("intel directory {}: {e}", dir.path().display());
                tracing::error!("{msg}");
                errors.push(msg);
            }
        }
    }
    errors
}

fn log(report: &DirReport, stats: &WatchStats) {
    for (name, summary) in &report.loaded {
        tracing::info!(feed = %name, "intel feed loaded: {summary}");
    }
    for name in &report.removed {
        tracing::info!(feed = %name, "intel feed removed");
    }
    for e in &report.refused {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::error!("{e}; the previous version (if any) keeps serving");
    }
    if !report.loaded.is_empty() || !report.removed.is_empty() {
        stats.reloads.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running watcher; stops when dropped.
pub struct IntelWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl IntelWatcher {
    /// Watch `dirs` (already loaded once) and refresh them into `store`.
    pub fn start(
        mut dirs: Vec<FeedDir>,
        store: Arc<IntelStore>,
        stats: Arc<WatchStats>,
    ) -> Result<Self, String> {
        let (tx, rx) = channel();
        let mut watcher = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
            if e.is_ok() {
                let _ = tx.send(());
            }
        })
        .map_err(|e| format!("intel watcher: {e}"))?;
        let paths: Vec<PathBuf> = dirs.iter().map(|d| d.path().to_path_buf()).collect();
        for p in &paths {
            watcher
                .watch(p, RecursiveMode::NonRecursive)
                .map_err(|e| format!("watching intel directory {}: {e}", p.display()))?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("intel-watch".into())
            .spawn(move || {
                let _watcher = watcher;
                let mut dirty = false;
                while !stopping.load(Ordering::Relaxed) {
                    match rx.recv_timeout(if dirty {
                        DEBOUNCE
                    } else {
                        Duration::from_millis(250)
                    }) {
                        Ok(()) => dirty = true,
                        Err(RecvTimeoutError::Timeout) if dirty => {
                            dirty = false;
                            load_dirs(&mut dirs, &store, &stats);
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .map_err(|e| format!("intel watcher thread: {e}"))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for IntelWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::Kind;
    use std::time::Instant;

    fn wait_for(what: &str, f: impl Fn() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_feed_written_while_watching_is_served_and_a_bad_one_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(IntelStore::new());
        let stats = Arc::new(WatchStats::default());
        let mut dirs = vec![FeedDir::new(tmp.path())];
        assert!(load_dirs(&mut dirs, &store, &stats).is_empty());
        let _w = IntelWatcher::start(dirs, store.clone(), stats.clone()).unwrap();
        std::fs::write(tmp.path().join("dga.txt"), "x1.example\n").unwrap();
        wait_for("the new feed", || {
            store.lookup(Kind::Domain, "x1.example").is_some()
        });
        std::fs::write(tmp.path().join("dga.txt"), "[nonsense]\n").unwrap();
        wait_for("the refusal", || stats.refused.load(Ordering::Relaxed) == 1);
        assert!(store.lookup(Kind::Domain, "x1.example").is_some());
    }
}
