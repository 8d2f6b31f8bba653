//! A fake host: process table, recent writes, clock and log in memory.
//!
//! Natively it always answers [`crate::host`] calls; on wasm32 only while
//! installed (a detector's self-test installs one so its fixture does not
//! depend on the live host). It can learn its state from events the way the
//! host's enrichment does ([`FakeHost::observe`]). Threat-intelligence
//! indicators are declared with [`FakeHost::add_indicator`] or in a
//! fixture's header (see [`crate::testing`]).

use std::cell::RefCell;
use std::collections::HashMap;

use std::net::IpAddr;

use serde::Deserialize;

use crate::{Event, EventDetail, FileWriteInfo, IndicatorKind, IntelHit, LogLevel, ProcessInfo};

/// `O_WRONLY | O_RDWR`.
const O_ACCMODE_WRITE: u32 = 0o3;
/// `O_CREAT`.
const O_CREAT: u32 = 0o100;
/// `O_TRUNC`.
const O_TRUNC: u32 = 0o1000;

/// In-memory host state answering the host imports.
#[derive(Debug, Clone, Default)]
pub struct FakeHost {
    /// The process table, by pid.
    pub processes: HashMap<u32, ProcessInfo>,
    /// Recently written files, by path.
    pub recent_writes: HashMap<String, FileWriteInfo>,
    /// What `now_ns` returns; [`FakeHost::observe`] advances it to event times.
    pub now_ns: u64,
    /// Lines the detector logged.
    pub logs: Vec<(LogLevel, String)>,
    /// Threat-intelligence indicators `intel_match` answers from.
    pub indicators: Vec<FakeIndicator>,
}

/// An indicator of the fake host, as a fixture header declares it:
/// `{"kind":"domain","value":"*.evil.example","category":"command-and-control","source":"fixture"}`.
/// Domains written `*.name` match the name and its subdomains, others only
/// themselves; `ip` values may be CIDR ranges.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FakeIndicator {
    /// `domain`, `ip` or `sha256`.
    #[serde(deserialize_with = "kind_of_name")]
    pub kind: IndicatorKind,
    /// The entry.
    pub value: String,
    /// Its category, e.g. `command-and-control`.
    pub category: String,
    /// Its feed (default `fixture`).
    #[serde(default = "fixture_source")]
    pub source: String,
}

fn kind_of_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<IndicatorKind, D::Error> {
    match String::deserialize(d)?.as_str() {
        "domain" => Ok(IndicatorKind::Domain),
        "ip" => Ok(IndicatorKind::Ip),
        "sha256" => Ok(IndicatorKind::Sha256),
        other => Err(serde::de::Error::custom(format!(
            "unknown indicator kind `{other}` (domain, ip, sha256)"
        ))),
    }
}

fn fixture_source() -> String {
    "fixture".to_string()
}

impl FakeIndicator {
    /// How specifically this entry matches `value` of `kind` (longer is more
    /// specific), if it does.
    fn specificity(&self, kind: IndicatorKind, value: &str) -> Option<usize> {
        if self.kind != kind {
            return None;
        }
        match kind {
            IndicatorKind::Domain => {
                let q = value.trim_end_matches('.').to_ascii_lowercase();
                let (name, subdomains) = match self.value.strip_prefix("*.") {
                    Some(n) => (n, true),
                    None => (self.value.as_str(), false),
                };
                let under = subdomains && q.ends_with(&format!(".{name}"));
                (q == name || under).then_some(name.len())
            }
            IndicatorKind::Ip => {
                let addr: IpAddr = value.parse().ok()?;
                let (net, bits) = match self.value.split_once('/') {
                    Some((n, b)) => (n.parse::<IpAddr>().ok()?, b.parse::<u32>().ok()?),
                    None => {
                        let n: IpAddr = self.value.parse().ok()?;
                        (n, if n.is_ipv4() { 32 } else { 128 })
                    }
                };
                let (a, n, width) = match (addr, net) {
                    (IpAddr::V4(a), IpAddr::V4(n)) => {
                        (u32::from(a) as u128, u32::from(n) as u128, 32)
                    }
                    (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
                    _ => return None,
                };
                let shift = width - bits.min(width);
                let same = shift >= 128 || (a >> shift) == (n >> shift);
                same.then_some(bits as usize)
            }
            IndicatorKind::Sha256 => self.value.eq_ignore_ascii_case(value).then_some(64),
        }
    }
}

impl FakeHost {
    /// An empty host.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace a process.
    pub fn add_process(&mut self, info: ProcessInfo) -> &mut Self {
        self.processes.insert(info.pid, info);
        self
    }

    /// Record that `path` was written (or created) by `writer_pid` at `time_ns`.
    pub fn add_recent_write(
        &mut self,
        path: &str,
        writer_pid: u32,
        time_ns: u64,
        created: bool,
    ) -> &mut Self {
        let writer_exe = self
            .processes
            .get(&writer_pid)
            .map(|p| p.exe.clone())
            .unwrap_or_default();
        self.recent_writes.insert(
            path.to_string(),
            FileWriteInfo {
                path: path.to_string(),
                writer_pid,
                writer_exe,
                time_ns,
                created,
            },
        );
        self
    }

    /// Set the executable hash the host reports for `pid` (no-op if unknown).
    pub fn set_exe_sha256(&mut self, pid: u32, sha256: &str) -> &mut Self {
        if let Some(p) = self.processes.get_mut(&pid) {
            p.exe_sha256 = Some(sha256.to_string());
        }
        self
    }

