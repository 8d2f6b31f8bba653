//! Decoder tests over records built the way the kernel programs build them.

use harrier_events::{EventDetail, EventKind, SocketAddress};
use harrier_sensor_common::{
    ExecInfo, HEADER_SIZE, ITEM_TRUNCATED, ItemHeader, REC_HAS_RESULT, RecordHeader, tag,
};

use super::{DecodeError, Decoder};

/// Builds a record byte for byte like sensor-ebpf/programs/src/writer.rs.
struct Rec {
    header: RecordHeader,
    items: Vec<u8>,
}

impl Rec {
    fn new(kind: EventKind, nr: i64) -> Rec {
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"test");
        Rec {
            header: RecordHeader {
                kind: kind as u8,
                nr: nr as u16,
                pid: 100,
                tid: 101,
                ppid: 1,
                uid: 1000,
                euid: 0,
                gid: 1000,
                egid: 0,
                boot_ns: 5_000,
                comm,
                cgroup_id: 4242,
                ..Default::default()
            },
            items: Vec::new(),
        }
    }
    fn result(mut self, ret: i64) -> Rec {
        self.header.flags |= REC_HAS_RESULT;
        self.header.ret = ret;
        self
    }
    fn args(mut self, args: &[u64]) -> Rec {
        self.header.args[..args.len()].copy_from_slice(args);
        self
    }
    fn item(mut self, tag: u8, data: &[u8], truncated: bool) -> Rec {
        let h = ItemHeader {
            tag,
            flags: if truncated { ITEM_TRUNCATED } else { 0 },
            len: data.len() as u16,
            _pad: 0,
        };
        // SAFETY: ItemHeader is plain integers.
        let raw: [u8; 8] = unsafe { std::mem::transmute(h) };
        self.items.extend_from_slice(&raw);
        self.items.extend_from_slice(data);
        while !self.items.len().is_multiple_of(8) {
            self.items.push(0);
        }
        self
    }
    fn bytes(mut self) -> Vec<u8> {
        self.header.size = (HEADER_SIZE + self.items.len()) as u32;
        let mut out = vec![0u8; HEADER_SIZE];
        // SAFETY: writing a plain struct into a buffer of its size.
        unsafe { std::ptr::write_unaligned(out.as_mut_ptr() as *mut RecordHeader, self.header) };
        out.extend_from_slice(&self.items);
        out
    }
}

fn struct_bytes<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: reading the bytes of a plain #[repr(C)] struct.
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()) }
        .to_vec()
}

#[test]
fn exec_record_decodes_every_field() {
    let info = ExecInfo {
        mode: 0o104755,
        dev: (8 << 20) | 1,
        inode: 42,
        mtime_ns: 7,
        args_len: 9000,
        env_len: 30,
        ..Default::default()
    };
    let bytes = Rec::new(EventKind::Exec, 0)
        .item(tag::EXEC_INFO, &struct_bytes(&info), false)
        .item(tag::EXEC_FILENAME, b"./tool\0", false)
        .item(tag::EXEC_ARGV, b"./tool\0--mine\0", true)
        .item(tag::EXEC_CWD, b"work\0home\0", false)
        .item(tag::EXEC_EXE, b"tool-1.2\0bin\0opt\0", false)
        .item(tag::EXEC_ENV, b"A=1\0LD_PRELOAD=/tmp/evil.so\0", false)
        .bytes();
    let mut d = Decoder::new(1_000_000);
    let ev = d.decode(&bytes).unwrap().unwrap();
    assert_eq!(ev.seq, 1);
    assert_eq!(ev.time_ns, 1_005_000);
    assert_eq!(ev.process.pid, 100);
    assert_eq!(ev.process.tid, 101);
    assert_eq!(ev.process.euid, 0);
    assert_eq!(ev.process.comm, "test");
    assert_eq!(ev.process.cgroup_id, Some(4242));
    assert_eq!(ev.process.exe, "/opt/bin/tool-1.2");
    let EventDetail::Exec(e) = ev.detail else {
        panic!("not exec: {:?}", ev.detail)
    };
    assert_eq!(e.filename, "/home/work/tool");
    assert_eq!(e.args, vec!["./tool", "--mine"]);
    assert!(e.args_truncated);
    assert_eq!(e.cwd, "/home/work");
    assert_eq!(e.ld_preload.as_deref(), Some("/tmp/evil.so"));
    assert_eq!(e.ld_library_path, None);
    assert_eq!(e.file_mode, 0o104755);
    assert_eq!(e.dev, libc::makedev(8, 1));
    assert_eq!(e.inode, 42);
}

