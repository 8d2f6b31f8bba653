//! `harrier test` and `harrier replay` as a detector author's CI sees them:
//! a component in each language (Rust, Python, JavaScript, C) is tested against its fixture and a
//! checked-in expectation (passing), then against a changed expectation
//! (failing, naming the field); a requested detector that did not load
//! (a core module, an empty or missing folder) fails the command. Shadow
//! mode keeps findings away from outputs that did not ask for them, and
//! every finding carries its provenance.
//!
//! Expectations live in tests/expected/harrier-test/<detector>.jsonl;
//! after a deliberate change regenerate one with
//! `harrier test COMPONENT --events CAPTURE --expect FILE --update` and
//! review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harrier_tests::{harrier_bin, repo_root};
use serde_json::Value;

fn harrier(args: &[&str]) -> Output {
    Command::new(harrier_bin()).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The default pack's Rust crypto-miner component, exported into `dir`.
fn rust_component(dir: &Path) -> PathBuf {
    let pack = dir.join("default-pack");
    let out = harrier(&["export-default-pack", s(&pack)]);
    assert!(out.status.success(), "{}", stderr(&out));
    pack.join("plugins/crypto-miner.wasm")
}

/// The permissions componentize-py's runtime imports (it reads the
/// environment and clocks at start-up).
const PYTHON_GRANTS: [&str; 6] = [
    "--grant",
    "wasi:cli",
    "--grant",
    "wasi:clocks",
    "--grant",
    "wasi:random",
];

/// A component by language: (component, capture, expectation, `harrier
/// test` grant flags); `dir` receives the exported Rust component.
fn case(lang: &str, dir: &Path) -> (PathBuf, PathBuf, PathBuf, &'static [&'static str]) {
    let root = repo_root();
    let (component, fixture, name, grants) = match lang {
        "rust" => (rust_component(dir), "crypto-miner", "crypto-miner", &[][..]),
        "python" => (
            root.join("target/guests/persistence-py.wasm"),
            "python-persistence",
            "persistence-py",
            &PYTHON_GRANTS[..],
        ),
        "js" => (
            root.join("target/guests/discovery-js.wasm"),
            "js-discovery",
            "discovery-js",
            &[][..],
        ),
        "c" => (
            root.join("target/guests/k8s-api-c.wasm"),
            "c-k8s-api",
            "k8s-api-c",
            &[][..],
        ),
        other => panic!("no case for {other}"),
    };
    assert!(
        component.is_file(),
        "{} is missing; build the guests first: scripts/build-guests.sh (./test.sh does)",
        component.display()
    );
    (
        component,
        root.join(format!("plugins/fixtures/{fixture}/detect.jsonl")),
        root.join(format!("tests/expected/harrier-test/{name}.jsonl")),
        grants,
    )
}

/// Pass against the checked-in expectation, fail against a changed one.
fn passes_then_fails(lang: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (component, capture, expect, grants) = case(lang, tmp.path());
    let args = |expect: &Path| {
        let mut args = vec![
            "test".to_string(),
            s(&component).to_string(),
            "--events".into(),
            s(&capture).into(),
            "--expect".into(),
            s(expect).into(),
        ];
        args.extend(grants.iter().map(|g| g.to_string()));
        args
    };
    let run = |a: Vec<String>| Command::new(harrier_bin()).args(&a).output().unwrap();

    let out = run(args(&expect));
    assert!(out.status.success(), "{lang}: {}", stderr(&out));
    let printed = json_lines(&out.stdout);
    assert!(!printed.is_empty(), "{lang}: no findings printed");

    // Change one evidence value: the test fails and names the field.
    let text = std::fs::read_to_string(&expect).unwrap();
    let mut lines: Vec<Value> = json_lines(text.as_bytes());
    lines[0]["evidence"][0]["value"] = Value::from("something else");
    let changed = tmp.path().join("changed.jsonl");
    let body: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&changed, body).unwrap();
    let out = run(args(&changed));
    assert!(
        !out.status.success(),
        "{lang}: a changed expectation must fail"
    );
    let err = stderr(&out);
    assert!(
        err.contains("/evidence/0/value") && err.contains("something else"),
        "{lang}: {err}"
    );

    // A missing finding is reported too.
    std::fs::write(&changed, "").unwrap();
    let out = run(args(&changed));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unexpected: "), "{}", stderr(&out));

    // --update writes what the check then accepts.
    let updated = tmp.path().join("updated.jsonl");
    let mut a = args(&updated);
    a.push("--update".into());
    let out = run(a);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(args(&updated));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn rust_component_passes_and_fails_like_a_unit_test() {
    passes_then_fails("rust");
}

