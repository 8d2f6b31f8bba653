//! Stdout sink: exactly one JSON object per line, flushed per line, read live
//! from a child process (this test binary re-run in child mode).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::sample_finding;
use harrier_findings::{Format, SinkSpec, Sinks};

const CHILD_ENV: &str = "HARRIER_FINDINGS_STDOUT_CHILD";

/// Child mode: emits one finding per line read from stdin, until EOF.
#[test]
fn stdout_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // only meaningful when run by `prints_one_flushed_json_object_per_line`
    }
    let sinks = Sinks::start(&["stdout".parse::<SinkSpec>().unwrap()], Format::Native).unwrap();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        line.unwrap();
        let mut finding = sample_finding(false);
        finding.count = i as u64 + 1;
        sinks.emit(&finding);
    }
    sinks.shutdown(Duration::from_secs(5));
}

#[test]
fn prints_one_flushed_json_object_per_line() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stdout_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // The test harness prints its own text, even ahead of a finding on
            // the same line ("test stdout_child ... {"); findings are JSON.
            if let Some(start) = line.find('{')
                && lines_tx.send(line[start..].to_string()).is_err()
            {
                return;
            }
        }
    });
    for expected in 1..=3u64 {
        writeln!(stdin, "go").unwrap();
        stdin.flush().unwrap();
        // The child keeps running: the line must arrive without its exit.
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("finding {expected} not flushed to stdout"));
        let json: serde_json::Value = serde_json::from_str(&line).expect("a whole JSON object");
        assert_eq!(json["count"], expected);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert!(lines.try_recv().is_err(), "nothing but the three findings");
}
