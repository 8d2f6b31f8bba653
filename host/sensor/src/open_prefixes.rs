//! The kernel's list of path prefixes for read-only opens (`filter::OPEN_READ`).
//!
//! Most opens on a node read libraries, locales and configuration no detector
//! looks at. When every detector that wants file opens names the prefixes of
//! the read-only opens it cares about, the sensor drops the others in the
//! kernel, before any path is resolved or any record is written.

use std::collections::BTreeSet;

use aya::maps::{
    MapData,
    lpm_trie::{Key, LpmTrie},
};
use harrier_sensor_common::{OPEN_PREFIX_ENTRIES, OPEN_PREFIX_MAX};

use crate::SensorError;

/// The `OPEN_PREFIXES` map and the prefixes it holds.
pub(crate) struct OpenPrefixes {
    map: LpmTrie<MapData, [u8; OPEN_PREFIX_MAX], u8>,
    held: BTreeSet<Vec<u8>>,
}

impl OpenPrefixes {
    /// Take over the map, with the filter off (every open wanted).
    pub(crate) fn new(
        map: LpmTrie<MapData, [u8; OPEN_PREFIX_MAX], u8>,
    ) -> Result<Self, SensorError> {
        let mut this = Self {
            map,
            held: BTreeSet::new(),
        };
        this.set(None)?;
        Ok(this)
    }

    /// Want read-only opens under these prefixes only (`None`: every open).
    /// New prefixes go in before old ones leave, so no wanted open is
    /// dropped while the map changes. If the map refuses one, the filter is
    /// switched off (every open passes) before the error is returned.
    pub(crate) fn set(&mut self, prefixes: Option<&[String]>) -> Result<(), SensorError> {
        let wanted = kernel_prefixes(prefixes);
        let added: Vec<Vec<u8>> = wanted.difference(&self.held).cloned().collect();
        for prefix in added {
            if let Err(e) = self.map.insert(&key(&prefix), 1, 0) {
                let error = map_error(e, &prefix);
                self.map
                    .insert(&key(&[]), 1, 0)
                    .map_err(|e| map_error(e, &[]))?;
                self.held.insert(Vec::new());
                return Err(error);
            }
            self.held.insert(prefix);
        }
        for prefix in self.held.difference(&wanted) {
            self.map
                .remove(&key(prefix))
                .map_err(|e| map_error(e, prefix))?;
        }
        self.held = wanted;
        Ok(())
    }
}

/// Bytes of a prefix the kernel can compare: the path read at syscall entry
/// keeps its last byte for the NUL.
const KERNEL_PREFIX_MAX: usize = OPEN_PREFIX_MAX - 1;

/// The byte prefixes the kernel holds for a prefix list: each cut to
/// [`KERNEL_PREFIX_MAX`] bytes (wider, never narrower); `None`, or more
/// prefixes than the map holds, is the empty prefix, which matches every path.
fn kernel_prefixes(prefixes: Option<&[String]>) -> BTreeSet<Vec<u8>> {
    let every_open = BTreeSet::from([Vec::new()]);
    let Some(list) = prefixes else {
        return every_open;
    };
    let cut: BTreeSet<Vec<u8>> = list
        .iter()
        .map(|p| p.as_bytes()[..p.len().min(KERNEL_PREFIX_MAX)].to_vec())
        .collect();
    if cut.len() > OPEN_PREFIX_ENTRIES as usize {
        tracing::warn!(
            prefixes = cut.len(),
            capacity = OPEN_PREFIX_ENTRIES,
            "detectors want more read-path prefixes than the kernel filter holds; every open is delivered"
        );
        return every_open;
    }
    cut
}

fn key(prefix: &[u8]) -> Key<[u8; OPEN_PREFIX_MAX]> {
    let mut data = [0u8; OPEN_PREFIX_MAX];
    data[..prefix.len()].copy_from_slice(prefix);
    Key::new(prefix.len() as u32 * 8, data)
}

fn map_error(error: aya::maps::MapError, prefix: &[u8]) -> SensorError {
    crate::live::map_error(
        "OPEN_PREFIXES",
        format!("prefix {:?}: {error}", String::from_utf8_lossy(prefix)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_list_is_the_empty_prefix_and_long_prefixes_are_cut() {
        assert_eq!(kernel_prefixes(None), BTreeSet::from([Vec::new()]));
        let long = format!("/{}", "a".repeat(100));
        let got = kernel_prefixes(Some(&["/etc/".into(), long.clone(), "/etc/".into()]));
        assert_eq!(got.len(), 2);
        assert!(got.contains(b"/etc/".as_slice()));
        assert!(got.contains(&long.as_bytes()[..KERNEL_PREFIX_MAX]));
        assert_eq!(key(b"/etc/").prefix_len(), 40);
    }

    #[test]
    fn the_kernel_passes_the_same_writing_opens_as_the_host() {
        assert_eq!(
            harrier_sensor_common::OPEN_WRITE_FLAGS,
            u64::from(harrier_events::open_interest::OPEN_WRITE_FLAGS)
        );
    }

    #[test]
    fn more_prefixes_than_the_map_holds_turn_the_filter_off() {
        let many: Vec<String> = (0..=OPEN_PREFIX_ENTRIES)
            .map(|i| format!("/p{i}/"))
            .collect();
        assert_eq!(kernel_prefixes(Some(&many)), BTreeSet::from([Vec::new()]));
        assert_eq!(
            kernel_prefixes(Some(&many[1..])).len(),
            OPEN_PREFIX_ENTRIES as usize
        );
    }
}
