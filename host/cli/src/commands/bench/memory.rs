//! Resident memory of a real `harrier run` (the agent as operators start it),
//! split into what the process allocated and what it maps from files or the
//! kernel (program text, the BPF ring buffer).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

/// Resident set of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resident {
    /// `VmRSS`.
    pub total: u64,
    /// `RssAnon`: heap, stacks, compiled detectors, detector memories.
    pub anon: u64,
    /// `RssFile` + `RssShmem`: program text and shared mappings such as the
    /// ring buffer, whose pages the kernel owns.
    pub mapped: u64,
}

impl Resident {
    /// Read it for `pid` (`self` for this process).
    pub fn of(pid: &str) -> Resident {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        Resident {
            total: field("VmRSS:"),
            anon: field("RssAnon:"),
            mapped: field("RssFile:") + field("RssShmem:"),
        }
    }
}

/// Start `harrier run` with `config`, let it see `settle` of ordinary
/// activity, and read its resident set; the agent is stopped afterwards.
pub fn agent_resident(config: &Path, settle: Duration) -> anyhow::Result<Resident> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("start harrier run")?;
    let stderr = child.stderr.take().context("agent stderr")?;
    let (ready_tx, ready) = std::sync::mpsc::channel();
    // Reads to the end, so the agent never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("ready") {
                let _ = ready_tx.send(());
            }
        }
    });
    if ready.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        anyhow::bail!("harrier run did not become ready within 60 s");
    }
    std::thread::sleep(settle);
    let resident = Resident::of(&child.id().to_string());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    Ok(resident)
}
