//! The host's services, callable from detector code on every target.
//!
//! On wasm32 each function calls the real host import, unless a
//! [`FakeHost`](crate::fake::FakeHost) is installed (as during a self-test).
//! On native targets the fake host always answers, so detectors can be unit
//! tested with `cargo test`.

use crate::{FileWriteInfo, IndicatorKind, IntelHit, LogLevel, ProcessInfo, fake};

#[cfg(target_arch = "wasm32")]
use crate::bindings::harrier::detector::host as real;

/// Write a line to the agent's log under the detector's name.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    if !fake::is_installed() {
        return real::log(level, message);
    }
    fake::with(|h| h.logs.push((level, message.to_string())));
}

/// Wall-clock time, nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    #[cfg(target_arch = "wasm32")]
    if !fake::is_installed() {
        return real::now_ns();
    }
    fake::with(|h| h.now_ns)
}

/// The process with this pid, if the host knows it.
pub fn process(pid: u32) -> Option<ProcessInfo> {
    #[cfg(target_arch = "wasm32")]
    if !fake::is_installed() {
        return real::process(pid);
    }
    fake::with(|h| h.processes.get(&pid).cloned())
}

/// The ancestors of a process, nearest first, at most `max_depth` of them.
pub fn ancestry(pid: u32, max_depth: u32) -> Vec<ProcessInfo> {
    #[cfg(target_arch = "wasm32")]
    if !fake::is_installed() {
        return real::ancestry(pid, max_depth);
    }
    fake::with(|h| h.ancestry(pid, max_depth))
}

/// Who created or wrote `path` within the host's tracking window, and when.
pub fn recent_write(path: &str) -> Option<FileWriteInfo> {
    #[cfg(target_arch = "wasm32")]
    if !fake::is_installed() {
        return real::recent_write(path);
    }
    fake::with(|h| h.recent_writes.get(path).cloned())
}

/// Whether `value` is a known indicator of compromise in the host's
/// threat-intelligence feeds (the most specific entry: the name or its
/// nearest listed parent, the longest CIDR range), and what it means.
pub fn intel_match(kind: IndicatorKind, value: &str) -> Option<IntelHit> {
    #[cfg(target_arch = "wasm32")]
    if !fake::is_installed() {
        return real::intel_match(kind, value);
    }
    fake::with(|h| h.intel_match(kind, value))
}