    /// Declare a threat-intelligence indicator.
    pub fn add_indicator(&mut self, kind: IndicatorKind, value: &str, category: &str) -> &mut Self {
        self.indicators.push(FakeIndicator {
            kind,
            value: value.to_string(),
            category: category.to_string(),
            source: fixture_source(),
        });
        self
    }

    /// The most specific declared indicator matching `value`, as the host's
    /// `intel-match` answers.
    pub fn intel_match(&self, kind: IndicatorKind, value: &str) -> Option<IntelHit> {
        let best = self
            .indicators
            .iter()
            .filter_map(|i| Some((i.specificity(kind, value)?, i)))
            .max_by_key(|(s, _)| *s)?
            .1;
        Some(IntelHit {
            category: best.category.clone(),
            source: best.source.clone(),
            indicator: best.value.trim_start_matches("*.").to_string(),
        })
    }

    /// Ancestors of `pid`, nearest first, at most `max_depth`.
    pub fn ancestry(&self, pid: u32, max_depth: u32) -> Vec<ProcessInfo> {
        let mut out = Vec::new();
        let mut current = self.processes.get(&pid).map(|p| p.ppid);
        while let Some(ppid) = current {
            if out.len() as u32 >= max_depth || ppid == 0 {
                break;
            }
            match self.processes.get(&ppid) {
                Some(parent) if !out.iter().any(|p: &ProcessInfo| p.pid == parent.pid) => {
                    current = Some(parent.ppid);
                    out.push(parent.clone());
                }
                _ => break,
            }
        }
        out
    }

    /// Learn from an event what the host's enrichment would: processes from
    /// exec and fork, recent writes from writes, creating opens and renames.
    pub fn observe(&mut self, event: &Event) {
        self.now_ns = self.now_ns.max(event.time_ns);
        let p = &event.process;
        self.processes
            .entry(p.pid)
            .or_insert_with(|| process_info_of(event));
        match &event.detail {
            EventDetail::Exec(exec) => {
                let entry = self
                    .processes
                    .entry(p.pid)
                    .or_insert_with(|| process_info_of(event));
                entry.exe = exec.filename.clone();
                entry.cmdline = exec.args.join(" ");
                entry.cwd = exec.cwd.clone();
                entry.start_time_ns = event.time_ns;
                entry.uid = p.uid;
                entry.euid = p.euid;
                entry.ppid = p.ppid;
                entry.exe_sha256 = None;
            }
            EventDetail::Fork(fork) => {
                let mut child = self
                    .processes
                    .get(&p.pid)
                    .cloned()
                    .unwrap_or_else(|| process_info_of(event));
                child.pid = fork.child_pid;
                child.ppid = p.pid;
                child.start_time_ns = event.time_ns;
                self.processes.insert(fork.child_pid, child);
            }
            EventDetail::FileOpen(open) => {
                let writes = open.flags & (O_ACCMODE_WRITE | O_CREAT | O_TRUNC) != 0;
                if writes && open.result >= 0 {
                    self.write(&open.path, event, open.flags & O_CREAT != 0);
                }
            }
            EventDetail::FileWrite(w) => {
                let created = self
                    .recent_writes
                    .get(&w.path)
                    .is_some_and(|prev| prev.created && prev.writer_pid == p.pid);
                self.write(&w.path, event, created);
            }
            EventDetail::FileRename(r) if r.result >= 0 => {
                self.write(&r.new_path, event, true);
            }
            _ => {}
        }
    }

    fn write(&mut self, path: &str, event: &Event, created: bool) {
        let p = &event.process;
        let writer_exe = self
            .processes
            .get(&p.pid)
            .map(|i| i.exe.clone())
            .unwrap_or_else(|| p.exe.clone());
        self.recent_writes.insert(
            path.to_string(),
            FileWriteInfo {
                path: path.to_string(),
                writer_pid: p.pid,
                writer_exe,
                time_ns: event.time_ns,
                created,
            },
        );
    }
}

/// What the host would know about an event's process before seeing its exec.
fn process_info_of(event: &Event) -> ProcessInfo {
    let p = &event.process;
    ProcessInfo {
        pid: p.pid,
        ppid: p.ppid,
        uid: p.uid,
        euid: p.euid,
        exe: p.exe.clone(),
        cmdline: p.comm.clone(),
        start_time_ns: 0,
        container_id: p.container_id.clone(),
        pod_uid: None,
        cwd: String::new(),
        user_name: (p.uid == 0).then(|| "root".to_string()),
        exe_sha256: None,
        workload: None,
    }
}

thread_local! {
    static FAKE: RefCell<Option<FakeHost>> = const { RefCell::new(None) };
}

/// Whether a fake host is installed (always true on native targets once used).
pub fn is_installed() -> bool {
    FAKE.with(|f| f.borrow().is_some())
}

/// Install `host` as the fake host, returning the one it replaces.
pub fn install(host: FakeHost) -> Option<FakeHost> {
    FAKE.with(|f| f.borrow_mut().replace(host))
}

/// Remove the fake host, returning it.
pub fn uninstall() -> Option<FakeHost> {
    FAKE.with(|f| f.borrow_mut().take())
}

/// Run `f` on the fake host, installing an empty one first if none is.
pub fn with<R>(f: impl FnOnce(&mut FakeHost) -> R) -> R {
    FAKE.with(|cell| {
        let mut cell = cell.borrow_mut();
        f(cell.get_or_insert_with(FakeHost::default))
    })
}
