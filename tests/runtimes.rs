//! The live agent against real container runtimes the tests start on
//! private paths (containerd over CRI, dockerd): findings name the pod,
//! namespace, container and image as the runtime reports them, processes
//! that exit at once included (identity from the kernel's cgroup id), a
//! client in a container using the Docker socket is caught, and a runtime
//! killed mid-run leaves cgroup identity with a warning and a metric.

mod runtime_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use harrier_tests::privileged;
use runtime_support::agent::LiveAgent;
use runtime_support::containerd::{Containerd, uuid};
use runtime_support::docker::{DOCKER, Dockerd};
use runtime_support::{cleanup, image};
use serde_json::Value;

const NEW_BINARY: &str = "Execution:Runtime/NewBinaryExecuted";
const DOCKER_SOCKET: &str = "PrivilegeEscalation:Runtime/DockerSocketAccessed";
const IMAGE: &str = "harrier.test/busybox:1";
const WAIT: Duration = Duration::from_secs(30);

/// The runtime section of the agent's configuration: only these sockets.
fn runtime_config(cri: &[&Path], docker: &[&Path]) -> String {
    let list = |paths: &[&Path]| {
        paths
            .iter()
            .map(|p| format!("\"{}\"", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "[runtime]\ncri_sockets = [{}]\ndocker_sockets = [{}]\npodman_sockets = []\ntimeout = \"1s\"\nretry_after = \"1s\"\n",
        list(cri),
        list(docker)
    )
}

/// GET `path` from 127.0.0.1:`port`; the whole response.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics address");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: harrier\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

fn of_container<'a>(finding: &'a Value, kind: &str, id: &str) -> Option<&'a Value> {
    (finding["type"] == kind && finding["container"]["id"] == id).then_some(finding)
}

/// A Kubernetes-shaped pod cgroup made by hand in the unified hierarchy
/// (a container no runtime knows); removed on drop.
struct HandMadePod {
    top: std::path::PathBuf,
    leaf: std::path::PathBuf,
    uid: String,
    id: String,
}

impl HandMadePod {
    fn create(label: &str) -> HandMadePod {
        let uid = uuid(&format!("{label}-{}", std::process::id()));
        let id = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(uid.as_bytes()))
        };
        let top = Path::new("/sys/fs/cgroup/unified")
            .join(format!("harrier-{label}-{}", std::process::id()));
        let leaf = top.join(format!("kubepods/besteffort/pod{uid}/{id}"));
        std::fs::create_dir_all(&leaf).unwrap_or_else(|e| panic!("cgroup {}: {e}", leaf.display()));
        HandMadePod { top, leaf, uid, id }
    }

    /// Runs `script` in a shell that enters the cgroup first; its children
    /// all run there and exit at once.
    fn run(&self, script: &str) {
        let main = format!("echo $$ > {}/cgroup.procs && {script}", self.leaf.display());
        let status = Command::new("/bin/sh")
            .args(["-c", &main])
            .status()
            .unwrap();
        assert!(status.success(), "{main}");
    }
}

impl Drop for HandMadePod {
    fn drop(&mut self) {
        cleanup::remove_tree(&self.top);
    }
}

