//! `bench pipeline --in-pods`: the synthetic stream's processes placed in
//! Kubernetes pods, with a workload source that names every container (as a
//! runtime's cache would once warm), so every finding carries a container
//! and a Kubernetes section and every `process` host call a workload.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use harrier_enrich::container::Runtime;
use harrier_enrich::{Workload, WorkloadSource};
use harrier_events::Event;

/// Pods in the synthetic node.
pub const PODS: usize = 20;

/// The container id of pod `n`'s container.
fn container_id(n: usize) -> String {
    format!("{n:064x}")
}

/// Puts each event's process in one of [`PODS`] containers (by pid).
pub fn place(events: &mut [Event]) {
    for event in events {
        let n = event.process.pid as usize % PODS;
        event.process.container_id = Some(container_id(n));
    }
}

/// Every container of [`place`], named.
#[derive(Debug)]
pub struct PodWorkloads {
    by_id: HashMap<String, Arc<Workload>>,
}

impl Default for PodWorkloads {
    /// Workloads for the [`PODS`] containers.
    fn default() -> PodWorkloads {
        let by_id = (0..PODS)
            .map(|n| {
                let workload = Workload {
                    runtime: "containerd".into(),
                    container_name: Some(format!("app-{n}")),
                    image: Some(format!("registry.example/team/app-{n}:1.{n}")),
                    image_digest: Some(format!("registry.example/team/app-{n}@sha256:{n:064x}")),
                    privileged: Some(false),
                    namespace: Some(format!("team-{}", n % 4)),
                    pod_name: Some(format!("app-{n}-7d9f8c6b5-x2x4z")),
                    pod_uid: Some(format!("00000000-0000-4000-8000-{n:012x}")),
                    labels: [("app".to_string(), format!("app-{n}"))].into(),
                    annotations: Default::default(),
                };
                (container_id(n), Arc::new(workload))
            })
            .collect();
        PodWorkloads { by_id }
    }
}

impl WorkloadSource for PodWorkloads {
    fn container_seen(&self, _container_id: &str, _runtime: Runtime) {}

    fn container_gone(&self, _container_id: &str) {}

    fn workload(&self, container_id: &str) -> Option<Arc<Workload>> {
        self.by_id.get(container_id).cloned()
    }

    fn workload_settled(&self, container_id: &str, _wait: Duration) -> Option<Arc<Workload>> {
        self.workload(container_id)
    }
}
