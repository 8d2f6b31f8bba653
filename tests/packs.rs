//! Rule packs end to end through the `harrier` binary: the default pack is
//! exported, signed, verified and installed like a vendor pack, and its
//! detectors then report findings; a tampered installed pack is refused by
//! name while the built-in detectors keep serving.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harrier_tests::{harrier_bin, repo_root};
use serde_json::Value;

fn harrier(args: &[&str]) -> Output {
    Command::new(harrier_bin()).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = harrier(args);
    assert!(
        out.status.success(),
        "harrier {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn findings(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `harrier pack install PACK --packs-dir STORE --trust KEYS EXTRA...`.
fn install_args<'a>(
    pack: &'a Path,
    store: &'a Path,
    keys: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "pack",
        "install",
        s(pack),
        "--packs-dir",
        s(store),
        "--trust",
        s(keys),
    ];
    args.extend_from_slice(extra);
    args
}

/// The default pack exported into `dir/pack`, a key pair in `dir/keys`
/// (`vendor.key`, `vendor.pub`), the path of an install store, and an agent
/// configuration allowing what the pack's detectors ask for (threat-intel
/// and execution ask for `intel`).
fn exported_pack(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let (pack, keys, store) = (dir.join("pack"), dir.join("keys"), dir.join("store"));
    ok(&["export-default-pack", s(&pack)]);
    ok(&["pack", "keygen", "--out", s(&keys), "--name", "vendor"]);
    let config = dir.join("harrier.toml");
    std::fs::write(&config, "[packs]\nallowed_permissions = [\"intel\"]\n").unwrap();
    (pack, keys, store, config)
}

