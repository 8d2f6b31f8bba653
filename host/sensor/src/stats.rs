//! What the sensor reports about itself: counters and start-up features.

use std::time::Duration;

use harrier_events::EventKind;

/// Counters since start-up, indexed by `EventKind::index()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SensorStats {
    /// Events decoded and handed out, per kind.
    pub received: Vec<u64>,
    /// Records lost in the kernel because the ring buffer was full, per kind.
    pub dropped: Vec<u64>,
    /// Records that could not be decoded.
    pub decode_errors: u64,
    /// Program runs the kernel skipped because the same program was already running on
    /// that CPU (a preempted syscall hook); the kind of the lost record is unknown.
    pub missed: u64,
    /// DNS answer records whose payload was not a DNS response (no event made).
    pub dns_malformed: u64,
    /// DNS answers whose answer section was cut or malformed (answers before it delivered).
    pub dns_incomplete: u64,
}

impl SensorStats {
    /// Events received of `kind`.
    pub fn received_of(&self, kind: EventKind) -> u64 {
        self.received.get(kind.index()).copied().unwrap_or(0)
    }
    /// Records dropped of `kind`.
    pub fn dropped_of(&self, kind: EventKind) -> u64 {
        self.dropped.get(kind.index()).copied().unwrap_or(0)
    }
    /// Records dropped, all kinds.
    pub fn total_dropped(&self) -> u64 {
        self.dropped.iter().sum()
    }
}

/// Result of probing an optional hook type at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookProbe {
    /// The kernel accepted a probe program (not used: tracepoints cover every family).
    Available,
    /// The kernel refused it; the reason.
    Refused(String),
}

impl std::fmt::Display for HookProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookProbe::Available => f.write_str("available (unused)"),
            HookProbe::Refused(reason) => write!(f, "refused ({reason})"),
        }
    }
}

/// What the sensor attached and probed, and how long start-up took.
#[derive(Clone, Debug)]
pub struct SensorFeatures {
    /// Hooks attached, e.g. `raw_tp/sys_enter`.
    pub attached: Vec<String>,
    /// Number of syscalls in the capture table.
    pub hooked_syscalls: usize,
    /// fentry probe result.
    pub fentry: HookProbe,
    /// BPF LSM probe result.
    pub lsm: HookProbe,
    /// tracefs state at start: "present", "mounted" or why mounting failed.
    pub tracefs: String,
    /// Time from privilege check to programs attached.
    pub startup: Duration,
    /// Start-up broken down by phase (BTF, object load, each program, probes).
    pub phases: Vec<(String, Duration)>,
}
