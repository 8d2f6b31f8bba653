//! Threat intelligence for the agent: the bundled feeds and the intel
//! directories, loaded into the services' store before detectors run.

use std::sync::Arc;

use harrier_intel::{FeedDir, IntelStore, IntelWatcher, WatchStats, bundled};

use crate::config::IntelSection;

/// The loaded intel sources, to watch once the agent runs.
pub struct LoadedIntel {
    dirs: Vec<FeedDir>,
    /// Counters of reloads and refused feeds.
    pub stats: Arc<WatchStats>,
    /// Feed errors at start-up (each names its feed).
    pub refused: Vec<String>,
}

/// Load the bundled feeds (GuardDuty's test indicators if configured) and
/// every intel directory into `store`. A bad feed is refused by name; a
/// missing directory is an error naming it.
pub fn load(section: &IntelSection, store: &IntelStore) -> anyhow::Result<LoadedIntel> {
    let feeds = bundled::feeds(section.test_indicators)
        .map_err(|e| anyhow::anyhow!("bundled intel feed: {e}"))?;
    store.set_group(bundled::GROUP, feeds);
    let mut dirs: Vec<FeedDir> = section.dirs.iter().map(FeedDir::new).collect();
    for dir in &dirs {
        if !dir.path().is_dir() {
            anyhow::bail!("intel directory {} does not exist", dir.path().display());
        }
    }
    let stats = Arc::new(WatchStats::default());
    let refused = harrier_intel::watch::load_dirs(&mut dirs, store, &stats);
    let counts = store.snapshot().counts();
    tracing::info!(
        domains = counts.domains,
        networks = counts.networks,
        hashes = counts.hashes,
        test_indicators = section.test_indicators,
        "threat intelligence loaded"
    );
    Ok(LoadedIntel {
        dirs,
        stats,
        refused,
    })
}

impl LoadedIntel {
    /// Watch the intel directories (none: no watcher).
    pub fn watch(self, store: Arc<IntelStore>) -> anyhow::Result<Option<IntelWatcher>> {
        if self.dirs.is_empty() {
            return Ok(None);
        }
        IntelWatcher::start(self.dirs, store, self.stats)
            .map(Some)
            .map_err(|e| anyhow::anyhow!(e))
    }
}
