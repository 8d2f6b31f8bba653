//! Live tests of the issue-3 families: each performs the real syscall and asserts
//! the decoded event. Raw syscalls are used where libc would touch every thread.

mod common;

use std::ffi::CString;
use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;

use harrier_events::{EventDetail, EventKind, SocketAddress};

use common::{me, sensor};

fn cstring(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[test]
fn namespace_changes() {
    let Some(mut s) = sensor("namespace_changes", &[EventKind::NamespaceChange]) else {
        return;
    };
    // In a thread of our own: unshare(CLONE_NEWUTS) then setns back.
    let original = std::fs::File::open("/proc/self/ns/uts").unwrap();
    let fd = original.as_raw_fd();
    let tid = std::thread::spawn(move || {
        // SAFETY: plain syscalls on this thread.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWUTS), 0);
            assert_eq!(libc::setns(fd, libc::CLONE_NEWUTS), 0);
            libc::gettid() as u32
        }
    })
    .join()
    .unwrap();
    let ev = s.wait_for("unshare", |e| {
        e.process.tid == tid
            && matches!(&e.detail, EventDetail::NamespaceChange(n) if n.syscall == "unshare")
    });
    let EventDetail::NamespaceChange(n) = ev.detail else {
        unreachable!()
    };
    assert_eq!((n.flags, n.result), (libc::CLONE_NEWUTS as u64, 0));
    let ev = s.wait_for("setns", |e| {
        e.process.tid == tid
            && matches!(&e.detail, EventDetail::NamespaceChange(n) if n.syscall == "setns")
    });
    let EventDetail::NamespaceChange(n) = ev.detail else {
        unreachable!()
    };
    assert_eq!((n.flags, n.result), (libc::CLONE_NEWUTS as u64, 0));
}

#[test]
fn credential_changes() {
    let Some(mut s) = sensor("credential_changes", &[EventKind::CredentialChange]) else {
        return;
    };
    // Raw syscalls change only this thread; these requests change nothing for root.
    let tid = std::thread::spawn(|| {
        // SAFETY: plain syscalls on this thread.
        unsafe {
            assert_eq!(libc::syscall(libc::SYS_setresuid, -1, 0, -1), 0);
            assert_eq!(libc::syscall(libc::SYS_setgid, 0), 0);
            libc::gettid() as u32
        }
    })
    .join()
    .unwrap();
    let ev = s.wait_for("setresuid", |e| {
        e.process.tid == tid
            && matches!(&e.detail, EventDetail::CredentialChange(c) if c.syscall == "setresuid")
    });
    let EventDetail::CredentialChange(c) = ev.detail else {
        unreachable!()
    };
    assert_eq!(
        (c.uid, c.euid, c.gid, c.egid, c.result),
        (u32::MAX, 0, u32::MAX, u32::MAX, 0)
    );
    let ev = s.wait_for("setgid", |e| {
        e.process.tid == tid
            && matches!(&e.detail, EventDetail::CredentialChange(c) if c.syscall == "setgid")
    });
    let EventDetail::CredentialChange(c) = ev.detail else {
        unreachable!()
    };
    assert_eq!((c.gid, c.egid, c.uid), (0, 0, u32::MAX));
}

#[test]
fn file_write_once_per_file() {
    let Some(mut s) = sensor("file_write", &[EventKind::FileWrite]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("written.bin");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"hello").unwrap();
    f.write_all(b"again").unwrap();
    f.sync_all().unwrap();
    let want = path.to_string_lossy().into_owned();
    let ev = s.wait_for(
        "file-write",
        |e| matches!(&e.detail, EventDetail::FileWrite(w) if w.path == want),
    );
    let EventDetail::FileWrite(w) = ev.detail else {
        unreachable!()
    };
    assert_eq!(w.bytes, 5);
    assert_eq!(ev.process.pid, me());
    // A second file is reported too; the second write to the first is not.
    let other = dir.path().join("other.bin");
    std::fs::write(&other, b"x").unwrap();
    let want_other = other.to_string_lossy().into_owned();
    s.wait_for(
        "second file-write",
        |e| matches!(&e.detail, EventDetail::FileWrite(w) if w.path == want_other),
    );
    let dupes =
        s.drain_matching(|e| matches!(&e.detail, EventDetail::FileWrite(w) if w.path == want));
    assert_eq!(dupes, 0, "second write to the same fd was reported");
}

