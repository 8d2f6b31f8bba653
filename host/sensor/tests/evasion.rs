//! Live tests of evasion: padded command lines, paths deeper than PATH_MAX
//! and file names that are not UTF-8 must not hide what an attacker does.

mod common;

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;

use harrier_events::{Event, EventDetail, EventKind, ExecEvent};

use common::{me, sensor};

const POOL: &str = "stratum+tcp://pool.harrier.test:3333";

fn exec_of(e: &Event) -> Option<&ExecEvent> {
    match &e.detail {
        EventDetail::Exec(x) => Some(x),
        _ => None,
    }
}

#[test]
fn a_miner_behind_seventy_padding_arguments_keeps_its_pool() {
    let Some(mut s) = sensor("miner_behind_padding", &[EventKind::Exec]) else {
        return;
    };
    let marker = format!("harrier-pad-{}", me());
    let status = std::process::Command::new("/bin/true")
        .arg(&marker)
        .args(std::iter::repeat_n("--donate-level=1", 70))
        .args(["-o", POOL])
        .status()
        .expect("run true");
    assert!(status.success());
    let ev = s.wait_for("padded exec", |e| {
        exec_of(e).is_some_and(|x| x.args.get(1) == Some(&marker))
    });
    let x = exec_of(&ev).unwrap();
    assert!(x.args_truncated);
    assert!(x.args.len() <= 64, "{} args", x.args.len());
    assert_eq!(&x.args[x.args.len() - 2..], &["-o", POOL]);
    let gap = x.args_gap.as_ref().expect("the gap is marked");
    assert!(gap.index > 1 && (gap.index as usize) < x.args.len());
    assert!(gap.omitted_bytes > 0);
}

#[test]
fn a_hundred_kilobyte_first_argument_keeps_the_tail() {
    let Some(mut s) = sensor("huge_first_argument", &[EventKind::Exec]) else {
        return;
    };
    let marker = format!("harrier-huge-{}", me());
    let huge = "x".repeat(100_000);
    let status = std::process::Command::new("/bin/true")
        .arg0(&huge)
        .arg(&marker)
        .args(["-o", POOL])
        .status()
        .expect("run true");
    assert!(status.success());
    let ev = s.wait_for("huge exec", |e| {
        exec_of(e).is_some_and(|x| x.args.last().map(String::as_str) == Some(POOL))
            && exec_of(e).is_some_and(|x| x.args.contains(&marker))
    });
    let x = exec_of(&ev).unwrap();
    assert!(x.args_truncated);
    assert!(x.args[0].starts_with("xxxx") && x.args[0].len() < 4096);
    let gap = x.args_gap.as_ref().expect("the gap is marked");
    assert_eq!(gap.index, 1, "head: a piece of the first argument");
    assert!(
        (90_000..100_001).contains(&gap.omitted_bytes),
        "{}",
        gap.omitted_bytes
    );
}

