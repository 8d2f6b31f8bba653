//! Harrier detector `defense-evasion`: code injection, fileless execution,
//! anti-debugging and kernel modules.
//!
//! - `DefenseEvasion:Runtime/ProcessInjection.Proc`: writing another
//!   process's memory through `/proc/<pid>/mem`.
//! - `DefenseEvasion:Runtime/ProcessInjection.Ptrace`: `PTRACE_POKETEXT`,
//!   `POKEDATA`, `POKEUSER`, `SETREGS`, `SETREGSET` on another process by a
//!   program that is not a debugger.
//! - `DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite`:
//!   `process_vm_writev(2)` into another process.
//! - `DefenseEvasion:Runtime/PtraceAttached`: `PTRACE_ATTACH`/`SEIZE` by a
//!   program that is not a debugger (Falco "PTRACE attached to process").
//! - `DefenseEvasion:Runtime/PtraceAntiDebugging`: `PTRACE_TRACEME`.
//! - `DefenseEvasion:Runtime/FilelessExecution`: executing a memfd
//!   (`/memfd:`, `/proc/self/fd/N` after `memfd_create`) or a deleted file.
//! - `DefenseEvasion:Runtime/KernelModuleLoaded`: a kernel module loaded
//!   (more severe from a container).

#![deny(missing_docs)]

use std::collections::HashMap;

use harrier_sdk::matching::basename;
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, Finding, FindingBuilder, FindingSpec, Metadata,
    Policy, Severity, config, finding, testing,
};
use serde::{Deserialize, Serialize};

/// Injection through /proc/<pid>/mem.
pub const INJECT_PROC: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/ProcessInjection.Proc",
    severity: 8.0,
    title: "Process injection through /proc/<pid>/mem",
    description: "A process opened another process's /proc/<pid>/mem for writing, to inject code.",
    mitre: "T1055.009",
};
/// Injection through ptrace.
pub const INJECT_PTRACE: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/ProcessInjection.Ptrace",
    severity: 8.0,
    title: "Process injection through ptrace",
    description: "A process that is not a debugger wrote another process's memory or registers with ptrace.",
    mitre: "T1055.008",
};
/// Injection through process_vm_writev.
pub const INJECT_VM: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite",
    severity: 8.0,
    title: "Process injection through process_vm_writev",
    description: "A process wrote into another process's memory with process_vm_writev.",
    mitre: "T1055",
};
/// ptrace attach by a non-debugger.
pub const PTRACE_ATTACH: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/PtraceAttached",
    severity: 3.0,
    title: "ptrace attached to a process",
    description: "A process that is not a known debugger attached to another process with ptrace.",
    mitre: "T1055.008",
};
/// PTRACE_TRACEME anti-debugging.
pub const ANTI_DEBUG: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/PtraceAntiDebugging",
    severity: 3.0,
    title: "ptrace anti-debugging",
    description: "A process called PTRACE_TRACEME, a common trick of malware to stop debuggers attaching.",
    mitre: "T1622",
};
/// Fileless execution.
pub const FILELESS: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/FilelessExecution",
    severity: 8.0,
    title: "Fileless execution",
    description: "A program was executed from memory (memfd) or from a deleted file, leaving nothing on disk.",
    mitre: "T1620",
};
/// Kernel module loaded.
pub const MODULE: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/KernelModuleLoaded",
    severity: 5.0,
    title: "Kernel module loaded",
    description: "A kernel module was loaded; rootkits hide this way. From a container this is High.",
    mitre: "T1547.006",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 7] = [
    INJECT_PROC,
    INJECT_PTRACE,
    INJECT_VM,
    PTRACE_ATTACH,
    ANTI_DEBUG,
    FILELESS,
    MODULE,
];

/// Debuggers and tracers allowed to attach and poke.
pub const DEBUGGERS: &[&str] = &[
    "gdb",
    "lldb",
    "lldb-server",
    "gdbserver",
    "strace",
    "ltrace",
    "rr",
    "perf",
    "criu",
    "dlv",
    "valgrind",
    "py-spy",
    "rbspy",
];