#[test]
fn file_metadata_operations() {
    let kinds = [
        EventKind::FileRename,
        EventKind::FileUnlink,
        EventKind::FileChmod,
        EventKind::FileChown,
        EventKind::FileLink,
        EventKind::FileTruncate,
    ];
    let Some(mut s) = sensor("file_metadata_operations", &kinds) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::write(p("a"), b"data").unwrap();
    std::fs::rename(p("a"), p("b")).unwrap();
    std::fs::set_permissions(p("b"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::os::unix::fs::chown(p("b"), Some(65534), Some(65534)).unwrap();
    std::fs::hard_link(p("b"), p("hard")).unwrap();
    std::os::unix::fs::symlink("b", p("soft")).unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(p("b"))
        .unwrap();
    f.set_len(1).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::truncate(cstring(&p("hard")).as_ptr(), 0) },
        0
    );
    std::fs::remove_file(p("soft")).unwrap();

    let ev = s.wait_for("rename", |e| {
        matches!(&e.detail, EventDetail::FileRename(_))
    });
    assert_eq!(
        ev.detail,
        EventDetail::FileRename(harrier_events::FilePathPairEvent {
            old_path: p("a"),
            new_path: p("b"),
            result: 0
        })
    );
    let ev = s.wait_for(
        "chmod",
        |e| matches!(&e.detail, EventDetail::FileChmod(c) if c.path == p("b")),
    );
    let EventDetail::FileChmod(c) = ev.detail else {
        unreachable!()
    };
    assert_eq!((c.mode & 0o7777, c.result), (0o4755, 0));
    let ev = s.wait_for(
        "chown",
        |e| matches!(&e.detail, EventDetail::FileChown(c) if c.path == p("b")),
    );
    let EventDetail::FileChown(c) = ev.detail else {
        unreachable!()
    };
    assert_eq!((c.uid, c.gid, c.result), (65534, 65534, 0));
    let ev = s.wait_for(
        "link",
        |e| matches!(&e.detail, EventDetail::FileLink(l) if !l.symbolic),
    );
    let EventDetail::FileLink(l) = ev.detail else {
        unreachable!()
    };
    assert_eq!((l.target, l.link_path, l.result), (p("b"), p("hard"), 0));
    let ev = s.wait_for(
        "symlink",
        |e| matches!(&e.detail, EventDetail::FileLink(l) if l.symbolic),
    );
    let EventDetail::FileLink(l) = ev.detail else {
        unreachable!()
    };
    assert_eq!((l.target.as_str(), l.link_path), ("b", p("soft")));
    s.wait_for(
        "ftruncate",
        |e| matches!(&e.detail, EventDetail::FileTruncate(t) if t.path == p("b") && t.result == 0),
    );
    s.wait_for("truncate", |e| {
        matches!(&e.detail, EventDetail::FileTruncate(t) if t.path == p("hard") && t.result == 0)
    });
    s.wait_for(
        "unlink",
        |e| matches!(&e.detail, EventDetail::FileUnlink(u) if u.path == p("soft") && u.result == 0),
    );
}

