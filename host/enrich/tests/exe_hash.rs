//! Executable hashing off the event path (fake procfs: `exe` links to a temp file).

mod common;

use common::*;
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::{EventDetail, ExecEvent};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn exec_of(path: &Path) -> EventDetail {
    let m = std::fs::metadata(path).unwrap();
    EventDetail::Exec(ExecEvent {
        args_gap: None,
        filename: path.to_str().unwrap().into(),
        args: vec![],
        args_truncated: false,
        cwd: "/".into(),
        ld_preload: None,
        ld_library_path: None,
        file_mode: 0o755,
        dev: m.dev(),
        inode: m.ino(),
        mtime_ns: m.mtime() as u64 * S + m.mtime_nsec() as u64,
    })
}

fn add(fake: &FakeProc, pid: u32, exe: &Path) {
    fake.add(&FakePid {
        pid,
        ppid: 1,
        uid: 0,
        exe,
        cmdline: &["x"],
        cwd: "/",
        start_ticks: 1,
        cgroup: "0::/\n",
    });
}

#[test]
fn exec_gets_its_hash_once_ready_and_shares_it() {
    let fake = FakeProc::new();
    let exe = fake.file("hello", b"hello");
    add(&fake, 70, &exe);
    add(&fake, 71, &exe);
    let e = Enricher::new(fake.config());
    e.observe(&mut event(S, proc_of(70, 1, 0), exec_of(&exe)));
    let hash = wait_for(Duration::from_secs(5), || e.process(70)?.exe_sha256);
    assert_eq!(hash.as_deref(), Some(HELLO_SHA256));
    // A second exec of the same file reuses the cached hash.
    e.observe(&mut event(2 * S, proc_of(71, 1, 0), exec_of(&exe)));
    assert_eq!(
        e.process(71).unwrap().exe_sha256.as_deref(),
        Some(HELLO_SHA256)
    );
    let stats = e.stats();
    assert_eq!((stats.hash_queued, stats.hash_done), (1, 1));
}

#[test]
fn process_gone_falls_back_to_the_path() {
    let fake = FakeProc::new();
    let exe = fake.file("hello", b"hello");
    let e = Enricher::new(fake.config());
    // pid 72 has no procfs entry: the executable is read by its path.
    e.observe(&mut event(S, proc_of(72, 1, 0), exec_of(&exe)));
    let hash = wait_for(Duration::from_secs(5), || e.process(72)?.exe_sha256);
    assert_eq!(hash.as_deref(), Some(HELLO_SHA256));
}

#[test]
fn large_files_are_skipped_and_counted() {
    let fake = FakeProc::new();
    let exe = fake.file("big", &[0u8; 4096]);
    add(&fake, 73, &exe);
    let e = Enricher::new(EnrichConfig {
        hash_max_file_bytes: 1024,
        ..fake.config()
    });
    e.seed_from_proc().unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || (e.stats().hash_skipped == 1)
            .then_some(()))
        .is_some()
    );
    assert_eq!(e.process(73).unwrap().exe_sha256, None);
    assert_eq!(e.stats().hash_done, 0);
}

#[test]
fn replaced_file_is_not_hashed_under_the_old_identity() {
    let fake = FakeProc::new();
    let exe = fake.file("hello", b"hello");
    let detail = exec_of(&exe);
    // Replace the file (new inode; the old one kept alive so its number is
    // not reused) before the hash thread reads it.
    std::fs::hard_link(&exe, fake.dir.path().join("old")).unwrap();
    std::fs::write(fake.dir.path().join("other"), b"other").unwrap();
    std::fs::rename(fake.dir.path().join("other"), &exe).unwrap();
    let e = Enricher::new(fake.config());
    e.observe(&mut event(S, proc_of(74, 1, 0), detail));
    assert!(
        wait_for(Duration::from_secs(5), || (e.stats().hash_failed == 1)
            .then_some(()))
        .is_some()
    );
    assert_eq!(e.process(74).unwrap().exe_sha256, None);
}

#[test]
fn replay_mode_hashes_nothing() {
    let fake = FakeProc::new();
    let exe = fake.file("hello", b"hello");
    let e = Enricher::new(EnrichConfig {
        read_proc: false,
        ..fake.config()
    });
    e.observe(&mut event(S, proc_of(75, 1, 0), exec_of(&exe)));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(e.stats().hash_queued, 0);
    assert_eq!(e.process(75).unwrap().exe_sha256, None);
}
