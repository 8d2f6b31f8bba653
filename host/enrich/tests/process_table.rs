//! The process table driven by events: lifecycle, lazy loading, filling,
//! ancestry, credentials, capacity (fake procfs or none).

mod common;

use common::*;
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::{EventDetail, ExecEvent, ExitEvent, FileOpenEvent, ForkEvent};
use std::path::PathBuf;
use std::time::Duration;

const ID: &str = "4a3f1b0c9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
const UID: &str = "0b8a5c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";

fn exec(filename: &str, args: &[&str], cwd: &str) -> EventDetail {
    EventDetail::Exec(ExecEvent {
        args_gap: None,
        filename: filename.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        args_truncated: false,
        cwd: cwd.into(),
        ld_preload: None,
        ld_library_path: None,
        file_mode: 0o755,
        dev: 0,
        inode: 0,
        mtime_ns: 0,
    })
}

fn fork(child: u32) -> EventDetail {
    EventDetail::Fork(ForkEvent {
        child_pid: child,
        clone_flags: 0,
    })
}

fn exit() -> EventDetail {
    EventDetail::Exit(ExitEvent { code: 0, signal: 0 })
}

fn open_read(path: &str) -> EventDetail {
    EventDetail::FileOpen(FileOpenEvent {
        path: path.into(),
        flags: 0,
        mode: 0,
        result: 3,
    })
}

#[test]
fn enricher_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Enricher>();
}

#[test]
fn fork_exec_fill_exit_linger_and_sweep() {
    let e = Enricher::new(EnrichConfig {
        read_proc: false,
        exit_linger: Duration::from_secs(5),
        ..EnrichConfig::default()
    });
    // The parent is first seen in an exec: tracked from the event.
    let mut ev = event(
        S,
        proc_of(100, 1, 0),
        exec("/bin/bash", &["bash", "-l"], "/root"),
    );
    e.observe(&mut ev);
    assert_eq!(ev.process.exe, "/bin/bash", "exec event gets the new exe");
    let parent = e.process(100).expect("parent tracked");
    assert_eq!(parent.exe, "/bin/bash");
    assert_eq!(parent.cmdline, "bash -l");
    assert_eq!(parent.cwd, "/root");
    assert_eq!(parent.ppid, 1);

    // fork: the child starts as a copy of the parent.
    e.observe(&mut event(2 * S, proc_of(100, 1, 0), fork(101)));
    let child = e.process(101).expect("child tracked");
    assert_eq!((child.ppid, child.exe.as_str()), (100, "/bin/bash"));
    assert_eq!(child.start_time_ns, 2 * S);

    // exec in the child.
    e.observe(&mut event(
        3 * S,
        proc_of(101, 100, 0),
        exec("/usr/bin/curl", &["curl", "x"], "/tmp"),
    ));
    // A file event of the child gets exe and ppid filled in.
    let mut open = event(4 * S, proc_of(101, 0, 0), open_read("/etc/hosts"));
    e.observe(&mut open);
    assert_eq!(open.process.exe, "/usr/bin/curl");
    assert_eq!(open.process.ppid, 100);
    assert_eq!(open.process.container_id, None);

    // exit: still answerable during the linger, gone after a sweep past it.
    e.observe(&mut event(5 * S, proc_of(101, 100, 0), exit()));
    assert!(e.process(101).is_some());
    assert_eq!(e.stats().processes_exited, 1);
    e.observe(&mut event(9 * S, proc_of(100, 1, 0), open_read("/x")));
    assert!(
        e.process(101).is_some(),
        "4 s after exit, within the 5 s linger"
    );
    e.observe(&mut event(11 * S, proc_of(100, 1, 0), open_read("/x")));
    assert!(e.process(101).is_none(), "swept 6 s after exit");
    assert!(e.process(100).is_some());
}

