//! Cgroup v2 ids back to cgroup paths, and from paths to containers.
//!
//! The sensor stamps every event with the cgroup id the kernel gives the
//! task (`bpf_get_current_cgroup_id()`): on cgroup v2 (and on a hybrid v1/v2
//! host, in the unified hierarchy) that id is the inode number of the
//! cgroup's directory. [`CgroupPaths`] finds where the cgroup2 hierarchy is
//! mounted, indexes its directories by inode (walking the tree again when an
//! id is missing, so a cgroup created a microsecond ago still resolves), and
//! keeps for each id the path and the container the path names
//! ([`container::identify`](crate::container::identify)). Ids whose cgroup is
//! removed (an `rmdir` under the mount, or gone at the next walk) are
//! forgotten.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::container::identify;
use crate::table::Container;

/// Deepest directory level walked below the mount (Kubernetes uses about 5).
const MAX_DEPTH: usize = 32;

/// What one cgroup id resolves to.
#[derive(Debug, Clone)]
pub(crate) struct CgroupEntry {
    /// The cgroup's path as `/proc/<pid>/cgroup` writes it (`/kubepods/…`).
    pub path: Arc<str>,
    /// The container (and pod) that path names, if any.
    pub container: Option<Arc<Container>>,
}

/// Counters of the resolver (see [`EnrichStats`](crate::EnrichStats)).
#[derive(Debug, Default)]
pub(crate) struct CgroupCounters {
    /// Ids resolved to a path (cache hits not counted).
    pub resolved: AtomicU64,
    /// Ids not found even after a walk.
    pub unresolved: AtomicU64,
    /// Walks of the cgroup tree.
    pub walks: AtomicU64,
}

/// The cgroup2 id → path index.
#[derive(Debug)]
pub(crate) struct CgroupPaths {
    /// Where the cgroup2 hierarchy is mounted (`None`: no cgroup2, ids are ignored).
    mount: Option<PathBuf>,
    /// The mount's root within the hierarchy (mountinfo's 4th field, "/" normally).
    root: String,
    /// Most cgroups indexed; a walk stops there.
    max_cgroups: usize,
    index: RwLock<FxHashMap<u64, CgroupEntry>>,
    /// Ids that a walk did not find: not walked for again until the next walk.
    missing: Mutex<FxHashSet<u64>>,
    counters: CgroupCounters,
}

impl CgroupPaths {
    /// Finds the cgroup2 mount in `<proc_root>/self/mountinfo`; `max_cgroups`
    /// bounds the index. Without a cgroup2 mount every id resolves to nothing.
    pub fn discover(proc_root: &Path, max_cgroups: usize) -> CgroupPaths {
        let mountinfo = std::fs::read_to_string(proc_root.join("self/mountinfo"));
        let found = mountinfo.ok().and_then(|text| cgroup2_mount(&text));
        match found {
            Some((mount, root)) => {
                tracing::debug!(mount = %mount.display(), root = %root, "cgroup2 hierarchy");
                CgroupPaths::at(Some(mount), root, max_cgroups)
            }
            None => {
                tracing::warn!("no cgroup2 mount found: container identity comes from /proc only");
                CgroupPaths::at(None, "/".into(), max_cgroups)
            }
        }
    }

