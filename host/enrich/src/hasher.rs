//! Executable SHA-256, computed off the event path by a background thread.
//!
//! Each distinct executable (by device, inode and modification time) gets one
//! [`HashSlot`], cached in a bounded LRU. Process entries hold their slot, so
//! a hash once computed stays visible to them even after the cache evicts it.
//! Jobs reach the hashing thread through a bounded channel; when it is full
//! the job is dropped and counted, and a later exec of the same file retries.

use std::fs::File;
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use lru::LruCache;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::procfs::FileKey;
use crate::stats::{Counters, bump};

/// The hash of one executable: empty until computed.
#[derive(Debug, Default)]
pub(crate) struct HashSlot {
    /// `Some(hex)` once hashed, `None` once skipped as too large.
    outcome: OnceLock<Option<Arc<str>>>,
    /// Whether a job for this slot is queued or running.
    queued: AtomicBool,
}

impl HashSlot {
    /// The lower-case hex SHA-256, once computed.
    pub fn sha256(&self) -> Option<&Arc<str>> {
        self.outcome.get().and_then(Option::as_ref)
    }
}

/// One executable to hash.
#[derive(Debug)]
pub(crate) struct HashJob {
    pub slot: Arc<HashSlot>,
    /// `/proc/<pid>/exe`: works for deleted files and other mount namespaces.
    pub proc_exe: PathBuf,
    /// The executable's path, tried when the process is already gone.
    pub exe_path: Arc<str>,
    pub key: Option<FileKey>,
}

/// The slot cache and the queue to the hashing thread.
#[derive(Debug)]
pub(crate) struct Hasher {
    cache: Mutex<LruCache<FileKey, Arc<HashSlot>>>,
    tx: Option<SyncSender<HashJob>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Hasher {
    /// Starts the hashing thread (unless `enabled` is false, e.g. for replay).
    pub fn start(
        enabled: bool,
        cache_entries: usize,
        queue_len: usize,
        max_file_bytes: u64,
        counters: Arc<Counters>,
    ) -> Hasher {
        let (tx, thread) = if enabled {
            let (tx, rx) = sync_channel(queue_len.max(1));
            let thread_counters = counters.clone();
            let thread = std::thread::Builder::new()
                .name("harrier-exe-hash".into())
                .spawn(move || run(rx, max_file_bytes, &thread_counters))
                .map_err(|e| tracing::error!("cannot start the executable-hash thread: {e}"))
                .ok();
            (thread.is_some().then_some(tx), thread)
        } else {
            (None, None)
        };
        Hasher::with_sender(tx, thread, cache_entries, counters)
    }

    /// A hasher around an existing channel (tests hold the receiving end).
    fn with_sender(
        tx: Option<SyncSender<HashJob>>,
        thread: Option<JoinHandle<()>>,
        cache_entries: usize,
        counters: Arc<Counters>,
    ) -> Hasher {
        let cap = NonZeroUsize::new(cache_entries).unwrap_or(NonZeroUsize::MIN);
        Hasher {
            cache: Mutex::new(LruCache::new(cap)),
            tx,
            thread,
            counters,
        }
    }

    /// The slot of the executable with content key `key`, created if new.
    pub fn slot(&self, key: FileKey) -> Arc<HashSlot> {
        self.cache
            .lock()
            .get_or_insert(key, Default::default)
            .clone()
    }

    /// Queues `job` unless its slot is already hashed or queued.
    pub fn request(&self, job: HashJob) {
        let Some(tx) = &self.tx else { return };
        if job.slot.outcome.get().is_some() || job.slot.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let slot = job.slot.clone();
        match tx.try_send(job) {
            Ok(()) => bump(&self.counters.hash_queued),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                slot.queued.store(false, Ordering::Release);
                bump(&self.counters.hash_dropped);
            }
        }
    }
}

