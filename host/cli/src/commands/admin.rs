//! The local admin endpoint: HTTP/1.1 on a root-only unix socket.
//! `GET /plugins` (detector status, JSON), `GET /status` (everything, JSON),
//! `GET /metrics` (Prometheus text).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use std::sync::Arc;

use harrier_pipeline::AgentHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

use super::metrics;
use super::outputs::Outputs;

/// A running admin endpoint; the socket is removed when this is dropped.
pub struct AdminServer {
    path: PathBuf,
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
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Serve the endpoint at `path` (replacing a stale socket).
pub fn serve(path: &Path, handle: AgentHandle, sinks: Arc<Outputs>) -> anyhow::Result<AdminServer> {
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new().name("harrier-admin".into()).spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = UnixListener::from_std(listener) else { return };
            loop {
                let mut stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                    _ = &mut stop_rx => break,
                };
                let handle = handle.clone();
                let sinks = sinks.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let (status, content_type, body) = respond(&request, &handle, &sinks);
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                });
            }
        })
    })?;
    Ok(AdminServer {
        path: path.to_path_buf(),
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

fn respond(
    request: &[u8],
    handle: &AgentHandle,
    sinks: &Outputs,
) -> (&'static str, &'static str, String) {
    let line = String::from_utf8_lossy(request);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return ("405 Method Not Allowed", "text/plain", "only GET\n".into());
    }
    let status = handle.status();
    match target {
        "/plugins" => ("200 OK", "application/json", json(&status.detectors)),
        "/status" => ("200 OK", "application/json", json(&status)),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4",
            metrics::render(&status, &sinks.sink_stats(), &sinks.bus_stats()),
        ),
        _ => (
            "404 Not Found",
            "text/plain",
            "try /plugins, /status or /metrics\n".into(),
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
