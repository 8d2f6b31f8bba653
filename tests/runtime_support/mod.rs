//! Real container runtimes for the tests: containerd (CRI) and dockerd,
//! each started on private paths and fully removed on drop, and a busybox
//! image made without a registry.

pub mod agent;
pub mod cleanup;
pub mod containerd;
pub mod docker;
pub mod image;
