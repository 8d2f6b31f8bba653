//! Harrier detector `defense-evasion`: code injection, fileless execution,
//! anti-debugging and kernel modules.
//!
//! - `DefenseEvasion:Runtime/ProcessInjection.Proc`: writing another
//!   process's memory through `/proc/<pid>/mem`.
//! - `DefenseEvasion:Runtime/ProcessInjection.Ptrace`: `PTRACE_POKETEXT`,
//!   `POKEDATA`, `POKEUSER`, `SETREGS`, `SETREGSET` on another process by a
//!   program that is not a debugger, or any read of the memory or registers
//!   (`PEEK*`, `GETREGS`) of a child that asked to be traced
//!   (`PTRACE_TRACEME`) by its parent.
//! - `DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite`:
//!   `process_vm_writev(2)` into another process.
//!
//! Like GuardDuty, the injection types and module loads fire on the
//! attempt, granted or refused; the evidence carries the call's `result`
//! (a negative errno when the kernel refused it).
//! - `DefenseEvasion:Runtime/PtraceAttached`: `PTRACE_ATTACH`/`SEIZE` by a
//!   program that is not a debugger (Falco "PTRACE attached to process").
//! - `DefenseEvasion:Runtime/PtraceAntiDebugging`: `PTRACE_TRACEME`.
//! - `DefenseEvasion:Runtime/FilelessExecution`: executing a memfd
//!   (`/memfd:`, `/proc/self/fd/N` after `memfd_create`) or a deleted file.
//! - `DefenseEvasion:Runtime/KernelModuleLoaded`: a kernel module loaded or
//!   a load attempted (more severe from a container).

#![deny(missing_docs)]

use std::collections::HashMap;

use harrier_sdk::matching::{basename, result_text};
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
    description: "A process that is not a debugger wrote (or tried to write) another process's memory or registers with ptrace, or read those of a child that asked to be traced.",
    mitre: "T1055.008",
};
/// Injection through process_vm_writev.
pub const INJECT_VM: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite",
    severity: 8.0,
    title: "Process injection through process_vm_writev",
    description: "A process wrote (or tried to write) into another process's memory with process_vm_writev.",
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
    description: "A kernel module was loaded, or a load attempted; rootkits hide this way. From a container this is High.",
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
/// Reads of memory or registers: PEEKTEXT/DATA/USER, GETREGS, GETFPREGS, GETREGSET.
const PTRACE_PEEKS: &[u32] = &[1, 2, 3, 12, 14, 0x4204];
const PTRACE_ATTACHES: &[u32] = &[16, 0x4206];
/// Most pids with a live memfd remembered.
const MAX_MEMFD_PIDS: usize = 4096;
/// Most `PTRACE_TRACEME` children remembered.
const MAX_TRACED: usize = 4096;

/// The name of a ptrace request, for evidence.
fn ptrace_request_name(request: u32) -> &'static str {
    match request {
        0 => "PTRACE_TRACEME",
        1 => "PTRACE_PEEKTEXT",
        2 => "PTRACE_PEEKDATA",
        3 => "PTRACE_PEEKUSER",
        4 => "PTRACE_POKETEXT",
        5 => "PTRACE_POKEDATA",
        6 => "PTRACE_POKEUSER",
        12 => "PTRACE_GETREGS",
        13 => "PTRACE_SETREGS",
        14 => "PTRACE_GETFPREGS",
        15 => "PTRACE_SETFPREGS",
        16 => "PTRACE_ATTACH",
        0x4204 => "PTRACE_GETREGSET",
        0x4205 => "PTRACE_SETREGSET",
        0x4206 => "PTRACE_SEIZE",
        _ => "other",
    }
}

/// The detector's own configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    debuggers: Vec<String>,
}

/// State carried across hot reloads: pids that created a memfd, with the
/// event sequence and name; children that called `PTRACE_TRACEME`, with
/// their parent's pid.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    memfds: HashMap<u32, (u64, String)>,
    #[serde(default)]
    traceme: HashMap<u32, u32>,
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

