//! containerd started by the test on private paths (root, state, sockets,
//! CNI directories), its CRI plugin driven with the `k8s-cri` client the
//! way kubelet drives it, and everything it made removed on drop (panics
//! included): pods, shims, mounts, cgroups, directories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use tonic::transport::{Channel, Endpoint, Uri};

use super::cleanup;
use super::image::{Image, run};

/// A running containerd and the pods it made.
pub struct Containerd {
    pub dir: PathBuf,
    pub socket: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    runtime: tokio::runtime::Runtime,
    /// Sandbox ids, and the pod uids whose cgroups must go.
    pods: Vec<String>,
    pod_uids: Vec<String>,
}

/// A pod and its one container, created over CRI.
pub struct Pod {
    pub uid: String,
    pub container_id: String,
}

impl Containerd {
    /// Starts containerd in `dir` with `image` as its sandbox image.
    pub fn start(dir: &Path, image: &Image) -> Containerd {
        for tool in ["containerd", "ctr", "runc"] {
            assert!(
                which(tool),
                "{tool} is missing: install Debian's containerd and runc (scripts/bootstrap.sh does)"
            );
        }
        let socket = dir.join("containerd.sock");
        let config = dir.join("containerd.toml");
        std::fs::create_dir_all(dir.join("cni-bin")).unwrap();
        std::fs::create_dir_all(dir.join("cni-conf")).unwrap();
        std::fs::write(
            &config,
            format!(
                r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{s}"
[ttrpc]
  address = "{s}.ttrpc"
[debug]
  address = "{s}.debug"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{image}"
  restrict_oom_score_adj = true
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni-bin"
    conf_dir = "{d}/cni-conf"
"#,
                d = dir.display(),
                s = socket.display(),
                image = image.name,
            ),
        )
        .unwrap();
        let mut containerd = Containerd {
            dir: dir.to_path_buf(),
            socket,
            config,
            child: None,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            pods: Vec::new(),
            pod_uids: Vec::new(),
        };
        containerd.launch();
        run(Command::new("ctr").args([
            "--address",
            containerd.socket.to_str().unwrap(),
            "-n",
            "k8s.io",
            "images",
            "import",
            image.tarball.to_str().unwrap(),
        ]));
        containerd
    }

    /// Starts the daemon and waits for its CRI service.
    fn launch(&mut self) {
        if let Err(e) = self.try_launch() {
            panic!("{e}: see {}/containerd.log", self.dir.display());
        }
    }

