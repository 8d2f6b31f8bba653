//! LIVE: the enricher on this machine's real /proc (no root needed).

mod common;

use common::*;
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::{EventDetail, FileOpenEvent};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Kills and reaps the child when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn seed_knows_this_test_process() {
    let e = Enricher::new(EnrichConfig::default());
    let seeded = e.seed_from_proc().expect("seed from /proc");
    assert!(seeded > 1, "seeded {seeded}");
    let me = std::process::id();
    let info = e.process(me).expect("own pid seeded");
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    assert_eq!(info.exe, exe.to_str().unwrap());
    assert_eq!(info.ppid, std::os::unix::process::parent_id());
    assert!(info.cmdline.contains("live_proc"), "{}", info.cmdline);
    assert_eq!(info.cwd, std::env::current_dir().unwrap().to_str().unwrap());
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        info.start_time_ns > now_ns - 3600 * S && info.start_time_ns <= now_ns + S,
        "start time {} vs now {now_ns}",
        info.start_time_ns
    );
    assert_eq!(info.uid, unsafe { libc::getuid() });
    assert!(!e.ancestry(me, 64).is_empty(), "own parent is known");
}

#[test]
fn spawned_child_is_loaded_lazily_and_its_exe_hashed() {
    let child = Child(
        Command::new("sleep")
            .arg("30")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn sleep"),
    );
    let pid = child.0.id();
    let e = Enricher::new(EnrichConfig::default());
    let uid = unsafe { libc::getuid() };
    let mut ev = event(
        S,
        proc_of(pid, 0, uid),
        EventDetail::FileOpen(FileOpenEvent {
            path: "/etc/ld.so.cache".into(),
            flags: 0,
            mode: 0,
            result: 3,
        }),
    );
    // sleep may still be between fork and exec for a moment.
    let exe = wait_for(Duration::from_secs(5), || {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        exe.to_str()?
            .ends_with("sleep")
            .then(|| exe.to_str().unwrap().to_owned())
    })
    .expect("child exec'd sleep");
    e.observe(&mut ev);
    assert_eq!(ev.process.exe, exe);
    assert_eq!(ev.process.ppid, std::process::id());
    assert_eq!(e.stats().lazily_loaded, 1);
    let info = e.process(pid).unwrap();
    assert_eq!(info.cmdline, "sleep 30");

    let expected = Command::new("sha256sum")
        .arg(&exe)
        .output()
        .expect("run sha256sum");
    let expected = String::from_utf8(expected.stdout).unwrap();
    let expected = expected
        .split_whitespace()
        .next()
        .expect("sha256sum output");
    let got = wait_for(Duration::from_secs(10), || e.process(pid)?.exe_sha256);
    assert_eq!(got.as_deref(), Some(expected));
    drop(child);
}
