//! The "recently created or modified file" tracker: path → last writer.
//!
//! Bounded (least recently written paths are dropped first) and expiring
//! (records older than the window are neither returned nor kept).

use std::num::NonZeroUsize;
use std::sync::Arc;

use harrier_events::FileWriteInfo;
use lru::LruCache;
use parking_lot::RwLock;

/// Who last wrote a path, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteRecord {
    pub writer_pid: u32,
    pub writer_exe: Arc<str>,
    pub time_ns: u64,
    pub created: bool,
}

/// How a path was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Content written, or the file opened for writing; `created` when it was made anew.
    Write { created: bool },
    /// Metadata changed (chmod): an existing record keeps its writer.
    Metadata,
}

/// The tracker; written by the pipeline thread, read by plugin host calls.
#[derive(Debug)]
pub(crate) struct RecentWrites {
    window_ns: u64,
    map: RwLock<LruCache<Box<str>, WriteRecord>>,
}

impl RecentWrites {
    /// A tracker remembering up to `max` paths for `window_ns` nanoseconds.
    pub fn new(window_ns: u64, max: usize) -> RecentWrites {
        let cap = NonZeroUsize::new(max).unwrap_or(NonZeroUsize::MIN);
        RecentWrites {
            window_ns,
            map: RwLock::new(LruCache::new(cap)),
        }
    }

    /// Records that `writer_pid` (running `writer_exe`) changed `path` at `time_ns`.
    ///
    /// A write by the same process that created the file keeps it marked created.
    pub fn record(
        &self,
        path: &str,
        change: Change,
        writer_pid: u32,
        writer_exe: &Arc<str>,
        time_ns: u64,
    ) {
        if path.is_empty() {
            return;
        }
        let mut map = self.map.write();
        if let Some(rec) = map.get_mut(path) {
            let fresh = time_ns.saturating_sub(rec.time_ns) <= self.window_ns;
            match change {
                Change::Metadata if fresh => {}
                Change::Metadata => {
                    rec.writer_pid = writer_pid;
                    rec.writer_exe = writer_exe.clone();
                    rec.created = false;
                }
                Change::Write { created } => {
                    let same_creator = fresh && rec.created && rec.writer_pid == writer_pid;
                    rec.created = created || same_creator;
                    rec.writer_pid = writer_pid;
                    if !Arc::ptr_eq(&rec.writer_exe, writer_exe) {
                        rec.writer_exe = writer_exe.clone();
                    }
                }
            }
            rec.time_ns = rec.time_ns.max(time_ns);
            return;
        }
        let created = matches!(change, Change::Write { created: true });
        map.put(
            path.into(),
            WriteRecord {
                writer_pid,
                writer_exe: writer_exe.clone(),
                time_ns,
                created,
            },
        );
    }

    /// A rename: the new path inherits the old path's record; without one,
    /// the renaming process counts as having created the new path.
    pub fn rename(
        &self,
        old_path: &str,
        new_path: &str,
        writer_pid: u32,
        writer_exe: &Arc<str>,
        time_ns: u64,
    ) {
        if new_path.is_empty() {
            return;
        }
        let mut map = self.map.write();
        let inherited = map
            .pop(old_path)
            .filter(|rec| time_ns.saturating_sub(rec.time_ns) <= self.window_ns);
        let rec = inherited.unwrap_or_else(|| WriteRecord {
            writer_pid,
            writer_exe: writer_exe.clone(),
            time_ns,
            created: true,
        });
        map.put(new_path.into(), rec);
    }

    /// Forgets `path` (it was unlinked).
    pub fn remove(&self, path: &str) {
        self.map.write().pop(path);
    }

    /// Who wrote `path` within the window before `now_ns`, if anyone.
    pub fn get(&self, path: &str, now_ns: u64) -> Option<FileWriteInfo> {
        let map = self.map.read();
        let rec = map.peek(path)?;
        (now_ns.saturating_sub(rec.time_ns) <= self.window_ns).then(|| FileWriteInfo {
            path: path.to_owned(),
            writer_pid: rec.writer_pid,
            writer_exe: rec.writer_exe.to_string(),
            time_ns: rec.time_ns,
            created: rec.created,
        })
    }

