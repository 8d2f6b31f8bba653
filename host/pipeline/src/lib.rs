//! Harrier's event path, one direction only:
//!
//! ```text
//! source ─▶ enrich ─▶ route by subscription ─▶ detectors ─▶ merge ─▶ sinks
//! ```
//!
//! - [`source`]: where events come from (the live sensor, a capture file).
//! - [`detectors`]: the set of loaded detectors and how it changes (hot
//!   swaps happen between batches, so no detector loses or repeats an event).
//! - [`context`]: the process, container and evidence a finding is given.
//! - [`pipeline`]: one batch through every stage.
//! - [`agent`]: the loop that drives a pipeline from a source until stopped.
//! - [`testbench`]: detectors over a capture as a unit test (`harrier test`).

pub mod agent;
pub mod context;
pub mod detectors;
pub mod pipeline;
pub mod services;
mod snapshots;
pub mod source;
pub mod testbench;

pub use agent::{Agent, AgentConfig, AgentHandle, AgentStatus, Clock, ReloadStats};
pub use detectors::{
    Change, DetectorKey, DetectorSet, DetectorState, DetectorStatus, Ledger, QuarantinePolicy,
    Revision, Role, Running, RunningDetector,
};
pub use pipeline::{Pipeline, PipelineStats};
pub use services::EnricherServices;
pub use source::{EventSource, Polled, ReplaySource, SourceStats};