#[test]
fn sensor_supplied_fields_are_not_overwritten() {
    let e = offline();
    e.observe(&mut event(S, proc_of(7, 1, 0), exec("/bin/sh", &[], "")));
    let mut p = proc_of(7, 1, 0);
    p.exe = "/proc/self/exe-from-sensor".into();
    p.container_id = Some("abc".into());
    let mut ev = event(2 * S, p, open_read("/x"));
    e.observe(&mut ev);
    assert_eq!(ev.process.exe, "/proc/self/exe-from-sensor");
    assert_eq!(ev.process.container_id.as_deref(), Some("abc"));
    assert_eq!(
        e.process(7).unwrap().cmdline,
        "/bin/sh",
        "no args: cmdline is the file"
    );
}

#[test]
fn threads_do_not_become_processes() {
    let e = offline();
    e.observe(&mut event(
        S,
        proc_of(10, 1, 0),
        exec("/bin/app", &["app"], "/"),
    ));
    e.observe(&mut event(
        2 * S,
        proc_of(10, 1, 0),
        EventDetail::Fork(ForkEvent {
            child_pid: 11,
            clone_flags: libc::CLONE_THREAD as u64 | libc::CLONE_VM as u64,
        }),
    ));
    assert!(e.process(11).is_none(), "a thread is not a process");
    // A thread's exit does not end the process.
    let mut thread = proc_of(10, 1, 0);
    thread.tid = 12;
    e.observe(&mut event(3 * S, thread, exit()));
    assert_eq!(e.stats().processes_exited, 0);
}

#[test]
fn credential_changes_follow_the_kernel() {
    let e = offline();
    e.observe(&mut event(
        S,
        proc_of(20, 1, 1000),
        exec("/usr/bin/sudo", &["sudo"], "/"),
    ));
    assert_eq!(e.process(20).unwrap().euid, 1000);
    let mut p = proc_of(20, 1, 1000);
    p.euid = 0;
    e.observe(&mut event(2 * S, p, open_read("/etc/shadow")));
    let info = e.process(20).unwrap();
    assert_eq!((info.uid, info.euid), (1000, 0));
}

#[test]
fn ancestry_nearest_first_bounded_and_cycle_safe() {
    let e = offline();
    // 1 -> 2 -> 3 -> 4
    e.observe(&mut event(
        S,
        proc_of(1, 0, 0),
        exec("/sbin/init", &["init"], "/"),
    ));
    for (parent, child) in [(1, 2), (2, 3), (3, 4)] {
        e.observe(&mut event(S, proc_of(parent, 0, 0), fork(child)));
    }
    let chain: Vec<u32> = e.ancestry(4, 10).iter().map(|p| p.pid).collect();
    assert_eq!(chain, [3, 2, 1]);
    let chain: Vec<u32> = e.ancestry(4, 2).iter().map(|p| p.pid).collect();
    assert_eq!(chain, [3, 2]);
    assert!(e.ancestry(4, 0).is_empty());
    assert!(e.ancestry(999, 5).is_empty());

    // A cycle 50 -> 51 -> 50 (as a confused event stream could make).
    e.observe(&mut event(S, proc_of(50, 51, 0), exec("/a", &[], "")));
    e.observe(&mut event(S, proc_of(51, 50, 0), exec("/b", &[], "")));
    let chain: Vec<u32> = e.ancestry(50, u32::MAX).iter().map(|p| p.pid).collect();
    assert_eq!(chain, [51]);
}

#[test]
fn pid_reuse_after_exit_is_a_new_process() {
    let e = Enricher::new(EnrichConfig {
        read_proc: false,
        exit_linger: Duration::from_secs(5),
        ..EnrichConfig::default()
    });
    e.observe(&mut event(
        S,
        proc_of(1, 0, 0),
        exec("/sbin/init", &["init"], "/"),
    ));
    e.observe(&mut event(S, proc_of(1, 0, 0), fork(30)));
    e.observe(&mut event(S, proc_of(30, 1, 0), exec("/old", &[], "")));
    e.observe(&mut event(2 * S, proc_of(30, 1, 0), exit()));
    // pid 30 reused by a new child of 1 within the linger.
    e.observe(&mut event(3 * S, proc_of(1, 0, 0), fork(30)));
    e.observe(&mut event(3 * S, proc_of(30, 1, 0), exec("/new", &[], "")));
    // Past the old process's linger, the new one must stay.
    e.sweep(20 * S);
    assert_eq!(e.process(30).expect("new process kept").exe, "/new");
}