    /// Drops records older than the window, oldest first.
    pub fn expire(&self, now_ns: u64) {
        let mut map = self.map.write();
        while let Some((_, rec)) = map.peek_lru() {
            if now_ns.saturating_sub(rec.time_ns) <= self.window_ns {
                break;
            }
            map.pop_lru();
        }
    }

    /// How many paths are remembered.
    pub fn len(&self) -> usize {
        self.map.read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn exe(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn write_then_get_within_window_only() {
        let w = RecentWrites::new(10 * S, 100);
        w.record(
            "/tmp/x",
            Change::Write { created: true },
            7,
            &exe("/usr/bin/curl"),
            100 * S,
        );
        let info = w.get("/tmp/x", 105 * S).unwrap();
        assert_eq!(info.writer_pid, 7);
        assert_eq!(info.writer_exe, "/usr/bin/curl");
        assert!(info.created);
        assert_eq!(info.time_ns, 100 * S);
        assert!(w.get("/tmp/x", 111 * S).is_none());
        assert!(w.get("/tmp/y", 105 * S).is_none());
    }

    #[test]
    fn later_write_by_creator_stays_created_other_writer_does_not() {
        let w = RecentWrites::new(10 * S, 100);
        let curl = exe("/usr/bin/curl");
        w.record("/tmp/x", Change::Write { created: true }, 7, &curl, S);
        w.record("/tmp/x", Change::Write { created: false }, 7, &curl, 2 * S);
        assert!(w.get("/tmp/x", 2 * S).unwrap().created);
        w.record(
            "/tmp/x",
            Change::Write { created: false },
            8,
            &exe("/bin/vi"),
            3 * S,
        );
        let info = w.get("/tmp/x", 3 * S).unwrap();
        assert!(!info.created);
        assert_eq!(info.writer_pid, 8);
        assert_eq!(info.time_ns, 3 * S);
    }

    #[test]
    fn chmod_keeps_the_writer_but_refreshes_time() {
        let w = RecentWrites::new(10 * S, 100);
        w.record(
            "/tmp/m",
            Change::Write { created: true },
            7,
            &exe("/usr/bin/curl"),
            S,
        );
        w.record("/tmp/m", Change::Metadata, 9, &exe("/bin/chmod"), 5 * S);
        let info = w.get("/tmp/m", 5 * S).unwrap();
        assert_eq!(
            (info.writer_pid, info.created, info.time_ns),
            (7, true, 5 * S)
        );
        // chmod of an untracked file records the chmod-er, not as creator.
        w.record("/tmp/n", Change::Metadata, 9, &exe("/bin/chmod"), 5 * S);
        let info = w.get("/tmp/n", 5 * S).unwrap();
        assert_eq!((info.writer_pid, info.created), (9, false));
    }

    #[test]
    fn rename_moves_the_record() {
        let w = RecentWrites::new(10 * S, 100);
        w.record(
            "/tmp/a",
            Change::Write { created: true },
            7,
            &exe("/usr/bin/curl"),
            S,
        );
        w.rename("/tmp/a", "/usr/bin/a", 8, &exe("/bin/mv"), 2 * S);
        assert!(w.get("/tmp/a", 2 * S).is_none());
        let info = w.get("/usr/bin/a", 2 * S).unwrap();
        assert_eq!((info.writer_pid, info.created), (7, true));
        w.rename("/tmp/untracked", "/usr/bin/b", 8, &exe("/bin/mv"), 3 * S);
        let info = w.get("/usr/bin/b", 3 * S).unwrap();
        assert_eq!(
            (info.writer_pid, info.writer_exe.as_str(), info.created),
            (8, "/bin/mv", true)
        );
    }

    #[test]
    fn bounded_and_expiring() {
        let w = RecentWrites::new(10 * S, 2);
        let e = exe("/bin/sh");
        w.record("/a", Change::Write { created: false }, 1, &e, S);
        w.record("/b", Change::Write { created: false }, 1, &e, 2 * S);
        w.record("/c", Change::Write { created: false }, 1, &e, 3 * S);
        assert_eq!(w.len(), 2);
        assert!(w.get("/a", 3 * S).is_none());
        w.expire(12 * S + 1);
        assert_eq!(w.len(), 1);
        assert!(w.get("/c", 12 * S).is_some());
        w.remove("/c");
        assert_eq!(w.len(), 0);
    }
}
