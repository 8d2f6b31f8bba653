//! User names for uids, from the host's `/etc/passwd`.
//!
//! The file is parsed once and cached; it is re-read when its modification
//! time or size changes, checked at most once per second.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

/// How often the passwd file's modification time is checked, in milliseconds.
const RECHECK_MS: u64 = 1000;

/// The parsed passwd file and the file state it came from.
#[derive(Debug, Default)]
struct Parsed {
    stamp: Option<(SystemTime, u64)>,
    names: FxHashMap<u32, Arc<str>>,
}

/// A cached uid → user name map.
#[derive(Debug)]
pub(crate) struct UserNames {
    path: PathBuf,
    parsed: RwLock<Parsed>,
    /// Reference point of `next_check_ms`.
    base: Instant,
    /// Milliseconds after `base` when the file is next checked.
    next_check_ms: AtomicU64,
}

impl UserNames {
    /// A map read from `path` (usually `<host_root>/etc/passwd`), loaded lazily.
    pub fn new(path: PathBuf) -> UserNames {
        UserNames {
            path,
            parsed: RwLock::new(Parsed::default()),
            base: Instant::now(),
            next_check_ms: AtomicU64::new(0),
        }
    }

    /// The user name of `uid`, if the passwd file has one.
    pub fn name(&self, uid: u32) -> Option<Arc<str>> {
        self.refresh_if_due();
        self.parsed.read().names.get(&uid).cloned()
    }

    /// Re-reads the file if a second has passed and it changed since.
    fn refresh_if_due(&self) {
        let now_ms = self.base.elapsed().as_millis() as u64;
        let due = self.next_check_ms.load(Ordering::Relaxed);
        // One caller wins the check; the others keep using the cached map.
        if now_ms < due
            || self
                .next_check_ms
                .compare_exchange(
                    due,
                    now_ms + RECHECK_MS,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        let stamp = fs::metadata(&self.path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        if self.parsed.read().stamp == stamp {
            return;
        }
        let names = match fs::read_to_string(&self.path) {
            Ok(text) => parse_passwd(&text),
            Err(e) => {
                tracing::debug!("cannot read {}: {e}", self.path.display());
                FxHashMap::default()
            }
        };
        *self.parsed.write() = Parsed { stamp, names };
    }
}

/// Parses passwd lines `name:password:uid:…`; the first name of a uid wins.
fn parse_passwd(text: &str) -> FxHashMap<u32, Arc<str>> {
    let mut names = FxHashMap::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(uid) = uid.parse::<u32>()
            && !name.is_empty()
        {
            names.entry(uid).or_insert_with(|| Arc::from(name));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_skips_junk() {
        let names = parse_passwd(
            "# comment\nroot:x:0:0:root:/root:/bin/bash\n\nbad line\nnobody:x:65534:65534::/:/bin/false\ntoor:x:0:0::/:/bin/sh\n:x:5:5::/:\n",
        );
        assert_eq!(names.get(&0).map(|s| &**s), Some("root"));
        assert_eq!(names.get(&65534).map(|s| &**s), Some("nobody"));
        assert_eq!(names.get(&5), None);
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn reloads_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        fs::write(&path, "alice:x:1000:1000::/home/alice:/bin/sh\n").unwrap();
        let users = UserNames::new(path.clone());
        assert_eq!(users.name(1000).as_deref(), Some("alice"));
        assert_eq!(users.name(1001), None);
        fs::write(
            &path,
            "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n",
        )
        .unwrap();
        users.next_check_ms.store(0, Ordering::Relaxed); // skip the one-second wait
        assert_eq!(users.name(1001).as_deref(), Some("bob"));
    }

    #[test]
    fn missing_file_gives_no_names() {
        let users = UserNames::new(PathBuf::from("/nonexistent/etc/passwd"));
        assert_eq!(users.name(0), None);
    }
}
