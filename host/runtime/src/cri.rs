//! The CRI client (containerd, CRI-O): `ContainerStatus`, `ListContainers`
//! (for the pod sandbox id) and `PodSandboxStatus` over the runtime's unix
//! socket, with the `k8s-cri` crate's generated gRPC client.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use harrier_enrich::Workload;
use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerFilter, ContainerStatusRequest, ListContainersRequest, PodSandboxStatusRequest,
    VersionRequest,
};
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::LookupError;

/// A connected CRI endpoint.
#[derive(Debug, Clone)]
pub(crate) struct CriClient {
    socket: PathBuf,
    /// The runtime's own name from `Version` (`containerd`, `cri-o`).
    runtime_name: String,
    client: RuntimeServiceClient<Channel>,
}

impl CriClient {
    /// Connects to the CRI endpoint at `socket` and asks its version.
    pub async fn connect(socket: &Path, timeout: Duration) -> Result<CriClient, LookupError> {
        let path = socket.to_path_buf();
        let unavailable = |e: &dyn std::fmt::Display| LookupError::Unavailable {
            endpoint: socket.display().to_string(),
            reason: e.to_string(),
        };
        // The URI is required by tonic but unused: the connector dials the socket.
        let channel =
            Endpoint::from_static("http://cri.invalid")
                .connect_timeout(timeout)
                .timeout(timeout)
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?))
                    }
                }))
                .await
                .map_err(|e| unavailable(&e))?;
        let mut client = RuntimeServiceClient::new(channel);
        let version = client
            .version(VersionRequest {
                version: String::new(),
            })
            .await
            .map_err(|e| unavailable(&e.message()))?
            .into_inner();
        Ok(CriClient {
            socket: socket.to_path_buf(),
            runtime_name: normalise_runtime_name(&version.runtime_name),
            client,
        })
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The workload of container `id`; `Ok(None)` when this runtime does not know it.
    pub async fn lookup(&mut self, id: &str) -> Result<Option<Workload>, LookupError> {
        let endpoint = self.socket.display().to_string();
        let rpc = |status: tonic::Status| LookupError::Failed {
            endpoint: endpoint.clone(),
            reason: status.message().to_string(),
        };
        let response = match self
            .client
            .container_status(ContainerStatusRequest {
                container_id: id.to_string(),
                verbose: true,
            })
            .await
        {
            Ok(r) => r.into_inner(),
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(None),
            Err(status) => return Err(rpc(status)),
        };
        let Some(status) = response.status else {
            return Ok(None);
        };
        let listed = self
            .client
            .list_containers(ListContainersRequest {
                filter: Some(ContainerFilter {
                    id: id.to_string(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(rpc)?
            .into_inner();
        let sandbox_id = listed
            .containers
            .into_iter()
            .find(|c| c.id == status.id)
            .map(|c| c.pod_sandbox_id);
        let sandbox = match sandbox_id {
            Some(sandbox_id) if !sandbox_id.is_empty() => {
                self.client
                    .pod_sandbox_status(PodSandboxStatusRequest {
                        pod_sandbox_id: sandbox_id,
                        verbose: false,
                    })
                    .await
                    .map_err(rpc)?
                    .into_inner()
                    .status
            }
            _ => None,
        };
        let image = status.image.as_ref().map(|i| i.image.clone());
        let mut workload = Workload {
            runtime: self.runtime_name.clone(),
            container_name: status.metadata.as_ref().map(|m| m.name.clone()),
            image: non_empty(image.unwrap_or_default()),
            image_digest: non_empty(status.image_ref.clone()),
            privileged: response.info.get("info").and_then(|i| privileged(i)),
            ..Workload::default()
        };
        let labels = &status.labels;
        match sandbox {
            Some(pod) => {
                let meta = pod.metadata.unwrap_or_default();
                workload.namespace = non_empty(meta.namespace);
                workload.pod_name = non_empty(meta.name);
                workload.pod_uid = non_empty(meta.uid);
                workload.labels = sorted(pod.labels);
                workload.annotations = sorted(pod.annotations);
            }
            None => {
                // No sandbox answer: the labels kubelet puts on every container.
                let label = |k: &str| labels.get(k).cloned().and_then(non_empty);
                workload.namespace = label("io.kubernetes.pod.namespace");
                workload.pod_name = label("io.kubernetes.pod.name");
                workload.pod_uid = label("io.kubernetes.pod.uid");
                workload.labels = sorted(status.labels.clone());
                workload.annotations = sorted(status.annotations.clone());
            }
        }
        Ok(Some(workload))
    }
}

/// `containerd`, `cri-o` as the findings spell them (CRI-O says `cri-o`, some builds `crio`).
fn normalise_runtime_name(name: &str) -> String {
    match name {
        "crio" | "cri-o" | "CRI-O" => "cri-o".into(),
        "" => "cri".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// Whether the container is privileged, from a verbose `ContainerStatus`
/// info document: containerd puts the CRI container config there
/// (`config.linux.security_context.privileged`, omitted when false), CRI-O
/// the OCI spec (`runtimeSpec`); `None` when the document says neither.
pub(crate) fn privileged(info_json: &str) -> Option<bool> {
    let info: serde_json::Value = serde_json::from_str(info_json).ok()?;
    if let Some(config) = info.get("config") {
        let flag = config
            .pointer("/linux/security_context/privileged")
            .and_then(|v| v.as_bool());
        return Some(flag.unwrap_or(false));
    }
    None
}

/// `Some(s)` unless `s` is empty (proto3 has no absent strings).
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// A proto map as a sorted map.
fn sorted(map: HashMap<String, String>) -> BTreeMap<String, String> {
    map.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileged_from_containerd_verbose_info() {
        let yes = r#"{"sandboxID":"x","config":{"metadata":{"name":"c"},"linux":{"security_context":{"privileged":true}}}}"#;
        let no = r#"{"sandboxID":"x","config":{"metadata":{"name":"c"},"linux":{}}}"#;
        assert_eq!(privileged(yes), Some(true));
        assert_eq!(privileged(no), Some(false));
        assert_eq!(privileged(r#"{"runtimeSpec":{}}"#), None);
        assert_eq!(privileged("not json"), None);
    }

    #[test]
    fn runtime_names_are_normalised() {
        assert_eq!(normalise_runtime_name("containerd"), "containerd");
        assert_eq!(normalise_runtime_name("crio"), "cri-o");
        assert_eq!(normalise_runtime_name(""), "cri");
    }
}
