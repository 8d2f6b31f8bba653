//! The Docker Engine API client (Docker, and Podman's compatible API):
//! `GET /containers/{id}/json`, and `GET /images/{id}/json` for the image's
//! repository digest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harrier_enrich::Workload;
use serde::Deserialize;

use crate::error::LookupError;
use crate::http;

/// An Engine API endpoint.
#[derive(Debug, Clone)]
pub(crate) struct EngineClient {
    socket: PathBuf,
    /// `docker` or `podman`: what findings name the runtime.
    runtime_name: &'static str,
}

/// The parts of `GET /containers/{id}/json` used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inspect {
    #[serde(default)]
    name: String,
    /// The image id (`sha256:…`).
    #[serde(default)]
    image: String,
    #[serde(default)]
    config: InspectConfig,
    #[serde(default)]
    host_config: InspectHostConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectConfig {
    /// The image as given to `docker run`.
    #[serde(default)]
    image: String,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectHostConfig {
    #[serde(default)]
    privileged: bool,
}

/// The parts of `GET /images/{id}/json` used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageInspect {
    #[serde(default)]
    repo_digests: Option<Vec<String>>,
}

impl EngineClient {
    /// A client of the Docker (or Podman) API at `socket`.
    pub fn new(socket: &Path, runtime_name: &'static str) -> EngineClient {
        EngineClient {
            socket: socket.to_path_buf(),
            runtime_name,
        }
    }

    /// The workload of container `id`; `Ok(None)` when the engine does not know it.
    pub async fn lookup(&self, id: &str) -> Result<Option<Workload>, LookupError> {
        let endpoint = self.socket.display().to_string();
        let (code, body) = http::get(&self.socket, &format!("/containers/{id}/json"))
            .await
            .map_err(|e| LookupError::Unavailable {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            })?;
        let failed = |reason: String| LookupError::Failed {
            endpoint: endpoint.clone(),
            reason,
        };
        match code {
            200 => {}
            404 => return Ok(None),
            other => {
                let text = String::from_utf8_lossy(&body);
                return Err(failed(format!("HTTP {other}: {}", text.trim())));
            }
        }
        let inspect: Inspect = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("container inspect document: {e}")))?;
        let digest = self.repo_digest(&inspect.image).await;
        Ok(Some(workload(self.runtime_name, inspect, digest)))
    }

    /// The image's first repository digest (`name@sha256:…`), if it has one
    /// (images loaded from a tarball have none).
    async fn repo_digest(&self, image_id: &str) -> Option<String> {
        if image_id.is_empty() {
            return None;
        }
        let (code, body) = http::get(&self.socket, &format!("/images/{image_id}/json"))
            .await
            .ok()?;
        if code != 200 {
            return None;
        }
        let image: ImageInspect = serde_json::from_slice(&body).ok()?;
        image.repo_digests?.into_iter().next()
    }
}

/// The workload of an inspected container. Containers that dockershim or
/// `cri-dockerd` made for Kubernetes carry the pod in their labels.
fn workload(runtime: &str, inspect: Inspect, repo_digest: Option<String>) -> Workload {
    let labels = inspect.config.labels.unwrap_or_default();
    let label = |k: &str| labels.get(k).cloned();
    let name = inspect.name.trim_start_matches('/').to_string();
    Workload {
        runtime: runtime.to_string(),
        container_name: label("io.kubernetes.container.name")
            .or(Some(name).filter(|n| !n.is_empty())),
        image: Some(inspect.config.image).filter(|i| !i.is_empty()),
        image_digest: repo_digest.or(Some(inspect.image).filter(|i| !i.is_empty())),
        privileged: Some(inspect.host_config.privileged),
        namespace: label("io.kubernetes.pod.namespace"),
        pod_name: label("io.kubernetes.pod.name"),
        pod_uid: label("io.kubernetes.pod.uid"),
        annotations: BTreeMap::new(),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_inspect_document() {
        let doc = r#"{"Id":"abc","Name":"/web","Image":"sha256:1111",
            "Config":{"Image":"nginx:1.25","Labels":{"team":"blue"}},
            "HostConfig":{"Privileged":true}}"#;
        let inspect: Inspect = serde_json::from_str(doc).unwrap();
        let w = workload("docker", inspect, None);
        assert_eq!(w.container_name.as_deref(), Some("web"));
        assert_eq!(w.image.as_deref(), Some("nginx:1.25"));
        assert_eq!(w.image_digest.as_deref(), Some("sha256:1111"));
        assert_eq!(w.privileged, Some(true));
        assert_eq!(w.labels.get("team").map(String::as_str), Some("blue"));
        assert_eq!(w.namespace, None);
    }

    #[test]
    fn dockershim_labels_name_the_pod_and_a_digest_wins_over_the_id() {
        let doc = r#"{"Name":"/k8s_app_pod","Image":"sha256:2222","Config":{"Image":"app:1",
            "Labels":{"io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.name":"cart-0",
            "io.kubernetes.pod.uid":"u1","io.kubernetes.container.name":"app"}}}"#;
        let inspect: Inspect = serde_json::from_str(doc).unwrap();
        let w = workload("docker", inspect, Some("app@sha256:3333".into()));
        assert_eq!(w.namespace.as_deref(), Some("shop"));
        assert_eq!(w.pod_name.as_deref(), Some("cart-0"));
        assert_eq!(w.pod_uid.as_deref(), Some("u1"));
        assert_eq!(w.container_name.as_deref(), Some("app"));
        assert_eq!(w.image_digest.as_deref(), Some("app@sha256:3333"));
        assert_eq!(w.privileged, Some(false));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn missing_socket_is_unavailable_and_404_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let client = EngineClient::new(&dir.path().join("none.sock"), "docker");
        let err = client.lookup("abc").await.unwrap_err();
        assert!(matches!(err, LookupError::Unavailable { .. }), "{err}");
        assert!(err.to_string().contains("none.sock"), "{err}");

        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let path = dir.path().join("api.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"No such container\"}")
                .await;
        });
        let client = EngineClient::new(&path, "docker");
        assert_eq!(client.lookup("abc").await.unwrap(), None);
    }
}
