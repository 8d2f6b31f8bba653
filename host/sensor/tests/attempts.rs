//! Live tests of attempts: calls that fail are reported like calls that
//! succeed, with the result (negative errno). A small Python program makes
//! each failing call the way attack tooling does (GuardDuty's tester among
//! them) and prints what each call returned; every event must carry exactly that.

mod common;

use std::collections::HashMap;

use harrier_events::{Event, EventDetail, EventKind, SocketAddress};

use common::sensor;

/// Makes the failing calls; prints `name=result` lines (result: return value or -errno).
const ATTEMPTS: &str = r#"
import ctypes, os, signal, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def rc(v):
    return v if v >= 0 else -ctypes.get_errno()
def say(name, value):
    print(f"{name}={value}", flush=True)
sock_path, module_path = sys.argv[1], sys.argv[2]

# As root, like a privileged container: mount a block device that does not exist on /etc.
say("mount_root", rc(libc.mount(b"/dev/harrier-absent-disk", b"/etc", b"ext4", 0, None)))
# finit_module of a file that is not a module: refused by the kernel.
fd = os.open(module_path, os.O_RDONLY)
say("finit_module_root", rc(libc.syscall(313, fd, b"", 0)))
os.close(fd)

# The rest unprivileged, like an ordinary container process.
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
say("mount", rc(libc.mount(b"tmpfs", b"/etc", b"tmpfs", 0, None)))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
say("connect", -s.connect_ex(sock_path))
s.close()
image = ctypes.create_string_buffer(64)
say("init_module", rc(libc.syscall(175, image, 64, b"")))
say("bpf", rc(libc.syscall(321, 5, None, 0)))
say("userfaultfd", rc(libc.syscall(323, 0)))
say("memfd_create", rc(libc.syscall(319, b"harrier-attempt", 0xff00)))
say("unshare", rc(libc.syscall(272, 0x00020000)))
say("setns", rc(libc.syscall(308, 9999, 0)))
say("setuid", rc(libc.syscall(105, 0)))
say("open", rc(libc.syscall(257, -100, b"/etc/shadow", os.O_RDONLY, 0)))
src = ctypes.create_string_buffer(8)
local = (ctypes.c_void_p * 2)(ctypes.cast(src, ctypes.c_void_p), 8)
remote = (ctypes.c_void_p * 2)(0x10000, 8)
say("process_vm_writev", rc(libc.syscall(311, 1, local, 1, remote, 1, 0)))

# A child asks to be traced and stops; the parent peeks at its user area.
child = os.fork()
if child == 0:
    libc.syscall(101, 0, 0, 0, 0)
    os.kill(os.getpid(), signal.SIGSTOP)
    os._exit(0)
os.waitpid(child, os.WUNTRACED)
word = ctypes.c_long(0)
say("child", child)
say("peekuser", rc(libc.syscall(101, 3, child, 0, ctypes.byref(word))))
os.kill(child, signal.SIGKILL)
os.waitpid(child, 0)
"#;