#[test]
fn signed_pack_round_trip_then_tamper() {
    let tmp = tempfile::tempdir().unwrap();
    let (pack, keys, store, config) = exported_pack(tmp.path());
    ok(&[
        "pack",
        "sign",
        s(&pack),
        "--key",
        s(&keys.join("vendor.key")),
    ]);
    let verified = ok(&["pack", "verify", s(&pack), "--trust", s(&keys)]);
    assert!(verified.contains("crypto-miner"), "{verified}");
    ok(&install_args(&pack, &store, &keys, &[]));
    assert!(ok(&["pack", "list", "--packs-dir", s(&store)]).contains("harrier-default"));

    // Only the pack's detectors: the findings must come from it.
    let fixture = repo_root().join("plugins/fixtures/crypto-miner/detect.jsonl");
    let replay = |extra: &[&str]| {
        let mut args = vec![
            "replay",
            s(&fixture),
            "--config",
            s(&config),
            "--packs",
            s(&store),
            "--trust",
            s(&keys),
        ];
        args.extend_from_slice(extra);
        harrier(&args)
    };
    let out = replay(&["--no-default-pack"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = findings(&out.stdout);
    assert!(
        found
            .iter()
            .any(|f| f["type"] == "Impact:Runtime/CryptoMinerExecuted"),
        "the installed pack's detectors reported nothing: {found:?}"
    );
    let plugins = ok(&[
        "plugins",
        "--config",
        s(&config),
        "--no-default-pack",
        "--packs",
        s(&store),
        "--trust",
        s(&keys),
        "--admin-socket",
        s(&tmp.path().join("none.sock")),
    ]);
    assert!(plugins.contains("pack:harrier-default"), "{plugins}");
    assert!(plugins.contains("file-open(writes only)"), "{plugins}");

    // One changed byte in an installed component: the pack is refused by
    // name and file, and the built-in detectors still report.
    let wasm = store.join("harrier-default/plugins/crypto-miner.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&wasm, bytes).unwrap();
    // The rest replays; the exit status says a requested pack did not load.
    let out = replay(&[]);
    assert!(
        !out.status.success(),
        "a refused pack must fail replay (a CI check must not pass without it)"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("harrier-default") && stderr.contains("crypto-miner.wasm"),
        "{stderr}"
    );
    let found = findings(&out.stdout);
    assert!(
        found
            .iter()
            .any(|f| f["type"] == "Impact:Runtime/CryptoMinerExecuted")
    );
    // Other built-in detectors may also see the fixture; the miner finding
    // itself comes from the built-in crypto-miner detector.
    assert!(
        found
            .iter()
            .filter(|f| f["type"] == "Impact:Runtime/CryptoMinerExecuted")
            .all(|f| {
                f["detectors"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("crypto-miner@")
            })
    );
}

#[test]
fn unsigned_pack_needs_explicit_permission() {
    let tmp = tempfile::tempdir().unwrap();
    let (pack, keys, store, config) = exported_pack(tmp.path());
    let refused = harrier(&install_args(&pack, &store, &keys, &[]));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("unsigned"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    ok(&install_args(&pack, &store, &keys, &["--allow-unsigned"]));
    assert!(
        ok(&["pack", "list", "--packs-dir", s(&store)])
            .to_lowercase()
            .contains("unsigned")
    );
    let plugins = ok(&[
        "plugins",
        "--config",
        s(&config),
        "--no-default-pack",
        "--packs",
        s(&store),
        "--trust",
        s(&keys),
        "--allow-unsigned",
        "--admin-socket",
        s(&tmp.path().join("none.sock")),
    ]);
    assert!(
        plugins.contains("pack:harrier-default (UNSIGNED)"),
        "{plugins}"
    );
}

#[test]
fn installed_pack_hot_swaps_into_a_running_agent() {
    if !harrier_tests::privileged("installed_pack_hot_swaps_into_a_running_agent") {
        return;
    }
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let (pack, keys, store, config) = exported_pack(tmp.path());
    let socket = tmp.path().join("admin.sock");
    ok(&[
        "pack",
        "sign",
        s(&pack),
        "--key",
        s(&keys.join("vendor.key")),
    ]);
    std::fs::create_dir_all(&store).unwrap();

    let mut agent = Command::new(harrier_bin())
        .args([
            "run",
            "--config",
            s(&config),
            "--no-default-pack",
            "--packs",
            s(&store),
            "--trust",
            s(&keys),
            "--admin-socket",
            s(&socket),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = agent.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    assert!(
        lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("ready")),
        "agent never got ready"
    );
    std::thread::spawn(move || lines.for_each(drop));
    let listed = || ok(&["plugins", "--json", "--admin-socket", s(&socket)]);
    let wait_for = |what: &str, check: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if check(&listed()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}; agent lists:\n{}", listed());
    };
    assert!(!listed().contains("pack:"), "no pack is installed yet");

    // Installed while the agent runs: every detector of the pack arrives.
    ok(&install_args(&pack, &store, &keys, &[]));
    wait_for("the pack's detectors", &|text| {
        let listed: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_default();
        let from_pack = listed
            .iter()
            .filter(|d| d["source"]["pack"] == "harrier-default" && d["state"] == "serving")
            .count();
        from_pack == harrier_default_pack::detectors().len()
    });

    // Removed: they go away again.
    ok(&[
        "pack",
        "remove",
        "harrier-default",
        "--packs-dir",
        s(&store),
    ]);
    wait_for("the pack's detectors to unload", &|text| {
        !text.contains("harrier-default")
    });

    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(agent.id() as i32, libc::SIGINT) };
    assert!(agent.wait().unwrap().success());
}

/// A pack's threat-intelligence feeds serve while it is installed: a DNS
/// query for a domain listed only in the pack's feed is a C&C finding. A
/// feed that does not parse is refused by name (replay fails) while the
/// pack's other feed keeps serving.
#[test]
fn a_packs_feeds_serve_threat_intelligence_and_a_bad_one_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (pack, keys, store) = (dir.join("intel-pack"), dir.join("keys"), dir.join("store"));
    std::fs::create_dir_all(pack.join("intel")).unwrap();
    std::fs::write(
        pack.join("intel/vendor-c2.txt"),
        "# ACME's command-and-control domains\n[command-and-control]\n*.harrier-pack-c2.test\n",
    )
    .unwrap();
    ok(&["pack", "keygen", "--out", s(&keys), "--name", "vendor"]);
    let publish = |version: &str| {
        let built = ok(&[
            "pack",
            "build",
            s(&pack),
            "--name",
            "acme-intel",
            "--pack-version",
            version,
        ]);
        ok(&[
            "pack",
            "sign",
            s(&pack),
            "--key",
            s(&keys.join("vendor.key")),
        ]);
        ok(&install_args(&pack, &store, &keys, &[]));
        built
    };
    let built = publish("1.0.0");
    assert!(built.contains("1 feed(s)"), "{built}");

    let capture = dir.join("dns.jsonl");
    std::fs::write(
        &capture,
        "{\"harrier_capture\":1,\"wit\":\"0.2.0\"}\n\
         {\"kind\":\"dns-query\",\"pid\":4100,\"seq\":1,\"time_ns\":\"1764000000001000000\",\"process\":{\"pid\":4100,\"tid\":4100,\"ppid\":1,\"uid\":0,\"euid\":0,\"gid\":0,\"egid\":0,\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\",\"container_id\":null},\"detail\":{\"DnsQuery\":{\"query\":\"beacon.harrier-pack-c2.test\",\"query_type\":1,\"server\":{\"Ipv4\":[\"127.0.0.53\",53]}}}}\n",
    )
    .unwrap();
    let c2 = |out: &Output| {
        findings(&out.stdout)
            .into_iter()
            .any(|f| f["type"] == "Backdoor:Runtime/C&CActivity.B!DNS")
    };
    let with_pack = || {
        harrier(&[
            "replay",
            s(&capture),
            "--packs",
            s(&store),
            "--trust",
            s(&keys),
        ])
    };
    assert!(
        !c2(&harrier(&["replay", s(&capture)])),
        "the domain is only in the pack"
    );
    let out = with_pack();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(c2(&out), "the pack's feed did not serve");

    // A second feed that does not parse: refused by name, the first serves.
    std::fs::write(pack.join("intel/broken.txt"), "no-category.example\n").unwrap();
    publish("1.0.1");
    let out = with_pack();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a refused feed must fail replay");
    assert!(stderr.contains("intel/broken.txt"), "{stderr}");
    assert!(c2(&out), "the pack's good feed stopped serving: {stderr}");
}
