//! Installed rule packs: every enabled plugin of every pack in the packs
//! directory that verifies against the trust store.
//!
//! A pack is verified again only when something under its directory
//! changed (names, sizes, modification times, inodes, link targets), or
//! when the trust store did; an idle store costs a directory walk per look,
//! and a refused pack is reported once per content, not at every look. A
//! pack that fails keeps offering its last good version, so a bad upgrade
//! leaves the running one serving; a pack whose directory is gone is
//! offered no more. Installs, upgrades and removals by `harrier pack`
//! (or by a fleet writing the same store) are atomic renames, picked up by
//! the next look.
//!
//! A pack's threat-intelligence feeds go to the intel store (source
//! `pack:<name>`) when it verifies, and leave with it; a feed that does not
//! parse is refused by name and its last good version keeps serving.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use harrier_intel::{IntelStore, parse_feed};

use harrier_packs::{
    PacksConfig, Signer, TrustStore, VerifiedPack, VerifiedPlugin, VerifyOptions,
    load_installed_pack,
};
use harrier_pipeline::DetectorKey;
use harrier_plugins::{Permission, Permissions, PluginSource, PluginSpec, ShadowMode};

use crate::{Offer, Settings, Source, Wanted, Watch};

/// What a directory tree looks like without reading its files.
type Print = Vec<(String, u64, i64, i64, u64, Option<PathBuf>)>;

struct Seen {
    print: Print,
    /// The last version that verified (empty if none ever did).
    wanted: Vec<Wanted>,
}

/// The installed packs of one packs directory.
pub struct PackSource {
    config: PacksConfig,
    opts: Result<VerifyOptions, String>,
    trust: Option<(Print, Result<TrustStore, String>)>,
    packs: BTreeMap<String, Seen>,
    warned: bool,
    /// Where the packs' feeds go (none: feeds are verified, not loaded).
    intel: Option<Arc<IntelStore>>,
}

impl PackSource {
    /// Packs as `config` says (directory, trust store, overrides), for a
    /// host speaking `host_wit_version`. The packs directory is created if
    /// missing, so it can be watched.
    pub fn new(config: PacksConfig, host_wit_version: &str) -> PackSource {
        let dir = config.packs_dir();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!("packs directory {}: {e}", dir.display());
        }
        PackSource {
            opts: config
                .verify_options(host_wit_version)
                .map_err(|e| e.to_string()),
            config,
            trust: None,
            packs: BTreeMap::new(),
            warned: false,
            intel: None,
        }
    }

    /// Load the packs' threat-intelligence feeds into `store`.
    pub fn with_intel(mut self, store: Arc<IntelStore>) -> PackSource {
        self.intel = Some(store);
        self
    }

    /// Put a verified pack's feeds in the intel store; what was refused.
    fn load_feeds(&self, pack: &VerifiedPack) -> Vec<String> {
        let Some(store) = &self.intel else {
            return Vec::new();
        };
        let group = feed_group(pack.name());
        let previous = store.feeds(&group);
        let mut feeds = Vec::new();
        let mut refused = Vec::new();
        for (file, bytes) in pack.feeds() {
            let parsed = std::str::from_utf8(bytes)
                .map_err(|e| format!("not UTF-8: {e}"))
                .and_then(|text| parse_feed(file, text).map_err(|e| e.to_string()));
            match parsed {
                Ok(feed) => feeds.push(Arc::new(feed)),
                Err(e) => {
                    refused.push(format!(
                        "pack {}: feed {file}: {e}; its running version (if any) stays",
                        pack.name()
                    ));
                    feeds.extend(previous.iter().find(|f| &*f.name == file).cloned());
                }
            }
        }
        if feeds.is_empty() {
            forget_feeds(store, &group);
        } else {
            let counts = store.set_group(&group, feeds);
            tracing::info!(pack = pack.name(), ?counts, "pack feeds loaded");
        }
        refused
    }

    /// The trust store, loaded again when its directory changed; a refusal
    /// to report when it was (re)loaded and failed.
    fn trust(&mut self) -> (bool, Option<String>) {
        let dir = self.config.trust_dir();
        let now = print(&dir);
        if self.trust.as_ref().is_some_and(|(p, _)| *p == now) {
            return (false, None);
        }
        let loaded = match TrustStore::load(&dir) {
            Ok(trust) => Ok(trust),
            Err(_) if self.config.allow_unsigned => Ok(TrustStore::empty()),
            Err(e) => Err(e.to_string()),
        };
        let refused = loaded.as_ref().err().cloned();
        self.trust = Some((now, loaded));
        (true, refused)
    }

    /// The pack, verified and with the operator's overrides applied, and
    /// what each of its enabled plugins is granted.
    fn verify(&self, name: &str) -> Result<(VerifiedPack, PackGrants), String> {
        let opts = self.opts.as_ref().map_err(Clone::clone)?;
        let trust = match &self.trust {
            Some((_, Ok(trust))) => trust,
            Some((_, Err(e))) => return Err(format!("pack {name}: {e}")),
            None => return Err(format!("pack {name}: no trust store loaded")),
        };
        let mut pack = load_installed_pack(&self.config.packs_dir(), name, trust, opts)
            .map_err(|e| e.to_string())?;
        let grants = self.config.prepare(&mut pack).map_err(|e| e.to_string())?;
        let grants = grants
            .into_iter()
            .map(|(plugin, names)| {
                let granted = names
                    .iter()
                    .map(|n| n.parse::<Permission>())
                    .collect::<Result<Permissions, _>>()
                    .map_err(|e| format!("pack {name}: plugin {plugin}: {e}"))?;
                Ok((plugin, granted))
            })
            .collect::<Result<PackGrants, String>>()?;
        Ok((pack, grants))
    }
}

