//! What a container runtime says about a container ([`Workload`]), and the
//! interface through which the enricher asks for it ([`WorkloadSource`]).
//!
//! The enricher knows a container only by the id its cgroup path names. The
//! names operators use (pod, namespace, container name, image) come from the
//! runtime's API; an implementation (the `harrier-runtime` crate) looks them
//! up on its own thread and caches them, so nothing here blocks the event
//! path.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::container::Runtime;

/// A container's workload metadata, as its runtime reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Workload {
    /// Which runtime answered (`containerd`, `cri-o`, `docker`, `podman`).
    pub runtime: String,
    /// The container's name (Kubernetes: the name in the pod spec).
    pub container_name: Option<String>,
    /// The image as the container was created from it (`docker.io/library/nginx:1.25`).
    pub image: Option<String>,
    /// The image's digest or reference by digest (`…@sha256:…`), else its id.
    pub image_digest: Option<String>,
    /// Whether the container runs privileged, where the runtime says.
    pub privileged: Option<bool>,
    /// Kubernetes namespace of the pod.
    pub namespace: Option<String>,
    /// Kubernetes pod name.
    pub pod_name: Option<String>,
    /// Kubernetes pod uid.
    pub pod_uid: Option<String>,
    /// The pod's labels (a Docker or Podman container's own labels).
    pub labels: BTreeMap<String, String>,
    /// The pod's annotations (a container's, outside Kubernetes).
    pub annotations: BTreeMap<String, String>,
}

/// Where the enricher gets workload metadata from. Implementations must not
/// block: [`container_seen`](WorkloadSource::container_seen) only queues a
/// look-up, [`workload`](WorkloadSource::workload) only reads a cache.
pub trait WorkloadSource: Send + Sync + std::fmt::Debug {
    /// A container was seen (its cgroup named it): look it up if not known.
    /// `runtime` is what the cgroup path tells ([`Runtime::Unknown`] for
    /// a bare id under `kubepods`).
    fn container_seen(&self, container_id: &str, runtime: Runtime);

    /// The container's cgroup was removed: forget it.
    fn container_gone(&self, container_id: &str);

    /// What the runtime said about the container, if it has answered.
    fn workload(&self, container_id: &str) -> Option<Arc<Workload>>;

    /// Like [`workload`](WorkloadSource::workload), but if a look-up of the
    /// container is under way, waits up to `wait` for it (used when a
    /// finding is built, never on the event path).
    fn workload_settled(
        &self,
        container_id: &str,
        wait: std::time::Duration,
    ) -> Option<Arc<Workload>>;
}
