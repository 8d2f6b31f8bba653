//! The bounds every detector runs within.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;
use wasmtime::{StoreLimits, StoreLimitsBuilder};

/// Sandbox bounds for one detector. Every field has a default; operators
/// override them in the `[plugins.limits]` table of the agent configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PluginLimits {
    /// Most linear memory one detector may use, in bytes (default 64 MiB).
    pub memory_bytes: usize,
    /// Wall-clock budget for one call (a batch, a tick, init), in
    /// milliseconds (default 250). A detector that overruns is interrupted.
    pub call_deadline_ms: u64,
    /// Most findings one call may return (default 256); the rest are
    /// dropped, counted and reported as a flood.
    pub max_findings_per_call: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            call_deadline_ms: 250,
            max_findings_per_call: 256,
        }
    }
}

/// `Ok` when `value` of configuration key `key` lies in `range`, else an
/// error naming the key, the value and the range.
pub fn check_range<T: PartialOrd + Display>(
    key: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "{key} = {value} is out of range: expected {} to {}",
        range.start(),
        range.end()
    ))
}

impl PluginLimits {
    /// Check every bound is usable: a detector can start under it and the
    /// agent stays responsive. `max_memory_bytes` is the engine's cap.
    pub fn validate(&self, max_memory_bytes: usize) -> Result<(), String> {
        check_range(
            "[plugins.limits] memory_bytes",
            self.memory_bytes,
            (1 << 20)..=max_memory_bytes.max(1 << 20),
        )?;
        check_range(
            "[plugins.limits] call_deadline_ms",
            self.call_deadline_ms,
            1..=60_000,
        )?;
        check_range(
            "[plugins.limits] max_findings_per_call",
            self.max_findings_per_call,
            1..=100_000,
        )
    }

    /// The per-call deadline as a duration.
    pub fn call_deadline(&self) -> Duration {
        Duration::from_millis(self.call_deadline_ms)
    }

    /// The wasmtime resource limiter enforcing these bounds. Growing memory
    /// past the cap traps (rather than returning -1 to the guest, which most
    /// guests turn into a confusing abort), so the host can name the cause.
    pub(crate) fn store_limits(&self) -> StoreLimits {
        StoreLimitsBuilder::new()
            .memory_size(self.memory_bytes)
            .instances(64)
            .memories(64)
            .tables(64)
            .table_elements(1 << 20)
            .trap_on_grow_failure(true)
            .build()
    }
}
