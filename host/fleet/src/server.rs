//! A private `nats-server -js` for tests and benchmarks: a random loopback
//! port, a temporary store, an optional permissions configuration; killed
//! when dropped (so on every exit of a test, panics included).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The Debian package's binary, or `NATS_SERVER` if set.
pub fn binary() -> PathBuf {
    std::env::var_os("NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"))
}

/// A running (or stopped) test server. The store and port survive
/// [`TestServer::kill`] and [`TestServer::start`], like a real restart.
#[derive(Debug)]
pub struct TestServer {
    dir: tempfile::TempDir,
    port: u16,
    config: Option<PathBuf>,
    netns: Option<String>,
    child: Option<Child>,
}

impl TestServer {
    /// Starts a server with JetStream on a free loopback port. `config`, if
    /// given, is the text of a server configuration (accounts, users and
    /// permissions); the port, store and JetStream are set here.
    pub fn start_new(config: Option<&str>) -> anyhow::Result<Self> {
        Self::start_in(config, None)
    }

    /// Like [`TestServer::start_new`], inside network namespace `netns`
    /// (listening on every address there) when given.
    pub fn start_in(config: Option<&str>, netns: Option<&str>) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("harrier-nats-").tempdir()?;
        let port = free_port()?;
        let config = match config {
            Some(text) => {
                let path = dir.path().join("server.conf");
                std::fs::write(&path, text)?;
                Some(path)
            }
            None => None,
        };
        let mut server = Self {
            dir,
            port,
            config,
            netns: netns.map(str::to_string),
            child: None,
        };
        server.start()?;
        Ok(server)
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's store directory.
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Starts the server again (no-op if running) and waits until it takes
    /// connections.
    pub fn start(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let bin = binary();
        let (mut command, listen) = match &self.netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns]).arg(&bin);
                (command, "0.0.0.0")
            }
            None => (Command::new(&bin), "127.0.0.1"),
        };
        let log_start = self.log().len();
        command
            .args(["-js", "-a", listen, "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(self.store())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(self.dir.path())?);
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        let child = command.spawn().with_context(|| {
            format!(
                "starting {} (scripts/bootstrap.sh installs Debian's nats-server)",
                bin.display()
            )
        })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log()[log_start..].contains("Server is ready") {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                anyhow::bail!("nats-server exited ({status}): {}", self.log());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "nats-server did not listen within 10 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn log_file(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
}

/// A loopback port nobody listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