#[test]
fn memfd_and_mmap_exec() {
    let Some(mut s) = sensor(
        "memfd_and_mmap_exec",
        &[EventKind::MemfdCreate, EventKind::MmapExec],
    ) else {
        return;
    };
    let name = cstring("harrier-memfd");
    // SAFETY: valid name; the fd is closed below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: closing our own fd.
    unsafe { libc::close(fd) };
    let ev = s.wait_for(
        "memfd-create",
        |e| matches!(&e.detail, EventDetail::MemfdCreate(m) if m.name == "harrier-memfd"),
    );
    let EventDetail::MemfdCreate(m) = ev.detail else {
        unreachable!()
    };
    assert_eq!((m.flags, m.result), (libc::MFD_CLOEXEC, fd as i64));

    let exe = std::fs::canonicalize("/bin/true").unwrap();
    let file = std::fs::File::open(&exe).unwrap();
    // SAFETY: mapping a file we hold open, unmapped right after.
    unsafe {
        let addr = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(addr, libc::MAP_FAILED);
        libc::munmap(addr, 4096);
    }
    let want = exe.to_string_lossy().into_owned();
    let ev = s.wait_for("mmap-exec", |e| {
        e.process.pid == me() && matches!(&e.detail, EventDetail::MmapExec(m) if m.path == want)
    });
    let EventDetail::MmapExec(m) = ev.detail else {
        unreachable!()
    };
    assert_eq!(m.prot, (libc::PROT_READ | libc::PROT_EXEC) as u32);
    assert_eq!(m.flags, libc::MAP_PRIVATE as u32);

    // mprotect(PROT_EXEC) of a file mapping names the file; of anonymous memory, nothing.
    // SAFETY: mappings we create and remove here.
    unsafe {
        let anon = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(anon, libc::MAP_FAILED);
        assert_eq!(
            libc::mprotect(anon, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        libc::munmap(anon, 4096);
        let addr = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(addr, libc::MAP_FAILED);
        assert_eq!(
            libc::mprotect(addr, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        libc::munmap(addr, 4096);
    }
    let ev = s.wait_for("mprotect exec", |e| {
        e.process.pid == me()
            && matches!(&e.detail, EventDetail::MmapExec(m) if m.path == want && m.flags == 0)
    });
    let EventDetail::MmapExec(m) = ev.detail else {
        unreachable!()
    };
    assert_eq!(m.prot, (libc::PROT_READ | libc::PROT_EXEC) as u32);
    let anonymous = s.drain_matching(|e| {
        e.process.pid == me() && matches!(&e.detail, EventDetail::MmapExec(m) if m.path.is_empty())
    });
    assert_eq!(anonymous, 0);
}

#[test]
fn injection_ptrace_vm_write_proc_mem_userfaultfd() {
    let kinds = [
        EventKind::Ptrace,
        EventKind::ProcessVmWrite,
        EventKind::Userfaultfd,
    ];
    let Some(mut s) = sensor("injection", &kinds) else {
        return;
    };
    let mut child = std::process::Command::new("/bin/sleep")
        .arg("5")
        .spawn()
        .unwrap();
    let cpid = child.id() as i32;
    // SAFETY: attaching to our own child, then killing it.
    let rc = unsafe { libc::ptrace(libc::PTRACE_ATTACH, cpid, 0, 0) };
    assert_eq!(rc, 0);
    child.kill().unwrap();
    let _ = child.wait();
    let ev = s.wait_for(
        "ptrace",
        |e| matches!(&e.detail, EventDetail::Ptrace(p) if p.target_pid == cpid as u32),
    );
    let EventDetail::Ptrace(p) = ev.detail else {
        unreachable!()
    };
    assert_eq!((p.request, p.result), (libc::PTRACE_ATTACH, 0));

    // process_vm_writev into our own buffer.
    let src = [7u8; 16];
    let mut dst = [0u8; 16];
    let local = libc::iovec {
        iov_base: src.as_ptr() as *mut _,
        iov_len: 16,
    };
    let remote = libc::iovec {
        iov_base: dst.as_mut_ptr() as *mut _,
        iov_len: 16,
    };
    // SAFETY: both iovecs point to live buffers of 16 bytes.
    let n = unsafe { libc::process_vm_writev(me() as i32, &local, 1, &remote, 1, 0) };
    assert_eq!(n, 16);
    let ev = s.wait_for(
        "process_vm_writev",
        |e| matches!(&e.detail, EventDetail::ProcessVmWrite(w) if w.method == "process_vm_writev"),
    );
    let EventDetail::ProcessVmWrite(w) = ev.detail else {
        unreachable!()
    };
    assert_eq!((w.target_pid, w.result), (me(), 16));

    // A write through /proc/<pid>/mem.
    let mem = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{}/mem", me()))
        .unwrap();
    let target = [0u8; 8];
    use std::os::unix::fs::FileExt;
    mem.write_at(&[1u8; 8], target.as_ptr() as u64).unwrap();
    let ev = s.wait_for(
        "proc mem write",
        |e| matches!(&e.detail, EventDetail::ProcessVmWrite(w) if w.method == "proc_mem"),
    );
    let EventDetail::ProcessVmWrite(w) = ev.detail else {
        unreachable!()
    };
    assert_eq!((w.target_pid, w.result), (me(), 8));

    // SAFETY: plain syscall; the fd is closed if one is returned.
    let ufd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) };
    if ufd >= 0 {
        // SAFETY: closing our own fd.
        unsafe { libc::close(ufd as i32) };
    }
    let ev = s.wait_for("userfaultfd", |e| {
        matches!(&e.detail, EventDetail::Userfaultfd(_))
    });
    let EventDetail::Userfaultfd(u) = ev.detail else {
        unreachable!()
    };
    assert_eq!((u.flags, u.result), (libc::O_CLOEXEC as u32, ufd));
}

#[test]
fn modules_bpf_and_mounts() {
    let kinds = [
        EventKind::ModuleLoad,
        EventKind::ModuleUnload,
        EventKind::BpfCall,
        EventKind::Mount,
        EventKind::Umount,
    ];
    let Some(mut s) = sensor("modules_bpf_and_mounts", &kinds) else {
        return;
    };
    let name = cstring("harrier_no_such_module");
    // SAFETY: plain syscalls with valid pointers; all are expected to fail harmlessly.
    let (del, init, bpf) = unsafe {
        let del = libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK);
        let image = [0u8; 64];
        let params = cstring("");
        let init = libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            64usize,
            params.as_ptr(),
        );
        let bpf = libc::syscall(libc::SYS_bpf, 0, std::ptr::null::<u8>(), 0);
        (del, init, bpf)
    };
    assert!(del < 0 && init < 0 && bpf < 0);
    let ev = s.wait_for("delete_module", |e| {
        matches!(&e.detail, EventDetail::ModuleUnload(_))
    });
    let EventDetail::ModuleUnload(m) = ev.detail else {
        unreachable!()
    };
    assert_eq!(
        (m.name.as_str(), m.syscall.as_str()),
        ("harrier_no_such_module", "delete_module")
    );
    assert!(m.result < 0);
    let ev = s.wait_for("init_module", |e| {
        matches!(&e.detail, EventDetail::ModuleLoad(_))
    });
    let EventDetail::ModuleLoad(m) = ev.detail else {
        unreachable!()
    };
    assert_eq!(m.syscall, "init_module");
    assert!(m.result < 0);
    s.wait_for("bpf", |e| {
        e.process.pid == me()
            && matches!(&e.detail, EventDetail::BpfCall(b) if b.command == 0 && b.result < 0)
    });

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().to_string_lossy().into_owned();
    let (src, fstype, ctarget) = (cstring("harrier-tmpfs"), cstring("tmpfs"), cstring(&target));
    // SAFETY: valid strings; the mount is removed right after.
    unsafe {
        assert_eq!(
            libc::mount(
                src.as_ptr(),
                ctarget.as_ptr(),
                fstype.as_ptr(),
                libc::MS_NOSUID,
                std::ptr::null()
            ),
            0
        );
        assert_eq!(libc::umount2(ctarget.as_ptr(), 0), 0);
    }
    let ev = s.wait_for(
        "mount",
        |e| matches!(&e.detail, EventDetail::Mount(m) if m.target == target),
    );
    let EventDetail::Mount(m) = ev.detail else {
        unreachable!()
    };
    assert_eq!(
        (m.source.as_str(), m.fs_type.as_str(), m.flags, m.result),
        ("harrier-tmpfs", "tmpfs", libc::MS_NOSUID, 0)
    );
    s.wait_for(
        "umount",
        |e| matches!(&e.detail, EventDetail::Umount(m) if m.target == target && m.result == 0),
    );
}

