//! A realistic synthetic event stream: mostly file opens, some execs, forks,
//! exits, connects and DNS queries, from a fixed population of processes.

use harrier_events::{
    DnsEvent, Event, EventDetail, ExecEvent, ExitEvent, FileOpenEvent, ForkEvent, NetEvent,
    Process, SocketAddress,
};

const PATHS: &[&str] = &[
    "/etc/ld.so.cache",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/locale/locale-archive",
    "/etc/passwd",
    "/proc/self/status",
    "/var/log/app/access.log",
    "/srv/data/index.db",
    "/tmp/build/obj/main.o",
    "/home/app/.cache/pip/http/3/a/b/c",
    "/usr/share/zoneinfo/UTC",
];

const PROGRAMS: &[(&str, &[&str])] = &[
    ("/usr/bin/bash", &["bash", "-c", "make -j2"]),
    ("/usr/bin/git", &["git", "status", "--short"]),
    ("/usr/bin/python3", &["python3", "manage.py", "migrate"]),
    (
        "/usr/bin/tar",
        &["tar", "czf", "/tmp/backup.tgz", "/srv/data"],
    ),
    ("/usr/sbin/nginx", &["nginx", "-g", "daemon off;"]),
    (
        "/usr/bin/curl",
        &["curl", "-s", "https://api.internal/health"],
    ),
];

/// `count` events in sequence order, deterministic.
pub fn generate(count: usize) -> Vec<Event> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    (0..count)
        .map(|i| {
            let roll = next() % 100;
            let pid = 1000 + (next() % 200) as u32;
            let (exe, args) = PROGRAMS[pid as usize % PROGRAMS.len()];
            let detail = match roll {
                0..=79 => EventDetail::FileOpen(FileOpenEvent {
                    path: PATHS[(next() % PATHS.len() as u64) as usize].to_string(),
                    flags: if roll % 7 == 0 { 0o1101 } else { 0 },
                    mode: 0o644,
                    result: 3,
                }),
                80..=84 => EventDetail::Exec(ExecEvent {
                    args_gap: None,
                    filename: exe.to_string(),
                    args: args.iter().map(|a| a.to_string()).collect(),
                    args_truncated: false,
                    cwd: "/srv".into(),
                    ld_preload: None,
                    ld_library_path: None,
                    file_mode: 0o100755,
                    dev: 2049,
                    inode: 1000 + pid as u64,
                    mtime_ns: 1_600_000_000_000_000_000,
                }),
                85..=87 => EventDetail::Fork(ForkEvent {
                    child_pid: 5000 + (i % 20_000) as u32,
                    clone_flags: 0x11,
                }),
                88..=90 => EventDetail::Exit(ExitEvent { code: 0, signal: 0 }),
                91..=96 => EventDetail::NetConnect(NetEvent {
                    fd: 5,
                    address: SocketAddress::Ipv4(("10.0.3.7".into(), 5432)),
                    result: 0,
                }),
                _ => EventDetail::DnsQuery(DnsEvent {
                    query: "api.internal.example.com".into(),
                    query_type: 1,
                    server: SocketAddress::Ipv4(("10.0.0.2".into(), 53)),
                }),
            };
            Event {
                fidelity: None,
                seq: i as u64 + 1,
                time_ns: 1_700_000_000_000_000_000 + i as u64 * 1_000,
                process: Process {
                    pid,
                    tid: pid,
                    ppid: 1,
                    uid: 1000,
                    euid: 1000,
                    gid: 1000,
                    egid: 1000,
                    comm: exe
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(15)
                        .collect(),
                    exe: exe.to_string(),
                    container_id: None,
                    cgroup_id: None,
                },
                detail,
            }
        })
        .collect()
}
