//! Harrier's data model: events, findings and detector metadata.
//!
//! Every type here is generated from `wit/detector.wit` by wasmtime's
//! `bindgen!`, so the host and the detectors can never disagree about them.
//! The generated types also derive serde, which gives the capture format
//! (`record`/`replay`) for free.

mod bindings;
pub mod capture;
pub mod exact_ints;
mod kind;
pub mod open_interest;

pub use bindings::harrier::detector::types::{
    ArgsGap, BpfEvent, CredentialEvent, DnsAnswerEvent, DnsEvent, DnsRecord, Event, EventDetail,
    EventKind, Evidence, ExecEvent, ExitEvent, FdRedirectEvent, Fidelity, FileChmodEvent,
    FileChownEvent, FileLinkEvent, FileOpenEvent, FilePathEvent, FilePathPairEvent, FileWriteEvent,
    FileWriteInfo, Finding, ForkEvent, IndicatorKind, IntelHit, LogLevel, MemfdEvent, Metadata,
    MmapExecEvent, ModuleEvent, MountEvent, NamespaceEvent, NetEvent, Process, ProcessInfo,
    ProcessVmWriteEvent, PtraceEvent, RawString, SocketAddress, SocketEvent, UserfaultfdEvent,
    WorkloadInfo,
};
pub use bindings::harrier::detector::{host, types};
pub use bindings::{Detector, DetectorPre};
pub use kind::UnknownKind;

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.2.0";
