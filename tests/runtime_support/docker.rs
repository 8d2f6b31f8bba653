//! Debian's dockerd started by the test with a private data root, exec root
//! and socket (`--bridge=none --iptables=false`), its containers removed
//! and the daemon stopped on drop (panics included).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cleanup;
use super::image::{Image, run};

/// Debian's client (a newer client-only docker may come earlier on PATH).
pub const DOCKER: &str = "/usr/bin/docker";

/// A running dockerd.
pub struct Dockerd {
    pub dir: PathBuf,
    pub socket: PathBuf,
    child: Child,
    containers: Vec<String>,
}

impl Dockerd {
    /// Starts dockerd in `dir` and loads `image`.
    pub fn start(dir: &Path, image: &Image) -> Dockerd {
        assert!(
            Path::new("/usr/sbin/dockerd").exists() && Path::new(DOCKER).exists(),
            "dockerd is missing: install Debian's docker.io (scripts/bootstrap.sh does)"
        );
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("docker.sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("/usr/sbin/dockerd")
            .arg(format!("--host=unix://{}", socket.display()))
            .arg(format!("--data-root={}", dir.join("data").display()))
            .arg(format!("--exec-root={}", dir.join("exec").display()))
            .arg(format!("--pidfile={}", dir.join("dockerd.pid").display()))
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
                "--userland-proxy=false",
                "--storage-driver=vfs",
                "--exec-opt=native.cgroupdriver=cgroupfs",
                "--log-level=warn",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let mut dockerd = Dockerd {
            dir: dir.to_path_buf(),
            socket,
            child,
            containers: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(40);
        while !dockerd.docker(&["version"]).status.success() {
            if let Some(status) = dockerd.child.try_wait().unwrap() {
                panic!(
                    "dockerd exited ({status}): see {}/dockerd.log",
                    dir.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "dockerd not answering within 40 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        run(&mut dockerd.command(&["load", "-i", image.tarball.to_str().unwrap()]));
        dockerd
    }

    /// The client against this daemon.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER);
        c.arg("-H").arg(format!("unix://{}", self.socket.display()));
        c.args(args);
        c
    }

    /// Runs the client; its output.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().expect("run docker")
    }

    /// `docker run -d --network none ARGS…`; returns the container id.
    pub fn run_detached(&mut self, args: &[&str]) -> String {
        let mut all = vec!["run", "-d", "--network", "none"];
        all.extend_from_slice(args);
        let out = self.docker(&all);
        assert!(
            out.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        self.containers.push(id.clone());
        id
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.containers) {
            let _ = self.docker(&["rm", "-f", &id]);
        }
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        cleanup::kill_processes_mentioning(&self.dir);
        cleanup::unmount_under(&self.dir);
    }
}
