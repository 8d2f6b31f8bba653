//! The process table: pid → entry, sharded so concurrent readers rarely meet.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use crate::container::{ContainerIdentity, Runtime};
use crate::hasher::HashSlot;

/// Number of shards (a power of two).
const SHARDS: usize = 64;

/// The container and pod of a process, shared by every process in it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Container {
    pub id: Arc<str>,
    pub pod_uid: Option<Arc<str>>,
    /// The runtime whose naming the cgroup path follows.
    pub runtime: Runtime,
}

impl From<ContainerIdentity> for Container {
    fn from(identity: ContainerIdentity) -> Container {
        Container {
            id: identity.container_id.into(),
            pod_uid: identity.pod_uid.map(Arc::from),
            runtime: identity.runtime,
        }
    }
}

/// What the table knows about one process. Cloning is cheap (Arcs and integers).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub ppid: u32,
    pub uid: u32,
    pub euid: u32,
    pub exe: Arc<str>,
    pub cmdline: Arc<str>,
    pub cwd: Arc<str>,
    /// Start time, ns since the epoch (0 if unknown).
    pub start_time_ns: u64,
    /// The cgroup v2 id of the process's last event (0 if none carried one).
    pub cgroup_id: u64,
    pub container: Option<Arc<Container>>,
    /// The executable's hash slot, when its content key is known.
    pub hash: Option<Arc<HashSlot>>,
    /// When it exited (event time, ns), if it did.
    pub exited_ns: Option<u64>,
    /// Distinguishes successive processes that reuse one pid.
    pub generation: u64,
}

/// One shard of the table.
type Shard = RwLock<FxHashMap<u32, Entry>>;

/// The sharded pid → [`Entry`] map.
#[derive(Debug)]
pub(crate) struct Table {
    shards: Box<[Shard]>,
    len: AtomicUsize,
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            len: AtomicUsize::new(0),
        }
    }

    /// The shard holding `pid`.
    pub fn shard(&self, pid: u32) -> &Shard {
        &self.shards[pid as usize & (SHARDS - 1)]
    }

    /// A copy of `pid`'s entry.
    pub fn get(&self, pid: u32) -> Option<Entry> {
        self.shard(pid).read().get(&pid).cloned()
    }

    /// Changes `pid`'s entry in place; `None` if absent.
    pub fn update<R>(&self, pid: u32, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        self.shard(pid).write().get_mut(&pid).map(f)
    }

    /// Inserts or replaces `pid`'s entry; true if it was new.
    pub fn insert(&self, pid: u32, entry: Entry) -> bool {
        let new = self.shard(pid).write().insert(pid, entry).is_none();
        if new {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        new
    }

    /// `pid`'s entry, inserting `entry` first if there is none; true if inserted.
    pub fn get_or_insert(&self, pid: u32, entry: Entry) -> (Entry, bool) {
        let mut shard = self.shard(pid).write();
        let mut inserted = false;
        let current = shard.entry(pid).or_insert_with(|| {
            inserted = true;
            entry
        });
        let current = current.clone();
        if inserted {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        (current, inserted)
    }

    /// Removes `pid`'s entry if `pred` holds for it; true if removed.
    pub fn remove_if(&self, pid: u32, pred: impl FnOnce(&Entry) -> bool) -> bool {
        let mut shard = self.shard(pid).write();
        if shard.get(&pid).is_some_and(pred) {
            shard.remove(&pid);
            self.len.fetch_sub(1, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Removes some live process other than `keep` and pid 1 (the table is full); true if one was.
    pub fn evict_any(&self, keep: u32) -> bool {
        let start = keep as usize & (SHARDS - 1);
        for i in 0..SHARDS {
            let mut shard = self.shards[(start + i) & (SHARDS - 1)].write();
            let victim = shard.keys().copied().find(|&p| p != keep && p != 1);
            if let Some(victim) = victim {
                shard.remove(&victim);
                self.len.fetch_sub(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// The distinct containers of the table's processes.
    pub fn containers(&self) -> Vec<Arc<Container>> {
        let mut seen: Vec<Arc<Container>> = Vec::new();
        for shard in self.shards.iter() {
            for container in shard.read().values().filter_map(|e| e.container.as_ref()) {
                if !seen.iter().any(|c| c.id == container.id) {
                    seen.push(container.clone());
                }
            }
        }
        seen
    }

    /// How many processes are in the table.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// How many entries have exited (walks every shard).
    pub fn count_exited(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().values().filter(|e| e.exited_ns.is_some()).count())
            .sum()
    }
}
