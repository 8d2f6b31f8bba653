//! The live agent on the real kernel: `harrier run` reports a miner started
//! after `ready` with its process fields; `harrier record` captures the exec
//! and `harrier replay` of that capture finds the same thing. Needs root.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use harrier_tests::{harrier_bin, lines, privileged};
use serde_json::Value;

/// A running `harrier` with its stdout and stderr lines on channels.
struct Agent {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Agent {
    fn start(args: &[&str]) -> Agent {
        let mut child = Command::new(harrier_bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start harrier");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Agent {
            child,
            stdout,
            stderr,
        }
    }

    /// Wait for a stderr line containing `word`.
    fn wait_stderr(&self, word: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(word) => return,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!(
            "no `{word}` on stderr within {timeout:?}; stderr was:\n{}",
            seen.join("\n")
        );
    }

    /// Wait for a JSON finding on stdout matching `pred`.
    fn wait_finding(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    let value: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                    if pred(&value) {
                        return value;
                    }
                    seen.push(line);
                }
                Err(_) => break,
            }
        }
        panic!(
            "no matching finding within {timeout:?}; stdout was:\n{}",
            seen.join("\n")
        );
    }

    /// SIGINT, then the exit status (must come within 5 s).
    fn interrupt(mut self) -> std::process::ExitStatus {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "harrier did not exit within 5 s of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A copy of /bin/true named like a miner, in `dir`.
fn marked_miner(dir: &Path) -> std::path::PathBuf {
    let miner = dir.join("xmrig");
    std::fs::copy("/bin/true", &miner).unwrap();
    miner
}

const POOL: &str = "stratum+tcp://pool.harrier-test.invalid:3333";

#[test]
fn live_agent_reports_a_miner_with_its_process() {
    if !privileged("live_agent_reports_a_miner_with_its_process") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("admin.sock");
    let agent = Agent::start(&["run", "--admin-socket", socket.to_str().unwrap()]);
    agent.wait_stderr("ready", Duration::from_secs(60));

    let miner = marked_miner(dir.path());
    let mut child = Command::new(&miner).args(["-o", POOL]).spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();

    let finding = agent.wait_finding(Duration::from_secs(15), |f| {
        f["type"] == "Impact:Runtime/CryptoMinerExecuted" && f["process"]["pid"] == pid
    });
    let process = &finding["process"];
    assert_eq!(process["exe"], miner.to_str().unwrap(), "{finding:#}");
    assert_eq!(process["ppid"], std::process::id(), "{finding:#}");
    assert!(
        process["cmdline"].as_str().unwrap().contains(POOL),
        "{finding:#}"
    );
    assert_eq!(
        (process["uid"].as_u64(), process["euid"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(
        !process["ancestry"].as_array().unwrap().is_empty(),
        "{finding:#}"
    );
    assert_eq!(finding["severity_label"], "High");
    assert_eq!(finding["count"], 1);
    assert!(
        finding["detectors"][0]
            .as_str()
            .unwrap()
            .starts_with("crypto-miner@")
    );
    for field in ["id", "title", "first_seen", "last_seen", "evidence"] {
        assert!(!finding[field].is_null(), "missing {field}: {finding:#}");
    }

    let status = agent.interrupt();
    assert!(status.success(), "harrier run exited with {status}");
}

#[test]
fn recorded_exec_replays_to_the_same_finding() {
    if !privileged("recorded_exec_replays_to_the_same_finding") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("capture.jsonl");
    let recorder = Agent::start(&[
        "record",
        "-o",
        capture.to_str().unwrap(),
        "--kinds",
        "exec,exit,fork",
    ]);
    recorder.wait_stderr("ready", Duration::from_secs(60));
    let miner = marked_miner(dir.path());
    let mut child = Command::new(&miner).args(["-o", POOL]).spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(recorder.interrupt().success());

    let text = std::fs::read_to_string(&capture).unwrap();
    let exec: Value = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["kind"] == "exec" && e["pid"] == pid)
        .unwrap_or_else(|| panic!("no exec of pid {pid} in the capture"));
    let detail = &exec["detail"]["Exec"];
    assert_eq!(detail["filename"], miner.to_str().unwrap());
    assert_eq!(detail["args"][2], POOL);
    assert_eq!(exec["process"]["ppid"], std::process::id());

    let out = Command::new(harrier_bin())
        .args(["replay", capture.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .any(|f| f["type"] == "Impact:Runtime/CryptoMinerExecuted" && f["process"]["pid"] == pid);
    assert!(found, "replay of the recording did not report the miner");
}
