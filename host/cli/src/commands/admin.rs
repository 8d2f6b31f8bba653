//! The local admin endpoint: HTTP/1.1 on a root-only unix socket.
//! `GET /plugins` (detector status, JSON), `GET /status` (everything, JSON),
//! `GET /metrics` (Prometheus text), `GET /healthz` (`ok` while the agent
//! runs). Optionally the same server on a TCP address for Prometheus and
//! Kubernetes probes, answering only `/metrics` and `/healthz` there.
//!
//! The socket path is only ever taken over from a stale socket: anything
//! else there (a file, a directory) or a live agent answering on it is
//! refused. At most [`MAX_CONNECTIONS`] clients are served at once per
//! listener (others get `503` and are closed), each has [`CLIENT_TIMEOUT`]
//! to send its request and take the answer, and running out of file
//! descriptors backs the accept loop off instead of spinning.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use std::sync::Arc;

use harrier_pipeline::{AgentHandle, EnricherServices};
use harrier_runtime::RuntimeMetadata;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};

use super::admin_request::{Request, parse_request};
use super::metrics;
use super::outputs::Outputs;

/// Clients served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Time a client has to send its request, and to read the answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read.
const MAX_REQUEST: usize = 16 * 1024;

/// Check `path` can become the admin socket: nothing there, or a stale
/// socket no agent answers on. Call it before attaching anything, so a bad
/// path is reported first.
pub fn check_path(path: &Path) -> anyhow::Result<()> {
    let what = || format!("admin socket {}", path.display());
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(what),
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        anyhow::bail!(
            "{}: is a directory; give the path of a socket to create",
            what()
        );
    }
    if !kind.is_socket() {
        anyhow::bail!(
            "{}: a {} is there, not a socket; refusing to replace it",
            what(),
            if kind.is_symlink() {
                "symbolic link"
            } else {
                "file"
            }
        );
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => anyhow::bail!(
            "{}: another agent is serving on it; stop it or choose another --admin-socket",
            what()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(()),
        Err(e) => Err(e).with_context(|| format!("{}: probing the existing socket", what())),
    }
}

/// What the endpoint reports on.
#[derive(Clone)]
pub struct AdminState {
    /// The running agent.
    pub handle: AgentHandle,
    /// Its outputs.
    pub sinks: Arc<Outputs>,
    /// The container runtimes' metadata source, if enabled.
    pub runtime: Option<Arc<RuntimeMetadata>>,
    /// The enricher and threat-intelligence store the detectors ask.
    pub services: Arc<EnricherServices>,
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

/// Serve the endpoint at `path` (replacing a stale socket only).
pub fn serve(path: &Path, state: AdminState) -> anyhow::Result<AdminServer> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("admin socket directory {}", dir.display()))?;
    }
    check_path(path)?;
    if std::fs::symlink_metadata(path).is_ok() {
        std::fs::remove_file(path).with_context(|| {
            format!("admin socket {}: removing the stale socket", path.display())
        })?;
    }
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

/// A connection of either kind.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// Runs the accept loop on its own thread.
fn spawn(listener: Listener, state: AdminState, scope: Scope) -> anyhow::Result<AdminServer> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("harrier-admin".into())
        .spawn(move || {
            runtime.block_on(async move {
                match listener {
                    Listener::Unix(l) => {
                        let Ok(l) = UnixListener::from_std(l) else {
                            return;
                        };
                        let accept = || async { l.accept().await.map(|(s, _)| s) };
                        serve_loop(accept, stop_rx, state, scope).await;
                    }
                    Listener::Tcp(l) => {
                        let Ok(l) = TcpListener::from_std(l) else {
                            return;
                        };
                        let accept = || async { l.accept().await.map(|(s, _)| s) };
                        serve_loop(accept, stop_rx, state, scope).await;
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

/// Accept until stopped: each client gets a slot of [`MAX_CONNECTIONS`]
/// (or a `503`), and [`CLIENT_TIMEOUT`]s to be served.
async fn serve_loop<S: Stream, F: std::future::Future<Output = std::io::Result<S>>>(
    accept: impl Fn() -> F,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    state: AdminState,
    scope: Scope,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = tokio::select! {
            accepted = accept() => match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    back_off(&e).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(busy(stream));
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CLIENT_TIMEOUT * 2, answer(stream, &state, scope)).await;
            drop(slot);
        });
    }
}

/// Wait after a failed accept: long when out of file descriptors (the
/// listener would fail again at once), briefly otherwise.
async fn back_off(error: &std::io::Error) {
    let exhausted = matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    if exhausted {
        tracing::warn!(
            "admin endpoint: out of file descriptors ({error}); pausing accepts for 200 ms"
        );
    }
    let pause = if exhausted { 200 } else { 10 };
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Tell a client over the connection cap to come back later.
async fn busy(mut stream: impl Stream) {
    let reply =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let _ = tokio::time::timeout(CLIENT_TIMEOUT, stream.write_all(reply.as_bytes())).await;
}

/// Read one request (within [`CLIENT_TIMEOUT`]) and answer it.
async fn answer(mut stream: impl Stream, state: &AdminState, scope: Scope) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
    };
    if tokio::time::timeout(CLIENT_TIMEOUT, read).await.is_err() {
        return;
    }
    let (status, content_type, body) = respond(&request, state, scope);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await
    };
    let _ = tokio::time::timeout(CLIENT_TIMEOUT, write).await;
}

fn respond(
    request: &[u8],
    state: &AdminState,
    scope: Scope,
) -> (&'static str, &'static str, String) {
    let Request::Get(target) = parse_request(request) else {
        return ("405 Method Not Allowed", "text/plain", "only GET\n".into());
    };
    let status = state.handle.status();
    let runtime = state.runtime.as_ref().map(|r| r.stats());
    match (target, scope) {
        ("/healthz", _) => ("200 OK", "text/plain", "ok\n".into()),
        ("/plugins", Scope::Full) => ("200 OK", "application/json", json(&status.detectors)),
        ("/status", Scope::Full) => ("200 OK", "application/json", json(&status)),
        ("/metrics", _) => (
            "200 OK",
            "text/plain; version=0.0.4",
            metrics::render(
                &status,
                &state.sinks.sink_stats(),
                &state.sinks.bus_stats(),
                runtime.as_ref(),
                Some(&state.services),
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_path_is_taken_only_from_a_stale_socket() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "keep me").unwrap();
        let err = check_path(&file).unwrap_err().to_string();
        assert!(err.contains("not a socket"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

        let err = check_path(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");

        let live = dir.path().join("live.sock");
        let listener = std::os::unix::net::UnixListener::bind(&live).unwrap();
        let err = check_path(&live).unwrap_err().to_string();
        assert!(err.contains("another agent"), "{err}");
        drop(listener);
        // The listener is gone; its socket file stays behind, stale.
        check_path(&live).unwrap();
        check_path(&dir.path().join("absent.sock")).unwrap();
    }
}
