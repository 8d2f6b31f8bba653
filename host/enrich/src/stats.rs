//! Counters of the enricher and their snapshot, [`EnrichStats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the enricher's counters (see [`Enricher::stats`](crate::Enricher::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EnrichStats {
    /// Processes currently in the table, exited-but-lingering ones included.
    pub processes_tracked: u64,
    /// Of those, processes that have exited and linger.
    pub processes_exited: u64,
    /// Processes read from procfs at start-up.
    pub processes_seeded: u64,
    /// Processes first seen in an event or a look-up and read from procfs then.
    pub lazily_loaded: u64,
    /// Processes first seen in an event whose procfs entry was already gone
    /// (or procfs reading is off): tracked from the event alone.
    pub event_only: u64,
    /// Live processes evicted because the table was full.
    pub processes_evicted: u64,
    /// Executables queued for hashing.
    pub hash_queued: u64,
    /// Executables hashed.
    pub hash_done: u64,
    /// Executables not hashed because larger than `hash_max_file_bytes`.
    pub hash_skipped: u64,
    /// Executables that could not be read for hashing (gone, or replaced meanwhile).
    pub hash_failed: u64,
    /// Hash jobs dropped because the queue was full.
    pub hash_dropped: u64,
    /// Paths currently remembered as recently created or written.
    pub recent_writes_tracked: u64,
    /// Cgroup v2 directories indexed by id (inode).
    pub cgroups_indexed: u64,
    /// Cgroup ids from events resolved to a path by walking the hierarchy.
    pub cgroups_resolved: u64,
    /// Cgroup ids from events found nowhere in the hierarchy (the cgroup
    /// was already removed, or the index is full).
    pub cgroups_unresolved: u64,
    /// Walks of the cgroup hierarchy (one per id not yet indexed).
    pub cgroup_walks: u64,
}

/// The live counters behind [`EnrichStats`], shared with the hashing thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub seeded: AtomicU64,
    pub lazily_loaded: AtomicU64,
    pub event_only: AtomicU64,
    pub evicted: AtomicU64,
    pub hash_queued: AtomicU64,
    pub hash_done: AtomicU64,
    pub hash_skipped: AtomicU64,
    pub hash_failed: AtomicU64,
    pub hash_dropped: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Reads a counter.
pub(crate) fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}
