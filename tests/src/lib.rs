//! Support for Harrier's end-to-end tests: the test detectors built from
//! tests/guests/, and helpers to make events.

use harrier_events::{Event, EventDetail, ExecEvent, FileOpenEvent, Process};

/// The hostile test detector (tests/guests/hostile) as component bytes.
pub fn hostile_wasm() -> Vec<u8> {
    std::fs::read(env!("GUEST_HOSTILE_WASM")).expect("hostile test component was built")
}

/// A process record for test events.
pub fn process(pid: u32, comm: &str, exe: &str) -> Process {
    Process {
        pid,
        tid: pid,
        ppid: 1,
        uid: 0,
        euid: 0,
        gid: 0,
        egid: 0,
        comm: comm.into(),
        exe: exe.into(),
        container_id: None,
        cgroup_id: None,
    }
}

/// An exec event of `filename` with `args`.
pub fn exec_event(seq: u64, pid: u32, filename: &str, args: &[&str]) -> Event {
    Event {
        fidelity: None,
        seq,
        time_ns: 1_700_000_000_000_000_000 + seq * 1000,
        process: process(pid, "sh", "/bin/sh"),
        detail: EventDetail::Exec(ExecEvent {
            args_gap: None,
            filename: filename.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            args_truncated: false,
            cwd: "/".into(),
            ld_preload: None,
            ld_library_path: None,
            file_mode: 0o755,
            dev: 0,
            inode: 0,
            mtime_ns: 0,
        }),
    }
}

/// A successful open of `path` for reading.
pub fn open_event(seq: u64, pid: u32, path: &str) -> Event {
    Event {
        fidelity: None,
        seq,
        time_ns: 1_700_000_000_000_000_000 + seq * 1000,
        process: process(pid, "cat", "/usr/bin/cat"),
        detail: EventDetail::FileOpen(FileOpenEvent {
            path: path.into(),
            flags: 0,
            mode: 0,
            result: 3,
        }),
    }
}

/// `wasm` with a custom section appended: the same behaviour in different
/// bytes (a different sha256), as a new build of a detector would be.
pub fn with_nonce(wasm: &[u8], nonce: u64) -> Vec<u8> {
    let name = b"harrier-test-nonce";
    let payload = nonce.to_le_bytes();
    let mut section = Vec::new();
    leb128(&mut section, name.len() as u64);
    section.extend_from_slice(name);
    section.extend_from_slice(&payload);
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    leb128(&mut out, section.len() as u64);
    out.extend_from_slice(&section);
    out
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// An event source that generates `total` exec events with consecutive
/// sequence numbers, `per_poll` at a time, then ends.
pub struct GeneratedSource {
    next: u64,
    total: u64,
    per_poll: usize,
    pause: std::time::Duration,
}

impl GeneratedSource {
    /// `total` events, `per_poll` per batch, sleeping `pause` between polls.
    pub fn new(total: u64, per_poll: usize, pause: std::time::Duration) -> Self {
        Self {
            next: 1,
            total,
            per_poll,
            pause,
        }
    }
}

impl harrier_pipeline::EventSource for GeneratedSource {
    fn poll(
        &mut self,
        out: &mut Vec<Event>,
        max: usize,
        _timeout: std::time::Duration,
    ) -> anyhow::Result<harrier_pipeline::Polled> {
        if self.next > self.total {
            return Ok(harrier_pipeline::Polled::End);
        }
        std::thread::sleep(self.pause);
        let n = (self.per_poll.min(max) as u64).min(self.total - self.next + 1);
        for seq in self.next..self.next + n {
            out.push(exec_event(seq, 4242, "/usr/bin/true", &["true"]));
        }
        self.next += n;
        Ok(harrier_pipeline::Polled::Events(n as usize))
    }

    fn set_interest(
        &mut self,
        _interest: &harrier_pipeline::source::Interest,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    fn stats(&self) -> harrier_pipeline::SourceStats {
        harrier_pipeline::SourceStats::default()
    }
}

/// The lines of a child's output, read on a thread as they come.
pub fn lines(stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A plugin spec for test component bytes: embedded, default limits.
pub fn embedded_spec(origin: &str, wasm: Vec<u8>, config: &str) -> harrier_plugins::PluginSpec {
    harrier_plugins::PluginSpec {
        origin: origin.into(),
        source: harrier_plugins::PluginSource::Embedded,
        wasm: wasm.into(),
        config_json: config.into(),
        limits: harrier_plugins::PluginLimits::default(),
        severity_override: None,
        permissions: harrier_plugins::Permissions::NONE,
        shadow: None,
    }
}

/// The `harrier` binary built next to the test executables.
pub fn harrier_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/harrier
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("harrier"))
        .expect("target directory layout");
    assert!(
        bin.is_file(),
        "{} is missing: build it first (`cargo build --release -p harrier`; ./test.sh does)",
        bin.display()
    );
    bin
}

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// Whether this test may use root-only features. Without root the test
/// fails with a clear message, unless `HARRIER_SKIP_PRIVILEGED=1`, in which
/// case it says it is skipped and returns `false`.
pub fn privileged(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("HARRIER_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("SKIPPED: {test} needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)");
        return false;
    }
    panic!(
        "{test} needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) to load eBPF programs; run as root or set HARRIER_SKIP_PRIVILEGED=1 to skip"
    );
}
