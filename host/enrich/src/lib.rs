//! Harrier's host-side enrichment.
//!
//! The [`Enricher`] keeps a process table (seeded from `/proc`, kept current
//! by exec/fork/exit events), knows each process's container and Kubernetes
//! pod from its cgroup — the cgroup v2 id the kernel puts in every event,
//! mapped back to its path, or `/proc/<pid>/cgroup` as a fallback
//! ([`container::identify`]) — asks a [`WorkloadSource`] for the names the
//! container runtime gives it, hashes executables off the
//! event path, remembers which files were recently created or written and by
//! whom, and resolves user names. The pipeline calls
//! [`Enricher::observe`] for every event; plugin host calls use
//! [`Enricher::process`], [`Enricher::ancestry`] and
//! [`Enricher::recent_write`] from any thread.

#![deny(missing_docs)]

mod cgroups;
mod config;
pub mod container;
mod enricher;
mod hasher;
mod procfs;
mod stats;
mod table;
mod users;
pub mod workload;
mod writes;

pub use config::EnrichConfig;
pub use enricher::Enricher;
pub use stats::EnrichStats;
pub use workload::{Workload, WorkloadSource};