#[test]
fn exec_arguments_are_capped() {
    let bytes = Rec::new(EventKind::Exec, 0)
        .item(tag::EXEC_FILENAME, b"/bin/x\0", false)
        .item(tag::EXEC_ARGV, b"x\0a\0b\0c\0", false)
        .bytes();
    let mut d = Decoder::new(0);
    d.set_max_args(2);
    let EventDetail::Exec(e) = d.decode(&bytes).unwrap().unwrap().detail else {
        panic!()
    };
    // The first and the last arguments are kept; the gap is marked.
    assert_eq!(e.args, vec!["x", "c"]);
    assert!(e.args_truncated);
    let gap = e.args_gap.expect("gap marked");
    assert_eq!((gap.index, gap.omitted_bytes), (1, 4));
}

#[test]
fn sequence_numbers_increase_and_disabled_kinds_are_skipped() {
    let exit = Rec::new(EventKind::Exit, 0)
        .args(&[(3 << 8) as u64])
        .bytes();
    let killed = Rec::new(EventKind::Exit, 0).args(&[9]).bytes();
    let mut d = Decoder::new(0);
    let a = d.decode(&exit).unwrap().unwrap();
    let b = d.decode(&killed).unwrap().unwrap();
    assert_eq!((a.seq, b.seq), (1, 2));
    match (a.detail, b.detail) {
        (EventDetail::Exit(a), EventDetail::Exit(b)) => {
            assert_eq!((a.code, a.signal), (3, 0));
            assert_eq!((b.code, b.signal), (0, 9));
        }
        other => panic!("{other:?}"),
    }
    d.set_enabled(&[EventKind::Exec]);
    assert!(d.decode(&exit).unwrap().is_none());
    d.set_enabled(&[EventKind::Exit]);
    assert_eq!(d.decode(&exit).unwrap().unwrap().seq, 3);
}

#[test]
fn fork_flags_follow_the_syscall() {
    let clone = Rec::new(EventKind::Fork, 0)
        .args(&[555, 555, 0x11, libc::SYS_clone as u64])
        .bytes();
    let fork = Rec::new(EventKind::Fork, 0)
        .args(&[556, 556, 0xdead, libc::SYS_fork as u64])
        .bytes();
    let mut d = Decoder::new(0);
    let EventDetail::Fork(c) = d.decode(&clone).unwrap().unwrap().detail else {
        panic!()
    };
    assert_eq!((c.child_pid, c.clone_flags), (555, 0x11));
    let EventDetail::Fork(f) = d.decode(&fork).unwrap().unwrap().detail else {
        panic!()
    };
    assert_eq!((f.child_pid, f.clone_flags), (556, 17));
}

#[test]
fn relative_openat_joins_its_base() {
    let bytes = Rec::new(EventKind::FileOpen, libc::SYS_openat)
        .args(&[
            (-100i64) as u64,
            0,
            (libc::O_CREAT | libc::O_WRONLY) as u64,
            0o644,
        ])
        .result(3)
        .item(tag::STR0, b"notes.txt\0", false)
        .item(tag::BASE0, b"tmp\0", false)
        .bytes();
    let ev = Decoder::new(0).decode(&bytes).unwrap().unwrap();
    let EventDetail::FileOpen(o) = ev.detail else {
        panic!()
    };
    assert_eq!(o.path, "/tmp/notes.txt");
    assert_eq!(o.flags, (libc::O_CREAT | libc::O_WRONLY) as u32);
    assert_eq!(o.mode, 0o644);
    assert_eq!(o.result, 3);
}

#[test]
fn dot_segments_are_folded_and_the_given_path_kept() {
    let open = |path: &[u8], base: Option<&[u8]>| {
        let mut rec = Rec::new(EventKind::FileOpen, libc::SYS_openat)
            .args(&[(-100i64) as u64, 0, libc::O_RDONLY as u64, 0])
            .result(3)
            .item(tag::STR0, path, false);
        if let Some(base) = base {
            rec = rec.item(tag::BASE0, base, false);
        }
        let ev = Decoder::new(0).decode(&rec.bytes()).unwrap().unwrap();
        let EventDetail::FileOpen(o) = ev.detail else {
            panic!()
        };
        (o.path, ev.fidelity)
    };
    let (path, fidelity) = open(b"/tmp/../etc//shadow\0", None);
    assert_eq!(path, "/etc/shadow");
    let folded = fidelity.expect("folding is reported").folded;
    assert_eq!(folded.len(), 1);
    assert_eq!(folded[0].field, "path");
    assert_eq!(folded[0].escaped, "/tmp/../etc//shadow");

    let (path, fidelity) = open(b"../../etc/shadow\0", Some(b"alice\0home\0"));
    assert_eq!(path, "/etc/shadow");
    assert_eq!(fidelity.unwrap().folded[0].escaped, "../../etc/shadow");

    let (path, fidelity) = open(b"./notes.txt\0", Some(b"tmp\0"));
    assert_eq!(path, "/tmp/notes.txt");
    assert_eq!(fidelity, None, "a leading ./ is no evasion");
    let (path, fidelity) = open(b"/root/.ssh/id_rsa\0", None);
    assert_eq!(path, "/root/.ssh/id_rsa");
    assert_eq!(fidelity, None);
}

