//! Signed rule packs: vendors ship sets of detector plugins as one versioned, signed unit;
//! operators verify them against a trust store before any plugin byte reaches a compiler,
//! install them atomically, and adjust them with per-pack overrides.
//!
//! A pack is a directory or `.tar.gz` holding `pack.toml` ([`Manifest`]), the plugin
//! components, optional fixtures, and `pack.sig`: an ed25519 signature over the canonical
//! manifest bytes ([`canonical`]). [`verify()`] is the only way to obtain a [`VerifiedPack`].
//!
//! This crate does not depend on the plugin runtime: the host's WIT version is a parameter
//! ([`VerifyOptions::new`]).

#![deny(missing_docs)]

pub mod author;
pub mod canonical;
pub mod cli;
pub mod config;
mod error;
pub mod keys;
pub mod manifest;
pub mod overrides;
pub mod policy;
pub mod signature;
pub mod source;
pub mod store;
pub mod vectors;
pub mod verified;
pub mod verify;

pub use author::{BuildOptions, BuildOutcome, archive, build, inspect, sign};
pub use cli::{PackCommand, run};
pub use config::{LoadedPack, LoadedPacks, PacksConfig, load_configured};
pub use error::PackError;
pub use keys::{GeneratedKey, PublicKey, SecretKey, TrustStore, keygen};
pub use manifest::{FileEntry, Manifest, PluginEntry, TestVector};
pub use overrides::{ConfigMode, DetectorOverride, PackOverrides, apply_overrides};
pub use policy::{Grants, check_no_duplicates, grant_permissions};
pub use store::{
    InstallOptions, InstallOutcome, InstalledPack, install, install_with, list, load_installed,
    load_installed_pack, remove,
};
pub use vectors::{NoRunner, VectorCase, VectorRunner, run_vectors};
pub use verify::{Signer, VerifiedPack, VerifiedPlugin, VerifyOptions, verify};
