//! The [`Enricher`]: keeps the process table and file-write tracker from the
//! event stream, fills events in, and answers the plugins' host calls.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use harrier_events::{
    Event, EventDetail, ExecEvent, FileWriteInfo, ForkEvent, Process, ProcessInfo, WorkloadInfo,
};
use parking_lot::Mutex;

use crate::cgroups::CgroupPaths;
use crate::config::EnrichConfig;
use crate::hasher::{HashJob, Hasher};
use crate::procfs::{FileKey, ProcFs, ProcSnapshot};
use crate::stats::{Counters, EnrichStats, bump, get};
use crate::table::{Container, Entry, Table};
use crate::users::UserNames;
use crate::workload::{Workload, WorkloadSource};
use crate::writes::{Change, RecentWrites};

/// How often (in event time) exited processes and old writes are swept.
const SWEEP_INTERVAL_NS: u64 = 1_000_000_000;

/// `clone(2)` flag: the new task is a thread of the same process.
const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;

/// open(2) flags that make an open a write.
const WRITE_FLAGS: u32 = (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) as u32;

/// Host-side enrichment: process table, containers, executable hashes,
/// recent writes and user names.
///
/// `Send + Sync`: the pipeline thread calls [`observe`](Enricher::observe)
/// while plugin host calls query it from worker threads. Queries take a
/// shard read lock (64 shards by pid) and clone shared strings; `observe`
/// is meant for one pipeline thread (calling it from several is memory-safe
/// but may interleave a process's updates).
#[derive(Debug)]
pub struct Enricher {
    config: EnrichConfig,
    procfs: ProcFs,
    table: Table,
    /// Exited processes in exit order: (exit time, pid, generation).
    exits: Mutex<VecDeque<(u64, u32, u64)>>,
    next_generation: AtomicU64,
    next_sweep_ns: AtomicU64,
    hasher: Hasher,
    writes: RecentWrites,
    users: UserNames,
    /// Cgroup v2 ids (from the kernel) to paths and containers.
    cgroups: CgroupPaths,
    /// Where workload metadata comes from (unset: cgroup identity only).
    workloads: OnceLock<Arc<dyn WorkloadSource>>,
    counters: Arc<Counters>,
    /// The shared empty string, for unknown executables.
    empty: Arc<str>,
}

impl Enricher {
    /// An empty enricher; starts the executable-hashing thread.
    pub fn new(config: EnrichConfig) -> Self {
        let counters = Arc::new(Counters::default());
        let hasher = Hasher::start(
            config.read_proc,
            config.hash_cache_entries,
            config.hash_queue_len,
            config.hash_max_file_bytes,
            counters.clone(),
        );
        let window_ns = duration_ns(config.recent_write_window);
        Enricher {
            procfs: ProcFs::new(&config.proc_root),
            table: Table::new(),
            exits: Mutex::new(VecDeque::new()),
            next_generation: AtomicU64::new(1),
            next_sweep_ns: AtomicU64::new(0),
            hasher,
            writes: RecentWrites::new(window_ns, config.max_recent_writes),
            users: UserNames::new(config.host_root.join("etc/passwd")),
            cgroups: match (&config.cgroup2_mount, config.read_proc) {
                (Some(mount), _) => {
                    CgroupPaths::at(Some(mount.clone()), "/".into(), config.max_cgroups)
                }
                (None, true) => CgroupPaths::discover(&config.proc_root, config.max_cgroups),
                (None, false) => CgroupPaths::at(None, "/".into(), 0),
            },
            workloads: OnceLock::new(),
            counters,
            empty: Arc::from(""),
            config,
        }
    }

    /// Gives the enricher a source of workload metadata (pod, namespace,
    /// image, …) for the containers it sees; only the first call counts.
    /// Every container already known is announced to it.
    pub fn set_workload_source(&self, source: Arc<dyn WorkloadSource>) {
        if self.workloads.set(source).is_ok() {
            for container in self.table.containers() {
                self.announce(&container);
            }
        }
    }