#[test]
fn python_component_passes_and_fails_like_a_unit_test() {
    passes_then_fails("python");
}

#[test]
fn javascript_component_passes_and_fails_like_a_unit_test() {
    passes_then_fails("js");
}

#[test]
fn c_component_passes_and_fails_like_a_unit_test() {
    passes_then_fails("c");
}

/// The C SDK's configuration parser refuses what the other SDKs refuse,
/// naming the key, and takes the detector's own keys.
#[test]
fn c_configuration_is_checked_like_the_other_languages() {
    let tmp = tempfile::tempdir().unwrap();
    let (component, capture, _, _) = case("c", tmp.path());
    let run = |config: &str| {
        harrier(&[
            "test",
            s(&component),
            "--events",
            s(&capture),
            "--config",
            config,
        ])
    };
    for (config, named) in [
        (r#"{"api_server": []}"#, "unknown key `api_server`"),
        (
            r#"{"api_ports": "6443"}"#,
            "`api_ports` must be a list of strings",
        ),
        (
            r#"{"containers_only": 1}"#,
            "`containers_only` must be true or false",
        ),
        (
            r#"{"api_ports": [6443]}"#,
            "`api_ports` must be a list of strings",
        ),
    ] {
        let out = run(config);
        assert!(!out.status.success(), "{config} was accepted");
        assert!(stderr(&out).contains(named), "{config}: {}", stderr(&out));
    }
    // With the port rule alone, the connect to 192.168.1.10:6443 is
    // reported; the one to 127.0.0.1:6443 comes from the host (never
    // reported) and 10.96.0.1:443 is no longer an API server.
    let out = run(r#"{"api_servers": [], "api_ports": ["6443"]}"#);
    assert!(out.status.success(), "{}", stderr(&out));
    let found = json_lines(&out.stdout);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["processes"][0]["exe"], "/usr/bin/wget",
        "{found:?}"
    );
    // allow_executables (a shared key) takes wget out.
    let out = run(r#"{"api_servers": [], "allow_executables": ["/usr/bin/w*"]}"#);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(json_lines(&out.stdout).is_empty());
}

#[test]
fn detector_configuration_reaches_init() {
    let tmp = tempfile::tempdir().unwrap();
    let (component, capture, _, _) = case("rust", tmp.path());
    let out = harrier(&[
        "test",
        s(&component),
        "--events",
        s(&capture),
        "--config",
        r#"{"no_such_key": 1}"#,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no_such_key"), "{}", stderr(&out));
}

/// A core module (what `cargo build --target wasm32-unknown-unknown`
/// leaves before `wasm-tools component new`).
fn core_module(dir: &Path) -> PathBuf {
    let path = dir.join("core.wasm");
    std::fs::write(
        &path,
        wat::parse_str("(module (func (export \"f\")))").unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn a_detector_that_did_not_load_fails_test_and_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let capture = repo_root().join("plugins/fixtures/benign.jsonl");
    let core = core_module(tmp.path());

    let out = harrier(&["test", s(&core), "--events", s(&capture)]);
    assert!(!out.status.success(), "harrier test passed a core module");
    assert!(stderr(&out).contains("core.wasm"), "{}", stderr(&out));

    let replay = |dir: &Path| {
        harrier(&[
            "replay",
            s(&capture),
            "--no-default-pack",
            "--plugins",
            s(dir),
        ])
    };
    let out = replay(tmp.path());
    assert!(!out.status.success(), "replay passed with a core module");
    assert!(stderr(&out).contains("core.wasm"), "{}", stderr(&out));

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = replay(&empty);
    assert!(!out.status.success(), "replay passed with an empty folder");
    assert!(
        stderr(&out).contains("holds no .wasm component"),
        "{}",
        stderr(&out)
    );

    let out = replay(&tmp.path().join("missing"));
    assert!(!out.status.success(), "replay passed with a missing folder");
    assert!(stderr(&out).contains("missing"), "{}", stderr(&out));

    // And with a component it loads and passes.
    let good = tmp.path().join("good");
    std::fs::create_dir(&good).unwrap();
    std::fs::copy(rust_component(tmp.path()), good.join("crypto-miner.wasm")).unwrap();
    let out = replay(&good);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Replay the crypto-miner fixture with the directory component under
/// `toml`, writing live and shadow outputs; (live findings, shadow findings).
fn shadow_replay(toml: &str) -> (Vec<Value>, Vec<Value>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir(&dir).unwrap();
    let component = dir.join("crypto-miner.wasm");
    std::fs::copy(rust_component(tmp.path()), &component).unwrap();
    let config = tmp.path().join("harrier.toml");
    std::fs::write(&config, toml).unwrap();
    let (live, shadow) = (
        tmp.path().join("live.jsonl"),
        tmp.path().join("shadow.jsonl"),
    );
    let capture = repo_root().join("plugins/fixtures/crypto-miner/detect.jsonl");
    let out = harrier(&[
        "replay",
        s(&capture),
        "--no-default-pack",
        "--plugins",
        s(&dir),
        "--config",
        s(&config),
        "-o",
        &format!("file:{}", s(&live)),
        "-o",
        &format!("shadow:file:{}", s(&shadow)),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |p: &Path| json_lines(&std::fs::read(p).unwrap_or_default());
    (read(&live), read(&shadow))
}

#[test]
fn shadow_findings_reach_only_outputs_that_ask() {
    let (live, shadow) = shadow_replay("[plugins.shadow.crypto-miner]\n");
    assert!(
        live.is_empty(),
        "shadow findings reached a live output: {live:#?}"
    );
    assert!(!shadow.is_empty(), "the shadow output got nothing");
    for f in &shadow {
        assert_eq!(f["shadow"], true, "{f}");
        assert_eq!(f["provenance"][0]["shadow"], true, "{f}");
    }

    // Without shadow mode the same findings are live and the shadow
    // output stays empty.
    let (live, shadow) = shadow_replay("");
    assert!(!live.is_empty() && shadow.is_empty());
    assert!(live.iter().all(|f| f["shadow"] == false));
}

#[test]
fn shadow_period_ends_live_or_off() {
    // The fixture's events are from 2025: a period that ended in 2020 is
    // over before the first batch.
    let ended = "[plugins.shadow.crypto-miner]\nuntil = \"2020-01-01T00:00:00Z\"\n";
    let (live, shadow) = shadow_replay(&format!("{ended}then = \"live\"\n"));
    assert!(
        !live.is_empty() && shadow.is_empty(),
        "then = live: findings must be live"
    );
    let (live, shadow) = shadow_replay(ended);
    assert!(
        live.is_empty() && shadow.is_empty(),
        "then = off: the detector is unloaded"
    );
    let (live, shadow) =
        shadow_replay("[plugins.shadow.crypto-miner]\nuntil = \"2999-01-01T00:00:00Z\"\n");
    assert!(
        live.is_empty() && !shadow.is_empty(),
        "a period not over keeps shadowing"
    );
}

#[test]
fn findings_name_the_component_that_raised_them() {
    let (live, _) = shadow_replay("");
    let tmp = tempfile::tempdir().unwrap();
    let component = std::fs::read(rust_component(tmp.path())).unwrap();
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&component))
    };
    for f in &live {
        let p = &f["provenance"][0];
        assert_eq!(p["detector"], "crypto-miner", "{f}");
        assert_eq!(p["component_sha256"], digest.as_str(), "{f}");
        assert_eq!(p["source"]["kind"], "directory", "{f}");
        assert!(
            p["source"]["path"]
                .as_str()
                .unwrap()
                .ends_with("crypto-miner.wasm"),
            "{f}"
        );
    }
}
