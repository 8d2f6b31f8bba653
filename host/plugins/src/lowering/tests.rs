//! Round trips: events lowered by [`EventList`] into a guest that hands its
//! argument straight back, lifted by wasmtime's own code, must equal what
//! went in, for every kind of event and every optional part.

use std::path::Path;

use harrier_events::capture::CaptureReader;
use harrier_events::*;
use wasmtime::component::{Component, Linker, TypedFunc};
use wasmtime::{Config, Engine, Store};

use super::EventList;

/// A component exporting `echo: func(events: list<event>) -> list<event>`
/// whose core function returns its argument's pointer and length as they
/// are, over a bump allocator: the lifted result is exactly what was
/// lowered.
fn echo_component(engine: &Engine) -> Component {
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit"))
        .unwrap();
    let pkg = resolve
        .push_str(
            "echo.wit",
            "package harrier:lowering-test;
             world echo {
               use harrier:detector/types@0.2.0.{event};
               export echo: func(events: list<event>) -> list<event>;
             }",
        )
        .unwrap();
    let world = resolve.select_world(&[pkg], Some("echo")).unwrap();
    let mut module = wat::parse_str(
        r#"(module
          (memory (export "memory") 1)
          (global $next (mut i32) (i32.const 1024))
          (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
            (local $ptr i32)
            (local.set $ptr
              (i32.and
                (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                (i32.sub (i32.const 0) (local.get 2))))
            (global.set $next (i32.add (local.get $ptr) (local.get 3)))
            (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
              (then
                (drop (memory.grow
                  (i32.add (i32.const 1)
                    (i32.shr_u (global.get $next) (i32.const 16)))))))
            (local.get $ptr))
          (func (export "echo") (param i32 i32) (result i32)
            (i32.store (i32.const 8) (local.get 0))
            (i32.store (i32.const 12) (local.get 1))
            (i32.const 8)))"#,
    )
    .unwrap();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    Component::new(engine, bytes).unwrap()
}

fn round_trip(events: &[Event]) -> Vec<Event> {
    let engine = Engine::new(Config::new().wasm_component_model(true)).unwrap();
    let component = echo_component(&engine);
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    let echo: TypedFunc<(EventList,), (Vec<Event>,)> =
        instance.get_typed_func(&mut store, "echo").unwrap();
    let refs: Vec<&Event> = events.iter().collect();
    let (back,) = echo.call(&mut store, (EventList(&refs),)).unwrap();
    back
}

fn process(container: bool) -> Process {
    Process {
        pid: 4242,
        tid: 4243,
        ppid: 1,
        uid: 1000,
        euid: 0,
        gid: 1001,
        egid: 2,
        comm: "bash".into(),
        exe: "/usr/bin/bash".into(),
        container_id: container.then(|| "c0ffee".repeat(10)),
        cgroup_id: container.then_some(u64::MAX - 7),
    }
}

fn event(seq: u64, detail: EventDetail) -> Event {
    Event {
        seq,
        time_ns: 1_700_000_000_000_000_000 + seq,
        process: process(seq.is_multiple_of(2)),
        detail,
        fidelity: None,
    }
}

fn address(i: usize) -> SocketAddress {
    match i % 4 {
        0 => SocketAddress::Ipv4(("10.1.2.3".into(), 443)),
        1 => SocketAddress::Ipv6(("fd00:ec2::254".into(), 65535)),
        2 => SocketAddress::Unix("/run/containerd/containerd.sock".into()),
        _ => SocketAddress::Other(17),
    }
}

/// Every hand-written kind, with each optional part both ways.
fn hot_events() -> Vec<Event> {
    let mut out = Vec::new();
    for i in 0..8usize {
        let some = i % 2 == 1;
        out.push(event(
            out.len() as u64,
            EventDetail::Exec(ExecEvent {
                filename: "/tmp/é/xmrig".into(),
                args: (0..i).map(|a| format!("arg{a}-ü")).collect(),
                args_truncated: some,
                cwd: if some { String::new() } else { "/root".into() },
                ld_preload: some.then(|| "/tmp/evil.so".into()),
                ld_library_path: (i % 3 == 0).then(|| "/opt/lib".into()),
                file_mode: 0o104755,
                dev: u64::MAX,
                inode: 1 << 40,
                mtime_ns: 123_456_789_012,
                args_gap: some.then_some(ArgsGap {
                    index: i as u32,
                    omitted_bytes: u64::MAX / 3,
                }),
            }),
        ));
        out.push(event(
            out.len() as u64,
            EventDetail::Exit(ExitEvent {
                code: -(i as i32),
                signal: i as u32,
            }),
        ));
        out.push(event(
            out.len() as u64,
            EventDetail::Fork(ForkEvent {
                child_pid: 9000 + i as u32,
                clone_flags: 0x1200011 << i,
            }),
        ));
        out.push(event(
            out.len() as u64,
            EventDetail::FileOpen(FileOpenEvent {
                path: format!("/etc/shadow{}", "x".repeat(i * 100)),
                flags: 0o1101,
                mode: 0o600,
                result: -13 + i as i64,
            }),
        ));
        out.push(event(
            out.len() as u64,
            EventDetail::FileWrite(FileWriteEvent {
                path: String::new(),
                bytes: i as u64 * 4096,
            }),
        ));
        let net = NetEvent {
            fd: i as i64 - 1,
            address: address(i),
            result: -115,
        };
        let detail = match i % 4 {
            0 => EventDetail::NetConnect(net),
            1 => EventDetail::NetAccept(net),
            2 => EventDetail::NetBind(net),
            _ => EventDetail::NetListen(net),
        };
        out.push(event(out.len() as u64, detail));
        out.push(event(
            out.len() as u64,
            EventDetail::DnsQuery(DnsEvent {
                query: "guarddutyc2activityb.com".into(),
                query_type: 28,
                server: address(i + 1),
            }),
        ));
    }
    // Fidelity on hot and on wasmtime-lowered kinds.
    for e in out.iter_mut().step_by(5) {
        e.fidelity = Some(Fidelity {
            cut: vec!["filename".into()],
            raw: vec![RawString {
                field: "args[1]".into(),
                escaped: "\\xff".into(),
            }],
            folded: vec![],
        });
    }
    out
}

#[test]
fn every_hand_written_kind_round_trips() {
    let events = hot_events();
    assert_eq!(round_trip(&events), events);
}

#[test]
fn the_fixtures_round_trip() {
    // Every detector fixture: real captures with every kind the default
    // pack reads, the rare ones lowered by wasmtime inside the event.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/fixtures");
    let mut events = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().join("detect.jsonl");
        if let Ok(file) = std::fs::File::open(&path) {
            let reader = CaptureReader::new(std::io::BufReader::new(file)).unwrap();
            events.extend(reader.map(|e| e.unwrap()));
        }
    }
    let kinds: std::collections::BTreeSet<_> =
        events.iter().map(|e| e.detail.kind().name()).collect();
    assert!(kinds.len() >= 20, "fixtures cover only {kinds:?}");
    let mut with_fidelity = events.clone();
    for e in with_fidelity.iter_mut() {
        e.fidelity.get_or_insert_with(|| Fidelity {
            cut: vec![],
            raw: vec![],
            folded: vec![RawString {
                field: "path".into(),
                escaped: "/tmp/../etc/shadow".into(),
            }],
        });
    }
    assert_eq!(round_trip(&events), events);
    assert_eq!(round_trip(&with_fidelity), with_fidelity);
    assert!(round_trip(&[]).is_empty());
}