const PTRACE_TRACEME: u32 = 0;
const PTRACE_POKES: &[u32] = &[4, 5, 6, 13, 15, 0x4205];
const PTRACE_ATTACHES: &[u32] = &[16, 0x4206];
/// Most pids with a live memfd remembered.
const MAX_MEMFD_PIDS: usize = 4096;

/// The detector's own configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    debuggers: Vec<String>,
}

/// State carried across hot reloads: pids that created a memfd, with the
/// event sequence and name.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    memfds: HashMap<u32, (u64, String)>,
}

/// The defense-evasion detector.
pub struct DefenseEvasion {
    policy: Policy,
    own: Own,
    state: State,
}

impl DefenseEvasion {
    fn is_debugger(&self, exe: &str) -> bool {
        let n = basename(exe);
        DEBUGGERS.contains(&n) || self.own.debuggers.iter().any(|d| d == n)
    }

    fn emit(
        &self,
        b: FindingBuilder,
        spec: &FindingSpec,
        event: &Event,
        path: Option<&str>,
        out: &mut Vec<Finding>,
    ) {
        if self.policy.permits(spec.finding_type, &event.process, path) {
            out.push(b.build());
        }
    }
}

/// The pid in `/proc/<pid>/mem`, if the path is one.
fn proc_mem_pid(path: &str) -> Option<&str> {
    path.strip_prefix("/proc/")?.strip_suffix("/mem")
}

