//! The fleet end to end, with a real `nats-server -js` (Debian's 2.9)
//! started here on a random loopback port with a temporary store and
//! least-privilege users (see `server_config`): agents fed from captures
//! through `harrier replay` (each with its own node name, reading a FIFO the
//! test writes so faults land mid-stream), live agents for pack rollouts,
//! and `harrier collector`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harrier_fleet::server::TestServer;
use harrier_tests::harrier_bin;
use serde_json::Value;

const CLUSTER: &str = "test";

/// The server's users. Agents may publish only their own findings
/// subject and status key, and read the packs bucket and object store;
/// the collector reads the findings stream and keeps its delivered-ids
/// bucket; `admin` does `harrier fleet init` and `publish`.
fn server_config(nodes: &[&str]) -> String {
    let mut users = vec![
        r#"{ user: admin, password: "admin-secret" }"#.to_string(),
        r#"{ user: collector, password: "collector-secret", permissions: {
            publish: { allow: ["$JS.API.INFO", "$JS.API.STREAM.INFO.HARRIER_FINDINGS",
                               "$JS.API.CONSUMER.INFO.HARRIER_FINDINGS.>", "$JS.API.CONSUMER.CREATE.HARRIER_FINDINGS.>",
                               "$JS.API.CONSUMER.DURABLE.CREATE.HARRIER_FINDINGS.>",
                               "$JS.API.CONSUMER.MSG.NEXT.HARRIER_FINDINGS.>", "$JS.ACK.HARRIER_FINDINGS.>",
                               "$JS.API.STREAM.INFO.KV_harrier-collector-delivered",
                               "$JS.API.STREAM.CREATE.KV_harrier-collector-delivered",
                               "$JS.API.DIRECT.GET.KV_harrier-collector-delivered.>",
                               "$JS.API.STREAM.MSG.GET.KV_harrier-collector-delivered",
                               "$KV.harrier-collector-delivered.>"] }
            subscribe: { allow: ["_INBOX.>"] } } }"#
            .to_string(),
    ];
    for node in nodes {
        users.push(format!(
            r#"{{ user: "{node}", password: "{node}-secret", permissions: {{
            publish: {{ allow: ["harrier.findings.{CLUSTER}.{node}", "$KV.harrier-status.{node}",
                               "$JS.API.INFO",
                               "$JS.API.STREAM.INFO.KV_harrier-status",
                               "$JS.API.STREAM.INFO.KV_harrier-packs", "$JS.API.STREAM.INFO.OBJ_harrier-packs",
                               "$JS.API.CONSUMER.CREATE.KV_harrier-packs", "$JS.API.CONSUMER.CREATE.KV_harrier-packs.>",
                               "$JS.API.CONSUMER.CREATE.OBJ_harrier-packs", "$JS.API.CONSUMER.CREATE.OBJ_harrier-packs.>",
                               "$JS.API.CONSUMER.DELETE.KV_harrier-packs.>", "$JS.API.CONSUMER.DELETE.OBJ_harrier-packs.>",
                               "$JS.API.DIRECT.GET.KV_harrier-packs.>", "$JS.API.DIRECT.GET.OBJ_harrier-packs.>",
                               "$JS.API.STREAM.MSG.GET.KV_harrier-packs", "$JS.API.STREAM.MSG.GET.OBJ_harrier-packs",
                               "$JS.FC.KV_harrier-packs.>", "$JS.FC.OBJ_harrier-packs.>"] }}
            subscribe: {{ allow: ["_INBOX.>"] }} }} }}"#
        ));
    }
    format!(
        "accounts {{ HARRIER {{ jetstream: enabled, users: [\n{}\n] }} }}\n",
        users.join(",\n")
    )
}

/// A test fleet: a server, a directory, configuration files per role.
struct Fleet {
    server: TestServer,
    dir: tempfile::TempDir,
    /// The network namespace the server, the collector and the agents run
    /// in (for the partition test), else the test's own.
    netns: Option<String>,
}

impl Fleet {
    fn new(nodes: &[&str]) -> Self {
        Self::new_in(nodes, None)
    }

