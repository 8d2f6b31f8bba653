//! Live tests of the spine families: exec, exit, fork, file-open, net-connect.
//! Each performs the real syscall and asserts the decoded event.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;

use harrier_events::{Event, EventDetail, EventKind, SocketAddress};

use common::{me, sensor};

#[test]
fn exec_fork_exit_of_a_marked_child() {
    let Some(mut s) = sensor(
        "exec_fork_exit_of_a_marked_child",
        &[EventKind::Exec, EventKind::Fork, EventKind::Exit],
    ) else {
        return;
    };
    let marker = format!("harrier-marker-{}", me());
    let child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("exit 3")
        .arg(&marker)
        .env("LD_LIBRARY_PATH", "/opt/harrier-test")
        .env("LD_PRELOAD", "/nonexistent/harrier-preload.so")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sh");
    let pid = child.id();
    let status = child.wait_with_output().expect("wait").status;
    assert_eq!(status.code(), Some(3));

    let fork = s.wait_for(
        "fork",
        |e| matches!(&e.detail, EventDetail::Fork(f) if f.child_pid == pid),
    );
    assert_eq!(fork.process.pid, me());
    let EventDetail::Fork(f) = &fork.detail else {
        unreachable!()
    };
    assert_ne!(f.clone_flags, 0, "clone flags of the spawn are known");
    let exec = s.wait_for(
        "exec",
        |e| matches!(&e.detail, EventDetail::Exec(x) if x.args.contains(&marker)),
    );
    let EventDetail::Exec(x) = &exec.detail else {
        unreachable!()
    };
    assert_eq!(exec.process.pid, pid);
    assert_eq!(exec.process.ppid, me());
    assert_eq!(exec.process.uid, 0);
    assert_eq!(exec.process.euid, 0);
    assert!(x.filename.ends_with("/sh"), "filename {}", x.filename);
    assert_eq!(
        exec.process.exe,
        std::fs::canonicalize(&x.filename)
            .unwrap()
            .to_string_lossy()
            .as_ref()
    );
    assert_eq!(x.args, vec!["/bin/sh", "-c", "exit 3", marker.as_str()]);
    assert!(!x.args_truncated);
    assert_eq!(
        x.cwd,
        std::env::current_dir().unwrap().to_string_lossy().as_ref()
    );
    assert_eq!(x.ld_library_path.as_deref(), Some("/opt/harrier-test"));
    assert_eq!(
        x.ld_preload.as_deref(),
        Some("/nonexistent/harrier-preload.so")
    );
    let meta = std::fs::metadata(&x.filename).expect("stat exe");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(x.inode, meta.ino());
    assert_eq!(x.dev, meta.dev());
    assert_eq!(x.file_mode, meta.mode());
    assert_eq!(
        x.mtime_ns,
        meta.mtime() as u64 * 1_000_000_000 + meta.mtime_nsec() as u64
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(exec.time_ns <= now && now - exec.time_ns < 10_000_000_000);
    assert!(exec.seq > 0);

    let exit = s.wait_for("exit", |e| {
        e.process.pid == pid && matches!(e.detail, EventDetail::Exit(_))
    });
    let EventDetail::Exit(x) = exit.detail else {
        unreachable!()
    };
    assert_eq!((x.code, x.signal), (3, 0));
    assert!(exit.seq > exec.seq);
}

#[test]
fn exec_argv_is_bounded_and_marked_truncated() {
    let Some(mut s) = sensor("exec_argv_is_bounded", &[EventKind::Exec]) else {
        return;
    };
    let marker = format!("harrier-long-{}", me());
    let long: Vec<String> = (0..400).map(|i| format!("argument-{i:04}")).collect();
    let status = std::process::Command::new("/bin/true")
        .arg(&marker)
        .args(&long)
        .status()
        .expect("run true");
    assert!(status.success());
    let exec = s.wait_for(
        "exec",
        |e| matches!(&e.detail, EventDetail::Exec(x) if x.args.get(1) == Some(&marker)),
    );
    let EventDetail::Exec(x) = exec.detail else {
        unreachable!()
    };
    assert!(x.args_truncated);
    assert!(x.args.len() < 402);
    assert_eq!(x.args[2], "argument-0000");
}

#[test]
fn exec_as_another_user_reports_uid_and_euid() {
    let Some(mut s) = sensor("exec_as_another_user", &[EventKind::Exec]) else {
        return;
    };
    let marker = format!("harrier-uid-{}", me());
    let status = std::process::Command::new("/bin/true")
        .arg(&marker)
        .uid(65534)
        .gid(65534)
        .status()
        .expect("run true as nobody");
    assert!(status.success());
    let exec = s.wait_for(
        "exec",
        |e| matches!(&e.detail, EventDetail::Exec(x) if x.args.contains(&marker)),
    );
    assert_eq!(
        (
            exec.process.uid,
            exec.process.euid,
            exec.process.gid,
            exec.process.egid
        ),
        (65534, 65534, 65534, 65534)
    );
}

#[test]
fn file_open_reports_path_flags_mode_and_result() {
    let Some(mut s) = sensor("file_open", &[EventKind::FileOpen]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opened.txt");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    f.write_all(b"x").unwrap();
    use std::os::fd::AsRawFd;
    let fd = f.as_raw_fd() as i64;
    let want = path.to_string_lossy().into_owned();
    let ev = s.wait_for(
        "file-open",
        |e| matches!(&e.detail, EventDetail::FileOpen(o) if o.path == want),
    );
    let EventDetail::FileOpen(o) = ev.detail else {
        unreachable!()
    };
    assert_eq!(ev.process.pid, me());
    assert_ne!(o.flags & libc::O_CREAT as u32, 0);
    assert_ne!(o.flags & libc::O_WRONLY as u32, 0);
    assert_eq!(o.mode, 0o666);
    assert_eq!(o.result, fd);

    // A failing open reports -ENOENT.
    let missing = dir.path().join("missing");
    assert!(std::fs::File::open(&missing).is_err());
    let want = missing.to_string_lossy().into_owned();
    let ev = s.wait_for(
        "failed file-open",
        |e| matches!(&e.detail, EventDetail::FileOpen(o) if o.path == want),
    );
    let EventDetail::FileOpen(o) = ev.detail else {
        unreachable!()
    };
    assert_eq!(o.result, -(libc::ENOENT as i64));
}

#[test]
fn relative_open_is_made_absolute() {
    let Some(mut s) = sensor("relative_open", &[EventKind::FileOpen]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("cat ./relative-target.txt 2>/dev/null; true")
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(child.success());
    let want = dir
        .path()
        .join("relative-target.txt")
        .to_string_lossy()
        .into_owned();
    s.wait_for(
        "relative file-open",
        |e| matches!(&e.detail, EventDetail::FileOpen(o) if o.path == want),
    );
}

#[test]
fn net_connect_reports_ipv4_ipv6_and_unix_addresses() {
    let Some(mut s) = sensor("net_connect", &[EventKind::NetConnect]) else {
        return;
    };
    let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let port4 = v4.local_addr().unwrap().port();
    let _c4 = TcpStream::connect(("127.0.0.1", port4)).unwrap();
    let ev = s.wait_for("IPv4 connect", |e| {
        matches!(&e.detail, EventDetail::NetConnect(n)
            if n.address == SocketAddress::Ipv4(("127.0.0.1".into(), port4)))
    });
    let EventDetail::NetConnect(n) = ev.detail else {
        unreachable!()
    };
    assert_eq!(n.result, 0);
    assert_eq!(ev.process.pid, me());

    if let Ok(v6) = TcpListener::bind("[::1]:0") {
        let port6 = v6.local_addr().unwrap().port();
        let _c6 = TcpStream::connect(("::1", port6)).unwrap();
        s.wait_for("IPv6 connect", |e| {
            matches!(&e.detail, EventDetail::NetConnect(n)
                if n.address == SocketAddress::Ipv6(("::1".into(), port6)))
        });
    }

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("harrier.sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let _c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    let want = sock.to_string_lossy().into_owned();
    s.wait_for("unix connect", |e| {
        matches!(&e.detail, EventDetail::NetConnect(n) if n.address == SocketAddress::Unix(want.clone()))
    });

    // A refused connection carries the errno.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(TcpStream::connect(("127.0.0.1", closed_port)).is_err());
    let ev = s.wait_for("refused connect", |e| {
        matches!(&e.detail, EventDetail::NetConnect(n)
            if n.address == SocketAddress::Ipv4(("127.0.0.1".into(), closed_port)))
    });
    let EventDetail::NetConnect(n) = ev.detail else {
        unreachable!()
    };
    assert_eq!(n.result, -(libc::ECONNREFUSED as i64));
}

#[test]
fn disabled_kinds_are_not_emitted_and_stats_count() {
    let Some(mut s) = sensor("disabled_kinds", &[EventKind::Exit, EventKind::Exec]) else {
        return;
    };
    let status = std::process::Command::new("/bin/true").status().unwrap();
    assert!(status.success());
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    while std::time::Instant::now() < deadline {
        s.sensor
            .poll(&mut out, 1024, std::time::Duration::from_millis(50))
            .unwrap();
    }
    assert!(out.iter().all(|e| match &e.detail {
        EventDetail::Exit(_) => true,
        EventDetail::Exec(x) => !x.filename.is_empty(),
        _ => false,
    }));
    assert!(!out.is_empty());
    let stats = s.sensor.stats();
    let exits = out
        .iter()
        .filter(|e| matches!(e.detail, EventDetail::Exit(_)))
        .count();
    assert_eq!(stats.received_of(EventKind::Exit), exits as u64);
    assert_eq!(
        stats.received_of(EventKind::Exit) + stats.received_of(EventKind::Exec),
        out.len() as u64
    );
    assert_eq!(stats.received_of(EventKind::FileOpen), 0);
    assert_eq!(stats.decode_errors, 0);
    let seqs: Vec<u64> = out.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seqs[0], 1);
    let f = s.sensor.features();
    assert!(f.attached.iter().any(|a| a == "raw_tp/sys_enter"));
    eprintln!(
        "sensor start-up: {} ms; fentry: {}; lsm: {}; tracefs: {}",
        f.startup.as_millis(),
        f.fentry,
        f.lsm,
        f.tracefs
    );
    eprintln!("start-up phases: {:?}", f.phases);
}

#[test]
fn ring_overflow_is_counted_per_kind() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0
        && std::env::var("HARRIER_SKIP_PRIVILEGED").as_deref() == Ok("1")
    {
        eprintln!("SKIPPED: ring_overflow_is_counted_per_kind needs root (loads eBPF programs)");
        return;
    }
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "ring_overflow_is_counted_per_kind needs root (loads eBPF programs)"
    );
    let config = harrier_sensor::SensorConfig {
        ring_buffer_bytes: 4096,
        exclude_pids: Vec::new(),
        ..Default::default()
    };
    let mut sensor = harrier_sensor::LiveSensor::start(&config).expect("sensor starts");
    sensor.set_enabled(&[EventKind::FileOpen]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2000 {
        let _ = std::fs::File::open(dir.path().join(format!("missing-{i}")));
    }
    let stats = sensor.stats();
    assert!(stats.dropped_of(EventKind::FileOpen) > 0, "{stats:?}");
    assert_eq!(stats.dropped_of(EventKind::Exec), 0);
    let mut out = Vec::new();
    sensor
        .poll(&mut out, 100_000, std::time::Duration::from_millis(10))
        .unwrap();
    assert!(!out.is_empty());
    assert_eq!(
        sensor.stats().received_of(EventKind::FileOpen),
        out.len() as u64
    );
}

#[test]
fn bursts_arrive_complete_and_excluded_pids_are_silent() {
    let Some(mut s) = sensor("bursts_arrive_complete", &[EventKind::FileOpen]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("burst");
    let marker = marker.to_string_lossy().into_owned();
    let n = 20_000;
    let start = std::time::Instant::now();
    for _ in 0..n {
        let _ = std::fs::File::open(&marker);
    }
    let mut seen = 0;
    let mut out = Vec::with_capacity(4096);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen < n && std::time::Instant::now() < deadline {
        out.clear();
        s.sensor
            .poll(&mut out, 4096, std::time::Duration::from_millis(50))
            .unwrap();
        seen += out
            .iter()
            .filter(|e| matches!(&e.detail, EventDetail::FileOpen(o) if o.path == marker))
            .count();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    eprintln!("burst: {n} opens -> {seen} events, {rate:.0} events/s end to end");
    assert_eq!(seen, n);
    let stats = s.sensor.stats();
    assert_eq!(stats.dropped_of(EventKind::FileOpen), 0);
    eprintln!(
        "burst: kernel-skipped runs (all programs, whole system): {}",
        stats.missed
    );

    // Once excluded, this process's opens are filtered in the kernel.
    s.sensor.exclude_pid(me()).unwrap();
    for _ in 0..100 {
        let _ = std::fs::File::open(&marker);
    }
    let leaked = s.drain_matching(|e| {
        e.process.pid == me() && matches!(&e.detail, EventDetail::FileOpen(o) if o.path == marker)
    });
    assert_eq!(leaked, 0);
}

#[test]
fn read_only_opens_outside_the_wanted_prefixes_stay_in_the_kernel() {
    use std::os::fd::AsRawFd;
    let Some(mut s) = sensor("open_prefixes_filter", &[EventKind::FileOpen]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let wanted = dir.path().join("wanted");
    let other = dir.path().join("other");
    std::fs::write(&wanted, b"w").unwrap();
    std::fs::write(&other, b"o").unwrap();
    let wanted_prefix = format!("{}/want", dir.path().display());
    s.sensor
        .set_open_prefixes(Some(&[wanted_prefix]))
        .expect("prefixes set");
    let opened = |path: &std::path::Path| {
        let path = path.to_string_lossy().into_owned();
        move |e: &Event| matches!(&e.detail, EventDetail::FileOpen(o) if o.path == path)
    };

    drop(std::fs::File::open(&other).unwrap());
    drop(std::fs::File::open(&wanted).unwrap());
    s.wait_for("wanted read-only open", opened(&wanted));
    // Writing opens pass whatever the prefixes say.
    drop(
        std::fs::OpenOptions::new()
            .append(true)
            .open(&other)
            .unwrap(),
    );
    let write = s.wait_for("writing open", opened(&other));
    let EventDetail::FileOpen(open) = &write.detail else {
        unreachable!()
    };
    assert_ne!(open.flags & libc::O_WRONLY as u32, 0, "{open:?}");
    // The read-only open of `other`, made first, never arrived.
    let read_other = opened(&other);
    let read_only = |e: &Event| {
        read_other(e)
            && matches!(&e.detail, EventDetail::FileOpen(o) if o.flags & libc::O_ACCMODE as u32 == 0)
    };
    assert_eq!(s.drain_matching(read_only), 0);

    // Relative paths are resolved at exit, so they always pass.
    let base = std::fs::File::open(dir.path()).unwrap();
    // SAFETY: a valid directory fd and a NUL-terminated path.
    let fd = unsafe { libc::openat(base.as_raw_fd(), c"other".as_ptr(), libc::O_RDONLY) };
    assert!(fd >= 0);
    // SAFETY: fd was just opened by us.
    unsafe { libc::close(fd) };
    s.wait_for("relative read-only open", opened(&other));

    // A prefix longer than the kernel compares still lets its paths through.
    let deep = dir.path().join("d".repeat(100));
    std::fs::write(&deep, b"d").unwrap();
    s.sensor
        .set_open_prefixes(Some(&[deep.to_string_lossy().into_owned()]))
        .expect("long prefix set");
    drop(std::fs::File::open(&deep).unwrap());
    s.wait_for("read-only open under a long prefix", opened(&deep));

    // No list: every open again.
    s.sensor.set_open_prefixes(None).expect("filter off");
    drop(std::fs::File::open(&other).unwrap());
    s.wait_for("read-only open with the filter off", opened(&other));
}

/// The cgroup2 mount point (the unified hierarchy on a hybrid v1/v2 host).
fn cgroup2_root() -> std::path::PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    mountinfo
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split(' ').next() == Some("cgroup2")).then(|| left.split(' ').nth(4))?
        })
        .map(std::path::PathBuf::from)
        .expect("a cgroup2 hierarchy is mounted")
}

/// A cgroup2 directory created for one test, removed on drop (after its processes exited).
struct TestCgroup(std::path::PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn cgroup_id_of_a_process_that_exits_at_once_is_its_cgroup2_inode() {
    let Some(mut s) = sensor(
        "cgroup_id_of_a_process_that_exits_at_once",
        &[EventKind::Exec, EventKind::Exit],
    ) else {
        return;
    };
    use std::os::unix::fs::MetadataExt;
    let dir = cgroup2_root().join(format!("harrier-test-cgroup-{}", me()));
    let _ = std::fs::remove_dir(&dir);
    std::fs::create_dir(&dir).expect("create a cgroup2 directory");
    let cgroup = TestCgroup(dir);
    let inode = std::fs::metadata(&cgroup.0).expect("stat cgroup").ino();
    let procs = std::ffi::CString::new(
        cgroup
            .0
            .join("cgroup.procs")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("no NUL in the path");
    let marker = format!("harrier-cgroup-{}", me());
    let mut cmd = std::process::Command::new("/bin/true");
    cmd.arg(&marker);
    // SAFETY: the closure only calls open, write and close (async-signal-safe), no allocation.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
            if written != 1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn true in the cgroup");
    let pid = child.id();
    assert!(child.wait_with_output().expect("wait").status.success());

    let exec = s.wait_for(
        "exec",
        |e| matches!(&e.detail, EventDetail::Exec(x) if x.args.contains(&marker)),
    );
    assert_eq!(exec.process.pid, pid);
    assert_eq!(
        exec.process.cgroup_id,
        Some(inode),
        "exec carries the cgroup's inode"
    );
    let exit = s.wait_for("exit", |e| {
        e.process.pid == pid && matches!(e.detail, EventDetail::Exit(_))
    });
    assert_eq!(
        exit.process.cgroup_id,
        Some(inode),
        "exit carries the cgroup's inode"
    );
    // This process is elsewhere: the id tells cgroups apart.
    assert_ne!(
        std::fs::metadata(cgroup2_root()).unwrap().ino(),
        inode,
        "a fresh cgroup has its own inode"
    );
}
