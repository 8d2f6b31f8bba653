//! Where a detector's component was loaded from, for the provenance every
//! finding carries (see [`crate::DetectorRef`]).

use serde::{Deserialize, Serialize};

/// Where a detector's component was loaded from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProvenanceSource {
    /// Built into the `harrier` binary (the default pack).
    #[default]
    Embedded,
    /// A `.wasm` file in a plugin directory.
    Directory {
        /// The file's path.
        path: String,
    },
    /// A detector of an installed rule pack.
    Pack {
        /// The pack's name.
        pack: String,
        /// The pack's version.
        pack_version: String,
        /// Id of the trusted key that signed the pack; null when the pack
        /// was accepted unsigned (development only).
        key_id: Option<String>,
    },
}