#[test]
fn cri_pods_are_named_from_containerd_and_a_dead_runtime_degrades() {
    if !privileged("cri_pods_are_named_from_containerd_and_a_dead_runtime_degrades") {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("harrier-cri-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let dir = tmp.path();
    let image = image::busybox(&dir.join("image"), IMAGE);
    let mut containerd = Containerd::start(&dir.join("containerd"), &image);
    let pod = containerd.run_pod("harrier-test", "web-0", "app", IMAGE);
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let config = format!(
        "{}\n[admin]\nmetrics_address = \"127.0.0.1:{port}\"\n",
        runtime_config(&[&containerd.socket], &[])
    );
    let agent = LiveAgent::start(dir, &config);
    // Probes and Prometheus over TCP: health and metrics only.
    assert!(http_get(port, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(http_get(port, "/metrics").contains("harrier_runtime_up"));
    assert!(http_get(port, "/status").starts_with("HTTP/1.1 404"));

    // A copied binary run once in the pod's container: it exits at once.
    let code = containerd.exec(
        &pod.container_id,
        &["/bin/sh", "-c", "cp /bin/busybox /tmp/true && /tmp/true"],
    );
    assert_eq!(code, 0);
    let finding = agent
        .finding(WAIT, |f| {
            of_container(f, NEW_BINARY, &pod.container_id).is_some()
        })
        .expect("no NewBinaryExecuted finding in the CRI container");
    let container = &finding["container"];
    assert_eq!(container["name"], "app", "{finding:#}");
    assert_eq!(container["image"], IMAGE);
    assert_eq!(container["runtime"], "containerd");
    assert_eq!(container["pod_uid"], pod.uid.as_str());
    assert!(
        container["image_digest"]
            .as_str()
            .is_some_and(|d| d.contains("sha256:")),
        "{container:#}"
    );
    let workload = &finding["kubernetes"]["workload_details"];
    assert_eq!(workload["namespace"], "harrier-test", "{finding:#}");
    assert_eq!(workload["name"], "web-0");
    assert_eq!(workload["uid"], pod.uid.as_str());
    assert_eq!(workload["labels"]["app"], "web-0");
    assert_eq!(workload["containers"][0]["name"], "app");
    assert_eq!(workload["containers"][0]["image"], IMAGE);
    assert_eq!(
        workload["containers"][0]["security_context"]["privileged"],
        false
    );

    // containerd dies mid-run; a new container (a pod cgroup the runtime
    // never made) is then seen: its findings keep the cgroup's identity.
    containerd.kill();
    let orphan = HandMadePod::create("cri-orphan");
    let copy = dir.join("nb2");
    orphan.run(&format!("cp /bin/true {0} && {0}", copy.display()));
    let finding = agent
        .finding(WAIT, |f| of_container(f, NEW_BINARY, &orphan.id).is_some())
        .expect("no finding from the pod cgroup after containerd died");
    assert_eq!(
        finding["container"]["pod_uid"],
        orphan.uid.as_str(),
        "{finding:#}"
    );
    assert!(finding["container"]["name"].is_null());
    assert_eq!(
        finding["kubernetes"]["workload_details"]["uid"],
        orphan.uid.as_str()
    );
    assert!(finding["kubernetes"]["workload_details"]["name"].is_null());
    let metrics = agent.metrics();
    let socket = containerd.socket.display().to_string();
    let errors = metrics
        .lines()
        .find(|l| l.starts_with("harrier_runtime_errors_total{") && l.contains(&socket))
        .unwrap_or_else(|| panic!("no error counter for {socket}:\n{metrics}"));
    assert!(!errors.ends_with(" 0"), "{errors}");
    assert!(
        metrics.contains(&format!(
            "harrier_runtime_up{{socket=\"{socket}\",kind=\"cri\"}} 0"
        )),
        "{metrics}"
    );
    assert!(
        agent.logged("container runtime down"),
        "no warning in the agent's log"
    );
    drop(agent);
    drop(orphan);
    drop(containerd);
}

#[test]
fn docker_containers_are_named_and_a_socket_client_is_caught() {
    if !privileged("docker_containers_are_named_and_a_socket_client_is_caught") {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("harrier-docker-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let dir = tmp.path();
    let image = image::busybox(&dir.join("image"), IMAGE);
    let mut dockerd = Dockerd::start(&dir.join("docker"), &image);
    let name = format!("harrier-web-{}", std::process::id());
    let web = dockerd.run_detached(&["--name", &name, IMAGE]);
    let agent = LiveAgent::start(dir, &runtime_config(&[], &[&dockerd.socket]));

    let out = dockerd.docker(&[
        "exec",
        &web,
        "/bin/sh",
        "-c",
        "cp /bin/busybox /tmp/true && /tmp/true",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let finding = agent
        .finding(WAIT, |f| of_container(f, NEW_BINARY, &web).is_some())
        .expect("no NewBinaryExecuted finding in the Docker container");
    assert_eq!(finding["container"]["name"], name.as_str(), "{finding:#}");
    assert_eq!(finding["container"]["image"], IMAGE);
    assert_eq!(finding["container"]["runtime"], "docker");
    assert_eq!(finding["container"]["image_digest"], image.id.as_str());
    assert!(
        finding.get("kubernetes").is_none(),
        "a Docker container is in no pod"
    );

    // A client inside a container talks to the real daemon's socket.
    let socket_mount = format!("{}:/var/run/docker.sock", dockerd.socket.display());
    let client_mount = format!("{DOCKER}:/bin/client:ro");
    let client = dockerd.run_detached(&[
        "-v",
        &socket_mount,
        "-v",
        &client_mount,
        "-v",
        "/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro",
        "-v",
        "/lib64:/lib64:ro",
        IMAGE,
        "/bin/client",
        "-H",
        "unix:///var/run/docker.sock",
        "version",
    ]);
    let finding = agent
        .finding(WAIT, |f| of_container(f, DOCKER_SOCKET, &client).is_some())
        .expect("no DockerSocketAccessed from the client container");
    assert_eq!(finding["container"]["runtime"], "docker", "{finding:#}");
    assert_eq!(finding["container"]["image"], IMAGE);
    drop(agent);
    drop(dockerd);
}
