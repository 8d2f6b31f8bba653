//! `harrier run` as the runtime tests use it: a private admin socket and
//! configuration, findings read from stdout as they come, warnings kept,
//! stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harrier_tests::{harrier_bin, lines};
use serde_json::Value;

/// A running agent.
pub struct LiveAgent {
    child: Child,
    findings: std::sync::mpsc::Receiver<String>,
    /// Every stderr line since start.
    pub log: Arc<Mutex<Vec<String>>>,
    pub admin: PathBuf,
}

impl LiveAgent {
    /// Starts `harrier run` with `config_text` (written to `dir`) and waits for `ready`.
    pub fn start(dir: &Path, config_text: &str) -> LiveAgent {
        let config = dir.join("harrier.toml");
        std::fs::write(&config, config_text).unwrap();
        let admin = dir.join("admin.sock");
        let mut child = Command::new(harrier_bin())
            .arg("run")
            .arg("--config")
            .arg(&config)
            .arg("--admin-socket")
            .arg(&admin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start harrier");
        let findings = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = stderr
                .recv_timeout(left)
                .expect("agent exited or not ready within 60 s");
            log.lock().unwrap().push(line.clone());
            if line.contains("ready") {
                break;
            }
        }
        let keep = log.clone();
        std::thread::spawn(move || {
            while let Ok(line) = stderr.recv() {
                keep.lock().unwrap().push(line);
            }
        });
        LiveAgent {
            child,
            findings,
            log,
            admin,
        }
    }

    /// The first finding for which `wanted` holds, waiting up to `limit`.
    pub fn finding(&self, limit: Duration, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.findings.recv_timeout(left) else {
                break;
            };
            let value: Value = serde_json::from_str(&line).unwrap();
            if wanted(&value) {
                return Some(value);
            }
        }
        None
    }

    /// The agent's Prometheus text.
    pub fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&self.admin).expect("admin socket");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: harrier\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    }

    /// Whether some stderr line contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }
}

impl Drop for LiveAgent {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
