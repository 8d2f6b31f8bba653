//! Errors of loading and running detectors. Every message names the
//! detector (or the file it came from) and the reason.

use std::fmt;

/// Why a detector could not be loaded. The agent keeps running without it.
#[derive(Debug, thiserror::Error)]
#[error("plugin {origin}: {reason}")]
pub struct LoadError {
    /// Where the detector came from (file path, `embedded:<name>`, pack).
    pub origin: String,
    /// What went wrong.
    pub reason: LoadFailure,
}

/// The stage at which loading failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    /// The bytes are not a WebAssembly component (or do not compile).
    #[error("not a valid WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component does not implement the `harrier:detector` world this
    /// host speaks (missing exports, wrong WIT version, unknown imports).
    #[error("does not implement world harrier:detector/detector@{version}: {0}", version = harrier_events::WIT_VERSION)]
    WrongWorld(String),
    /// The component was built against another version of the contract.
    #[error(
        "built against contract harrier:detector@{found}, but this host implements @{version}: rebuild the detector against this release's wit/ (or its SDK)",
        version = harrier_events::WIT_VERSION
    )]
    ContractVersion {
        /// The version its `harrier:detector` imports and exports name.
        found: String,
    },
    /// Instantiation, `metadata`, `init` or `self-test` failed.
    #[error("{stage} failed: {error}")]
    Startup {
        /// Which call failed.
        stage: &'static str,
        /// The error, already classified.
        error: PluginError,
    },
    /// The metadata is unusable (e.g. empty name, bad finding type).
    #[error("bad metadata: {0}")]
    BadMetadata(String),
}

/// A failed call into a running detector.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginError {
    /// The call overran its deadline and was interrupted.
    Deadline {
        /// The deadline that was exceeded, in milliseconds.
        ms: u64,
    },
    /// The detector tried to grow its memory past its cap.
    MemoryCap {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The detector trapped (panic, unreachable, out-of-bounds access...).
    Trap(String),
    /// The detector returned an error value.
    Refused(String),
    /// The detector called an import it was not granted (the message names
    /// the import and the permission it needs).
    Denied(String),
}

impl PluginError {
    /// Short machine-friendly name for metrics and quarantine accounting.
    pub fn class(&self) -> &'static str {
        match self {
            PluginError::Deadline { .. } => "deadline",
            PluginError::MemoryCap { .. } => "memory",
            PluginError::Trap(_) => "trap",
            PluginError::Refused(_) => "refused",
            PluginError::Denied(_) => "denied",
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::Deadline { ms } => {
                write!(f, "exceeded its {ms} ms deadline and was interrupted")
            }
            PluginError::MemoryCap { limit } => {
                write!(
                    f,
                    "tried to grow its memory past its cap of {} MiB",
                    limit >> 20
                )
            }
            PluginError::Trap(msg) => write!(f, "trapped: {msg}"),
            PluginError::Refused(msg) => write!(f, "returned an error: {msg}"),
            PluginError::Denied(msg) => write!(f, "was refused: {msg}"),
        }
    }
}

impl std::error::Error for PluginError {}