    /// Starts the daemon and waits (30 s at most) for its CRI service;
    /// never panics (it also runs from `drop`).
    fn try_launch(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("containerd.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start containerd: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.socket.exists()
                && self.block_on_client(|mut c| async move {
                    c.version(VersionRequest::default()).await.is_ok()
                })
            {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!("containerd exited ({status})"));
            }
            if Instant::now() > deadline {
                return Err("containerd not serving CRI within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the daemon only (its shims keep the containers running), as a
    /// runtime crashing mid-run would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `f` with a CRI client (false if it cannot connect).
    fn block_on_client<F, Fut>(&self, f: F) -> bool
    where
        F: FnOnce(RuntimeServiceClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let socket = self.socket.clone();
        self.runtime.block_on(async move {
            match connect(&socket).await {
                Some(client) => f(client).await,
                None => false,
            }
        })
    }

    /// A pod `namespace/name` (host network, cgroup `/kubepods/besteffort/pod<uid>`)
    /// with one container `container` running `image`'s sleep.
    pub fn run_pod(&mut self, namespace: &str, name: &str, container: &str, image: &str) -> Pod {
        let uid = uuid(&format!("{namespace}/{name}/{}", std::process::id()));
        self.pod_uids.push(uid.clone());
        let labels: HashMap<String, String> = [
            ("app".to_string(), name.to_string()),
            ("io.kubernetes.pod.name".to_string(), name.to_string()),
            (
                "io.kubernetes.pod.namespace".to_string(),
                namespace.to_string(),
            ),
            ("io.kubernetes.pod.uid".to_string(), uid.clone()),
        ]
        .into();
        let logs = self.dir.join("logs").join(&uid);
        std::fs::create_dir_all(&logs).unwrap();
        let sandbox_config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: name.into(),
                uid: uid.clone(),
                namespace: namespace.into(),
                attempt: 0,
            }),
            hostname: String::new(),
            log_directory: logs.display().to_string(),
            labels: labels.clone(),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: format!("/kubepods/besteffort/pod{uid}"),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: NamespaceMode::Node as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let socket = self.socket.clone();
        let (container_name, image) = (container.to_string(), image.to_string());
        let (sandbox_id, container_id) = self.runtime.block_on(async move {
            let mut c = connect(&socket).await.expect("CRI connection");
            let sandbox_id = c
                .run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(sandbox_config.clone()),
                    ..Default::default()
                })
                .await
                .expect("RunPodSandbox")
                .into_inner()
                .pod_sandbox_id;
            let mut container_labels = labels.clone();
            container_labels.insert(
                "io.kubernetes.container.name".into(),
                container_name.clone(),
            );
            let container_id = c
                .create_container(CreateContainerRequest {
                    pod_sandbox_id: sandbox_id.clone(),
                    config: Some(ContainerConfig {
                        metadata: Some(ContainerMetadata {
                            name: container_name.clone(),
                            attempt: 0,
                        }),
                        image: Some(ImageSpec {
                            image: image.clone(),
                            ..Default::default()
                        }),
                        command: vec!["/bin/sleep".into(), "600".into()],
                        labels: container_labels,
                        log_path: format!("{container_name}.log"),
                        ..Default::default()
                    }),
                    sandbox_config: Some(sandbox_config),
                })
                .await
                .expect("CreateContainer")
                .into_inner()
                .container_id;
            c.start_container(StartContainerRequest {
                container_id: container_id.clone(),
            })
            .await
            .expect("StartContainer");
            (sandbox_id, container_id)
        });
        self.pods.push(sandbox_id);
        Pod { uid, container_id }
    }

    /// Runs `cmd` in the container (CRI `ExecSync`); returns its exit code.
    pub fn exec(&self, container_id: &str, cmd: &[&str]) -> i32 {
        let socket = self.socket.clone();
        let request = ExecSyncRequest {
            container_id: container_id.to_string(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: 20,
        };
        self.runtime.block_on(async move {
            let mut c = connect(&socket).await.expect("CRI connection");
            let out = c.exec_sync(request).await.expect("ExecSync").into_inner();
            if out.exit_code != 0 {
                eprintln!(
                    "exec: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            out.exit_code
        })
    }

    /// Stops and removes every pod (restarting the daemon if it was killed).
    fn remove_pods(&mut self) {
        if self.child.is_none() && !self.pods.is_empty() && self.try_launch().is_err() {
            return;
        }
        let pods = std::mem::take(&mut self.pods);
        let socket = self.socket.clone();
        self.runtime.block_on(async move {
            let Some(mut c) = connect(&socket).await else {
                return;
            };
            for id in pods {
                let _ = c
                    .stop_pod_sandbox(StopPodSandboxRequest {
                        pod_sandbox_id: id.clone(),
                    })
                    .await;
                let _ = c
                    .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
                    .await;
            }
        });
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.remove_pods();
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        cleanup::kill_processes_mentioning(&self.dir);
        cleanup::kill_pods(&self.pod_uids);
        cleanup::unmount_under(&self.dir);
        cleanup::remove_pod_cgroups(&self.pod_uids);
    }
}

/// A CRI client on the socket, if it answers.
async fn connect(socket: &Path) -> Option<RuntimeServiceClient<Channel>> {
    let path = socket.to_path_buf();
    let channel = Endpoint::from_static("http://cri.invalid")
        .connect_timeout(Duration::from_secs(2))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
            }
        }))
        .await
        .ok()?;
    Some(RuntimeServiceClient::new(channel))
}

/// Whether `tool` is on PATH.
pub fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// A UUID-shaped id derived from `seed`.
pub fn uuid(seed: &str) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