#[test]
fn failed_calls_are_reported_with_their_errno() {
    let kinds = [
        EventKind::Mount,
        EventKind::NetConnect,
        EventKind::ModuleLoad,
        EventKind::BpfCall,
        EventKind::Userfaultfd,
        EventKind::MemfdCreate,
        EventKind::NamespaceChange,
        EventKind::CredentialChange,
        EventKind::FileOpen,
        EventKind::ProcessVmWrite,
        EventKind::Ptrace,
    ];
    let Some(mut s) = sensor("failed_calls_are_reported", &kinds) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // A runtime socket whose listener is not up (any more): the file is there, nobody listens.
    let sock_path = dir.path().join("runtime.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock_path).unwrap());
    // Writable by all, so the unprivileged connect is refused for want of a listener.
    std::fs::set_permissions(
        &sock_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let module = dir.path().join("not-a-module.ko");
    std::fs::write(&module, b"not an ELF object").unwrap();

    let python = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(ATTEMPTS)
        .arg(&sock_path)
        .arg(&module)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3");
    let pid = python.id();
    let out = python.wait_with_output().expect("wait for python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "attempts failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: HashMap<&str, i64> = stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k, v.parse().unwrap()))
        .collect();
    let want = |name: &str| -> i64 {
        let v = *got
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {stdout}"));
        assert!(
            v < 0 || name == "peekuser" || name == "child",
            "{name} did not fail: {v}"
        );
        v
    };
    let mut expect = |what: &str, result: i64, pred: &dyn Fn(&EventDetail) -> Option<i64>| {
        expect_result(&mut s, pid, what, result, pred)
    };

    expect("mount as root", want("mount_root"), &|d| match d {
        EventDetail::Mount(m) if m.source == "/dev/harrier-absent-disk" && m.target == "/etc" => {
            Some(m.result)
        }
        _ => None,
    });
    let ev = expect("unprivileged mount", want("mount"), &|d| match d {
        EventDetail::Mount(m) if m.fs_type == "tmpfs" && m.target == "/etc" => Some(m.result),
        _ => None,
    });
    assert_eq!(ev.process.uid, 65534);
    let path = sock_path.to_string_lossy().into_owned();
    expect("unix connect", want("connect"), &|d| match d {
        EventDetail::NetConnect(c) if c.address == SocketAddress::Unix(path.clone()) => {
            Some(c.result)
        }
        _ => None,
    });
    let module_path = module.to_string_lossy().into_owned();
    expect("finit_module", want("finit_module_root"), &|d| match d {
        EventDetail::ModuleLoad(m) if m.syscall == "finit_module" && m.name == module_path => {
            Some(m.result)
        }
        _ => None,
    });
    expect("init_module", want("init_module"), &|d| match d {
        EventDetail::ModuleLoad(m) if m.syscall == "init_module" => Some(m.result),
        _ => None,
    });
    expect("bpf", want("bpf"), &|d| match d {
        EventDetail::BpfCall(b) if b.command == 5 => Some(b.result),
        _ => None,
    });
    expect("userfaultfd", want("userfaultfd"), &|d| match d {
        EventDetail::Userfaultfd(u) => Some(u.result),
        _ => None,
    });
    expect("memfd_create", want("memfd_create"), &|d| match d {
        EventDetail::MemfdCreate(m) if m.name == "harrier-attempt" => Some(m.result),
        _ => None,
    });
    expect("unshare", want("unshare"), &|d| match d {
        EventDetail::NamespaceChange(n) if n.syscall == "unshare" => Some(n.result),
        _ => None,
    });
    expect("setns", want("setns"), &|d| match d {
        EventDetail::NamespaceChange(n) if n.syscall == "setns" => Some(n.result),
        _ => None,
    });
    expect("setuid(0)", want("setuid"), &|d| match d {
        EventDetail::CredentialChange(c) if c.syscall == "setuid" && c.uid == 0 => Some(c.result),
        _ => None,
    });
    expect("open", want("open"), &|d| match d {
        EventDetail::FileOpen(f) if f.path == "/etc/shadow" => Some(f.result),
        _ => None,
    });
    expect(
        "process_vm_writev",
        want("process_vm_writev"),
        &|d| match d {
            EventDetail::ProcessVmWrite(w) if w.target_pid == 1 => Some(w.result),
            _ => None,
        },
    );
    let child = want("child") as u32;
    expect("PTRACE_PEEKUSER", want("peekuser"), &|d| match d {
        EventDetail::Ptrace(p) if p.request == libc::PTRACE_PEEKUSER && p.target_pid == child => {
            Some(p.result)
        }
        _ => None,
    });
    let traceme = expect_result(&mut s, child, "PTRACE_TRACEME", 0, &|d| match d {
        EventDetail::Ptrace(p) if p.request == libc::PTRACE_TRACEME => Some(p.result),
        _ => None,
    });
    assert_eq!(traceme.process.ppid, pid);
}

/// Wait for the event of process `pid` that `pred` picks and check its result.
fn expect_result(
    s: &mut common::Live,
    pid: u32,
    what: &str,
    result: i64,
    pred: &dyn Fn(&EventDetail) -> Option<i64>,
) -> Event {
    let ev = s.wait_for(what, |e| e.process.pid == pid && pred(&e.detail).is_some());
    assert_eq!(pred(&ev.detail), Some(result), "{what}: {:?}", ev.detail);
    ev
}
