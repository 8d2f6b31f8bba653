//! `harrier replay` over the fixture captures gives exactly the expected
//! findings, the same every time, and a corrupt capture is refused with the
//! line that is wrong.
//!
//! Expected findings live in tests/expected/replay/<fixture>.jsonl, one
//! line per emission: type, severity, pid, count, detectors. After a
//! deliberate change, regenerate them with `HARRIER_BLESS=1 cargo test
//! --release -p harrier-tests --test replay` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use harrier_tests::{harrier_bin, repo_root};
use serde_json::{Value, json};

/// Run `harrier replay` on `capture`; (success, stdout lines, stderr). A
/// fixture's `intel/` directory, if it has one, holds its indicator feeds.
fn replay(capture: &Path) -> (bool, Vec<Value>, String) {
    let config = repo_root().join("tests/expected/replay.toml");
    let mut cmd = Command::new(harrier_bin());
    cmd.args([
        "replay",
        capture.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let intel = capture.with_file_name("intel");
    if intel.is_dir() {
        cmd.arg("--intel").arg(&intel);
    }
    let out = cmd.output().unwrap();
    let findings = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (
        out.status.success(),
        findings,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a golden file pins of each emission.
fn summary(finding: &Value) -> Value {
    json!({
        "type": finding["type"],
        "severity": finding["severity"],
        "pid": finding["process"]["pid"],
        "count": finding["count"],
        "detectors": finding["detectors"],
    })
}

fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = repo_root().join("tests/expected/replay");
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let capture = match name.as_str() {
                "benign" => repo_root().join("plugins/fixtures/benign.jsonl"),
                other => repo_root().join(format!("plugins/fixtures/{other}/detect.jsonl")),
            };
            (name, capture)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn fixtures_replay_to_exactly_the_expected_findings() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 2,
        "no golden files in tests/expected/replay"
    );
    let bless = std::env::var("HARRIER_BLESS").as_deref() == Ok("1");
    for (name, capture) in fixtures {
        let (ok, findings, stderr) = replay(&capture);
        assert!(ok, "replay of {name} failed: {stderr}");
        let got: Vec<Value> = findings.iter().map(summary).collect();
        let golden = repo_root().join(format!("tests/expected/replay/{name}.jsonl"));
        if bless {
            let text: String = got.iter().map(|v| format!("{v}\n")).collect();
            std::fs::write(&golden, text).unwrap();
            continue;
        }
        let expected: Vec<Value> = std::fs::read_to_string(&golden)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            got,
            expected,
            "replay of {name} differs from {}",
            golden.display()
        );
    }
}

#[test]
fn replay_is_deterministic() {
    let capture = repo_root().join("plugins/fixtures/crypto-miner/detect.jsonl");
    let (_, first, _) = replay(&capture);
    let (_, second, _) = replay(&capture);
    assert!(!first.is_empty());
    assert_eq!(
        first, second,
        "two replays of one capture must print the same findings, ids included"
    );
}

#[test]
fn benign_workload_raises_nothing_medium_or_worse() {
    let (ok, findings, stderr) = replay(&repo_root().join("plugins/fixtures/benign.jsonl"));
    assert!(ok, "{stderr}");
    let loud: Vec<&Value> = findings
        .iter()
        .filter(|f| f["severity"].as_f64().unwrap() >= 4.0)
        .collect();
    assert!(loud.is_empty(), "benign workload raised: {loud:#?}");
}

#[test]
fn corrupt_capture_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::fs::read_to_string(repo_root().join("plugins/fixtures/crypto-miner/detect.jsonl"))
            .unwrap();
    let mut lines: Vec<&str> = source.lines().collect();
    lines[2] = "{\"kind\":\"exec\",\"pid\":1,\"seq\":";
    let corrupt = dir.path().join("corrupt.jsonl");
    std::fs::write(&corrupt, lines.join("\n") + "\n").unwrap();
    let (ok, _, stderr) = replay(&corrupt);
    assert!(!ok, "a corrupt capture must fail");
    assert!(
        stderr.contains("corrupt.jsonl") && stderr.contains("line 3"),
        "{stderr}"
    );

    let not_capture = dir.path().join("notes.txt");
    std::fs::write(&not_capture, "hello\n").unwrap();
    let (ok, _, stderr) = replay(&not_capture);
    assert!(!ok);
    assert!(stderr.contains("not a Harrier capture header"), "{stderr}");
}
