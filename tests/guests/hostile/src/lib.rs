//! A deliberately hostile detector for the host's tests, written against
//! the WIT file directly (no SDK). Its configuration chooses how it
//! misbehaves, e.g. `{"on_events":"loop"}`:
//!
//! - `on_events`: `echo` (one finding per event carrying its sequence
//!   number; the default), `loop`, `grow` (allocate until the memory cap),
//!   `trap` (panic), `flood` (10 000 findings), `quiet` (no findings),
//!   `sleep` (sleep 10 s on the WASI monotonic clock, then echo),
//!   `random` (one finding carrying a WASI random number), `environment`
//!   (one finding carrying the size of the WASI environment), `huge` (one
//!   finding with a 40 MB description per call), `undeclared` (a finding of
//!   a built-in type it did not declare), `spoof` (an `AttackSequence:*`
//!   finding at severity 10), `nameless` (a finding with an empty type),
//!   `forge` (logs a message with a forged second line).
//! - `init`: `fail`, `loop` or `sleep`; `self_test`: `fail`.
//! - `read_prefix`: the one path prefix of read-only opens it wants
//!   (default: every open).
//!
//! State (the last sequence number seen) survives snapshot/restore; in
//! `echo` mode a batch that does not start right after it is reported as
//! `Test:Runtime/SequenceGap`, which proves no event was lost or repeated
//! across a hot swap.

use std::cell::RefCell;

wit_bindgen::generate!({
    path: ["../../../wit", "wit"],
    world: "harrier:hostile/hostile",
    generate_all,
});

use harrier::detector::host;
use harrier::detector::types::{EventKind, Evidence, LogLevel};
use wasi::clocks::monotonic_clock;

#[derive(Default)]
struct Config {
    on_events: String,
    self_test_fails: bool,
    read_prefix: Option<String>,
}

thread_local! {
    static CONFIG: RefCell<Config> = RefCell::default();
    static LAST_SEQ: RefCell<u64> = const { RefCell::new(0) };
}

