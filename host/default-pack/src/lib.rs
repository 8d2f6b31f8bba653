//! Harrier's default detectors, embedded in the binary.
//!
//! The build script compiles every crate under `plugins/rust/` to a
//! WebAssembly component (world `harrier:detector/detector@0.2.0`, no WASI
//! imports) and embeds it with its default configuration.

#![deny(missing_docs)]

/// One embedded detector component.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedDetector {
    /// The detector's name (its directory under `plugins/rust/`).
    pub name: &'static str,
    /// The component's bytes.
    pub wasm: &'static [u8],
    /// Its default configuration, a JSON object.
    pub default_config: &'static str,
    /// The permissions it needs, by name (its crate's
    /// `[package.metadata.harrier] permissions`).
    pub permissions: &'static [&'static str],
}

static DETECTORS: &[EmbeddedDetector] = include!(concat!(env!("OUT_DIR"), "/detectors.rs"));

/// Every embedded detector, sorted by name.
pub fn detectors() -> &'static [EmbeddedDetector] {
    DETECTORS
}

/// The embedded detector with this name.
pub fn detector(name: &str) -> Option<&'static EmbeddedDetector> {
    DETECTORS.iter().find(|d| d.name == name)
}