impl Drop for Hasher {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it finishes its current file.
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The hashing thread: hashes queued executables until the channel closes.
fn run(rx: Receiver<HashJob>, max_file_bytes: u64, counters: &Counters) {
    for job in rx {
        match hash_job(&job, max_file_bytes) {
            Ok(Some(hex)) => {
                let _ = job.slot.outcome.set(Some(hex.into()));
                bump(&counters.hash_done);
            }
            Ok(None) => {
                let _ = job.slot.outcome.set(None);
                bump(&counters.hash_skipped);
            }
            Err(e) => {
                tracing::debug!("cannot hash executable {}: {e}", job.exe_path);
                bump(&counters.hash_failed);
            }
        }
        job.slot.queued.store(false, Ordering::Release);
    }
}

/// Hashes the job's executable: `Ok(None)` when too large.
fn hash_job(job: &HashJob, max_file_bytes: u64) -> io::Result<Option<String>> {
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no path to read");
    let candidates = [job.proc_exe.as_path(), Path::new(&*job.exe_path)];
    for path in candidates.into_iter().filter(|p| !p.as_os_str().is_empty()) {
        match hash_file(path, job.key, max_file_bytes) {
            Ok(outcome) => return Ok(outcome),
            Err(e) => last_error = io::Error::new(e.kind(), format!("{}: {e}", path.display())),
        }
    }
    Err(last_error)
}

/// Hashes `path` if it still is the file `key` names; `Ok(None)` when too large.
pub(crate) fn hash_file(
    path: &Path,
    key: Option<FileKey>,
    max_file_bytes: u64,
) -> io::Result<Option<String>> {
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    if let Some(key) = key
        && key.inode != 0
        && metadata.ino() != key.inode
    {
        return Err(io::Error::other("the file was replaced since the exec"));
    }
    if metadata.len() > max_file_bytes {
        return Ok(None);
    }
    let mut hasher = Sha256::new();
    let mut reader = file.take(max_file_bytes.saturating_add(1));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    if total > max_file_bytes {
        return Ok(None);
    }
    Ok(Some(hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::get;

    fn key(inode: u64) -> FileKey {
        FileKey {
            dev: 1,
            inode,
            mtime_ns: 2,
        }
    }

    fn job(slot: &Arc<HashSlot>) -> HashJob {
        HashJob {
            slot: slot.clone(),
            proc_exe: PathBuf::from("/nonexistent/1/exe"),
            exe_path: "/nonexistent".into(),
            key: None,
        }
    }

    #[test]
    fn full_queue_drops_and_counts_and_allows_retry() {
        let counters = Arc::new(Counters::default());
        let (tx, rx) = sync_channel(1);
        let hasher = Hasher::with_sender(Some(tx), None, 8, counters.clone());
        let a = hasher.slot(key(1));
        let b = hasher.slot(key(2));
        hasher.request(job(&a));
        hasher.request(job(&a)); // already queued: not sent twice
        hasher.request(job(&b)); // queue full: dropped
        assert_eq!(get(&counters.hash_queued), 1);
        assert_eq!(get(&counters.hash_dropped), 1);
        assert!(
            !b.queued.load(Ordering::Acquire),
            "a dropped job can be retried"
        );
        drop(rx);
    }

    #[test]
    fn same_key_shares_a_slot_and_cache_is_bounded() {
        let counters = Arc::new(Counters::default());
        let hasher = Hasher::with_sender(None, None, 2, counters);
        assert!(Arc::ptr_eq(&hasher.slot(key(1)), &hasher.slot(key(1))));
        let first = hasher.slot(key(1));
        hasher.slot(key(2));
        hasher.slot(key(3)); // evicts key 1
        assert!(!Arc::ptr_eq(&first, &hasher.slot(key(1))));
    }

    #[test]
    fn hash_file_checks_size_and_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(
            hash_file(&path, None, 100).unwrap().as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(hash_file(&path, None, 4).unwrap(), None);
        let inode = std::fs::metadata(&path).unwrap().ino();
        assert!(hash_file(&path, Some(key(inode + 1)), 100).is_err());
        assert!(hash_file(&path, Some(key(inode)), 100).unwrap().is_some());
    }
}