#[test]
fn capacity_evicts_exited_first_then_live() {
    let e = Enricher::new(EnrichConfig {
        read_proc: false,
        max_processes: 3,
        ..EnrichConfig::default()
    });
    for pid in [1, 2, 3] {
        e.observe(&mut event(S, proc_of(pid, 0, 0), exec("/x", &[], "")));
    }
    e.observe(&mut event(S, proc_of(2, 0, 0), exit()));
    e.observe(&mut event(S, proc_of(4, 0, 0), exec("/y", &[], "")));
    assert!(e.process(2).is_none(), "the exited process makes room");
    assert!(e.process(4).is_some());
    assert_eq!(e.stats().processes_evicted, 0);
    e.observe(&mut event(S, proc_of(5, 0, 0), exec("/z", &[], "")));
    let stats = e.stats();
    assert_eq!(stats.processes_tracked, 3);
    assert_eq!(stats.processes_evicted, 1);
    assert!(e.process(5).is_some());
    assert!(e.process(1).is_some(), "pid 1 is never evicted");
}

fn fake_with_container(fake: &FakeProc, pid: u32) -> PathBuf {
    let exe = fake.file("app", b"binary");
    let cgroup = format!(
        "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{ID}.scope\n",
        UID.replace('-', "_")
    );
    fake.add(&FakePid {
        pid,
        ppid: 1,
        uid: 1000,
        exe: &exe,
        cmdline: &["app", "--serve", "8080"],
        cwd: "/srv",
        start_ticks: 500,
        cgroup: &cgroup,
    });
    exe
}

#[test]
fn unseen_process_is_read_from_proc_once() {
    let fake = FakeProc::new();
    let exe = fake_with_container(&fake, 4242);
    let e = Enricher::new(fake.config());
    for t in 1..=3 {
        let mut ev = event(t * S, proc_of(4242, 0, 1000), open_read("/etc/hosts"));
        e.observe(&mut ev);
        assert_eq!(ev.process.exe, exe.to_str().unwrap());
        assert_eq!(ev.process.container_id.as_deref(), Some(ID));
        assert_eq!(ev.process.ppid, 1);
    }
    assert_eq!(e.stats().lazily_loaded, 1, "procfs read once");
    let info = e.process(4242).unwrap();
    assert_eq!(info.cmdline, "app --serve 8080");
    assert_eq!(info.cwd, "/srv");
    assert_eq!(info.pod_uid.as_deref(), Some(UID));
    assert_eq!(info.user_name.as_deref(), Some("alice"));
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    assert_eq!(info.start_time_ns, BTIME * S + 500 * S / ticks);

    // A pid procfs does not have: tracked from the event, never re-read.
    for t in 1..=3 {
        e.observe(&mut event(t * S, proc_of(5555, 1, 0), open_read("/x")));
    }
    let stats = e.stats();
    assert_eq!((stats.lazily_loaded, stats.event_only), (1, 1));
    let info = e.process(5555).unwrap();
    assert_eq!(info.cmdline, "comm5555");
    assert_eq!(info.user_name.as_deref(), Some("root"));
}

#[test]
fn fork_inherits_container_and_seed_reads_everything() {
    let fake = FakeProc::new();
    fake_with_container(&fake, 300);
    let init = fake.file("init", b"init binary");
    fake.add(&FakePid {
        pid: 1,
        ppid: 0,
        uid: 0,
        exe: &init,
        cmdline: &["/sbin/init"],
        cwd: "/",
        start_ticks: 1,
        cgroup: "0::/init.scope\n",
    });
    let e = Enricher::new(fake.config());
    assert_eq!(e.seed_from_proc().unwrap(), 2);
    assert_eq!(e.stats().processes_seeded, 2);
    assert_eq!(e.process(1).unwrap().container_id, None);
    assert_eq!(e.process(300).unwrap().container_id.as_deref(), Some(ID));
    e.observe(&mut event(S, proc_of(300, 1, 1000), fork(301)));
    let child = e.process(301).unwrap();
    assert_eq!(child.container_id.as_deref(), Some(ID));
    assert_eq!(child.pod_uid.as_deref(), Some(UID));
    let chain: Vec<u32> = e.ancestry(301, 8).iter().map(|p| p.pid).collect();
    assert_eq!(chain, [300, 1]);
}