#[test]
fn sockets_bind_listen_accept() {
    let kinds = [
        EventKind::SocketCreate,
        EventKind::NetBind,
        EventKind::NetListen,
        EventKind::NetAccept,
    ];
    let Some(mut s) = sensor("sockets_bind_listen_accept", &kinds) else {
        return;
    };
    // SAFETY: creating and closing a packet socket (root).
    let packet = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW,
            (libc::ETH_P_ALL as u16).to_be() as i32,
        )
    };
    assert!(packet >= 0);
    // SAFETY: closing our own fd.
    unsafe { libc::close(packet) };
    let ev = s.wait_for(
        "AF_PACKET socket",
        |e| matches!(&e.detail, EventDetail::SocketCreate(k) if k.family == libc::AF_PACKET as u32),
    );
    let EventDetail::SocketCreate(k) = ev.detail else {
        unreachable!()
    };
    assert_eq!(
        (k.socket_type, k.result),
        (libc::SOCK_RAW as u32, packet as i64)
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let cport = client.local_addr().unwrap().port();
    let (_conn, _) = listener.accept().unwrap();
    let addr = |p| SocketAddress::Ipv4(("127.0.0.1".into(), p));
    s.wait_for(
        "bind",
        |e| matches!(&e.detail, EventDetail::NetBind(n) if n.address == addr(0) && n.result == 0),
    );
    s.wait_for("listen", |e| {
        matches!(&e.detail, EventDetail::NetListen(n) if n.address == addr(port) && n.result == 0)
    });
    let ev = s.wait_for(
        "accept",
        |e| matches!(&e.detail, EventDetail::NetAccept(n) if n.address == addr(cport)),
    );
    let EventDetail::NetAccept(n) = ev.detail else {
        unreachable!()
    };
    assert_eq!(n.fd, listener.as_raw_fd() as i64);
    assert!(n.result >= 0);
}