impl Source for PackSource {
    fn watched(&self) -> Vec<Watch> {
        let mut watched = vec![Watch {
            path: self.config.packs_dir(),
            recursive: true,
        }];
        let trust = self.config.trust_dir();
        if trust.is_dir() {
            watched.push(Watch {
                path: trust,
                recursive: true,
            });
        }
        watched
    }

    fn offer(&mut self, settings: &Settings) -> Offer {
        let mut offer = Offer::default();
        let (trust_changed, trust_refused) = self.trust();
        offer.refused.extend(trust_refused);
        if trust_changed {
            // Every pack is judged again against the new keys.
            self.packs.values_mut().for_each(|seen| seen.print.clear());
        }
        let dir = self.config.packs_dir();
        let names = match pack_names(&dir) {
            Ok(names) => names,
            Err(e) => {
                offer
                    .refused
                    .push(format!("packs directory {}: {e}", dir.display()));
                Vec::new()
            }
        };
        let gone: Vec<String> = self
            .packs
            .keys()
            .filter(|name| !names.contains(name))
            .cloned()
            .collect();
        for name in gone {
            self.packs.remove(&name);
            if let Some(store) = &self.intel {
                forget_feeds(store, &feed_group(&name));
            }
        }
        for name in names {
            let now = print(&dir.join(&name));
            if self.packs.get(&name).is_some_and(|s| s.print == now) {
                continue;
            }
            let verified = self.verify(&name);
            if let Ok((pack, _)) = &verified {
                offer.refused.extend(self.load_feeds(pack));
            }
            let seen = self.packs.entry(name.clone()).or_insert(Seen {
                print: Vec::new(),
                wanted: Vec::new(),
            });
            seen.print = now;
            match verified {
                Ok((pack, grants)) => {
                    let (wanted, refused) = pack_wanted(&pack, &grants, settings);
                    seen.wanted = wanted;
                    offer.refused.extend(refused);
                }
                Err(e) => offer
                    .refused
                    .push(format!("{e}; its running version (if any) stays")),
            }
        }
        if !self.warned {
            self.warned = true;
            for name in self.config.overrides.keys() {
                if !self.packs.contains_key(name) {
                    tracing::warn!(
                        "packs: overrides for pack {name}: no such pack installed in {}",
                        dir.display()
                    );
                }
            }
        }
        offer.wanted = self
            .packs
            .values()
            .flat_map(|seen| seen.wanted.iter().cloned())
            .collect();
        offer
    }
}

/// The intel store's source name for a pack's feeds.
fn feed_group(pack: &str) -> String {
    format!("pack:{pack}")
}