#[test]
fn seed_names_a_bad_proc_root() {
    let e = Enricher::new(EnrichConfig {
        proc_root: PathBuf::from("/nonexistent-proc-root"),
        ..EnrichConfig::default()
    });
    let err = e.seed_from_proc().unwrap_err();
    assert!(err.to_string().contains("/nonexistent-proc-root"), "{err}");
}

#[test]
fn concurrent_readers_while_the_pipeline_writes() {
    let e = std::sync::Arc::new(offline());
    e.observe(&mut event(
        S,
        proc_of(1, 0, 0),
        exec("/sbin/init", &["init"], "/"),
    ));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (e, stop) = (e.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut answered = 0u64;
                // At least one full pass, however the threads are scheduled.
                loop {
                    let last_pass = stop.load(std::sync::atomic::Ordering::Relaxed);
                    for pid in 1..200 {
                        if let Some(p) = e.process(pid) {
                            assert!(p.exe == "/sbin/init" || p.exe.starts_with("/bin/"));
                            answered += 1;
                        }
                        let chain = e.ancestry(pid, 64);
                        assert!(chain.len() <= 64);
                        let _ = e.recent_write("/tmp/f", 10 * S);
                    }
                    if last_pass {
                        break;
                    }
                }
                answered
            })
        })
        .collect();
    for round in 0..50u64 {
        for pid in 2..200u32 {
            let t = S + round * 1000 + pid as u64;
            e.observe(&mut event(t, proc_of(1, 0, 0), fork(pid)));
            e.observe(&mut event(
                t,
                proc_of(pid, 1, 0),
                exec(&format!("/bin/p{pid}"), &[], ""),
            ));
            e.observe(&mut event(t, proc_of(pid, 1, 0), exit()));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(answered > 0);
    assert_eq!(e.process(150).unwrap().exe, "/bin/p150");
}

#[test]
fn relative_exec_path_is_made_absolute_from_proc() {
    let fake = FakeProc::new();
    let exe = fake_with_container(&fake, 600);
    let e = Enricher::new(fake.config());
    let mut ev = event(S, proc_of(600, 1, 1000), exec("./app", &["./app"], "/srv"));
    e.observe(&mut ev);
    assert_eq!(ev.process.exe, exe.to_str().unwrap());
    assert_eq!(e.process(600).unwrap().exe, exe.to_str().unwrap());
}

#[test]
fn lookups_of_unseen_pids_read_proc_once() {
    let fake = FakeProc::new();
    fake_with_container(&fake, 700);
    let init = fake.file("init", b"init binary");
    fake.add(&FakePid {
        pid: 1,
        ppid: 0,
        uid: 0,
        exe: &init,
        cmdline: &["/sbin/init"],
        cwd: "/",
        start_ticks: 1,
        cgroup: "0::/init.scope\n",
    });
    let e = Enricher::new(fake.config());
    // A ptrace target, say, never seen in an event.
    assert_eq!(e.process(700).unwrap().cmdline, "app --serve 8080");
    let chain: Vec<u32> = e.ancestry(700, 8).iter().map(|p| p.pid).collect();
    assert_eq!(chain, [1]);
    assert!(e.process(700).is_some());
    assert_eq!(e.stats().lazily_loaded, 2);
    assert!(e.process(9999).is_none());
    // Without procfs, look-ups only answer from the table.
    let offline = Enricher::new(EnrichConfig {
        read_proc: false,
        ..fake.config()
    });
    assert!(offline.process(700).is_none());
}
