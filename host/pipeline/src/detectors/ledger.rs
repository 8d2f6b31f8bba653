//! What the detector set holds, as the set itself records it: rewritten by
//! every change, read by the catalog to decide what to change next.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use harrier_plugins::PluginSource;

use super::DetectorKey;

/// What a detector runs: its component and where that came from. The same
/// component re-released in another pack version is another revision, so
/// what a node reports serving is what it was last told to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// SHA-256 of the component.
    pub sha256: String,
    /// Its provider (for a pack: name, version, signer).
    pub source: PluginSource,
}

/// One detector the set holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningDetector {
    /// The name the component declares.
    pub name: String,
    /// What it runs.
    pub revision: Revision,
    /// Serving (or quarantined) rather than standing by.
    pub serving: bool,
}

/// Every detector the set holds, by key.
pub type Running = BTreeMap<DetectorKey, RunningDetector>;

/// A shared view of a [`super::DetectorSet`]'s contents, updated in the
/// same step as the set itself (never a late snapshot).
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<RwLock<Running>>);

impl Ledger {
    /// What the set holds now.
    pub fn running(&self) -> Running {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn record(&self, running: Running) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = running;
    }
}