    fn new_in(nodes: &[&str], netns: Option<&str>) -> Self {
        let server = TestServer::start_in(Some(&server_config(nodes)), netns).unwrap();
        let fleet = Self {
            server,
            dir: tempfile::Builder::new()
                .prefix("harrier-fleet-")
                .tempdir()
                .unwrap(),
            netns: netns.map(str::to_string),
        };
        fleet.ok(&["fleet", "init", "-c", &fleet.config("admin", &[])]);
        fleet
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the configuration of `user` (a node, `collector` or `admin`),
    /// `[output.nats]` keys in `nats` replacing the test defaults, and
    /// returns its path.
    fn config(&self, user: &str, nats: &[(&str, &str)]) -> String {
        let path = self.path(&format!("{user}.toml"));
        let spool = self.path(&format!("spool-{user}"));
        let mut keys: BTreeMap<&str, String> = BTreeMap::from([
            ("url", format!("{:?}", self.server.url())),
            ("user", format!("{user:?}")),
            ("password", format!("\"{user}-secret\"")),
            ("cluster", format!("{CLUSTER:?}")),
            ("spool_dir", format!("{:?}", spool.display().to_string())),
            ("ack_timeout", "\"1s\"".into()),
            ("drain_timeout", "\"3s\"".into()),
            ("duplicate_window", "\"10m\"".into()),
        ]);
        for (key, value) in nats {
            keys.insert(key, value.to_string());
        }
        let nats: String = keys.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        let text = format!(
            "[findings]\nnode = {user:?}\n[agent]\nbatch_size = 1\n[admin]\nenabled = false\n\
             [packs]\nallowed_permissions = [\"intel\"]\n\
             [output.nats]\n{nats}\
             [fleet]\nenabled = true\nheartbeat_interval = \"1s\"\nstale_after = \"5s\"\n\
             [collector]\nbatch = 8\nack_wait = \"3s\"\n"
        );
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// `harrier`, in the fleet's namespace (or `netns`, for an agent
    /// elsewhere).
    fn harrier(&self, netns: Option<&str>) -> Command {
        match netns.or(self.netns.as_deref()) {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns]).arg(harrier_bin());
                command
            }
            None => Command::new(harrier_bin()),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.harrier(None).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "harrier {args:?} failed:\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.server.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `harrier collector` appending to `out`.
    fn collector(&self, out: &Path) -> Process {
        let config = self.config("collector", &[]);
        Process::ready(
            self.harrier(None)
                .args(["collector", "-c", config.as_str(), "-o"])
                .arg(format!("file:{}", out.display())),
            "collector",
            Duration::from_secs(10),
        )
    }

    /// Starts a replay agent for `node` reading a FIFO the test writes.
    fn feed(&self, node: &str) -> Feed {
        self.feed_from(node, None, &self.server.url(), &[])
    }

    /// A replay agent for `node` in `netns`, sending to `url`.
    fn feed_from(&self, node: &str, netns: Option<&str>, url: &str, nats: &[(&str, &str)]) -> Feed {
        let fifo = self.path(&format!("{node}.fifo"));
        let _ = std::fs::remove_file(&fifo);
        let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: mkfifo on a path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reference = self.path(&format!("{node}.jsonl"));
        let config = self.config(node, nats);
        let process = Process::spawn(
            self.harrier(netns)
                .arg("replay")
                .arg(&fifo)
                .args(["-c", config.as_str(), "-o"])
                .arg(format!("file:{}", reference.display()))
                .args(["-o", url]),
        );
        let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        writeln!(writer, r#"{{"harrier_capture":1,"wit":"0.1.0"}}"#).unwrap();
        Feed {
            process,
            writer: Some(writer),
            node: node.to_string(),
            sent: 0,
            reference,
        }
    }
}

/// A child process and its stderr.
struct Process {
    child: Child,
    log: Log,
}

impl Process {
    /// Spawns `command` (stdout discarded, stderr followed) without
    /// waiting.
    fn spawn(command: &mut Command) -> Process {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Log::follow(child.stderr.take().unwrap());
        Process { child, log }
    }

    /// Spawns `command` and waits up to `limit` for it to log `ready`.
    fn ready(command: &mut Command, what: &str, limit: Duration) -> Process {
        let process = Process::spawn(command);
        assert!(
            process.log.wait_for("ready", limit),
            "{what} not ready:\n{}",
            process.log.text()
        );
        process
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        let log = self.log.text_at_end();
        assert!(status.success(), "exit {status}:\n{log}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Lines of a child's stderr, gathered on a thread, and whether the stream
/// has ended.
#[derive(Clone)]
struct Log {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Log {
    fn follow(stream: impl std::io::Read + Send + 'static) -> Self {
        let log = Log {
            lines: Default::default(),
            ended: Default::default(),
        };
        let lines = harrier_tests::lines(stream);
        let (sink, ended) = (log.lines.clone(), log.ended.clone());
        std::thread::spawn(move || {
            for line in lines {
                sink.lock().unwrap().push(line);
            }
            ended.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        log
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Every line, once the process has exited: its last lines may still be
    /// on their way through the pipe when `wait` returns.
    fn text_at_end(&self) -> String {
        wait(Duration::from_secs(10), || {
            self.ended.load(std::sync::atomic::Ordering::SeqCst)
        });
        self.text()
    }

    fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        wait(limit, || self.text().contains(needle))
    }
}

/// A replay agent fed event by event.
struct Feed {
    process: Process,
    writer: Option<std::fs::File>,
    node: String,
    sent: u32,
    reference: PathBuf,
}

impl Feed {
    /// Sends `n` executions from /dev/shm (one finding each), in
    /// `container` if given.
    fn send(&mut self, n: u32, container: Option<&str>) {
        let writer = self.writer.as_mut().unwrap();
        for _ in 0..n {
            self.sent += 1;
            writeln!(writer, "{}", shm_exec(self.sent, container)).unwrap();
        }
        writer.flush().unwrap();
    }

    /// Sends an event line as it is.
    fn send_line(&mut self, line: &str) {
        let writer = self.writer.as_mut().unwrap();
        writeln!(writer, "{line}").unwrap();
        writer.flush().unwrap();
    }

    /// Ends the capture and waits for the agent to exit.
    fn finish(mut self) -> (Vec<Emission>, String) {
        drop(self.writer.take());
        let status = self.process.child.wait().unwrap();
        let log = self.process.log.text_at_end();
        assert!(
            status.success(),
            "agent {} exited {status}:\n{log}",
            self.node
        );
        (emissions(&self.reference), log)
    }
}

/// One exec from /dev/shm by a new process.
fn shm_exec(n: u32, container: Option<&str>) -> String {
    let pid = 10_000 + n;
    let container = container.map_or("null".to_string(), |c| format!("\"{c}\""));
    format!(
        r#"{{"kind":"exec","pid":{pid},"seq":{n},"time_ns":{t},"process":{{"pid":{pid},"tid":{pid},"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"x{n}","exe":"/dev/shm/x{n}","container_id":{container}}},"detail":{{"Exec":{{"filename":"/dev/shm/x{n}","args":["/dev/shm/x{n}"],"args_truncated":false,"cwd":"/root","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":2049,"inode":{inode},"mtime_ns":1764000000000000000}}}}}}"#,
        t = 1_764_000_000_000_000_000u64 + u64::from(n) * 1_000_000,
        inode = 5000 + n,
    )
}

/// (node, finding id, revision) of one emission.
type Emission = (String, String, u64);

fn emissions(path: &Path) -> Vec<Emission> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            (
                v["node"].as_str().unwrap().to_string(),
                v["id"].as_str().unwrap().to_string(),
                v["revision"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// What the collector wrote, node findings only, with how often each came.
fn collected(path: &Path) -> BTreeMap<Emission, usize> {
    let mut counts = BTreeMap::new();
    for e in emissions(path) {
        if !e.0.starts_with("cluster:") {
            *counts.entry(e).or_insert(0) += 1;
        }
    }
    counts
}

fn wait(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// Asserts the collector holds every emission of `expected` exactly once
/// (waiting for it to catch up).
fn assert_exactly_once(out: &Path, expected: &[Emission]) {
    let want: BTreeSet<&Emission> = expected.iter().collect();
    assert_eq!(
        want.len(),
        expected.len(),
        "an agent emitted an emission twice"
    );
    wait(Duration::from_secs(20), || {
        collected(out).len() >= want.len()
    });
    let got = collected(out);
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let missing: Vec<_> = want.iter().filter(|e| !got.contains_key(**e)).collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    let extra: Vec<_> = got.keys().filter(|e| !want.contains(e)).collect();
    assert!(extra.is_empty(), "delivered but never emitted: {extra:?}");
}

/// `harrier_nats_*` figures of an agent's closing log line.
fn closing_figure(log: &str, key: &str) -> u64 {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("nats output closed"))
        .unwrap_or_else(|| panic!("no closing line in:\n{log}"));
    let at = line
        .find(&format!("{key}="))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    line[at + key.len() + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn findings_reach_the_collector_exactly_once_across_server_and_collector_crashes() {
    let mut fleet = Fleet::new(&["node-1", "node-2"]);
    let out = fleet.path("collected.jsonl");
    let mut collector = fleet.collector(&out);

    // The server is killed mid-stream and restarted.
    let mut one = fleet.feed("node-1");
    one.send(20, None);
    wait(Duration::from_secs(10), || collected(&out).len() >= 10);
    fleet.server.kill();
    one.send(10, None);
    std::thread::sleep(Duration::from_millis(1500));
    fleet.server.start().unwrap();
    one.send(10, None);
    let (one_emitted, one_log) = one.finish();
    assert!(one_emitted.len() >= 40, "{one_log}");
    assert!(closing_figure(&one_log, "pending") == 0, "{one_log}");

    // The collector is killed mid-stream (with a batch in hand) and a new
    // one takes over the durable consumer.
    let mut two = fleet.feed("node-2");
    two.send(30, None);
    std::thread::sleep(Duration::from_millis(150));
    collector.kill();
    two.send(20, None);
    collector = fleet.collector(&out);
    let (two_emitted, _) = two.finish();

    let expected: Vec<Emission> = one_emitted.into_iter().chain(two_emitted).collect();
    assert_exactly_once(&out, &expected);
    collector.stop();
}

#[test]
fn a_full_spool_overflows_exactly_and_is_sent_by_the_next_start() {
    let mut fleet = Fleet::new(&["node-3"]);
    let out = fleet.path("collected.jsonl");
    let _collector = fleet.collector(&out);
    fleet.server.kill();

    // Room for about a dozen of these findings.
    let config_path = fleet.config(
        "node-3",
        &[("spool_max_bytes", "24000"), ("drain_timeout", "\"500ms\"")],
    );
    let capture = fleet.path("node-3.capture");
    let mut lines = vec![r#"{"harrier_capture":1,"wit":"0.1.0"}"#.to_string()];
    lines.extend((1..=40).map(|n| shm_exec(n, None)));
    std::fs::write(&capture, lines.join("\n") + "\n").unwrap();
    let reference = fleet.path("node-3.jsonl");
    let run = |fleet: &Fleet, capture: &Path| {
        let out = fleet
            .harrier(None)
            .arg("replay")
            .arg(capture)
            .args(["-c", config_path.as_str(), "-o"])
            .arg(format!("file:{}", reference.display()))
            .args(["-o", fleet.server.url().as_str()])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{log}");
        log
    };
    let log = run(&fleet, &capture);
    let emitted = emissions(&reference);
    let (pending, overflowed) = (
        closing_figure(&log, "pending"),
        closing_figure(&log, "overflowed"),
    );
    assert!(overflowed > 0, "the spool never filled:\n{log}");
    assert_eq!(
        pending + overflowed,
        emitted.len() as u64,
        "every emission is spooled or counted:\n{log}"
    );

    // Restarted with the full spool once the server is back: it sends what it kept, in order.
    fleet.server.start().unwrap();
    let empty = fleet.path("empty.capture");
    std::fs::write(&empty, format!("{}\n", lines[0])).unwrap();
    std::fs::remove_file(&reference).unwrap();
    let log = run(&fleet, &empty);
    assert_eq!(closing_figure(&log, "pending"), 0, "{log}");
    assert_exactly_once(&out, &emitted[..pending as usize]);
}

#[test]
fn cross_node_findings_on_one_workload_make_one_cluster_sequence() {
    let fleet = Fleet::new(&["node-x", "node-y"]);
    let out = fleet.path("collected.jsonl");
    let mut collector = fleet.collector(&out);
    let mut x = fleet.feed("node-x");
    x.send(1, Some("web-0123"));
    let (x_emitted, _) = x.finish();
    let mut y = fleet.feed("node-y");
    // A crypto miner in the same workload on another node.
    y.send_line(&miner_exec("web-0123"));
    let (y_emitted, _) = y.finish();
    let expected: Vec<Emission> = x_emitted.into_iter().chain(y_emitted).collect();
    assert_exactly_once(&out, &expected);
    collector.stop();
    let text = std::fs::read_to_string(&out).unwrap();
    let sequences: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "AttackSequence:EKS/CompromisedCluster")
        .collect();
    let ids: BTreeSet<&str> = sequences
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one cluster sequence:\n{text}");
    let last = sequences.last().unwrap();
    let values = |key: &str| -> BTreeSet<String> {
        last["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["key"] == key)
            .map(|e| e["value"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        values("node"),
        BTreeSet::from(["node-x".to_string(), "node-y".to_string()])
    );
    assert!(values("signal").len() >= 2, "{last:#}");
    assert!(
        values("signal").iter().any(|s| s.contains("CryptoMiner")),
        "{last:#}"
    );
    assert_eq!(last["severity_label"], "Critical");
}

/// A crypto miner started in `container`.
fn miner_exec(container: &str) -> String {
    format!(
        r#"{{"kind":"exec","pid":777,"seq":1,"time_ns":1764000000500000000,"process":{{"pid":777,"tid":777,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"xmrig","exe":"/tmp/.x/xmrig","container_id":"{container}"}},"detail":{{"Exec":{{"filename":"/tmp/.x/xmrig","args":["./xmrig","-o","10.0.0.5:3333","-u","wallet"],"args_truncated":false,"cwd":"/root","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":2049,"inode":1000,"mtime_ns":1764000000000000000}}}}}}"#
    )
}

/// A live agent for `node` with its own packs store, trusting `keys`.
fn live_agent(fleet: &Fleet, node: &str, keys: &Path) -> Process {
    let store = fleet.path(&format!("packs-{node}"));
    std::fs::create_dir_all(&store).unwrap();
    let config = fleet.config(node, &[]);
    Process::ready(
        fleet
            .harrier(None)
            .args(["run", "--no-default-pack", "-c", config.as_str(), "--packs"])
            .arg(&store)
            .arg("--trust")
            .arg(keys),
        &format!("agent {node}"),
        Duration::from_secs(60),
    )
}

/// The default pack exported to `dir`, one component given a new custom
/// section (`nonce`) so its digest differs, built as `version` and signed.
fn pack_version(fleet: &Fleet, dir: &Path, version: &str, nonce: u64, key: &Path) {
    let s = |p: &Path| p.display().to_string();
    fleet.ok(&["export-default-pack", &s(dir)]);
    let wasm = first_component(dir);
    let bytes = std::fs::read(&wasm).unwrap();
    std::fs::write(&wasm, harrier_tests::with_nonce(&bytes, nonce)).unwrap();
    fleet.ok(&["pack", "build", &s(dir), "--pack-version", version]);
    fleet.ok(&["pack", "sign", &s(dir), "--key", &s(key)]);
}

/// A component of the pack directory `dir` (an exported pack keeps them
/// in `plugins/`).
fn first_component(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .expect("a component in the pack")
}

/// Per node, the sources its detectors are served from.
type Serving = BTreeMap<String, BTreeSet<String>>;

/// Per node: the pack versions its detectors are served from.
fn serving(fleet: &Fleet, admin: &str) -> Serving {
    let text = fleet.ok(&["fleet", "status", "--json", "-c", admin]);
    let nodes: Vec<Value> = serde_json::from_str(&text).unwrap();
    nodes
        .iter()
        .map(|n| {
            let sources = n["detectors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["source"].as_str().unwrap().to_string())
                .collect();
            (n["node"].as_str().unwrap().to_string(), sources)
        })
        .collect()
}

/// Whether every node of `which` serves all its detectors from `version`
/// of the pack.
fn serves(serving: &Serving, version: &str, which: &[&str]) -> bool {
    let want = format!("pack:harrier-default@{version}");
    which.iter().all(|n| {
        serving
            .get(*n)
            .is_some_and(|s| s.len() == 1 && s.contains(&want))
    })
}

#[test]
fn packs_roll_out_to_every_agent_with_canaries_rollback_and_tampered_packs_refused() {
    if !harrier_tests::privileged("packs_roll_out_to_every_agent") {
        return;
    }
    let nodes = ["node-a", "node-b", "node-c"];
    let fleet = Fleet::new(&nodes);
    let admin = fleet.config("admin", &[]);
    let s = |p: &Path| p.display().to_string();
    let keys = fleet.path("keys");
    fleet.ok(&["pack", "keygen", "--out", &s(&keys), "--name", "vendor"]);
    let key = keys.join("vendor.key");
    let (v1, v2, v3) = (fleet.path("v1"), fleet.path("v2"), fleet.path("v3"));
    pack_version(&fleet, &v1, "1.0.0", 1, &key);
    pack_version(&fleet, &v2, "2.0.0", 2, &key);
    pack_version(&fleet, &v3, "3.0.0", 3, &key);
    // Tampered after signing: a component no longer matches the manifest.
    let wasm = first_component(&v3);
    let bytes = std::fs::read(&wasm).unwrap();
    std::fs::write(&wasm, harrier_tests::with_nonce(&bytes, 99)).unwrap();

    let mut agents: Vec<Process> = nodes.iter().map(|n| live_agent(&fleet, n, &keys)).collect();
    let wait_serving = |what: &str, check: &dyn Fn(&Serving) -> bool| {
        let started = Instant::now();
        let ok = wait(Duration::from_secs(40), || check(&serving(&fleet, &admin)));
        assert!(ok, "{what}: nodes serve {:#?}", serving(&fleet, &admin));
        started.elapsed()
    };

    fleet.ok(&["fleet", "publish", &s(&v1), "-c", &admin]);
    let took = wait_serving("1.0.0 everywhere", &|s| serves(s, "1.0.0", &nodes));
    eprintln!("1.0.0 serving on {} agents after {took:?}", nodes.len());

    // A canary: only node-a takes 2.0.0.
    fleet.ok(&[
        "fleet",
        "publish",
        &s(&v2),
        "--select",
        "node=node-a",
        "-c",
        &admin,
    ]);
    wait_serving("2.0.0 on node-a", &|s| serves(s, "2.0.0", &["node-a"]));
    std::thread::sleep(Duration::from_secs(2));
    wait_serving("1.0.0 elsewhere", &|s| {
        serves(s, "1.0.0", &["node-b", "node-c"])
    });

    fleet.ok(&["fleet", "rollback", "harrier-default", "-c", &admin]);
    wait_serving("rolled back to 1.0.0", &|s| serves(s, "1.0.0", &nodes));

    // Tampered on the bus: every node refuses it and keeps 1.0.0.
    fleet.ok(&["fleet", "publish", &s(&v3), "-c", &admin]);
    let refused = wait(Duration::from_secs(30), || {
        let table = fleet.ok(&["fleet", "status", "-c", &admin]);
        nodes.iter().all(|n| {
            table
                .lines()
                .any(|l| l.starts_with(n) && l.contains("harrier-default@3.0.0 refused:"))
        })
    });
    let table = fleet.ok(&["fleet", "status", "-c", &admin]);
    assert!(refused, "{table}");
    assert!(
        table.contains("sha256") || table.contains("digest"),
        "the reason names the mismatch:\n{table}"
    );
    assert!(serves(&serving(&fleet, &admin), "1.0.0", &nodes));
    assert!(
        !table.contains("secret"),
        "credentials never shown:\n{table}"
    );
    for agent in &mut agents {
        agent.stop();
        assert!(
            !agent.log.text().contains("-secret"),
            "credentials never logged"
        );
    }
}

/// Ten live agents: one `harrier fleet publish`, and every agent serves the
/// pack (the time is printed; BENCHMARKS.md quotes it). Each agent has its
/// own packs store and verifies the pack against its own trust store.
#[test]
fn a_published_pack_serves_on_ten_agents() {
    if !harrier_tests::privileged("a_published_pack_serves_on_ten_agents") {
        return;
    }
    let names: Vec<String> = (0..10).map(|i| format!("node-{i}")).collect();
    let nodes: Vec<&str> = names.iter().map(String::as_str).collect();
    let fleet = Fleet::new(&nodes);
    let admin = fleet.config("admin", &[]);
    let s = |p: &Path| p.display().to_string();
    let keys = fleet.path("keys");
    fleet.ok(&["pack", "keygen", "--out", &s(&keys), "--name", "vendor"]);
    let v1 = fleet.path("v1");
    pack_version(&fleet, &v1, "1.0.0", 10, &keys.join("vendor.key"));
    let mut agents: Vec<Process> = nodes.iter().map(|n| live_agent(&fleet, n, &keys)).collect();

    let started = Instant::now();
    fleet.ok(&["fleet", "publish", &s(&v1), "-c", &admin]);
    let ok = wait(Duration::from_secs(120), || {
        serves(&serving(&fleet, &admin), "1.0.0", &nodes)
    });
    let took = started.elapsed();
    assert!(ok, "nodes serve {:#?}", serving(&fleet, &admin));
    eprintln!(
        "1.0.0 serving on {} agents {took:?} after publish",
        nodes.len()
    );
    for agent in &mut agents {
        agent.stop();
    }
}

/// Network namespaces made for one test, deleted on every exit.
struct Namespaces(Vec<String>);

impl Namespaces {
    fn ip(args: &[&str]) {
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip")
                .args(["netns", "del", ns.as_str()])
                .output();
        }
    }
}

#[test]
fn a_partitioned_agent_heals_and_every_finding_arrives_once() {
    if !harrier_tests::privileged("a_partitioned_agent_heals") {
        return;
    }
    // Two hosts: `server` (nats-server and the collector) and `edge` (an
    // agent), joined by a veth pair on link-local addresses; cutting the
    // link is the partition.
    let id = std::process::id() % 100_000;
    let (server_ns, edge_ns) = (format!("hfs-{id}"), format!("hfe-{id}"));
    let (server_if, edge_if) = (format!("hfs{id}"), format!("hfe{id}"));
    let ip = Namespaces::ip;
    let _namespaces = Namespaces(vec![server_ns.clone(), edge_ns.clone()]);
    ip(&["netns", "add", &server_ns]);
    ip(&["netns", "add", &edge_ns]);
    ip(&[
        "link", "add", &server_if, "netns", &server_ns, "type", "veth", "peer", "name", &edge_if,
        "netns", &edge_ns,
    ]);
    ip(&[
        "-n",
        &server_ns,
        "addr",
        "add",
        "169.254.231.1/30",
        "dev",
        &server_if,
    ]);
    ip(&[
        "-n",
        &edge_ns,
        "addr",
        "add",
        "169.254.231.2/30",
        "dev",
        &edge_if,
    ]);
    for (ns, dev) in [(&server_ns, &server_if), (&edge_ns, &edge_if)] {
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }

    let fleet = Fleet::new_in(&["node-p"], Some(&server_ns));
    let out = fleet.path("collected.jsonl");
    let mut collector = fleet.collector(&out);
    let url = fleet.server.url().replace("127.0.0.1", "169.254.231.1");
    let mut edge = fleet.feed_from(
        "node-p",
        Some(&edge_ns),
        &url,
        &[("drain_timeout", "\"20s\"")],
    );
    edge.send(10, None);
    assert!(
        wait(Duration::from_secs(15), || collected(&out).len() >= 10),
        "nothing arrived before the partition"
    );
    ip(&["-n", &edge_ns, "link", "set", &edge_if, "down"]);
    let before = emissions(&edge.reference).len();
    edge.send(10, None);
    wait(Duration::from_secs(5), || {
        emissions(&edge.reference).len() > before
    });
    std::thread::sleep(Duration::from_secs(2));
    let (during, emitted_by_now) = (collected(&out).len(), emissions(&edge.reference).len());
    assert!(during < emitted_by_now, "the partition held nothing back");
    ip(&["-n", &edge_ns, "link", "set", &edge_if, "up"]);
    edge.send(10, None);
    let (emitted, _) = edge.finish();
    assert_exactly_once(&out, &emitted);
    collector.stop();
}