    /// What the workload source knows of `container_id`, waiting up to
    /// `wait` for a look-up under way (for findings; never on the event path).
    pub fn workload(&self, container_id: &str, wait: Duration) -> Option<Arc<Workload>> {
        self.workloads.get()?.workload_settled(container_id, wait)
    }

    /// The configuration this enricher runs with.
    pub fn config(&self) -> &EnrichConfig {
        &self.config
    }

    /// Reads every process in procfs into the table (start-up); returns how many.
    pub fn seed_from_proc(&self) -> io::Result<usize> {
        let mut seeded = 0;
        for pid in self.procfs.pids()? {
            // Processes may exit while we walk: skip those.
            if let Ok(snap) = self.procfs.read(pid) {
                let entry = self.entry_from_snapshot(pid, snap, None);
                self.insert(pid, entry);
                seeded += 1;
            }
        }
        self.counters
            .seeded
            .fetch_add(seeded as u64, Ordering::Relaxed);
        Ok(seeded)
    }

    /// Updates the table from `event` and fills in its process's `exe`,
    /// `container_id` and (when 0) `ppid` from the table.
    ///
    /// A process never seen before is read from procfs once (if allowed);
    /// exec, fork and exit keep the table current. Successful file events
    /// feed the recent-write tracker: opens for writing (created when
    /// `O_CREAT` comes with `O_EXCL` or `O_TRUNC`), writes, truncates,
    /// chmods (an existing record keeps its writer), links (created),
    /// renames (the new path inherits the old path's record) and unlinks
    /// (forgotten).
    pub fn observe(&self, event: &mut Event) {
        let now = event.time_ns;
        self.sweep_if_due(now);
        if let EventDetail::Exec(exec) = &event.detail {
            self.on_exec(&event.process, exec);
        }
        let writes_file = changes_file(&event.detail);
        let writer_exe = self.fill(&mut event.process, writes_file);
        let process = &event.process;
        let pid = process.pid;
        let exe = writer_exe.as_ref().unwrap_or(&self.empty);
        match &event.detail {
            EventDetail::Fork(fork) => self.on_fork(process, fork, now),
            EventDetail::Exit(_) => self.on_exit(process, now),
            EventDetail::FileUnlink(u) if u.result >= 0 => {
                self.writes.remove(&u.path);
                self.cgroup_removed(&u.path);
            }
            detail if writes_file => self.on_file_change(detail, pid, exe, now),
            _ => {}
        }
    }

    /// Records a successful file creation or change in the recent-write tracker.
    fn on_file_change(&self, detail: &EventDetail, pid: u32, exe: &Arc<str>, now: u64) {
        let w = &self.writes;
        match detail {
            EventDetail::FileOpen(open) => {
                // O_CREAT alone also opens existing files (appends to logs):
                // count as created only with O_EXCL or O_TRUNC.
                let created = open.flags & libc::O_CREAT as u32 != 0
                    && open.flags & (libc::O_EXCL | libc::O_TRUNC) as u32 != 0;
                w.record(&open.path, Change::Write { created }, pid, exe, now);
            }
            EventDetail::FileWrite(write) => {
                w.record(&write.path, Change::Write { created: false }, pid, exe, now)
            }
            EventDetail::FileTruncate(t) => {
                w.record(&t.path, Change::Write { created: false }, pid, exe, now)
            }
            EventDetail::FileChmod(c) => w.record(&c.path, Change::Metadata, pid, exe, now),
            EventDetail::FileLink(l) => {
                w.record(&l.link_path, Change::Write { created: true }, pid, exe, now)
            }
            EventDetail::FileRename(r) => w.rename(&r.old_path, &r.new_path, pid, exe, now),
            _ => {}
        }
    }

    /// The table's view of `pid`, exited-but-lingering processes included.
    ///
    /// A pid not in the table is read from procfs (when allowed) and kept.
    pub fn process(&self, pid: u32) -> Option<ProcessInfo> {
        self.lookup(pid).map(|entry| self.info(pid, &entry))
    }

