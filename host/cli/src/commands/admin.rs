//! The local admin endpoint: HTTP/1.1 on a root-only unix socket.
//! `GET /plugins` (detector status, JSON), `GET /status` (everything, JSON),
//! `GET /metrics` (Prometheus text), `GET /healthz` (`ok` while the agent
//! runs). Optionally the same server on a TCP address for Prometheus and
//! Kubernetes probes, answering only `/metrics` and `/healthz` there.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use std::sync::Arc;

use harrier_findings::Sinks;
use harrier_pipeline::AgentHandle;
use harrier_runtime::RuntimeMetadata;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};

use super::metrics;

/// What the endpoint reports on.
#[derive(Clone)]
pub struct AdminState {
    /// The running agent.
    pub handle: AgentHandle,
    /// Its outputs.
    pub sinks: Arc<Sinks>,
    /// The container runtimes' metadata source, if enabled.
    pub runtime: Option<Arc<RuntimeMetadata>>,
}

/// A running admin endpoint; the socket is removed when this is dropped.
pub struct AdminServer {
    path: Option<PathBuf>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Joined so that everything the endpoint holds (the outputs) is
        // released before they are flushed.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Serve the endpoint at `path` (replacing a stale socket).
pub fn serve(path: &Path, state: AdminState) -> anyhow::Result<AdminServer> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("admin socket directory {}", dir.display()))?;
    }
    let _ = std::fs::remove_file(path);
    // Bind here, so a bad path is reported before `ready`.
    let listener = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("admin socket {}", path.display()))?;
    listener.set_nonblocking(true)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let mut server = spawn(Listener::Unix(listener), state, Scope::Full)?;
    server.path = Some(path.to_path_buf());
    Ok(server)
}

/// Serve `/metrics` and `/healthz` (only) on the TCP address `address`
/// (`host:port`), for Prometheus scrapes and Kubernetes probes.
pub fn serve_tcp(address: &str, state: AdminState) -> anyhow::Result<AdminServer> {
    let listener = std::net::TcpListener::bind(address)
        .with_context(|| format!("admin metrics address {address}"))?;
    listener.set_nonblocking(true)?;
    tracing::info!(address = %listener.local_addr()?, "serving /metrics and /healthz over TCP");
    spawn(Listener::Tcp(listener), state, Scope::Public)
}

/// A bound listener of either kind.
enum Listener {
    Unix(std::os::unix::net::UnixListener),
    Tcp(std::net::TcpListener),
}

/// Which paths a listener answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Everything (the root-only unix socket).
    Full,
    /// Metrics and health only (a TCP address others can reach).
    Public,
}

/// Runs the accept loop on its own thread.
fn spawn(listener: Listener, state: AdminState, scope: Scope) -> anyhow::Result<AdminServer> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new().name("harrier-admin".into()).spawn(move || {
        runtime.block_on(async move {
            match listener {
                Listener::Unix(l) => {
                    let Ok(l) = UnixListener::from_std(l) else { return };
                    loop {
                        tokio::select! {
                            accepted = l.accept() => if let Ok((stream, _)) = accepted {
                                tokio::spawn(answer(stream, state.clone(), scope));
                            },
                            _ = &mut stop_rx => break,
                        }
                    }
                }
                Listener::Tcp(l) => {
                    let Ok(l) = TcpListener::from_std(l) else { return };
                    loop {
                        tokio::select! {
                            accepted = l.accept() => if let Ok((stream, _)) = accepted {
                                tokio::spawn(answer(stream, state.clone(), scope));
                            },
                            _ = &mut stop_rx => break,
                        }
                    }
                }
            }
        })
    })?;
    Ok(AdminServer {
        path: None,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

/// Reads one request from `stream` and writes the answer.
async fn answer(mut stream: impl AsyncRead + AsyncWrite + Unpin, state: AdminState, scope: Scope) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let (status, content_type, body) = respond(&request, &state, scope);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
}

fn respond(request: &[u8], state: &AdminState, scope: Scope) -> (&'static str, &'static str, String) {
    let line = String::from_utf8_lossy(request);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return ("405 Method Not Allowed", "text/plain", "only GET\n".into());
    }
    let status = state.handle.status();
    let runtime = state.runtime.as_ref().map(|r| r.stats());
    match (target, scope) {
        ("/healthz", _) => ("200 OK", "text/plain", "ok\n".into()),
        ("/plugins", Scope::Full) => ("200 OK", "application/json", json(&status.detectors)),
        ("/status", Scope::Full) => ("200 OK", "application/json", json(&status)),
        ("/metrics", _) => (
            "200 OK",
            "text/plain; version=0.0.4",
            metrics::render(&status, &state.sinks.stats(), runtime.as_ref()),
        ),
        (_, Scope::Full) => (
            "404 Not Found",
            "text/plain",
            "try /plugins, /status, /metrics or /healthz\n".into(),
        ),
        (_, Scope::Public) => (
            "404 Not Found",
            "text/plain",
            "try /metrics or /healthz\n".into(),
        ),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// GET `target` from the admin socket at `path`; the response body.
pub fn get(path: &Path, target: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path)?;
    write!(stream, "GET {target} HTTP/1.1\r\nHost: harrier\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("admin endpoint sent a malformed response")?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.1 200"),
        "admin endpoint: {}",
        head.lines().next().unwrap_or("")
    );
    Ok(body.to_string())
}
