//! The recent-write tracker fed by file events.

mod common;

use common::*;
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::{
    EventDetail, ExecEvent, FileChmodEvent, FileOpenEvent, FilePathEvent, FilePathPairEvent,
    FileWriteEvent,
};
use std::time::Duration;

fn enricher() -> Enricher {
    let e = Enricher::new(EnrichConfig {
        read_proc: false,
        recent_write_window: Duration::from_secs(60),
        ..EnrichConfig::default()
    });
    e.observe(&mut event(
        S,
        proc_of(40, 1, 0),
        EventDetail::Exec(ExecEvent {
            args_gap: None,
            filename: "/usr/bin/curl".into(),
            args: vec!["curl".into()],
            args_truncated: false,
            cwd: "/tmp".into(),
            ld_preload: None,
            ld_library_path: None,
            file_mode: 0o755,
            dev: 0,
            inode: 0,
            mtime_ns: 0,
        }),
    ));
    e
}

fn open(path: &str, flags: i32, result: i64) -> EventDetail {
    EventDetail::FileOpen(FileOpenEvent {
        path: path.into(),
        flags: flags as u32,
        mode: 0o644,
        result,
    })
}

#[test]
fn create_by_open_is_recorded_with_the_writer() {
    let e = enricher();
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
    e.observe(&mut event(
        2 * S,
        proc_of(40, 1, 0),
        open("/tmp/payload", flags, 3),
    ));
    let w = e.recent_write("/tmp/payload", 3 * S).expect("recorded");
    assert_eq!(w.path, "/tmp/payload");
    assert_eq!((w.writer_pid, w.writer_exe.as_str()), (40, "/usr/bin/curl"));
    assert_eq!(w.time_ns, 2 * S);
    assert!(w.created);
    assert!(
        e.recent_write("/tmp/payload", 63 * S).is_none(),
        "outside the window"
    );
    assert_eq!(e.stats().recent_writes_tracked, 1);
}

#[test]
fn reads_failures_and_appends() {
    let e = enricher();
    e.observe(&mut event(
        2 * S,
        proc_of(40, 1, 0),
        open("/etc/passwd", libc::O_RDONLY, 3),
    ));
    e.observe(&mut event(
        2 * S,
        proc_of(40, 1, 0),
        open(
            "/etc/shadow",
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            -13,
        ),
    ));
    assert!(
        e.recent_write("/etc/passwd", 2 * S).is_none(),
        "read-only open"
    );
    assert!(
        e.recent_write("/etc/shadow", 2 * S).is_none(),
        "failed open"
    );
    e.observe(&mut event(
        2 * S,
        proc_of(40, 1, 0),
        open(
            "/var/log/app.log",
            libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND,
            4,
        ),
    ));
    let w = e
        .recent_write("/var/log/app.log", 2 * S)
        .expect("append is a write");
    assert!(!w.created, "O_CREAT|O_APPEND does not prove creation");
}

#[test]
fn write_rename_chmod_unlink() {
    let e = enricher();
    let me = || proc_of(40, 1, 0);
    e.observe(&mut event(
        2 * S,
        me(),
        open("/tmp/.x", libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 3),
    ));
    e.observe(&mut event(
        3 * S,
        me(),
        EventDetail::FileWrite(FileWriteEvent {
            path: "/tmp/.x".into(),
            bytes: 4096,
        }),
    ));
    // mv by another process: the new path inherits curl's record.
    e.observe(&mut event(
        4 * S,
        proc_of(41, 1, 0),
        EventDetail::FileRename(FilePathPairEvent {
            old_path: "/tmp/.x".into(),
            new_path: "/usr/local/bin/x".into(),
            result: 0,
        }),
    ));
    assert!(e.recent_write("/tmp/.x", 4 * S).is_none());
    let w = e.recent_write("/usr/local/bin/x", 4 * S).unwrap();
    assert_eq!((w.writer_pid, w.created, w.time_ns), (40, true, 3 * S));
    e.observe(&mut event(
        5 * S,
        proc_of(41, 1, 0),
        EventDetail::FileChmod(FileChmodEvent {
            path: "/usr/local/bin/x".into(),
            mode: 0o755,
            result: 0,
        }),
    ));
    let w = e.recent_write("/usr/local/bin/x", 5 * S).unwrap();
    assert_eq!((w.writer_pid, w.time_ns), (40, 5 * S));
    e.observe(&mut event(
        6 * S,
        me(),
        EventDetail::FileUnlink(FilePathEvent {
            path: "/usr/local/bin/x".into(),
            result: 0,
        }),
    ));
    assert!(e.recent_write("/usr/local/bin/x", 6 * S).is_none());
}

#[test]
fn bounded_by_max_recent_writes() {
    let e = Enricher::new(EnrichConfig {
        read_proc: false,
        max_recent_writes: 10,
        ..EnrichConfig::default()
    });
    for i in 0..100u64 {
        e.observe(&mut event(
            S + i,
            proc_of(9, 1, 0),
            open(&format!("/tmp/f{i}"), libc::O_WRONLY, 3),
        ));
    }
    assert_eq!(e.stats().recent_writes_tracked, 10);
    assert!(e.recent_write("/tmp/f99", 2 * S).is_some());
    assert!(e.recent_write("/tmp/f0", 2 * S).is_none());
}

#[test]
fn old_writes_are_swept_as_events_go_by() {
    let e = enricher();
    e.observe(&mut event(
        2 * S,
        proc_of(40, 1, 0),
        open("/tmp/a", libc::O_WRONLY, 3),
    ));
    assert_eq!(e.stats().recent_writes_tracked, 1);
    // Any event 61 s later (window 60 s) sweeps it out.
    e.observe(&mut event(
        63 * S,
        proc_of(40, 1, 0),
        open("/etc/hosts", 0, 3),
    ));
    assert_eq!(e.stats().recent_writes_tracked, 0);
}
