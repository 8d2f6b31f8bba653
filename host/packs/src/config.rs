//! The agent's `[packs]` configuration section and the one call that loads packs by it.
//!
//! ```toml
//! [packs]
//! dir = "/var/lib/harrier/packs"
//! trust = "/etc/harrier/trust"
//! allow_unsigned = false
//! allowed_permissions = ["intel"]
//! # max_entry_bytes = 134217728
//! # max_total_bytes = 536870912
//!
//! [packs.overrides.acme-runtime.crypto-miner]
//! enabled = false
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::PackError;
use crate::keys::TrustStore;
use crate::overrides::{PackOverrides, apply_overrides};
use crate::policy::{Grants, grant_permissions};
use crate::store::load_installed;
use crate::verify::{VerifiedPack, VerifyOptions};

/// Default install store.
pub const DEFAULT_PACKS_DIR: &str = "/var/lib/harrier/packs";
/// Default trust store.
pub const DEFAULT_TRUST_DIR: &str = "/etc/harrier/trust";

/// The operator's pack policy: where packs and trusted keys live, what is allowed, overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacksConfig {
    /// Install store directory (default [`DEFAULT_PACKS_DIR`]).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Trust store directory of `*.pub` keys (default [`DEFAULT_TRUST_DIR`]).
    #[serde(default)]
    pub trust: Option<PathBuf>,
    /// Accept unsigned packs (development only).
    #[serde(default, alias = "allow-unsigned")]
    pub allow_unsigned: bool,
    /// Permissions plugins may be granted.
    #[serde(default, alias = "allowed-permissions")]
    pub allowed_permissions: BTreeSet<String>,
    /// Largest file in a pack.
    #[serde(default, alias = "max-entry-bytes")]
    pub max_entry_bytes: Option<u64>,
    /// Largest pack.
    #[serde(default, alias = "max-total-bytes")]
    pub max_total_bytes: Option<u64>,
    /// Overrides by pack name.
    #[serde(default)]
    pub overrides: BTreeMap<String, PackOverrides>,
}

/// Keys of `[packs]` spelled the old way (kebab-case), accepted with a warning.
const LEGACY_KEYS: [(&str, &str); 4] = [
    ("allow-unsigned", "allow_unsigned"),
    ("allowed-permissions", "allowed_permissions"),
    ("max-entry-bytes", "max_entry_bytes"),
    ("max-total-bytes", "max_total_bytes"),
];

/// One deprecation message per old (kebab-case) key used in a `[packs]` table. The old
/// spellings still deserialise (serde aliases); this is how callers tell the operator.
pub fn deprecated_keys(packs: &toml::Table) -> Vec<String> {
    LEGACY_KEYS
        .iter()
        .filter(|(old, _)| packs.contains_key(*old))
        .map(|(old, new)| {
            format!(
                "[packs] `{old}` is deprecated; write `{new}` (snake_case, like every other key)"
            )
        })
        .collect()
}

impl PacksConfig {
    /// The install store directory.
    pub fn packs_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| DEFAULT_PACKS_DIR.into())
    }

    /// The trust store directory.
    pub fn trust_dir(&self) -> PathBuf {
        self.trust
            .clone()
            .unwrap_or_else(|| DEFAULT_TRUST_DIR.into())
    }

    /// Verification options for a host WIT version (`0.1.0` or `harrier:detector@0.1.0`).
    pub fn verify_options(&self, host_wit_version: &str) -> Result<VerifyOptions, PackError> {
        let mut opts = VerifyOptions::new(host_wit_version)?;
        opts.allow_unsigned = self.allow_unsigned;
        if let Some(max) = self.max_entry_bytes {
            opts.max_entry_bytes = max;
        }
        if let Some(max) = self.max_total_bytes {
            opts.max_total_bytes = max;
        }
        Ok(opts)
    }

    /// Applies this pack's overrides, then grants permissions: what to do after verification.
    pub fn prepare(&self, pack: &mut VerifiedPack) -> Result<Grants, PackError> {
        if let Some(overrides) = self.overrides.get(pack.name()) {
            apply_overrides(pack, overrides)?;
        }
        grant_permissions(pack, &self.allowed_permissions)
    }
}

/// A pack ready to hand to the plugin runtime.
#[derive(Debug, Clone)]
pub struct LoadedPack {
    /// The verified pack with overrides applied (skip plugins with `enabled() == false`).
    pub pack: VerifiedPack,
    /// Permissions granted per enabled plugin.
    pub grants: Grants,
}

/// Result of [`load_configured`]: the packs that passed and why the others were refused.
#[derive(Debug, Default)]
pub struct LoadedPacks {
    /// Packs that passed every check, sorted by name.
    pub packs: Vec<LoadedPack>,
    /// One error per refused pack (or for the store or trust store as a whole).
    pub refused: Vec<PackError>,
    /// Configuration that had no effect, e.g. overrides for a pack that is not installed.
    pub warnings: Vec<String>,
}

/// Loads the trust store and every installed pack, re-verifies each, applies overrides, grants
/// permissions and refuses a pack whose enabled detector name is already taken by an earlier
/// (by name) pack. A refused pack never affects the others.
pub fn load_configured(config: &PacksConfig, host_wit_version: &str) -> LoadedPacks {
    let mut out = LoadedPacks::default();
    let opts = match config.verify_options(host_wit_version) {
        Ok(opts) => opts,
        Err(e) => {
            out.refused.push(e);
            return out;
        }
    };
    let trust = match TrustStore::load(&config.trust_dir()) {
        Ok(trust) => trust,
        Err(e) if config.allow_unsigned => {
            out.refused.push(e);
            TrustStore::empty()
        }
        Err(e) => {
            out.refused.push(e);
            return out;
        }
    };
    for result in load_installed(&config.packs_dir(), &trust, &opts) {
        let prepared = result.and_then(|mut pack| {
            let grants = config.prepare(&mut pack)?;
            let mut candidate: Vec<VerifiedPack> =
                out.packs.iter().map(|l| l.pack.clone()).collect();
            candidate.push(pack.clone());
            crate::policy::check_no_duplicates(&candidate)?;
            Ok(LoadedPack { pack, grants })
        });
        match prepared {
            Ok(loaded) => out.packs.push(loaded),
            Err(e) => out.refused.push(e),
        }
    }
    for name in config.overrides.keys() {
        if !out.packs.iter().any(|l| l.pack.name() == name) {
            out.warnings.push(format!(
                "overrides for pack {name}: no such pack loaded from {}",
                config.packs_dir().display()
            ));
        }
    }
    out
}