#[test]
fn connect_and_dns_records_decode_addresses() {
    let mut sa = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    sa.extend_from_slice(&53u16.to_be_bytes());
    sa.extend_from_slice(&[10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    let connect = Rec::new(EventKind::NetConnect, libc::SYS_connect)
        .args(&[7])
        .result(-111)
        .item(tag::SOCKADDR, &sa, false)
        .bytes();
    let mut query = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3];
    query.extend_from_slice(b"foo\x03bar\0\0\x01\0\x01");
    let dns = Rec::new(EventKind::DnsQuery, libc::SYS_sendto)
        .result(query.len() as i64)
        .item(tag::SOCKADDR, &sa, false)
        .item(tag::PAYLOAD, &query, false)
        .bytes();
    let mut d = Decoder::new(0);
    let EventDetail::NetConnect(c) = d.decode(&connect).unwrap().unwrap().detail else {
        panic!()
    };
    assert_eq!(c.fd, 7);
    assert_eq!(c.result, -111);
    assert_eq!(c.address, SocketAddress::Ipv4(("10.0.0.2".into(), 53)));
    let EventDetail::DnsQuery(q) = d.decode(&dns).unwrap().unwrap().detail else {
        panic!()
    };
    assert_eq!(q.query, "foo.bar");
    assert_eq!(q.query_type, 1);
    assert_eq!(q.server, SocketAddress::Ipv4(("10.0.0.2".into(), 53)));
}

#[test]
fn proc_mem_write_becomes_process_vm_write() {
    let bytes = Rec::new(EventKind::FileWrite, libc::SYS_pwrite64)
        .args(&[5])
        .result(8)
        .item(tag::FD_PATH, b"mem\x00777\x00proc\x00", false)
        .bytes();
    let ev = Decoder::new(0).decode(&bytes).unwrap().unwrap();
    let EventDetail::ProcessVmWrite(w) = ev.detail else {
        panic!("{:?}", ev.detail)
    };
    assert_eq!(
        (w.target_pid, w.method.as_str(), w.result),
        (777, "proc_mem", 8)
    );
}

#[test]
fn malformed_records_are_errors() {
    let mut d = Decoder::new(0);
    let mut bad_kind = Rec::new(EventKind::Exit, 0).bytes();
    bad_kind[4] = 200;
    assert_eq!(d.decode(&bad_kind), Err(DecodeError::UnknownKind(200)));
    let unknown = Rec::new(EventKind::FileOpen, libc::SYS_getpid).bytes();
    assert_eq!(
        d.decode(&unknown),
        Err(DecodeError::UnknownSyscall(libc::SYS_getpid as u16))
    );
    let mut overlong = Rec::new(EventKind::FileOpen, libc::SYS_open)
        .item(tag::STR0, b"/x\0", false)
        .bytes();
    let item_len_at = HEADER_SIZE + 2;
    overlong[item_len_at..item_len_at + 2].copy_from_slice(&500u16.to_ne_bytes());
    assert!(matches!(
        d.decode(&overlong),
        Err(DecodeError::BadItem { .. })
    ));
}

#[test]
fn decoding_is_fast_enough() {
    let bytes = Rec::new(EventKind::FileOpen, libc::SYS_openat)
        .args(&[(-100i64) as u64, 0, 0, 0])
        .result(3)
        .item(tag::STR0, b"/etc/ld.so.cache\0", false)
        .bytes();
    let mut d = Decoder::new(0);
    // The best of five rounds: other tests share the cores, and a round
    // they preempt says nothing about the decoder.
    let n = 100_000;
    let rate = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(d.decode(std::hint::black_box(&bytes)).unwrap());
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max);
    eprintln!("decode rate: {rate:.0} events/s (best of 5 rounds)");
    assert!(rate > 1_000_000.0, "decode rate {rate:.0}/s is below 1M/s");
}