    /// The ancestors of `pid`, nearest first (parent, grandparent, …), at
    /// most `max_depth`; stops at an unknown parent, pid 0 or a cycle.
    /// Parents missing from the table are read from procfs like in
    /// [`process`](Enricher::process).
    pub fn ancestry(&self, pid: u32, max_depth: u32) -> Vec<ProcessInfo> {
        let mut chain = Vec::new();
        let Some(start) = self.lookup(pid) else {
            return chain;
        };
        let mut seen = vec![pid];
        let mut next = start.ppid;
        while chain.len() < max_depth as usize && next != 0 && !seen.contains(&next) {
            let Some(entry) = self.lookup(next) else {
                break;
            };
            chain.push(self.info(next, &entry));
            seen.push(next);
            next = entry.ppid;
        }
        chain
    }

    /// Who created or wrote `path` within the tracking window before `now_ns`.
    pub fn recent_write(&self, path: &str, now_ns: u64) -> Option<FileWriteInfo> {
        self.writes.get(path, now_ns)
    }

    /// Forgets processes that exited more than `exit_linger` before `now_ns`
    /// and writes older than the window. `observe` does this once per second
    /// of event time; call it from a timer when events may stop.
    pub fn sweep(&self, now_ns: u64) {
        let cutoff = now_ns.saturating_sub(duration_ns(self.config.exit_linger));
        let mut exits = self.exits.lock();
        while let Some(&(exit_ns, pid, generation)) = exits.front() {
            if exit_ns > cutoff {
                break;
            }
            exits.pop_front();
            self.table.remove_if(pid, |e| e.generation == generation);
        }
        drop(exits);
        self.writes.expire(now_ns);
    }

    /// A cgroup directory was removed: forget its id and, if it was a
    /// container's, tell the workload source the container is gone.
    fn cgroup_removed(&self, path: &str) {
        if let Some(container) = self.cgroups.forget(path)
            && let Some(source) = self.workloads.get()
        {
            source.container_gone(&container.id);
        }
    }

    /// Tells the workload source about a container (it looks it up once).
    fn announce(&self, container: &Container) {
        if let Some(source) = self.workloads.get() {
            source.container_seen(&container.id, container.runtime);
        }
    }