impl DefenseEvasion {
    /// ptrace requests, attempted or granted: anti-debugging, injection, attach.
    fn on_ptrace(&mut self, event: &Event, t: &harrier_sdk::PtraceEvent, out: &mut Vec<Finding>) {
        let p = &event.process;
        let mut traceme_child = false;
        let spec = if t.request == PTRACE_TRACEME {
            let traced = &mut self.state.traceme;
            if traced.len() < MAX_TRACED || traced.contains_key(&p.pid) {
                traced.insert(p.pid, p.ppid);
            }
            &ANTI_DEBUG
        } else if t.target_pid == p.pid || self.is_debugger(&p.exe) {
            return;
        } else if PTRACE_POKES.contains(&t.request) {
            &INJECT_PTRACE
        } else if PTRACE_PEEKS.contains(&t.request)
            && self.state.traceme.get(&t.target_pid) == Some(&p.pid)
        {
            // A parent reading the child it had trace itself: the
            // TRACEME/PEEKUSER pair GuardDuty reports as injection.
            traceme_child = true;
            &INJECT_PTRACE
        } else if PTRACE_ATTACHES.contains(&t.request) {
            &PTRACE_ATTACH
        } else {
            return;
        };
        let mut b = FindingBuilder::new(spec, event)
            .evidence("ptrace_request", t.request.to_string())
            .evidence("ptrace_request_name", ptrace_request_name(t.request))
            .evidence("target_pid", t.target_pid.to_string())
            .evidence("result", result_text(t.result));
        if traceme_child {
            b = b.evidence("target_called_traceme", "true");
        }
        self.emit(b, spec, event, None, out);
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
                if w.target_pid == p.pid {
                    return;
                }
                let spec = if w.method == "proc_mem" {
                    &INJECT_PROC
                } else {
                    &INJECT_VM
                };
                let b = FindingBuilder::new(spec, event)
                    .evidence("target_pid", w.target_pid.to_string())
                    .evidence("method", &w.method)
                    .evidence("result", result_text(w.result));
                self.emit(b, spec, event, None, out);
            }
            EventDetail::Ptrace(t) => self.on_ptrace(event, t, out),
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
                self.state.traceme.remove(&p.pid);
            }
            EventDetail::ModuleLoad(m) => {
                let mut b = FindingBuilder::new(&MODULE, event)
                    .evidence("module_name", &m.name)
                    .evidence("syscall", &m.syscall)
                    .evidence("result", result_text(m.result));
                if m.result < 0 {
                    b = b.title("Kernel module load attempted");
                }
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

    /// One capture line of `process` (pid, ppid, exe) doing `detail`.
    fn line(seq: u64, pid: u32, ppid: u32, exe: &str, kind: &str, detail: &str) -> String {
        format!(
            r#"{{"kind":"{kind}","pid":{pid},"seq":{seq},"time_ns":{seq},"process":{{"pid":{pid},"tid":{pid},"ppid":{ppid},"uid":0,"euid":0,"gid":0,"egid":0,"comm":"x","exe":"{exe}","container_id":"c1"}},"detail":{detail}}}"#
        )
    }

    fn replay(lines: &[String]) -> Vec<Finding> {
        let header = r#"{"harrier_capture":1,"wit":"0.1.0"}"#.to_string();
        let text = [vec![header], lines.to_vec()].concat().join("\n");
        let events = harrier_sdk::testing::parse_fixture(&text).unwrap();
        Harness::<DefenseEvasion>::new("{}").unwrap().run(&events)
    }

    fn evidence<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
        f.evidence
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    #[test]
    fn the_testers_traceme_child_read_by_its_parent_is_injection() {
        let traceme = line(
            1,
            801,
            800,
            "/tmp/ptrace",
            "ptrace",
            r#"{"Ptrace":{"request":0,"target_pid":0,"result":0}}"#,
        );
        let peek = line(
            2,
            800,
            1,
            "/tmp/ptrace",
            "ptrace",
            r#"{"Ptrace":{"request":3,"target_pid":801,"result":-5}}"#,
        );
        let f = replay(&[traceme.clone(), peek.clone()]);
        let mut want = vec![ANTI_DEBUG.finding_type, INJECT_PTRACE.finding_type];
        want.sort();
        assert_eq!(types(&f), want, "{f:#?}");
        let inject = f
            .iter()
            .find(|f| f.finding_type == INJECT_PTRACE.finding_type)
            .unwrap();
        assert_eq!(inject.pid, 800);
        assert_eq!(evidence(inject, "result"), Some("-5 (EIO)"));
        assert_eq!(
            evidence(inject, "ptrace_request_name"),
            Some("PTRACE_PEEKUSER")
        );
        // A read of a process that did not ask its reader to trace it is no injection.
        assert_eq!(types(&replay(&[peek])), Vec::<String>::new());
        let stranger = line(
            2,
            900,
            1,
            "/tmp/ptrace",
            "ptrace",
            r#"{"Ptrace":{"request":3,"target_pid":801,"result":0}}"#,
        );
        assert_eq!(
            types(&replay(&[traceme, stranger])),
            [ANTI_DEBUG.finding_type]
        );
    }

    #[test]
    fn refused_injections_and_module_loads_are_reported_with_their_errno() {
        let vm = line(
            1,
            810,
            1,
            "/tmp/vmRwTest",
            "process-vm-write",
            r#"{"ProcessVmWrite":{"target_pid":811,"method":"process_vm_writev","result":-14}}"#,
        );
        let poke = line(
            2,
            812,
            1,
            "/tmp/poke",
            "ptrace",
            r#"{"Ptrace":{"request":5,"target_pid":811,"result":-3}}"#,
        );
        let module = line(
            3,
            813,
            1,
            "/usr/bin/python3",
            "module-load",
            r#"{"ModuleLoad":{"name":"/bin/true","syscall":"finit_module","result":-38}}"#,
        );
        let f = replay(&[vm, poke, module]);
        let got: Vec<(&str, Option<&str>)> = f
            .iter()
            .map(|f| (f.finding_type.as_str(), evidence(f, "result")))
            .collect();
        assert_eq!(
            got,
            [
                (INJECT_VM.finding_type, Some("-14 (EFAULT)")),
                (INJECT_PTRACE.finding_type, Some("-3 (ESRCH)")),
                (MODULE.finding_type, Some("-38 (ENOSYS)")),
            ]
        );
        assert_eq!(f[2].title, "Kernel module load attempted");
        assert_eq!(f[2].severity, 8.0, "from a container");
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
