//! Harrier's plugin runtime: detectors are WebAssembly components that
//! implement the `harrier:detector` world (see `wit/detector.wit`).
//!
//! Each detector gets its own [`wasmtime::Store`], a memory cap, a deadline
//! per call enforced by epoch interruption, and a cap on findings per batch.
//! Detectors see no files, network or environment: the only host functions
//! are those of the WIT `host` interface ([`HostServices`]) and, only as far
//! as the operator grants [`Permission`]s, WASI interfaces with nothing in
//! them (empty environment, stdout and stderr to the log, clocks whose
//! sleeps end by the call's deadline). Imports a detector was not granted
//! trap with an error naming the permission they need.
//!
//! The pieces, one file each: [`engine`] (compilation, the epoch ticker),
//! [`cache`] (compiled components kept across restarts), [`permissions`]
//! (what can be granted), [`linking`] (one detector's linker: grants and
//! denials), [`limits`] (the sandbox's bounds), [`bounds`] (caps on what
//! detectors return), [`shadow`] (trial runs), [`host`] (what detectors may
//! call), [`plugin`] (one loaded detector and its calls), [`error`].

pub mod bounds;
pub mod cache;
pub mod engine;
pub mod error;
pub mod host;
pub mod limits;
pub mod linking;
mod lowering;
pub mod permissions;
pub mod plugin;
pub mod shadow;
mod wasi_log;

pub use engine::{EngineConfig, PluginEngine};
pub use error::{LoadError, PluginError};
pub use host::{HostServices, NoHostServices};
pub use limits::PluginLimits;
pub use linking::Denied;
pub use permissions::{Permission, Permissions, Requirement};
pub use plugin::{Plugin, PluginSource, PluginSpec, PluginStats, Subscriptions};
pub use shadow::{AfterShadow, ShadowMode};
