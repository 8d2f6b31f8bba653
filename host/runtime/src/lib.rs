//! Harrier's container-runtime clients and workload metadata cache.
//!
//! The enricher names a container by the id its cgroup path carries; this
//! crate asks the container runtime what that container is — its
//! Kubernetes namespace, pod, container name, image and digest, labels,
//! whether it is privileged — once per container, on its own thread, and
//! caches the answer ([`RuntimeMetadata`], a
//! [`WorkloadSource`](harrier_enrich::WorkloadSource)). Runtimes spoken:
//!
//! - CRI (containerd, CRI-O) over its unix socket: `ContainerStatus`,
//!   `ListContainers` and `PodSandboxStatus` (gRPC through
//!   the `k8s-cri` crate);
//! - the Docker Engine API and Podman's compatible API:
//!   `GET /containers/{id}/json` and `GET /images/{id}/json`.
//!
//! A runtime that is missing or down is a warning and a counter
//! ([`RuntimeStats`]); findings then carry what the cgroup alone tells.
//! [`NodeIdentity`] names the node and cluster (configuration first, then
//! the environment the DaemonSet sets through the downward API).

#![deny(missing_docs)]

mod config;
mod cri;
mod engine;
mod error;
mod http;
mod metadata;
mod node;
mod stats;

pub use config::RuntimeConfig;
pub use error::LookupError;
pub use metadata::RuntimeMetadata;
pub use node::NodeIdentity;
pub use stats::{EndpointStats, RuntimeStats};
