//! The intel directory: every feed file in it, reloaded when it changes. A
//! file that fails to parse is refused by name and its previous version
//! (if any) keeps serving; a removed file's indicators go.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::feed::{Feed, FeedError, is_feed_file, parse_feed};
use crate::store::IntelStore;

/// What one look at the directory did.
#[derive(Debug, Default)]
pub struct DirReport {
    /// Files (re)loaded, with their summary.
    pub loaded: Vec<(String, String)>,
    /// Files refused, and why (their previous version, if any, stays).
    pub refused: Vec<FeedError>,
    /// Files whose indicators were dropped because the file went.
    pub removed: Vec<String>,
}

/// One loaded file: its feed and the size and mtime it was read at.
#[derive(Debug, Clone)]
struct Loaded {
    feed: Arc<Feed>,
    stamp: (u64, Option<SystemTime>),
}

/// A directory of feeds feeding one store group.
#[derive(Debug)]
pub struct FeedDir {
    dir: PathBuf,
    group: String,
    loaded: BTreeMap<String, Loaded>,
}

fn stamp(path: &Path) -> std::io::Result<(u64, Option<SystemTime>)> {
    let m = std::fs::metadata(path)?;
    Ok((m.len(), m.modified().ok()))
}

impl FeedDir {
    /// A directory whose feeds go to store group `intel-dir:<dir>`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Self {
            group: format!("intel-dir:{}", dir.display()),
            dir,
            loaded: BTreeMap::new(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Read what changed since the last look and swap the store's group.
    /// A directory that cannot be listed is an error; the store is then
    /// left as it was.
    pub fn refresh(&mut self, store: &IntelStore) -> std::io::Result<DirReport> {
        let mut report = DirReport::default();
        let mut seen = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_feed_file(p))
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            seen.push(name.clone());
            let Ok(now) = stamp(&path) else { continue };
            if self.loaded.get(&name).is_some_and(|l| l.stamp == now) {
                continue;
            }
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| FeedError {
                    feed: name.clone(),
                    line: None,
                    message: e.to_string(),
                })
                .and_then(|text| parse_feed(&name, &text));
            match parsed {
                Ok(feed) => {
                    report.loaded.push((name.clone(), feed.summary()));
                    self.loaded.insert(
                        name,
                        Loaded {
                            feed: Arc::new(feed),
                            stamp: now,
                        },
                    );
                }
                Err(e) => {
                    // Remember the stamp so the same bad file is refused once.
                    if let Some(old) = self.loaded.get_mut(&name) {
                        old.stamp = now;
                    } else {
                        self.loaded.insert(
                            name,
                            Loaded {
                                feed: Arc::new(Feed::new(&e.feed)),
                                stamp: now,
                            },
                        );
                    }
                    report.refused.push(e);
                }
            }
        }
        let gone: Vec<String> = self
            .loaded
            .keys()
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for name in gone {
            self.loaded.remove(&name);
            report.removed.push(name);
        }
        if !report.loaded.is_empty() || !report.removed.is_empty() {
            store.set_group(
                &self.group,
                self.loaded.values().map(|l| l.feed.clone()).collect(),
            );
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::indicator::Kind;

    #[test]
    fn a_bad_version_is_refused_and_the_old_one_keeps_serving() {
        let tmp = tempfile::tempdir().unwrap();
        let store = IntelStore::new();
        let mut dir = FeedDir::new(tmp.path());
        std::fs::write(tmp.path().join("phishing.txt"), "a.example\n").unwrap();
        std::fs::write(tmp.path().join("notes.md"), "not a feed").unwrap();
        let r = dir.refresh(&store).unwrap();
        assert_eq!(r.loaded.len(), 1, "{r:?}");
        assert_eq!(
            store.lookup(Kind::Domain, "a.example").unwrap().category,
            Category::Phishing
        );

        std::fs::write(
            tmp.path().join("phishing.txt"),
            "a.example\nb.example extra words\n",
        )
        .unwrap();
        let r = dir.refresh(&store).unwrap();
        assert_eq!(r.refused.len(), 1);
        assert_eq!(r.refused[0].feed, "phishing.txt");
        assert_eq!(r.refused[0].line, Some(2));
        assert!(
            store.lookup(Kind::Domain, "a.example").is_some(),
            "old version serves"
        );
        assert!(
            dir.refresh(&store).unwrap().refused.is_empty(),
            "refused once"
        );

        std::fs::write(tmp.path().join("phishing.txt"), "c.example\n").unwrap();
        dir.refresh(&store).unwrap();
        assert!(store.lookup(Kind::Domain, "a.example").is_none());
        assert!(store.lookup(Kind::Domain, "c.example").is_some());

        std::fs::remove_file(tmp.path().join("phishing.txt")).unwrap();
        let r = dir.refresh(&store).unwrap();
        assert_eq!(r.removed, ["phishing.txt"]);
        assert!(store.lookup(Kind::Domain, "c.example").is_none());
    }
}