    /// A resolver over the cgroup2 hierarchy mounted at `mount` whose root is
    /// `root` within the hierarchy.
    pub fn at(mount: Option<PathBuf>, root: String, max_cgroups: usize) -> CgroupPaths {
        CgroupPaths {
            mount,
            root,
            max_cgroups,
            index: RwLock::default(),
            missing: Mutex::default(),
            counters: CgroupCounters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> &CgroupCounters {
        &self.counters
    }

    /// How many cgroups are indexed.
    pub fn len(&self) -> usize {
        self.index.read().len()
    }

    /// What cgroup `id` is, walking the hierarchy again if it is not indexed
    /// (once per unknown id: an id a walk did not find is not walked for
    /// again until some other id causes a walk).
    pub fn resolve(&self, id: u64) -> Option<CgroupEntry> {
        if let Some(entry) = self.index.read().get(&id) {
            return Some(entry.clone());
        }
        self.mount.as_ref()?;
        if self.missing.lock().contains(&id) {
            return None;
        }
        self.walk();
        let found = self.index.read().get(&id).cloned();
        match &found {
            Some(_) => bump(&self.counters.resolved),
            None => {
                bump(&self.counters.unresolved);
                self.missing.lock().insert(id);
            }
        }
        found
    }

    /// Forgets the cgroup at `path` (an absolute path under the mount, as an
    /// `rmdir` names it); returns the container it named, if any.
    pub fn forget(&self, path: &str) -> Option<Arc<Container>> {
        let mount = self.mount.as_ref()?;
        let relative = Path::new(path).strip_prefix(mount).ok()?;
        let wanted = self.hierarchy_path(relative);
        let mut index = self.index.write();
        let id = index
            .iter()
            .find(|(_, e)| *e.path == *wanted)
            .map(|(id, _)| *id)?;
        index.remove(&id).and_then(|e| e.container)
    }

    /// Rebuilds the index from the tree: new directories are added, removed
    /// ones dropped; entries that did not change are kept as they were.
    fn walk(&self) {
        let Some(mount) = &self.mount else { return };
        bump(&self.counters.walks);
        let mut found: Vec<(u64, PathBuf)> = Vec::new();
        let mut stack = vec![(mount.clone(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(meta) = std::fs::symlink_metadata(&dir) else {
                continue; // removed while we walk
            };
            found.push((meta.ino(), dir.clone()));
            if found.len() >= self.max_cgroups {
                tracing::warn!(
                    max = self.max_cgroups,
                    "cgroup index full: further cgroups are not resolved"
                );
                break;
            }
            if depth >= MAX_DEPTH {
                continue;
            }
            let Ok(children) = std::fs::read_dir(&dir) else {
                continue;
            };
            for child in children.flatten() {
                if child.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((child.path(), depth + 1));
                }
            }
        }
        let old = self.index.read().clone();
        let mut index = FxHashMap::with_capacity_and_hasher(found.len(), Default::default());
        for (id, dir) in found {
            let relative = dir.strip_prefix(mount).unwrap_or(Path::new(""));
            let path = self.hierarchy_path(relative);
            let entry = match old.get(&id) {
                Some(e) if *e.path == *path => e.clone(),
                _ => CgroupEntry {
                    container: identify(&path).map(|c| Arc::new(c.into())),
                    path: path.into(),
                },
            };
            index.insert(id, entry);
        }
        *self.index.write() = index;
        self.missing.lock().clear();
    }

    /// The hierarchy path (`/a/b`) of a directory `relative` to the mount.
    fn hierarchy_path(&self, relative: &Path) -> String {
        let mut path = self.root.trim_end_matches('/').to_string();
        for part in relative.components() {
            path.push('/');
            path.push_str(&part.as_os_str().to_string_lossy());
        }
        if path.is_empty() {
            path.push('/');
        }
        path
    }
}

/// The mount point and root of the first cgroup2 mount in mountinfo text.
///
/// A line is `id parent major:minor root mount-point options… - fstype source options`.
fn cgroup2_mount(mountinfo: &str) -> Option<(PathBuf, String)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = left.split_whitespace();
        let root = fields.nth(3)?;
        let mount = fields.next()?;
        Some((PathBuf::from(unescape(mount)), unescape(root)))
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Adds one to a counter.
fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4a3f1b0c9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
    const UID: &str = "0b8a5c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";

    fn ino(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().ino()
    }

    #[test]
    fn finds_the_unified_hierarchy_on_a_hybrid_host() {
        let text = "\
30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
41 30 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let (mount, root) = cgroup2_mount(text).unwrap();
        assert_eq!(mount, PathBuf::from("/sys/fs/cgroup/unified"));
        assert_eq!(root, "/");
        assert_eq!(
            cgroup2_mount("31 30 0:27 / /x rw - cgroup cgroup rw\n"),
            None
        );
    }

    #[test]
    fn pure_v2_with_a_namespaced_root_and_escapes() {
        let text = "29 23 0:26 /kubepods/pod1 /host/sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n";
        let (mount, root) = cgroup2_mount(text).unwrap();
        assert_eq!(mount, PathBuf::from("/host/sys/fs/my cgroup"));
        assert_eq!(root, "/kubepods/pod1");
        let paths = CgroupPaths::at(Some(mount), root, 10);
        assert_eq!(paths.hierarchy_path(Path::new("abc")), "/kubepods/pod1/abc");
        assert_eq!(paths.hierarchy_path(Path::new("")), "/kubepods/pod1");
    }

    #[test]
    fn resolves_a_new_pod_cgroup_on_a_miss_and_forgets_it_on_rmdir() {
        let tree = tempfile::tempdir().unwrap();
        let paths = CgroupPaths::at(Some(tree.path().to_path_buf()), "/".into(), 1000);
        let root_id = ino(tree.path());
        assert_eq!(&*paths.resolve(root_id).unwrap().path, "/");
        // Created after the first walk: found by walking again on the miss.
        let dir = tree
            .path()
            .join(format!("kubepods/besteffort/pod{UID}/{ID}"));
        std::fs::create_dir_all(&dir).unwrap();
        let id = ino(&dir);
        let entry = paths.resolve(id).unwrap();
        assert_eq!(&*entry.path, format!("/kubepods/besteffort/pod{UID}/{ID}"));
        let container = entry.container.unwrap();
        assert_eq!(&*container.id, ID);
        assert_eq!(container.pod_uid.as_deref(), Some(UID));
        assert_eq!(paths.counters().walks.load(Ordering::Relaxed), 2);
        // A hit does not walk.
        paths.resolve(id).unwrap();
        assert_eq!(paths.counters().walks.load(Ordering::Relaxed), 2);
        // rmdir forgets it and gives back the container.
        std::fs::remove_dir(&dir).unwrap();
        let gone = paths.forget(&dir.to_string_lossy()).unwrap();
        assert_eq!(&*gone.id, ID);
        assert!(paths.index.read().get(&id).is_none());
    }

    #[test]
    fn an_unknown_id_walks_once_then_is_remembered_as_missing() {
        let tree = tempfile::tempdir().unwrap();
        let paths = CgroupPaths::at(Some(tree.path().to_path_buf()), "/".into(), 1000);
        assert!(paths.resolve(u64::MAX).is_none());
        assert!(paths.resolve(u64::MAX).is_none());
        assert_eq!(paths.counters().walks.load(Ordering::Relaxed), 1);
        assert_eq!(paths.counters().unresolved.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn host_cgroups_resolve_to_no_container() {
        let tree = tempfile::tempdir().unwrap();
        let dir = tree.path().join("system.slice/sshd.service");
        std::fs::create_dir_all(&dir).unwrap();
        let paths = CgroupPaths::at(Some(tree.path().to_path_buf()), "/".into(), 1000);
        let entry = paths.resolve(ino(&dir)).unwrap();
        assert_eq!(&*entry.path, "/system.slice/sshd.service");
        assert!(entry.container.is_none());
    }

    #[test]
    fn systemd_slice_paths_resolve_to_their_container() {
        let tree = tempfile::tempdir().unwrap();
        let uid_us = UID.replace('-', "_");
        let dir = tree.path().join(format!(
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_us}.slice/cri-containerd-{ID}.scope"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = CgroupPaths::at(Some(tree.path().to_path_buf()), "/".into(), 1000);
        let container = paths.resolve(ino(&dir)).unwrap().container.unwrap();
        assert_eq!(&*container.id, ID);
        assert_eq!(container.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn without_cgroup2_nothing_resolves_and_nothing_is_walked() {
        let paths = CgroupPaths::at(None, "/".into(), 10);
        assert!(paths.resolve(1).is_none());
        assert!(paths.forget("/sys/fs/cgroup/x").is_none());
        assert_eq!(paths.counters().walks.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_index_is_bounded() {
        let tree = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::create_dir(tree.path().join(format!("c{i}"))).unwrap();
        }
        let paths = CgroupPaths::at(Some(tree.path().to_path_buf()), "/".into(), 5);
        paths.resolve(u64::MAX);
        assert_eq!(paths.len(), 5);
    }
}