    /// Announces the container of a new or changed table entry.
    fn announce_entry(&self, entry: &Entry) {
        if let Some(container) = &entry.container {
            self.announce(container);
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> EnrichStats {
        let c = &self.counters;
        EnrichStats {
            processes_tracked: self.table.len() as u64,
            processes_exited: self.table.count_exited() as u64,
            processes_seeded: get(&c.seeded),
            lazily_loaded: get(&c.lazily_loaded),
            event_only: get(&c.event_only),
            processes_evicted: get(&c.evicted),
            hash_queued: get(&c.hash_queued),
            hash_done: get(&c.hash_done),
            hash_skipped: get(&c.hash_skipped),
            hash_failed: get(&c.hash_failed),
            hash_dropped: get(&c.hash_dropped),
            recent_writes_tracked: self.writes.len() as u64,
            cgroups_indexed: self.cgroups.len() as u64,
            cgroups_resolved: get(&self.cgroups.counters().resolved),
            cgroups_unresolved: get(&self.cgroups.counters().unresolved),
            cgroup_walks: get(&self.cgroups.counters().walks),
        }
    }

    /// The table entry of `pid`, read from procfs and kept if the table has none.
    fn lookup(&self, pid: u32) -> Option<Entry> {
        if let Some(entry) = self.table.get(pid) {
            return Some(entry);
        }
        if !self.config.read_proc || pid == 0 {
            return None;
        }
        let snap = self.procfs.read(pid).ok()?;
        let entry = self.entry_from_snapshot(pid, snap, None);
        if self.table.len() >= self.config.max_processes {
            self.make_room(pid);
        }
        // The pipeline may have inserted it meanwhile: its entry wins.
        let (entry, inserted) = self.table.get_or_insert(pid, entry);
        if inserted {
            bump(&self.counters.lazily_loaded);
            self.announce_entry(&entry);
        }
        Some(entry)
    }

    /// Sweeps when a second of event time has passed since the last sweep.
    fn sweep_if_due(&self, now_ns: u64) {
        let due = self.next_sweep_ns.load(Ordering::Relaxed);
        if now_ns >= due {
            self.next_sweep_ns
                .store(now_ns.saturating_add(SWEEP_INTERVAL_NS), Ordering::Relaxed);
            self.sweep(now_ns);
        }
    }

    /// Fills `process` from the table (loading it on first sight) and keeps
    /// the table's uid/euid in step with the kernel's. Returns the
    /// executable when `want_exe`.
    fn fill(&self, process: &mut Process, want_exe: bool) -> Option<Arc<str>> {
        let pid = process.pid;
        let cgroup_id = process.cgroup_id.unwrap_or(0);
        {
            let shard = self.table.shard(pid).read();
            if let Some(entry) = shard.get(&pid)
                && entry.uid == process.uid
                && entry.euid == process.euid
                && (cgroup_id == 0 || entry.cgroup_id == cgroup_id)
            {
                fill_from(process, entry);
                return want_exe.then(|| entry.exe.clone());
            }
        }
        // Slow path: first sight, credentials changed, or a new cgroup.
        // The kernel's cgroup id names the container even when the process
        // is already gone from /proc; it wins over what /proc or the parent said.
        let from_kernel = (cgroup_id != 0)
            .then(|| self.cgroups.resolve(cgroup_id))
            .flatten()
            .map(|c| c.container);
        let known = self
            .table
            .update(pid, |entry| {
                entry.uid = process.uid;
                entry.euid = process.euid;
                entry.cgroup_id = cgroup_id;
                if let Some(container) = &from_kernel {
                    entry.container = container.clone();
                }
            })
            .is_some();
        if !known {
            let mut entry = self.load(pid, process);
            entry.cgroup_id = cgroup_id;
            if let Some(container) = &from_kernel {
                entry.container = container.clone();
            }
            self.insert(pid, entry);
        } else if let Some(Some(container)) = &from_kernel {
            self.announce(container);
        }
        let shard = self.table.shard(pid).read();
        let entry = shard.get(&pid)?;
        fill_from(process, entry);
        want_exe.then(|| entry.exe.clone())
    }

    /// An entry for a process first seen in an event: from procfs if it can,
    /// else from the event alone.
    fn load(&self, pid: u32, process: &Process) -> Entry {
        if self.config.read_proc
            && let Ok(snap) = self.procfs.read(pid)
        {
            bump(&self.counters.lazily_loaded);
            let mut entry = self.entry_from_snapshot(pid, snap, Some(process));
            entry.uid = process.uid;
            entry.euid = process.euid;
            return entry;
        }
        bump(&self.counters.event_only);
        Entry {
            ppid: process.ppid,
            uid: process.uid,
            euid: process.euid,
            exe: self.arc_or_empty(&process.exe),
            cmdline: self.arc_or_empty(&process.comm),
            cwd: self.empty.clone(),
            start_time_ns: 0,
            cgroup_id: 0,
            container: process.container_id.as_ref().map(|id| {
                Arc::new(Container {
                    id: id.as_str().into(),
                    pod_uid: None,
                    runtime: crate::container::Runtime::Unknown,
                })
            }),
            hash: None,
            exited_ns: None,
            generation: self.generation(),
        }
    }

    /// An entry from a procfs snapshot (the event, if any, fills gaps); queues its hash.
    fn entry_from_snapshot(&self, pid: u32, snap: ProcSnapshot, event: Option<&Process>) -> Entry {
        let exe = match event {
            Some(p) if snap.exe.is_empty() => self.arc_or_empty(&p.exe),
            _ => self.arc_or_empty(&snap.exe),
        };
        let ppid = match event {
            Some(p) if snap.ppid == 0 => p.ppid,
            _ => snap.ppid,
        };
        let hash = snap.exe_key.map(|key| self.request_hash(pid, key, &exe));
        Entry {
            ppid,
            uid: snap.uid,
            euid: snap.euid,
            exe,
            cmdline: self.arc_or_empty(&snap.cmdline),
            cwd: self.arc_or_empty(&snap.cwd),
            start_time_ns: snap.start_time_ns,
            cgroup_id: 0,
            container: snap.container.map(|c| Arc::new(c.into())),
            hash,
            exited_ns: None,
            generation: self.generation(),
        }
    }

    /// exec: new executable, command line and working directory; the
    /// container is re-read (runtimes move the process into the container's
    /// cgroup between fork and exec).
    fn on_exec(&self, process: &Process, exec: &ExecEvent) {
        let pid = process.pid;
        if self.table.shard(pid).read().get(&pid).is_none() {
            let entry = self.load(pid, process);
            self.insert(pid, entry);
        }
        let exe: Arc<str> = if exec.filename.starts_with('/') {
            exec.filename.as_str().into()
        } else if let Some(path) = self.read_exe_link(pid) {
            path.into()
        } else if !process.exe.is_empty() {
            process.exe.as_str().into()
        } else {
            exec.filename.as_str().into()
        };
        let cmdline: Arc<str> = if exec.args.is_empty() {
            exe.clone()
        } else {
            exec.args.join(" ").into()
        };
        let key = if exec.inode != 0 {
            Some(FileKey {
                dev: exec.dev,
                inode: exec.inode,
                mtime_ns: exec.mtime_ns,
            })
        } else if self.config.read_proc {
            self.procfs.exe_key(pid)
        } else {
            None
        };
        let hash = key.map(|key| self.request_hash(pid, key, &exe));
        let container = if self.config.read_proc {
            self.procfs
                .container(pid)
                .ok()
                .map(|c| c.map(|c| Arc::new(Container::from(c))))
        } else {
            None
        };
        if let Some(Some(c)) = &container {
            self.announce(c);
        }
        // A container the kernel's cgroup id named is not second-guessed.
        let kernel_named = self
            .table
            .shard(pid)
            .read()
            .get(&pid)
            .is_some_and(|e| e.cgroup_id != 0 && e.container.is_some());
        self.table.update(pid, |entry| {
            entry.exe = exe;
            entry.cmdline = cmdline;
            if !exec.cwd.is_empty() {
                entry.cwd = exec.cwd.as_str().into();
            }
            if process.ppid != 0 {
                entry.ppid = process.ppid;
            }
            entry.uid = process.uid;
            entry.euid = process.euid;
            entry.hash = hash;
            if let Some(container) = container
                && !kernel_named
            {
                entry.container = container;
            }
        });
    }

    /// The absolute executable path from `/proc/<pid>/exe`, when procfs may be read.
    fn read_exe_link(&self, pid: u32) -> Option<String> {
        if !self.config.read_proc {
            return None;
        }
        let path = std::fs::read_link(self.procfs.path(pid, "exe")).ok()?;
        Some(path.to_string_lossy().into_owned()).filter(|p| !p.is_empty())
    }

    /// fork/clone of a new process: the child starts as a copy of its parent.
    fn on_fork(&self, parent: &Process, fork: &ForkEvent, now: u64) {
        let child = fork.child_pid;
        if child == 0 || child == parent.pid || fork.clone_flags & CLONE_THREAD != 0 {
            return;
        }
        let Some(parent_entry) = self.table.get(parent.pid) else {
            return;
        };
        let already_known = self
            .table
            .get(child)
            .is_some_and(|e| e.exited_ns.is_none() && e.ppid == parent.pid);
        if already_known {
            return;
        }
        let entry = Entry {
            ppid: parent.pid,
            start_time_ns: now,
            exited_ns: None,
            generation: self.generation(),
            ..parent_entry
        };
        self.insert(child, entry);
    }

    /// exit of a process (thread exits are ignored): it lingers for `exit_linger`.
    fn on_exit(&self, process: &Process, now: u64) {
        let pid = process.pid;
        if process.tid != 0 && process.tid != pid {
            return;
        }
        let newly_exited = self.table.update(pid, |entry| {
            let newly = entry.exited_ns.is_none();
            entry.exited_ns.get_or_insert(now);
            (newly, entry.generation)
        });
        if let Some((true, generation)) = newly_exited {
            self.exits.lock().push_back((now, pid, generation));
        }
    }

    /// Inserts an entry, first making room if the table is full.
    fn insert(&self, pid: u32, entry: Entry) {
        if self.table.len() >= self.config.max_processes && self.table.get(pid).is_none() {
            self.make_room(pid);
        }
        self.announce_entry(&entry);
        self.table.insert(pid, entry);
    }

    /// Evicts the longest-exited process, or failing that any live one but `keep`.
    fn make_room(&self, keep: u32) {
        let mut exits = self.exits.lock();
        while let Some((_, pid, generation)) = exits.pop_front() {
            if self.table.remove_if(pid, |e| e.generation == generation) {
                return;
            }
        }
        drop(exits);
        if self.table.evict_any(keep) {
            bump(&self.counters.evicted);
        }
    }

    /// The hash slot of the executable `key`, queued for hashing if new.
    fn request_hash(&self, pid: u32, key: FileKey, exe: &Arc<str>) -> Arc<crate::hasher::HashSlot> {
        let slot = self.hasher.slot(key);
        if slot.sha256().is_none() {
            self.hasher.request(HashJob {
                slot: slot.clone(),
                proc_exe: self.procfs.path(pid, "exe"),
                exe_path: exe.clone(),
                key: Some(key),
            });
        }
        slot
    }

    /// The host-call view of an entry.
    fn info(&self, pid: u32, entry: &Entry) -> ProcessInfo {
        ProcessInfo {
            pid,
            ppid: entry.ppid,
            uid: entry.uid,
            euid: entry.euid,
            exe: entry.exe.to_string(),
            cmdline: entry.cmdline.to_string(),
            start_time_ns: entry.start_time_ns,
            container_id: entry.container.as_ref().map(|c| c.id.to_string()),
            pod_uid: entry
                .container
                .as_ref()
                .and_then(|c| c.pod_uid.as_ref().map(|u| u.to_string())),
            cwd: entry.cwd.to_string(),
            user_name: self.users.name(entry.uid).map(|n| n.to_string()),
            exe_sha256: entry
                .hash
                .as_ref()
                .and_then(|slot| slot.sha256().map(|h| h.to_string())),
            workload: entry.container.as_ref().and_then(|c| self.workload_info(c)),
        }
    }

    /// The WIT view of a container's workload metadata, when the runtime
    /// answered; the pod uid falls back to the one in the cgroup path.
    fn workload_info(&self, container: &Container) -> Option<WorkloadInfo> {
        let w = self.workloads.get()?.workload(&container.id)?;
        Some(WorkloadInfo {
            namespace: w.namespace.clone(),
            pod_name: w.pod_name.clone(),
            pod_uid: w
                .pod_uid
                .clone()
                .or_else(|| container.pod_uid.as_ref().map(|u| u.to_string())),
            container_name: w.container_name.clone(),
            image: w.image.clone(),
            image_digest: w.image_digest.clone(),
            runtime: Some(w.runtime.clone()),
        })
    }

    /// A fresh generation number.
    fn generation(&self) -> u64 {
        self.next_generation.fetch_add(1, Ordering::Relaxed)
    }

    /// `s` as a shared string (the shared empty one when empty).
    fn arc_or_empty(&self, s: &str) -> Arc<str> {
        if s.is_empty() {
            self.empty.clone()
        } else {
            Arc::from(s)
        }
    }
}

/// Fills the event's process from the table entry where the sensor left gaps.
fn fill_from(process: &mut Process, entry: &Entry) {
    if process.exe.is_empty() && !entry.exe.is_empty() {
        process.exe.push_str(&entry.exe);
    }
    if process.container_id.is_none()
        && let Some(container) = &entry.container
    {
        process.container_id = Some(String::from(&*container.id));
    }
    if process.ppid == 0 {
        process.ppid = entry.ppid;
    }
}

/// Whether the event (successfully) creates or changes a file the tracker records.
fn changes_file(detail: &EventDetail) -> bool {
    match detail {
        EventDetail::FileOpen(o) => o.result >= 0 && o.flags & WRITE_FLAGS != 0,
        EventDetail::FileWrite(_) => true,
        EventDetail::FileTruncate(t) => t.result >= 0,
        EventDetail::FileChmod(c) => c.result >= 0,
        EventDetail::FileLink(l) => l.result >= 0,
        EventDetail::FileRename(r) => r.result >= 0,
        _ => false,
    }
}

/// A duration in nanoseconds, saturating.
fn duration_ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