impl Detector for DefenseEvasion {
    fn metadata() -> Metadata {
        finding::metadata(
            "defense-evasion",
            env!("CARGO_PKG_VERSION"),
            "Process injection (/proc/<pid>/mem, ptrace, process_vm_writev), ptrace anti-debugging and attach, fileless execution, kernel modules.",
            &[
                EventKind::FileOpen,
                EventKind::Ptrace,
                EventKind::ProcessVmWrite,
                EventKind::MemfdCreate,
                EventKind::Exec,
                EventKind::Exit,
                EventKind::ModuleLoad,
            ],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        Ok(Self {
            policy,
            own,
            state: State::default(),
        })
    }

    /// Injection through `/proc/<pid>/mem` needs a writing open; no read matters.
    fn read_path_prefixes(&self) -> Option<Vec<String>> {
        Some(Vec::new())
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let p = &event.process;
        match &event.detail {
            EventDetail::FileOpen(open) => {
                // Hot path: a byte compare rules out almost every open.
                if !open.path.starts_with("/proc/") || open.flags & 0o3 == 0 || open.result < 0 {
                    return;
                }
                let Some(target) = proc_mem_pid(&open.path) else {
                    return;
                };
                if target == "self" || target == p.pid.to_string() || self.is_debugger(&p.exe) {
                    return;
                }
                let b = FindingBuilder::new(&INJECT_PROC, event)
                    .evidence("target_pid", target)
                    .evidence("path", &open.path);
                self.emit(b, &INJECT_PROC, event, None, out);
            }
            EventDetail::ProcessVmWrite(w) => {
                if w.result < 0 || w.target_pid == p.pid {
                    return;
                }
                let spec = if w.method == "proc_mem" {
                    &INJECT_PROC
                } else {
                    &INJECT_VM
                };
                let b = FindingBuilder::new(spec, event)
                    .evidence("target_pid", w.target_pid.to_string())
                    .evidence("method", &w.method);
                self.emit(b, spec, event, None, out);
            }
            EventDetail::Ptrace(t) => {
                if t.result < 0 {
                    return;
                }
                let spec = if t.request == PTRACE_TRACEME {
                    &ANTI_DEBUG
                } else if t.target_pid == p.pid || self.is_debugger(&p.exe) {
                    return;
                } else if PTRACE_POKES.contains(&t.request) {
                    &INJECT_PTRACE
                } else if PTRACE_ATTACHES.contains(&t.request) {
                    &PTRACE_ATTACH
                } else {
                    return;
                };
                let b = FindingBuilder::new(spec, event)
                    .evidence("ptrace_request", t.request.to_string())
                    .evidence("target_pid", t.target_pid.to_string());
                self.emit(b, spec, event, None, out);
            }
            EventDetail::MemfdCreate(m)
                if m.result >= 0 && self.state.memfds.len() < MAX_MEMFD_PIDS =>
            {
                self.state.memfds.insert(p.pid, (event.seq, m.name.clone()));
            }
            EventDetail::Exec(exec) => {
                let f = exec.filename.as_str();
                let memfd_path = f.starts_with("/memfd:") || f.starts_with("memfd:");
                let fd_path = f.starts_with("/proc/self/fd/")
                    || f.starts_with("/dev/fd/")
                    || (f.starts_with("/proc/") && f.contains("/fd/"));
                let created = self.state.memfds.remove(&p.pid);
                let deleted = f.ends_with(" (deleted)");
                if memfd_path || deleted || (fd_path && created.is_some()) {
                    let mut b = FindingBuilder::new(&FILELESS, event)
                        .evidence("filename", f)
                        .evidence("cmdline", exec.args.join(" "));
                    if let Some((seq, name)) = created {
                        b = b.event_seq(seq).evidence("memfd_name", name);
                    }
                    self.emit(b, &FILELESS, event, Some(f), out);
                }
            }
            EventDetail::Exit(_) => {
                self.state.memfds.remove(&p.pid);
            }
            EventDetail::ModuleLoad(m) if m.result >= 0 => {
                let mut b = FindingBuilder::new(&MODULE, event)
                    .evidence("module_name", &m.name)
                    .evidence("syscall", &m.syscall);
                if p.container_id.is_some() {
                    b = b.severity(Severity::new(8.0).expect("8.0 is on the scale"));
                }
                self.emit(b, &MODULE, event, None, out);
            }
            _ => {}
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/defense-evasion/detect.jsonl"),
            |_| {},
            &SPECS.map(|s| s.finding_type),
        )
    }

    fn snapshot(&self) -> Vec<u8> {
        harrier_sdk::state::save(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        harrier_sdk::state::load(state, &mut self.state)
    }
}

harrier_sdk::export_detector!(DefenseEvasion);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{Harness, load_fixture, medium_or_worse, types};

    harrier_sdk::detector_tests!(DefenseEvasion);

    #[test]
    fn detects_every_type_once() {
        let f = run("{}", "defense-evasion/detect.jsonl");
        let mut want: Vec<String> = SPECS.iter().map(|s| s.finding_type.to_string()).collect();
        want.sort();
        assert_eq!(types(&f), want, "{f:#?}");
        let fileless = f
            .iter()
            .find(|f| f.finding_type == FILELESS.finding_type)
            .unwrap();
        assert_eq!(
            fileless.event_seqs.len(),
            2,
            "cites the memfd_create and the exec"
        );
    }

    #[test]
    fn memfd_state_survives_a_reload() {
        let events = load_fixture(format!("{FIXTURES}defense-evasion/detect.jsonl")).unwrap();
        let split = events
            .iter()
            .position(|e| matches!(e.detail, EventDetail::Exec(_)))
            .unwrap();
        let mut h = Harness::<DefenseEvasion>::new("{}").unwrap();
        h.run(&events[..split]);
        let snap = h.detector().snapshot();
        let mut h2 = Harness::<DefenseEvasion>::new("{}").unwrap();
        h2.detector().restore(&snap).unwrap();
        let f = h2.run(&events[split..]);
        assert_eq!(types(&f), vec![FILELESS.finding_type.to_string()]);
        let mut h3 = Harness::<DefenseEvasion>::new("{}").unwrap();
        assert!(
            h3.run(&events[split..]).is_empty(),
            "without state /proc/self/fd exec is not enough"
        );
    }

    #[test]
    fn configuration_cuts_noise() {
        let f = run(
            r#"{"debuggers":["inject"]}"#,
            "defense-evasion/detect.jsonl",
        );
        assert_eq!(f.len(), 4, "{f:#?}");
        assert!(
            DefenseEvasion::new(r#"{"debuggers":[1]}"#)
                .err()
                .unwrap()
                .contains("debuggers[0]")
        );
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
