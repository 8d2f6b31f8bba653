//! Threat intelligence on the real kernel: real DNS queries answered by a
//! stub resolver this test runs on a loopback address (the queries run in a
//! private mount namespace whose resolv.conf points at it), and real
//! connections to loopback addresses the test declares as indicators.
//! Nothing leaves the machine.
//!
//! AWS's amazon-guardduty-tester is run unmodified when a checkout is
//! given in `HARRIER_GUARDDUTY_TESTER`: its `threatIntel/request.sh` for
//! each runtime-monitoring DNS type its `definitions.json` lists, and each
//! type must come out. Without it that part is skipped (with a message);
//! `tests/scripts/guardduty-dns.sh` queries the same domains either way.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use harrier_tests::{privileged, repo_root};
use serde_json::Value;

use super::{Agent, evidence, missing, python, run};

/// The eleven DNS types of the tester and the domain each is raised for.
const DNS_TYPES: [(&str, &str); 11] = [
    (
        "Backdoor:Runtime/C&CActivity.B!DNS",
        "c2.guarddutyc2activityb.com",
    ),
    (
        "CryptoCurrency:Runtime/BitcoinTool.B!DNS",
        "crypto.guarddutyc2activityb.com",
    ),
    (
        "Impact:Runtime/AbusedDomainRequest.Reputation",
        "abused-rep.guarddutyc2activityb.com",
    ),
    (
        "Impact:Runtime/BitcoinDomainRequest.Reputation",
        "crypto-rep.guarddutyc2activityb.com",
    ),
    (
        "Impact:Runtime/MaliciousDomainRequest.Reputation",
        "malicious-rep.guarddutyc2activityb.com",
    ),
    (
        "Impact:Runtime/SuspiciousDomainRequest.Reputation",
        "suspicious-rep.guarddutyc2activityb.com",
    ),
    (
        "Trojan:Runtime/BlackholeTraffic!DNS",
        "guarddutyblackholeactivity.com",
    ),
    (
        "Trojan:Runtime/DropPoint!DNS",
        "guarddutydroppointactivity.com",
    ),
    (
        "Trojan:Runtime/DGADomainRequest.C!DNS",
        "guarddutydgaactivity.com",
    ),
    (
        "Trojan:Runtime/DriveBySourceTraffic!DNS",
        "guarddutydrivebyactivity.com",
    ),
    (
        "Trojan:Runtime/PhishingDomainRequest!DNS",
        "guarddutyphishingactivity.com",
    ),
];

/// A DNS server on `addr`:53 answering every A query with `answer` and
/// everything else with no records, until dropped.
struct StubResolver {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StubResolver {
    fn start(addr: Ipv4Addr, answer: Ipv4Addr) -> StubResolver {
        let socket = UdpSocket::bind((addr, 53)).expect("bind the stub resolver on port 53");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stopping.load(Ordering::Relaxed) {
                let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = reply(&buf[..n], answer) {
                    let _ = socket.send_to(&reply, peer);
                }
            }
        });
        StubResolver {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StubResolver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answer to one query: its question echoed, and for type A one record.
fn reply(query: &[u8], answer: Ipv4Addr) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let mut end = 12;
    while *query.get(end)? != 0 {
        end += 1 + *query.get(end)? as usize;
    }
    let question = query.get(12..end + 5)?;
    let is_a = question[question.len() - 4..question.len() - 2] == [0, 1];
    let mut out = vec![
        query[0], query[1], 0x81, 0x80, 0, 1, 0, is_a as u8, 0, 0, 0, 0,
    ];
    out.extend_from_slice(question);
    if is_a {
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        out.extend_from_slice(&answer.octets());
    }
    Some(out)
}

/// Runs `script` with `sh` in a private mount namespace whose
/// /etc/resolv.conf is `resolv`, in `cwd`, with `env`; it must succeed.
fn with_resolver(resolv: &Path, cwd: &Path, script: &Path, env: &[(&str, &str)]) {
    let status = under_resolver(resolv, cwd, script, env);
    assert!(
        status.success(),
        "{} under the stub resolver: {status}",
        script.display()
    );
}

/// The same, returning how `script` ended: the tester's request.sh ends
/// with curl's status, and nothing serves HTTP at the answers' address.
fn under_resolver(
    resolv: &Path,
    cwd: &Path,
    script: &Path,
    env: &[(&str, &str)],
) -> std::process::ExitStatus {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$0" /etc/resolv.conf && exec sh "$1""#)
        .arg(resolv)
        .arg(script)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .status()
        .expect("run unshare")
}

/// The tester's runtime DNS cases: (finding type, indicator), from its
/// definitions.json.
fn tester_cases(tester: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(tester.join("lib/common/testResources/definitions.json"))
        .expect("the tester's definitions.json");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut cases: Vec<(String, String)> = doc["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["logSource"] == "runtime-monitoring" && d["alias"] == "threatIntel/request.sh"
        })
        .filter_map(|d| {
            Some((
                d["findingType"].as_str()?.to_string(),
                d["indicator"].as_str()?.to_string(),
            ))
        })
        .collect();
    cases.sort();
    cases.dedup();
    cases
}

