//! Harrier's plugin runtime: detectors are WebAssembly components that
//! implement the `harrier:detector` world (see `wit/detector.wit`).
//!
//! Each detector gets its own [`wasmtime::Store`], a memory cap, a deadline
//! per call enforced by epoch interruption, and a cap on findings per batch.
//! Detectors see no files, network or environment: the only host functions
//! are those of the WIT `host` interface ([`HostServices`]) and a WASI
//! context with nothing in it, whose stdout and stderr go to the log.
//!
//! The pieces, one file each: [`engine`] (compilation, linking, the epoch
//! ticker), [`cache`] (compiled components kept across restarts), [`limits`] (the sandbox's bounds), [`shadow`] (trial runs), [`host`] (what detectors may
//! call), [`plugin`] (one loaded detector and its calls), [`error`].

pub mod cache;
pub mod engine;
pub mod error;
pub mod host;
pub mod limits;
pub mod plugin;
pub mod shadow;
mod wasi_log;

pub use engine::{EngineConfig, PluginEngine};
pub use error::{LoadError, PluginError};
pub use host::{HostServices, NoHostServices};
pub use limits::PluginLimits;
pub use plugin::{Plugin, PluginSource, PluginSpec, PluginStats, Subscriptions};
pub use shadow::{AfterShadow, ShadowMode};
