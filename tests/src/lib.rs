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
    }
}

/// An exec event of `filename` with `args`.
pub fn exec_event(seq: u64, pid: u32, filename: &str, args: &[&str]) -> Event {
    Event {
        seq,
        time_ns: 1_700_000_000_000_000_000 + seq * 1000,
        process: process(pid, "sh", "/bin/sh"),
        detail: EventDetail::Exec(ExecEvent {
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