/// Whether a finding of `kind` names `domain` in its evidence.
fn names(f: &Value, kind: &str, domain: &str) -> bool {
    f["type"] == kind
        && f["evidence"].as_array().is_some_and(|e| {
            e.iter()
                .any(|i| i["key"] == "domain" && i["value"] == domain)
        })
}

#[test]
fn threat_intel_types_fire_on_real_queries_and_connections() {
    if !privileged("threat_intel_types_fire_on_real_queries_and_connections") {
        return;
    }
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir = tmp.path();
    // Loopback addresses of our own: the resolver, and the "malicious" hosts.
    let net = (std::process::id() % 200 + 20) as u8;
    let host = |last: u8| Ipv4Addr::new(127, 77, net, last);
    let _resolver = StubResolver::start(host(53), host(80));
    let resolv = dir.join("resolv.conf");
    std::fs::write(
        &resolv,
        format!("nameserver {}\noptions timeout:1 attempts:1\n", host(53)),
    )
    .unwrap();

    // A binary the operator's list names by hash.
    let implant = dir.join("implant");
    let mut bytes = std::fs::read("/bin/true").unwrap();
    bytes.extend_from_slice(format!("harrier-intel-test-{}", std::process::id()).as_bytes());
    std::fs::write(&implant, &bytes).unwrap();
    std::fs::set_permissions(
        &implant,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let intel = dir.join("intel");
    std::fs::create_dir(&intel).unwrap();
    std::fs::write(
        intel.join("test.txt"),
        format!(
            "[command-and-control]\n{}\n[crypto-mining]\n{}\n[blackhole]\n{}\n[drop-point]\n{}\n[tor-entry]\n{}\n[tor-relay]\n{}\n[custom]\n{sha}\n",
            host(10), host(11), host(12), host(13), host(14), host(15)
        ),
    )
    .unwrap();
    let config = dir.join("harrier.toml");
    std::fs::write(
        &config,
        format!("[intel]\ndirs = [\"{}\"]\n", intel.display()),
    )
    .unwrap();
    let agent = Agent::start(&dir.join("admin.sock"), &config, None);

    // DNS: our own script for the tester's domains, and the tester itself.
    let script = repo_root().join("tests/scripts/guardduty-dns.sh");
    with_resolver(&resolv, dir, &script, &[]);
    let tester = std::env::var_os("HARRIER_GUARDDUTY_TESTER").map(PathBuf::from);
    let request = tester
        .as_ref()
        .map(|t| t.join("lib/common/testResources/scenarios/threatIntel/request.sh"))
        .filter(|p| p.is_file());
    let from_tester = match (&tester, &request) {
        (Some(t), Some(request)) => {
            let cases = tester_cases(t);
            let types: Vec<&str> = cases.iter().map(|(k, _)| k.as_str()).collect();
            assert!(
                DNS_TYPES.iter().all(|(k, _)| types.contains(k)),
                "the tester's runtime DNS cases: {cases:?}"
            );
            for (_, indicator) in &cases {
                let status = under_resolver(&resolv, dir, request, &[("INDICATOR", indicator)]);
                println!("tester request.sh for {indicator}: {status}");
            }
            cases
        }
        _ => {
            println!(
                "SKIPPED: the unmodified amazon-guardduty-tester run (set HARRIER_GUARDDUTY_TESTER to a checkout of awslabs/amazon-guardduty-tester); tests/scripts/guardduty-dns.sh covered its domains"
            );
            Vec::new()
        }
    };

    // Connections to the declared addresses (nothing listens: refused).
    let connect = |ip: Ipv4Addr| {
        python(&format!(
            "import socket\ns = socket.socket()\ntry: s.connect(('{ip}', 9))\nexcept OSError: pass"
        ))
    };
    let mut expected: Vec<(&str, u32)> = vec![
        ("Backdoor:Runtime/C&CActivity.B", connect(host(10))),
        ("CryptoCurrency:Runtime/BitcoinTool.B", connect(host(11))),
        ("Trojan:Runtime/BlackholeTraffic", connect(host(12))),
        ("Trojan:Runtime/DropPoint", connect(host(13))),
        ("UnauthorizedAccess:Runtime/TorClient", connect(host(14))),
    ];
    // A relay accepts a connection from another relay.
    let relay = python(&format!(
        "import socket\nl = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n\
         c = socket.socket(); c.bind(('{}', 0)); c.connect(l.getsockname())\nl.accept()[0].close()",
        host(15)
    ));
    expected.push(("UnauthorizedAccess:Runtime/TorRelay", relay));
    expected.push((
        "Execution:Runtime/MaliciousFileExecuted.Custom",
        run(&implant, &[]),
    ));

    // A name on a feed resolved (by a resolver of its own, so the address
    // means only that name), then connected to: judged by the name.
    let _named = StubResolver::start(host(54), host(81));
    let named_conf = dir.join("resolv-named.conf");
    std::fs::write(&named_conf, format!("nameserver {}\n", host(54))).unwrap();
    let resolve_and_connect = dir.join("resolve-and-connect.sh");
    std::fs::write(
        &resolve_and_connect,
        "exec python3 -c \"import socket\na = socket.gethostbyname('resolved.guarddutyc2activityb.com')\ns = socket.socket()\ntry: s.connect((a, 9))\nexcept OSError: pass\"\n",
    )
    .unwrap();
    with_resolver(&named_conf, dir, &resolve_and_connect, &[]);
    // DNS rebinding: an answer pointing a name at the metadata service.
    let _rebinding = StubResolver::start(host(55), Ipv4Addr::new(169, 254, 169, 254));
    let rebind_conf = dir.join("resolv-rebind.conf");
    std::fs::write(&rebind_conf, format!("nameserver {}\n", host(55))).unwrap();
    let rebind = dir.join("rebind.sh");
    std::fs::write(
        &rebind,
        "getent hosts rebind.harrier-test.example || true\n",
    )
    .unwrap();
    with_resolver(&rebind_conf, dir, &rebind, &[]);
    let by_name = |findings: &[Value]| {
        // The connect may merge into an earlier C&C finding of the same
        // program: then it is one of its processes, with its own evidence.
        let to_named =
            |e: &Value| e["key"] == "remote_ip" && e["value"] == host(81).to_string().as_str();
        let c2 = findings.iter().any(|f| {
            f["type"] == "Backdoor:Runtime/C&CActivity.B"
                && (f["evidence"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(to_named))
                    || f["processes"].as_array().is_some_and(|ps| {
                        ps.iter().any(|p| {
                            p["evidence"]
                                .as_array()
                                .is_some_and(|e| e.iter().any(to_named))
                        })
                    }))
        });
        let rebound = findings.iter().any(|f| {
            f["type"] == "UnauthorizedAccess:Runtime/MetadataDNSRebind"
                && evidence(f, "domain") == Some("rebind.harrier-test.example")
                && evidence(f, "answer") == Some("169.254.169.254")
        });
        let mut absent = Vec::new();
        if !c2 {
            absent.push(format!(
                "C&CActivity.B for a connect to {} resolved from resolved.guarddutyc2activityb.com",
                host(81)
            ));
        }
        if !rebound {
            absent.push("MetadataDNSRebind for rebind.harrier-test.example".to_string());
        }
        absent
    };

    let domains_named = |findings: &[Value]| {
        DNS_TYPES
            .iter()
            .map(|(k, d)| (k.to_string(), d.to_string()))
            .chain(from_tester.iter().cloned())
            .filter(|(k, d)| !findings.iter().any(|f| names(f, k, d)))
            .collect::<Vec<_>>()
    };
    // What the detectors asked the store is counted where operators look.
    let hits = agent.metric_at_least("harrier_intel_hits_total", 1, Duration::from_secs(30));
    let lookups = agent.metric_at_least("harrier_intel_lookups_total", hits, Duration::ZERO);
    let domains = agent.metric_at_least("harrier_intel_domains", 1, Duration::ZERO);
    assert!(
        hits >= 1 && lookups >= hits && domains >= 1,
        "intel metrics: {hits} hits, {lookups} lookups, {domains} domains"
    );
    let findings = agent.collect(|f| {
        missing(f, &expected).0.is_empty() && domains_named(f).is_empty() && by_name(f).is_empty()
    });
    let (absent, seen) = missing(&findings, &expected);
    let unnamed = domains_named(&findings);
    let not_by_name = by_name(&findings);
    assert!(
        absent.is_empty() && unnamed.is_empty() && not_by_name.is_empty(),
        "missing: {absent:?}; DNS types without their domain: {unnamed:?}; by name: {not_by_name:?}\nseen:\n{seen}"
    );
}
