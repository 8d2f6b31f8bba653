//! A source of detector specs, and what it offers at each look.

use std::path::PathBuf;

use harrier_pipeline::{DetectorKey, Revision};
use harrier_plugins::PluginSpec;

use crate::Settings;

/// One detector a source wants running.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// Who provides it.
    pub key: DetectorKey,
    /// SHA-256 of the component.
    pub sha256: String,
    /// How to load it.
    pub spec: PluginSpec,
}

impl Wanted {
    /// What running it means: a running detector of another revision is
    /// replaced.
    pub fn revision(&self) -> Revision {
        Revision {
            sha256: self.sha256.clone(),
            source: self.spec.source.clone(),
        }
    }
}

/// What a source wants at one look.
#[derive(Debug, Default)]
pub struct Offer {
    /// Every detector it wants running now. A provider that is refused or
    /// still being written keeps offering its last good version, so a bad
    /// update never unloads a serving detector.
    pub wanted: Vec<Wanted>,
    /// Refusals found at this look, each naming the culprit; a source
    /// reports one content's refusal once, not at every look.
    pub refused: Vec<String>,
    /// Something was still changing: look again after the debounce.
    pub unsettled: bool,
}

/// A path a watcher should report changes under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The directory.
    pub path: PathBuf,
    /// Whether changes in subdirectories count.
    pub recursive: bool,
}

/// A source of detector specs: built-in detectors, a plugin directory,
/// installed packs, a fleet. It owns its keys: no two sources offer the
/// same [`DetectorKey`].
pub trait Source: Send {
    /// Directories whose changes should trigger a look (none: never changes).
    fn watched(&self) -> Vec<Watch>;

    /// Look again and offer what should run now. Unchanged input should be
    /// cheap (no re-reading, no re-verifying).
    fn offer(&mut self, settings: &Settings) -> Offer;
}
