//! Rule packs across the fleet: the desired-version record (one key per
//! pack in the packs bucket), `harrier fleet publish` and `rollback`, and
//! which release a node should run.
//!
//! The bus is not trusted: what the record names is downloaded and then
//! verified by each node against its own trust store
//! ([`crate::member`]); the record's sha256 only detects a broken download.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use async_nats::jetstream;
use harrier_packs::verify::sha256_hex;
use serde::{Deserialize, Serialize};

use crate::config::FleetConfig;
use crate::status::now_ms;

/// One published version of a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The pack's version (from its manifest).
    pub version: String,
    /// Object name of its archive in the packs object store.
    pub object: String,
    /// SHA-256 of the archive bytes.
    pub sha256: String,
    /// Node labels that must all match for a node to take this release
    /// (empty: every node). `node` and `cluster` are labels too.
    pub selector: BTreeMap<String, String>,
    /// When it was published, milliseconds since the Unix epoch.
    pub published_ms: u64,
}

/// The packs bucket's record of one pack: its releases, newest first. A
/// node runs the newest release whose selector it matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// The pack's name.
    pub pack: String,
    /// Releases, newest first.
    pub releases: Vec<Release>,
}

impl Desired {
    /// The release a node with `labels` should run, if any.
    pub fn for_node(&self, labels: &BTreeMap<String, String>) -> Option<&Release> {
        self.releases.iter().find(|r| {
            r.selector
                .iter()
                .all(|(key, value)| labels.get(key) == Some(value))
        })
    }
}

/// Parses `key=value` canary selectors.
pub fn parse_selector(items: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|item| {
            item.split_once('=')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    anyhow::anyhow!("selector `{item}`: expected key=value, e.g. node=web-1")
                })
        })
        .collect()
}

/// The pack's name and version from its manifest, and its archive bytes
/// (a directory is archived first). Nothing is verified here: nodes do it.
pub fn read_archive(pack: &Path) -> anyhow::Result<(String, String, Vec<u8>)> {
    let archive_path;
    let _tmp;
    if pack.is_dir() {
        let dir = tempfile::tempdir()?;
        archive_path = dir.path().join("pack.tar.gz");
        harrier_packs::archive(pack, &archive_path)
            .with_context(|| format!("archiving {}", pack.display()))?;
        _tmp = Some(dir);
    } else {
        archive_path = pack.to_path_buf();
        _tmp = None;
    }
    let limits = harrier_packs::source::Limits {
        max_entry_bytes: harrier_packs::verify::DEFAULT_MAX_ENTRY_BYTES,
        max_total_bytes: harrier_packs::verify::DEFAULT_MAX_TOTAL_BYTES,
    };
    let files = harrier_packs::source::read_pack(&archive_path, &limits)
        .with_context(|| format!("reading {}", pack.display()))?;
    let manifest = files
        .files
        .get(harrier_packs::manifest::MANIFEST_FILE)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .ok_or_else(|| anyhow::anyhow!("{}: no readable pack.toml", pack.display()))?;
    let manifest = harrier_packs::Manifest::parse(manifest)
        .map_err(|e| anyhow::anyhow!("{}: pack.toml: {e}", pack.display()))?;
    let bytes = std::fs::read(&archive_path)
        .with_context(|| format!("reading {}", archive_path.display()))?;
    Ok((manifest.name, manifest.version.to_string(), bytes))
}

/// `harrier fleet publish`: stores the archive and makes it the newest
/// release of its pack (for the nodes `selector` matches).
pub async fn publish(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    pack: &Path,
    selector: BTreeMap<String, String>,
) -> anyhow::Result<Release> {
    let (name, version, bytes) = read_archive(pack)?;
    let sha256 = sha256_hex(&bytes);
    let object = format!("{name}/{version}/{}", &sha256[..16]);
    let store = js
        .get_object_store(&fleet.packs_store)
        .await
        .with_context(|| {
            format!(
                "object store {} (run `harrier fleet init`)",
                fleet.packs_store
            )
        })?;
    store
        .put(object.as_str(), &mut bytes.as_slice())
        .await
        .with_context(|| format!("uploading {object}"))?;
    let kv = js
        .get_key_value(&fleet.packs_bucket)
        .await
        .with_context(|| format!("bucket {} (run `harrier fleet init`)", fleet.packs_bucket))?;
    let mut desired = read_desired(&kv, &name).await?.unwrap_or(Desired {
        pack: name.clone(),
        releases: Vec::new(),
    });
    let release = Release {
        version,
        object,
        sha256,
        selector,
        published_ms: now_ms(),
    };
    desired.releases.insert(0, release.clone());
    write_desired(&kv, &desired).await?;
    Ok(release)
}

/// `harrier fleet rollback`: drops the newest release of `pack`, so nodes
/// return to the one before. Returns the release now in force, if any.
pub async fn rollback(
    js: &jetstream::Context,
    fleet: &FleetConfig,
    pack: &str,
) -> anyhow::Result<Option<Release>> {
    let kv = js
        .get_key_value(&fleet.packs_bucket)
        .await
        .with_context(|| format!("bucket {}", fleet.packs_bucket))?;
    let mut desired = read_desired(&kv, pack)
        .await?
        .ok_or_else(|| anyhow::anyhow!("pack {pack} was never published to the fleet"))?;
    anyhow::ensure!(
        desired.releases.len() > 1,
        "pack {pack} has no earlier release to roll back to"
    );
    desired.releases.remove(0);
    write_desired(&kv, &desired).await?;
    Ok(desired.releases.first().cloned())
}

/// The record of `pack`, if published.
pub async fn read_desired(
    kv: &jetstream::kv::Store,
    pack: &str,
) -> anyhow::Result<Option<Desired>> {
    match kv
        .get(pack)
        .await
        .with_context(|| format!("reading {pack}"))?
    {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("the fleet's record of {pack} is not valid JSON")
        })?)),
        None => Ok(None),
    }
}

async fn write_desired(kv: &jetstream::kv::Store, desired: &Desired) -> anyhow::Result<()> {
    kv.put(&desired.pack, serde_json::to_vec(desired)?.into())
        .await
        .with_context(|| format!("writing the record of {}", desired.pack))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: &str, selector: &[(&str, &str)]) -> Release {
        Release {
            version: version.into(),
            object: String::new(),
            sha256: String::new(),
            selector: selector
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            published_ms: 0,
        }
    }

    #[test]
    fn a_canary_release_goes_only_to_matching_nodes() {
        let desired = Desired {
            pack: "p".into(),
            releases: vec![release("2.0.0", &[("node", "a")]), release("1.0.0", &[])],
        };
        let labels = |node: &str| BTreeMap::from([("node".to_string(), node.to_string())]);
        assert_eq!(desired.for_node(&labels("a")).unwrap().version, "2.0.0");
        assert_eq!(desired.for_node(&labels("b")).unwrap().version, "1.0.0");
        assert!(parse_selector(&["node".into()]).is_err());
        assert_eq!(
            parse_selector(&["role=canary".into()]).unwrap(),
            BTreeMap::from([("role".into(), "canary".into())])
        );
    }
}