/// A directory tree of `depth` levels of 200-byte names, built with *at() calls
/// (its path is longer than PATH_MAX); returns the fd of the deepest directory.
fn deep_tree(root: &std::path::Path, depth: usize) -> i32 {
    let name = CString::new("e".repeat(200)).unwrap();
    let root = CString::new(root.as_os_str().as_bytes()).unwrap();
    // SAFETY: plain *at syscalls on fds this function owns.
    unsafe {
        let mut fd = libc::open(root.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
        assert!(fd >= 0);
        for _ in 0..depth {
            assert_eq!(libc::mkdirat(fd, name.as_ptr(), 0o755), 0);
            let next = libc::openat(fd, name.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
            assert!(next >= 0);
            libc::close(fd);
            fd = next;
        }
        fd
    }
}

/// Removes a test directory on drop.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_binary_deeper_than_path_max_in_dev_shm_keeps_its_mount_point() {
    let Some(mut s) = sensor("deep_dev_shm", &[EventKind::Exec]) else {
        return;
    };
    let top = std::path::PathBuf::from(format!("/dev/shm/harrier-deep-{}", me()));
    let _ = std::fs::remove_dir_all(&top);
    std::fs::create_dir(&top).unwrap();
    let _cleanup = Cleanup(top.clone());
    let deep = deep_tree(&top, 25);
    // Copy /bin/true in as `payload`.
    let binary = std::fs::read("/bin/true").unwrap();
    let payload = CString::new("payload").unwrap();
    // SAFETY: *at syscalls on our own fd; the buffer is live.
    unsafe {
        let fd = libc::openat(
            deep,
            payload.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o755,
        );
        assert!(fd >= 0);
        assert_eq!(
            libc::write(fd, binary.as_ptr().cast(), binary.len()),
            binary.len() as isize
        );
        libc::close(fd);
    }
    let mut cmd = std::process::Command::new("./payload");
    cmd.arg(format!("harrier-deep-{}", me()));
    // SAFETY: fchdir is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fchdir(deep) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    // Another test thread forking while the payload was open for writing
    // holds a copy of that fd until its child execs: ETXTBSY, briefly.
    let mut tries = 0;
    let status = loop {
        match cmd.status() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.expect("run the deep payload"),
        }
    };
    // SAFETY: closing our own fd.
    unsafe { libc::close(deep) };
    assert!(status.success());
    let marker = format!("harrier-deep-{}", me());
    let ev = s.wait_for("deep exec", |e| {
        exec_of(e).is_some_and(|x| x.args.get(1) == Some(&marker))
    });
    let prefix = format!("{}/", top.display());
    assert!(
        ev.process.exe.starts_with(&prefix) && ev.process.exe.ends_with("/payload"),
        "exe {}",
        ev.process.exe
    );
    assert!(
        ev.process.exe.contains("/\u{2026}/"),
        "gap shown: {}",
        ev.process.exe
    );
    let x = exec_of(&ev).unwrap();
    assert!(x.cwd.starts_with(&prefix), "cwd {}", x.cwd);
    assert!(x.filename.starts_with(&prefix), "filename {}", x.filename);
    let cut = &ev.fidelity.as_ref().expect("cut is marked").cut;
    for field in ["exe", "cwd", "filename"] {
        assert!(cut.iter().any(|c| c == field), "{field} in {cut:?}");
    }
}

#[test]
fn file_names_and_arguments_that_are_not_utf8_stay_apart() {
    let Some(mut s) = sensor("not_utf8", &[EventKind::FileOpen, EventKind::Exec]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().as_os_str().as_bytes().to_vec();
    for last in [0xffu8, 0xfe] {
        let mut path = base.clone();
        path.extend_from_slice(b"/evil\x2d");
        path.push(last);
        std::fs::write(OsStr::from_bytes(&path), b"x").unwrap();
    }
    let dirname = dir.path().to_string_lossy().into_owned();
    let escaped = |e: &Event, field: &str| -> Option<String> {
        let raw = &e.fidelity.as_ref()?.raw;
        raw.iter()
            .find(|r| r.field == field)
            .map(|r| r.escaped.clone())
    };
    let mut seen = Vec::new();
    for _ in 0..2 {
        let ev = s.wait_for("non-UTF-8 open", |e| {
            matches!(&e.detail, EventDetail::FileOpen(f) if f.path.starts_with(&dirname) && f.path.contains('\u{fffd}'))
        });
        seen.push(escaped(&ev, "path").expect("raw path carried"));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            format!("{dirname}/evil-\\xfe"),
            format!("{dirname}/evil-\\xff")
        ]
    );

    let marker = format!("harrier-utf8-{}", me());
    let status = std::process::Command::new("/bin/true")
        .arg(&marker)
        .arg(OsStr::from_bytes(b"a\\b\xff"))
        .status()
        .expect("run true");
    assert!(status.success());
    let ev = s.wait_for("non-UTF-8 exec", |e| {
        exec_of(e).is_some_and(|x| x.args.get(1) == Some(&marker))
    });
    assert_eq!(exec_of(&ev).unwrap().args[2], "a\\b\u{fffd}");
    assert_eq!(escaped(&ev, "args[2]").as_deref(), Some("a\\\\b\\xff"));
}
