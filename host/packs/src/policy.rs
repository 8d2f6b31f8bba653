//! Operator policy over verified packs: unique detector names and permission grants.

use std::collections::{BTreeMap, BTreeSet};

use crate::PackError;
use crate::verify::VerifiedPack;

/// Refuses two enabled detectors with the same name across packs (disabling one with an
/// override resolves the conflict). The error names the detector and both packs.
pub fn check_no_duplicates(packs: &[VerifiedPack]) -> Result<(), PackError> {
    let mut seen: BTreeMap<&str, &VerifiedPack> = BTreeMap::new();
    for pack in packs {
        for plugin in pack.plugins().iter().filter(|p| p.enabled()) {
            if let Some(first) = seen.insert(plugin.name(), pack) {
                return Err(PackError::DuplicateDetector {
                    detector: plugin.name().to_string(),
                    first: first.label(),
                    second: pack.label(),
                });
            }
        }
    }
    Ok(())
}

/// Permissions granted to each enabled plugin of a pack, by plugin name.
pub type Grants = BTreeMap<String, BTreeSet<String>>;

/// Grants each enabled plugin the permissions it requests, or refuses with the first one the
/// operator's `allowed` set lacks (naming pack, plugin and permission). Disabled plugins get
/// nothing and are not checked.
pub fn grant_permissions(
    pack: &VerifiedPack,
    allowed: &BTreeSet<String>,
) -> Result<Grants, PackError> {
    let mut grants = Grants::new();
    for plugin in pack.plugins().iter().filter(|p| p.enabled()) {
        let mut granted = BTreeSet::new();
        for permission in plugin.permissions() {
            if !allowed.contains(permission) {
                return Err(PackError::PermissionDenied {
                    pack: pack.label(),
                    plugin: plugin.name().to_string(),
                    permission: permission.clone(),
                });
            }
            granted.insert(permission.clone());
        }
        grants.insert(plugin.name().to_string(), granted);
    }
    Ok(grants)
}
