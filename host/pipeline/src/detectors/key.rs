//! Who provides a detector: the identity the detector set and the catalog
//! agree on, and the order that decides which of two providers of one
//! detector name serves.

use std::fmt;
use std::path::{Path, PathBuf};

use harrier_plugins::{Plugin, PluginSource};
use serde::{Deserialize, Serialize};

/// One provider of one detector: the built-in binary, a file of a plugin
/// directory, or a plugin of an installed rule pack.
///
/// Keys are ordered, and the order is the uniqueness rule: when several keys
/// provide detectors of the same name, the **lowest key serves** and the
/// others stand by, the lowest of them taking over when the server goes.
/// Built-in detectors come first, then plugin-directory files (by path),
/// then rule packs (by pack name, then plugin name). So a pack can never
/// replace a built-in detector or an operator's own file, and the outcome
/// does not depend on which provider appeared first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum DetectorKey {
    /// A detector built into the binary (the default pack), by name.
    Embedded {
        /// The detector's name.
        name: String,
    },
    /// A `.wasm` file of a plugin directory (canonical path).
    File {
        /// The file.
        path: PathBuf,
    },
    /// A plugin of an installed rule pack.
    Pack {
        /// The pack's name.
        pack: String,
        /// The plugin's name in the manifest.
        plugin: String,
    },
}

impl DetectorKey {
    /// The key of a loaded detector, from where it came from (an embedded
    /// detector is keyed by the name it declares).
    pub fn of(plugin: &Plugin) -> DetectorKey {
        match plugin.source() {
            PluginSource::Embedded => DetectorKey::Embedded {
                name: plugin.name().to_string(),
            },
            PluginSource::Directory { path } => DetectorKey::File { path: path.clone() },
            PluginSource::Pack { pack, plugin, .. } => DetectorKey::Pack {
                pack: pack.clone(),
                plugin: plugin.clone(),
            },
        }
    }

    /// The name operators configure and disable this detector by
    /// (`[plugins.config.<name>]`, `[plugins] disable`): the detector name,
    /// or a file's stem.
    pub fn config_name(&self) -> String {
        match self {
            DetectorKey::Embedded { name } => name.clone(),
            DetectorKey::File { path } => file_stem(path),
            DetectorKey::Pack { plugin, .. } => plugin.clone(),
        }
    }

    /// The detector name the provider announces before its component is
    /// compiled (a file announces none: its component names itself).
    pub fn announced_name(&self) -> Option<&str> {
        match self {
            DetectorKey::Embedded { name } => Some(name),
            DetectorKey::File { .. } => None,
            DetectorKey::Pack { plugin, .. } => Some(plugin),
        }
    }
}

/// A file's stem, the name a plugin-directory file is configured by.
fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl fmt::Display for DetectorKey {
    /// The same text as a detector's origin: `embedded:<name>`, the file
    /// path, `pack:<pack>/<plugin>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetectorKey::Embedded { name } => write!(f, "embedded:{name}"),
            DetectorKey::File { path } => write!(f, "{}", path.display()),
            DetectorKey::Pack { pack, plugin } => write!(f, "pack:{pack}/{plugin}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_then_files_then_packs() {
        let embedded = DetectorKey::Embedded { name: "z".into() };
        let file = DetectorKey::File {
            path: "/a/x.wasm".into(),
        };
        let later_file = DetectorKey::File {
            path: "/b/x.wasm".into(),
        };
        let pack = DetectorKey::Pack {
            pack: "a".into(),
            plugin: "a".into(),
        };
        let mut keys = vec![
            pack.clone(),
            later_file.clone(),
            file.clone(),
            embedded.clone(),
        ];
        keys.sort();
        assert_eq!(keys, vec![embedded, file, later_file, pack]);
    }

    #[test]
    fn printed_like_an_origin() {
        let key = DetectorKey::Pack {
            pack: "acme".into(),
            plugin: "miner".into(),
        };
        assert_eq!(key.to_string(), "pack:acme/miner");
        assert_eq!(key.config_name(), "miner");
        let file = DetectorKey::File {
            path: "/p/det.wasm".into(),
        };
        assert_eq!(file.config_name(), "det");
        assert_eq!(file.announced_name(), None);
    }
}