/// A DNS query for `name` (type A).
fn dns_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

#[test]
fn dns_queries_over_udp() {
    let Some(mut s) = sensor("dns_queries", &[EventKind::DnsQuery]) else {
        return;
    };
    // A sink on port 53 keeps ICMP errors away when nothing listens there (best effort).
    let _sink53 = UdpSocket::bind("127.0.0.1:53");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(&dns_query("sendto.harrier.test"), "127.0.0.1:53")
        .unwrap();
    let ev = s.wait_for(
        "sendto dns",
        |e| matches!(&e.detail, EventDetail::DnsQuery(d) if d.query == "sendto.harrier.test"),
    );
    let EventDetail::DnsQuery(d) = ev.detail else {
        unreachable!()
    };
    assert_eq!(d.query_type, 1);
    assert_eq!(d.server, SocketAddress::Ipv4(("127.0.0.1".into(), 53)));

    // A connected socket (the way glibc's resolver sends): no address in the call.
    let connected = UdpSocket::bind("127.0.0.1:0").unwrap();
    connected.connect("127.0.0.1:53").unwrap();
    connected
        .send(&dns_query("connected.harrier.test"))
        .unwrap();
    let ev = s.wait_for(
        "connected dns",
        |e| matches!(&e.detail, EventDetail::DnsQuery(d) if d.query == "connected.harrier.test"),
    );
    let EventDetail::DnsQuery(d) = ev.detail else {
        unreachable!()
    };
    assert_eq!(d.server, SocketAddress::Ipv4(("127.0.0.1".into(), 53)));

    // sendmmsg (glibc sends A and AAAA queries this way): the first message is seen.
    let mut query = dns_query("mmsg.harrier.test");
    let mut iov = libc::iovec {
        iov_base: query.as_mut_ptr() as *mut _,
        iov_len: query.len(),
    };
    // SAFETY: zeroed mmsghdr is valid; fields set below point to live buffers.
    let mut msg: libc::mmsghdr = unsafe { std::mem::zeroed() };
    msg.msg_hdr.msg_iov = &mut iov;
    msg.msg_hdr.msg_iovlen = 1;
    // SAFETY: one valid mmsghdr on a connected socket.
    let _ = unsafe { libc::sendmmsg(connected.as_raw_fd(), &mut msg, 1, 0) };
    let ev = s.wait_for(
        "sendmmsg dns",
        |e| matches!(&e.detail, EventDetail::DnsQuery(d) if d.query == "mmsg.harrier.test"),
    );
    let EventDetail::DnsQuery(d) = ev.detail else {
        unreachable!()
    };
    assert_eq!(d.server, SocketAddress::Ipv4(("127.0.0.1".into(), 53)));

    // Traffic to other ports is filtered in the kernel.
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    other
        .send_to(&dns_query("not.dns.test"), sink.local_addr().unwrap())
        .unwrap();
    let _ = connected.send(&dns_query("after.harrier.test"));
    s.wait_for(
        "later dns",
        |e| matches!(&e.detail, EventDetail::DnsQuery(d) if d.query == "after.harrier.test"),
    );
    let leaked = s.drain_matching(
        |e| matches!(&e.detail, EventDetail::DnsQuery(d) if d.query == "not.dns.test"),
    );
    assert_eq!(leaked, 0);
}

#[test]
fn fd_redirect_of_a_socket_onto_stdin() {
    let Some(mut s) = sensor("fd_redirect", &[EventKind::FdRedirect]) else {
        return;
    };
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sfd = sock.as_raw_fd();
    // SAFETY: the child only calls async-signal-safe functions before _exit.
    let child = unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::dup2(sfd, 0);
            libc::_exit(0);
        }
        pid
    };
    assert!(child > 0);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let ev = s.wait_for("dup2", |e| {
        e.process.pid == child as u32 && matches!(&e.detail, EventDetail::FdRedirect(_))
    });
    let EventDetail::FdRedirect(r) = ev.detail else {
        unreachable!()
    };
    assert_eq!(
        (r.old_fd, r.new_fd, r.is_socket, r.result),
        (sfd as i64, 0, true, 0)
    );
}
