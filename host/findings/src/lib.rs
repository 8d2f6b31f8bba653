//! Harrier's unified findings: what detectors report, turned into the stories
//! security teams read.
//!
//! The data flow inside this crate follows the pipeline's last two stages:
//!
//! 1. [`Merger`] takes each [`FindingInput`] (a detector's raw finding plus the
//!    process, container and event context the pipeline knows), drops it if a
//!    [`Suppression`] rule matches, merges repeats of the same type on the same
//!    resource into one [`UnifiedFinding`] with a count, and correlates
//!    findings that progress through several tactics on one container, login
//!    session or network-facing process subtree into an attack sequence
//!    ([`ATTACK_SEQUENCE_TYPE`]). It returns
//!    [`Emission`]s: first sight, rate-limited updates, final updates.
//! 2. [`Sinks`] renders each emitted finding in one [`Format`] (native, OCSF,
//!    Falco) and delivers it to stdout, rotated files and webhooks, each on its
//!    own thread behind a bounded queue so no sink can stall detection.
//!
//! The native JSON shape is described by the versioned JSON Schema in
//! `schema/finding-v1.schema.json` (also available as [`NATIVE_SCHEMA_V1`]).
//! Everything in [`Merger`] is driven by event time, so replaying a capture
//! gives the same findings, ids included.

#![warn(missing_docs)]

mod config;
mod correlate;
pub mod duration;
mod finding;
pub mod format;
mod id;
mod input;
mod merge;
mod open;
mod provenance;
mod resource;
pub mod sink;
mod suppress;
mod time;

pub use config::{ConfigError, MergeConfig, Suppression};
pub use finding::{
    ATTACK_SEQUENCE_TYPE, Actor, ContainerSection, EventEntry, EvidenceItem, Indicator,
    KubernetesSection, MAX_PROCESSES, MergedProcess, NATIVE_SCHEMA_V1, ProcessSection,
    SCHEMA_VERSION, SequenceSection, SeverityLabel, Signal, UnifiedFinding,
};
pub use format::Format;
pub use input::{
    AncestorSummary, ContainerContext, DetectorRef, EventRef, FindingInput, KubernetesContainer,
    KubernetesWorkload, ProcessContext, SecurityContext,
};
pub use merge::{Emission, EmissionKind, MergeStats, Merger};
pub use provenance::ProvenanceSource;
pub use sink::{
    Accepts, External, ExternalSink, FileTarget, Rendered, ShutdownReport, SinkError, SinkSettings,
    SinkSpec, SinkSpecError, SinkStats, SinkTarget, Sinks, WebhookTarget,
};
pub use time::rfc3339;
