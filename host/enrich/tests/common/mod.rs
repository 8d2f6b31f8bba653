//! Shared helpers of the integration tests: event builders and a fake procfs.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::{Event, EventDetail, ExecEvent, Process};

/// One second in nanoseconds.
pub const S: u64 = 1_000_000_000;

/// Boot time written to the fake procfs (seconds since the epoch).
pub const BTIME: u64 = 1_700_000_000;

/// A successful exec of `path` with no arguments, as the sensor reports it.
pub fn exec(path: &str) -> EventDetail {
    EventDetail::Exec(ExecEvent {
        filename: path.into(),
        args: vec![path.into()],
        args_truncated: false,
        cwd: "/".into(),
        ld_preload: None,
        ld_library_path: None,
        file_mode: 0o755,
        dev: 0,
        inode: 0,
        mtime_ns: 0,
        args_gap: None,
    })
}

/// A process as the sensor reports it: no exe, no container.
pub fn proc_of(pid: u32, ppid: u32, uid: u32) -> Process {
    Process {
        pid,
        tid: pid,
        ppid,
        uid,
        euid: uid,
        gid: uid,
        egid: uid,
        comm: format!("comm{pid}"),
        exe: String::new(),
        container_id: None,
        cgroup_id: None,
    }
}

/// An event of `process` at `time_ns`.
pub fn event(time_ns: u64, process: Process, detail: EventDetail) -> Event {
    Event {
        fidelity: None,
        seq: time_ns,
        time_ns,
        process,
        detail,
    }
}

/// A temporary procfs tree, plus a host root with `etc/passwd`.
pub struct FakeProc {
    pub dir: tempfile::TempDir,
}

/// What to put in one fake `/proc/<pid>`.
pub struct FakePid<'a> {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub exe: &'a Path,
    pub cmdline: &'a [&'a str],
    pub cwd: &'a str,
    pub start_ticks: u64,
    pub cgroup: &'a str,
}

impl FakeProc {
    /// An empty fake procfs with a `stat` file giving the boot time.
    pub fn new() -> FakeProc {
        let dir = tempfile::tempdir().expect("create temp dir");
        fs::create_dir_all(dir.path().join("proc")).unwrap();
        fs::write(
            dir.path().join("proc/stat"),
            format!("cpu  1 2 3\nbtime {BTIME}\nprocesses 10\n"),
        )
        .unwrap();
        fs::create_dir_all(dir.path().join("root/etc")).unwrap();
        fs::write(
            dir.path().join("root/etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        FakeProc { dir }
    }

    /// The procfs root.
    pub fn proc_root(&self) -> PathBuf {
        self.dir.path().join("proc")
    }

    /// A file outside the procfs (an executable, say) with `content`.
    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, content).unwrap();
        path
    }

    /// Adds `/proc/<pid>` with status, stat, cmdline, cgroup and exe/cwd links.
    pub fn add(&self, p: &FakePid<'_>) {
        let d = self.proc_root().join(p.pid.to_string());
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("status"),
            format!(
                "Name:\tx\nPid:\t{}\nPPid:\t{}\nUid:\t{u}\t{u}\t{u}\t{u}\n",
                p.pid,
                p.ppid,
                u = p.uid
            ),
        )
        .unwrap();
        let mut stat = format!("{} (my proc) S {}", p.pid, p.ppid);
        for _ in 5..22 {
            stat.push_str(" 0");
        }
        stat.push_str(&format!(" {} 1000 10\n", p.start_ticks));
        fs::write(d.join("stat"), stat).unwrap();
        let mut cmdline = p.cmdline.join("\0");
        cmdline.push('\0');
        fs::write(d.join("cmdline"), cmdline).unwrap();
        fs::write(d.join("cgroup"), p.cgroup).unwrap();
        symlink(p.exe, d.join("exe")).unwrap();
        symlink(p.cwd, d.join("cwd")).unwrap();
    }

    /// A config reading this fake procfs and host root.
    pub fn config(&self) -> EnrichConfig {
        EnrichConfig {
            proc_root: self.proc_root(),
            host_root: self.dir.path().join("root"),
            ..EnrichConfig::default()
        }
    }
}

/// An enricher that never reads procfs (replay mode).
pub fn offline() -> Enricher {
    Enricher::new(EnrichConfig {
        read_proc: false,
        proc_root: PathBuf::from("/nonexistent-proc"),
        ..EnrichConfig::default()
    })
}

/// Polls `f` until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