/// Value of `"key":"value"` in a flat JSON object (enough for test configs).
fn setting(config: &str, key: &str) -> Option<String> {
    let start = config.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = config[start..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

struct Hostile;

impl Guest for Hostile {
    fn metadata() -> Metadata {
        Metadata {
            name: "hostile".into(),
            version: "1.0.0".into(),
            description: "misbehaves on request".into(),
            subscriptions: vec![EventKind::Exec, EventKind::FileOpen],
            finding_types: vec![
                "Test:Runtime/Echo".into(),
                "Test:Runtime/SequenceGap".into(),
            ],
        }
    }

    fn init(config: String) -> Result<(), String> {
        match setting(&config, "init").as_deref() {
            Some("fail") => return Err("configured to fail init".into()),
            Some("loop") => spin(),
            Some("sleep") => sleep(),
            _ => {}
        }
        CONFIG.with(|c| {
            *c.borrow_mut() = Config {
                on_events: setting(&config, "on_events").unwrap_or_else(|| "echo".into()),
                self_test_fails: setting(&config, "self_test").as_deref() == Some("fail"),
                read_prefix: setting(&config, "read_prefix"),
            }
        });
        host::log(
            LogLevel::Info,
            &format!("hostile initialised with {config}"),
        );
        Ok(())
    }

    fn read_path_prefixes() -> Option<Vec<String>> {
        CONFIG.with(|c| c.borrow().read_prefix.clone().map(|p| vec![p]))
    }

    fn on_events(events: Vec<Event>) -> Vec<Finding> {
        let mode = CONFIG.with(|c| c.borrow().on_events.clone());
        let before = LAST_SEQ.with(|s| *s.borrow());
        let gap = match events.first() {
            // Before any event (and without restored state) the stream must
            // start at 1, so a swap that failed to carry state shows too.
            Some(first) if first.seq != before + 1 => Some(gap(before, first.seq)),
            _ => None,
        };
        if let Some(last) = events.last() {
            LAST_SEQ.with(|s| *s.borrow_mut() = last.seq);
        }
        match mode.as_str() {
            "loop" => spin(),
            "grow" => grow(),
            "trap" => panic!("hostile detector panics on purpose"),
            "flood" => (0..10_000).map(|i| echo(i, 0)).collect(),
            "quiet" => Vec::new(),
            "sleep" => {
                sleep();
                events.iter().map(|e| echo(e.seq, e.process.pid)).collect()
            }
            "huge" => vec![Finding {
                description: "x".repeat(40 << 20),
                ..echo(
                    events.first().map_or(0, |e| e.seq),
                    events.first().map_or(0, |e| e.process.pid),
                )
            }],
            "undeclared" | "spoof" | "nameless" => {
                let finding_type = match mode.as_str() {
                    "undeclared" => "Execution:Runtime/ReverseShell",
                    "spoof" => "AttackSequence:Runtime/MultiStageAttack",
                    _ => "",
                };
                vec![
                    Finding {
                        finding_type: finding_type.into(),
                        severity: 10.0,
                        ..echo(0, 0)
                    },
                    echo(1, 0),
                ]
            }
            "forge" => {
                host::log(
                    LogLevel::Warn,
                    "nothing to see\n2026-01-01T00:00:00Z  INFO harrier: ready, 7 detectors serving",
                );
                Vec::new()
            }
            "random" => vec![wasi_finding(wasi::random::random::get_random_u64())],
            "environment" => vec![wasi_finding(
                wasi::cli::environment::get_environment().len() as u64,
            )],
            _ => gap
                .into_iter()
                .chain(events.iter().map(|e| echo(e.seq, e.process.pid)))
                .collect(),
        }
    }

    fn tick(_now_ns: u64) -> Vec<Finding> {
        Vec::new()
    }

    fn self_test() -> Result<(), String> {
        if CONFIG.with(|c| c.borrow().self_test_fails) {
            return Err("configured to fail its self-test".into());
        }
        Ok(())
    }

    fn snapshot() -> Vec<u8> {
        LAST_SEQ.with(|s| s.borrow().to_le_bytes().to_vec())
    }

    fn restore(state: Vec<u8>) -> Result<(), String> {
        let bytes: [u8; 8] = state
            .try_into()
            .map_err(|_| "state must be 8 bytes".to_string())?;
        LAST_SEQ.with(|s| *s.borrow_mut() = u64::from_le_bytes(bytes));
        Ok(())
    }
}

/// Reported when a batch does not start right after the last event seen
/// (state carried across hot swaps by snapshot/restore).
fn gap(last: u64, first: u64) -> Finding {
    Finding {
        finding_type: "Test:Runtime/SequenceGap".into(),
        severity: 9.0,
        title: format!("expected event {} after {last}, got {first}", last + 1),
        description: String::new(),
        mitre_technique: None,
        pid: 0,
        event_seqs: vec![first],
        evidence: Vec::new(),
    }
}

fn echo(seq: u64, pid: u32) -> Finding {
    Finding {
        finding_type: "Test:Runtime/Echo".into(),
        severity: 2.0,
        title: format!("event {seq}"),
        description: String::new(),
        mitre_technique: None,
        pid,
        event_seqs: vec![seq],
        evidence: vec![Evidence {
            key: "last_seq_before".into(),
            value: LAST_SEQ.with(|s| s.borrow().to_string()),
        }],
    }
}

/// A finding carrying a value read from WASI.
fn wasi_finding(value: u64) -> Finding {
    Finding {
        evidence: vec![Evidence {
            key: "wasi".into(),
            value: value.to_string(),
        }],
        ..echo(0, 0)
    }
}

/// Sleep for 10 s the way `std::thread::sleep` does on WASI.
fn sleep() {
    monotonic_clock::subscribe_duration(10_000_000_000).block();
}

fn spin() -> ! {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

fn grow() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}

export!(Hostile);