/// Drop a pack's feeds from the store; a pack that had none costs no
/// snapshot rebuild.
fn forget_feeds(store: &IntelStore, group: &str) {
    if !store.feeds(group).is_empty() {
        store.remove_group(group);
    }
}

/// Permissions granted to each enabled plugin of a pack, by plugin name.
type PackGrants = BTreeMap<String, Permissions>;

/// The enabled plugins of a verified pack, as specs: each with exactly the
/// permissions its manifest requests and the operator allows. A plugin
/// whose shadow override is malformed is refused by name; the rest run.
fn pack_wanted(
    pack: &VerifiedPack,
    grants: &PackGrants,
    settings: &Settings,
) -> (Vec<Wanted>, Vec<String>) {
    let source = |plugin: &str| PluginSource::Pack {
        pack: pack.name().to_string(),
        plugin: plugin.to_string(),
        version: pack.version().to_string(),
        signer: pack.signer().to_string(),
        key_id: match pack.signer() {
            Signer::Key(id) => Some(id.clone()),
            Signer::Unsigned => None,
        },
    };
    let mut refused = Vec::new();
    let wanted = pack
        .plugins()
        .iter()
        .filter(|p| p.enabled())
        .filter_map(|plugin| match pack_shadow(plugin, settings) {
            Ok(shadow) => Some((plugin, shadow)),
            Err(e) => {
                refused.push(format!(
                    "pack {}: detector {}: {e}",
                    pack.label(),
                    plugin.name()
                ));
                None
            }
        })
        .map(|(plugin, shadow)| Wanted {
            key: DetectorKey::Pack {
                pack: pack.name().to_string(),
                plugin: plugin.name().to_string(),
            },
            sha256: plugin.sha256().to_string(),
            spec: PluginSpec {
                origin: format!("pack:{}/{}", pack.name(), plugin.name()),
                source: source(plugin.name()),
                wasm: plugin.bytes().clone(),
                config_json: plugin.config_json(),
                limits: settings.limits.clone(),
                severity_override: plugin.severity(),
                permissions: grants.get(plugin.name()).copied().unwrap_or_default(),
                shadow,
            },
        })
        .collect();
    (wanted, refused)
}

/// A pack detector's shadow mode: the pack override's `shadow` (`true`,
/// `false` or `{ until, then }`) over `[plugins.shadow.<name>]`.
fn pack_shadow(plugin: &VerifiedPlugin, settings: &Settings) -> Result<Option<ShadowMode>, String> {
    match plugin.shadow() {
        None => Ok(settings.shadow(plugin.name())),
        Some(toml::Value::Boolean(on)) => Ok(on.then(ShadowMode::default)),
        Some(table) => table.clone().try_into().map(Some).map_err(|e| {
            format!("override `shadow`: expected true, false or {{ until, then }}: {e}")
        }),
    }
}

/// The installed packs' directory names (hidden entries are the store's
/// own temporary directories).
fn pack_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// Every entry under `root` (not following links): relative name, size,
/// modification time, change time, inode, link target. Hidden entries are
/// included (a ConfigMap's `..data` swap is how it changes).
fn print(root: &Path) -> Print {
    let mut out = Vec::new();
    if let Ok(meta) = std::fs::symlink_metadata(root) {
        out.push((String::new(), meta.len(), 0, 0, meta.ino(), None));
    }
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let rel = format!("{prefix}/{}", entry.file_name().to_string_lossy());
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            let link = meta
                .file_type()
                .is_symlink()
                .then(|| std::fs::read_link(entry.path()).ok())
                .flatten();
            if meta.is_dir() && out.len() < MAX_PRINT {
                stack.push((entry.path(), rel.clone()));
            }
            out.push((
                rel,
                meta.len(),
                meta.mtime_nsec() + meta.mtime() * 1_000_000_000,
                meta.ctime_nsec() + meta.ctime() * 1_000_000_000,
                meta.ino(),
                link,
            ));
        }
    }
    out.sort();
    out
}

/// Entries fingerprinted per tree at most (verification refuses far
/// smaller trees; this bounds the walk of a hostile one).
const MAX_PRINT: usize = 100_000;
