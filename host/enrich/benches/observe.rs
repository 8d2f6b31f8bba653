//! `Enricher::observe` cost per event on the hot path: file-open events of
//! processes already in the table.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::{Event, EventDetail, ExecEvent, FileOpenEvent, Process};

/// Processes in the table.
const PROCESSES: u32 = 1000;
/// Events per measured batch (cycling over the processes).
const STREAM: usize = 4096;

fn process(pid: u32, container: Option<String>) -> Process {
    Process {
        pid,
        tid: pid,
        ppid: 1,
        uid: 1000,
        euid: 1000,
        gid: 1000,
        egid: 1000,
        comm: "worker".into(),
        exe: String::new(),
        container_id: container,
        cgroup_id: None,
    }
}

/// An enricher (no procfs: replay mode) knowing `PROCESSES` processes, half in a container.
fn populated() -> Enricher {
    let e = Enricher::new(EnrichConfig {
        read_proc: false,
        ..EnrichConfig::default()
    });
    for pid in 2..2 + PROCESSES {
        let container = (pid % 2 == 0).then(|| format!("{:064x}", pid));
        let mut ev = Event {
            fidelity: None,
            seq: pid as u64,
            time_ns: 1_000_000_000,
            process: process(pid, container),
            detail: EventDetail::Exec(ExecEvent {
                args_gap: None,
                filename: format!("/usr/local/bin/service-{pid}"),
                args: vec!["service".into(), "--port".into(), pid.to_string()],
                args_truncated: false,
                cwd: "/srv".into(),
                ld_preload: None,
                ld_library_path: None,
                file_mode: 0o755,
                dev: 0,
                inode: 0,
                mtime_ns: 0,
            }),
        };
        e.observe(&mut ev);
    }
    e
}

/// A stream of file-open events from the known processes.
fn stream(flags: u32, sensor_filled: bool) -> Vec<Event> {
    (0..STREAM)
        .map(|i| {
            let pid = 2 + (i as u32 * 7919) % PROCESSES;
            let mut p = process(pid, None);
            if sensor_filled {
                p.exe = format!("/usr/local/bin/service-{pid}");
            }
            Event {
                fidelity: None,
                seq: i as u64,
                time_ns: 2_000_000_000 + i as u64,
                process: p,
                detail: EventDetail::FileOpen(FileOpenEvent {
                    path: format!("/var/lib/app/data-{}.db", i % 64),
                    flags,
                    mode: 0,
                    result: 3,
                }),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let e = populated();
    let mut group = c.benchmark_group("observe");
    group.throughput(Throughput::Elements(STREAM as u64));
    let cases = [
        ("file_open_read_fill_exe_and_container", 0u32, false),
        ("file_open_read_exe_already_set", 0, true),
        (
            "file_open_write_tracked",
            (libc::O_WRONLY | libc::O_CREAT) as u32,
            false,
        ),
    ];
    for (name, flags, filled) in cases {
        let events = stream(flags, filled);
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || events.clone(),
                |batch| {
                    for ev in batch.iter_mut() {
                        e.observe(black_box(ev));
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
