//! Harrier detector `execution`: what gets executed and from where.
//!
//! - `Execution:Runtime/NewBinaryExecuted`: drift, as GuardDuty means it: in
//!   a container, a file created or modified after the container started
//!   (host `recent-write` after the container's first process started, or
//!   an executable whose mtime is later) is executed.
//! - `Execution:Runtime/NewLibraryLoaded`: the same for a file mapped
//!   executable (a library loaded) or named in `LD_PRELOAD`.
//!
//! Outside containers there is no image to drift from, and build and
//! developer hosts run freshly written programs all day (compilers, build
//! scripts, test binaries). The deliberate choice (`host_new_files`):
//! `"staging"` (default) reports only files written recently into a staging
//! directory droppers use (`/tmp`, `/var/tmp`, `/dev/shm`, `/run/shm`) by a
//! program that is not a compiler, linker or build tool; `"all"` reports
//! every recently written file; `"none"` nothing on hosts.
//! - `Execution:Runtime/MaliciousFileExecuted`: the executable's SHA-256
//!   (host `process`) is on the bundled list or `extra_sha256`. The host
//!   hashes off the event path, so unhashed pids are re-checked on `tick`.
//! - `Execution:Runtime/MaliciousFileExecuted.Custom`: the same hash is on
//!   the host's threat-intelligence feeds as `malicious-file` or `custom`
//!   (host `intel-match`), e.g. the operator's own list.
//! - `Execution:Runtime/SuspiciousShellCreated`: a shell started by a network
//!   service: a process the sensor saw listen on or accept from an IP
//!   socket (a small Python service, `php -S`), or a known daemon by name
//!   (web servers, databases, language runtimes); remote-login daemons
//!   (sshd, ...) start shells by design and are left out.
//! - `Execution:Runtime/ExecutionFromDevShm`: a program run from `/dev/shm`
//!   (Falco "Execution from /dev/shm").
//! - `Execution:Runtime/SystemUserInteractiveShell`: an interactive shell of
//!   a system account (Falco "System user interactive").
//!
//! Writers in `trusted_writers` (plus package managers) never make a file
//! "new". Configuration: see `default-config.json` and the shared policy keys.

#![deny(missing_docs)]

use std::collections::HashMap;

use harrier_sdk::matching::{basename, is_shell};
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, ExecEvent, Finding, FindingBuilder, FindingSpec,
    IndicatorKind, Metadata, Policy, Process, config, finding, host, testing,
};
use serde::{Deserialize, Serialize};

/// A recently written file is executed.
pub const NEW_BINARY: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/NewBinaryExecuted",
    severity: 5.0,
    title: "Newly created or modified binary executed",
    description: "A file that was not part of the container's image (created or modified after the container started), or on a host a file just written into a staging directory, was executed; droppers and downloaded tools look like this.",
    mitre: "T1105",
};
/// A recently written file is mapped executable.
pub const NEW_LIBRARY: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/NewLibraryLoaded",
    severity: 5.0,
    title: "Newly created or modified library loaded",
    description: "A file that was not part of the container's image (created or modified after the container started), or on a host a file just written into a staging directory, was loaded as a library (mapped executable or named in LD_PRELOAD).",
    mitre: "T1129",
};
/// The executable's hash is known-malicious.
pub const MALICIOUS_FILE: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/MaliciousFileExecuted",
    severity: 9.0,
    title: "Known malicious file executed",
    description: "The SHA-256 of an executed file is on the known-malicious list (bundled or configured with extra_sha256).",
    mitre: "T1204.002",
};
/// A network service spawned a shell.
pub const SHELL_CREATED: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/SuspiciousShellCreated",
    severity: 6.0,
    title: "Shell created by a network service",
    description: "A network-facing service (a process that accepted connections, a web server, database or application runtime) started a shell, typical of web shells and remote code execution.",
    mitre: "T1059.004",
};
/// A program ran from /dev/shm.
pub const DEV_SHM: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/ExecutionFromDevShm",
    severity: 6.0,
    title: "Execution from /dev/shm",
    description: "A program was executed from /dev/shm, a world-writable memory file system used to stage payloads.",
    mitre: "T1059.004",
};
/// A system account started an interactive shell.
pub const SYSTEM_USER_SHELL: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/SystemUserInteractiveShell",
    severity: 5.0,
    title: "Interactive shell of a system user",
    description: "A system account (uid 1..system_uid_max, not root) started an interactive shell; service accounts should never be interactive.",
    mitre: "T1078.003",
};

/// An interactive shell entered into a container from outside it.
pub const TERMINAL_SHELL: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/TerminalShellInContainer",
    severity: 3.0,
    title: "Terminal shell in a container",
    description: "An interactive shell was started in a container by a process outside it (kubectl exec -it, docker exec -it): someone works inside the container by hand (Falco: Terminal shell in container).",
    mitre: "T1059.004",
};

/// An executable whose hash is on a threat-intelligence feed.
pub const MALICIOUS_FILE_CUSTOM: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/MaliciousFileExecuted.Custom",
    severity: 8.0,
    title: "Executable on a threat list",
    description: "A process executed a file whose SHA-256 is on a threat-intelligence feed the host loaded (such as the operator's own list).",
    mitre: "T1204.002",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 8] = [
    NEW_BINARY,
    NEW_LIBRARY,
    MALICIOUS_FILE,
    MALICIOUS_FILE_CUSTOM,
    SHELL_CREATED,
    DEV_SHM,
    SYSTEM_USER_SHELL,
    TERMINAL_SHELL,
];

/// Container runtimes whose child is a process entered into a container.
const CONTAINER_ENTRYPOINTS: &[&str] = &[
    "runc",
    "crun",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "conmon",
    "runc:[1:CHILD]",
    "runc:[2:INIT]",
];

/// SHA-256 of known-malicious files (lower-case hex). Starts with the EICAR
/// test file so the check can be exercised safely; extend with `extra_sha256`.
pub const MALICIOUS_SHA256: &[&str] =
    &["275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"];

/// Programs that legitimately write executables (package managers, runtimes).
pub const TRUSTED_WRITERS: &[&str] = &[
    "dpkg",
    "apt",
    "apt-get",
    "rpm",
    "yum",
    "dnf",
    "zypper",
    "apk",
    "pacman",
    "snapd",
    "flatpak",
    "containerd",
    "dockerd",
    "containerd-shim-runc-v2",
    "podman",
    "buildah",
    "kubelet",
    "ldconfig",
    "unattended-upgrade",
    "packagekitd",
    "update-alternatives",
];

/// Network services that should not start shells.
pub const SERVICES: &[&str] = &[
    "nginx",
    "httpd",
    "apache2",
    "lighttpd",
    "caddy",
    "php-fpm",
    "php-fpm8.2",
    "php-cgi",
    "tomcat",
    "catalina.sh",
    "java",
    "node",
    "nodejs",
    "gunicorn",
    "uwsgi",
    "puma",
    "unicorn",
    "mysqld",
    "mariadbd",
    "postgres",
    "redis-server",
    "mongod",
    "memcached",
    "elasticsearch",
    "jenkins",
    "haproxy",
    "envoy",
    "traefik",
];

/// Remote-login and socket-activation daemons: they accept connections and
/// start shells by design.
pub const LOGIN_SERVICES: &[&str] = &[
    "sshd",
    "sshd-session",
    "dropbear",
    "telnetd",
    "in.telnetd",
    "login",
    "systemd",
    "mosh-server",
    "xinetd",
    "inetd",
    "harrier",
];

/// Compilers, linkers and build tools: what they write and then run is a
/// build, not a dropper (host files only).
pub const BUILD_TOOLS: &[&str] = &[
    "cc", "gcc", "g++", "c++", "clang", "clang++", "ld", "ld.bfd", "ld.gold", "ld.lld", "lld",
    "mold", "rust-lld", "collect2", "as", "rustc", "cargo", "go", "link", "javac", "zig",
    "objcopy", "strip", "install", "make", "cmake", "ninja", "bazel", "nvcc", "tcc",
];

/// Directories droppers stage payloads in.
pub const STAGING_DIRS: &[&str] = &["/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/"];

const NS: u64 = 1_000_000_000;
/// Most network-service processes remembered.
const MAX_SERVICES: usize = 4096;
/// Most container start times remembered.
const MAX_CONTAINERS: usize = 1024;
/// How far up a container's process tree its start is looked for.
const CONTAINER_DEPTH: u32 = 16;
/// How long an old (not recently written) library path is not asked again.
const LIBRARY_CACHE_NS: u64 = 5 * NS;
/// Most pids awaiting a hash at once.
const MAX_PENDING: usize = 4096;

/// The detector's own configuration keys.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    new_binary_window_secs: u64,
    trusted_writers: Vec<String>,
    extra_sha256: Vec<String>,
    service_parents: Vec<String>,
    system_uid_max: u32,
    pending_timeout_secs: u64,
    host_new_files: HostNewFiles,
}

/// What `NewBinaryExecuted`/`NewLibraryLoaded` report outside containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum HostNewFiles {
    /// Recently written files in staging directories, not by build tools.
    Staging,
    /// Every recently written file.
    All,
    /// Nothing.
    None,
}

impl Default for Own {
    fn default() -> Self {
        Self {
            new_binary_window_secs: 600,
            trusted_writers: Vec::new(),
            extra_sha256: Vec::new(),
            service_parents: Vec::new(),
            system_uid_max: 999,
            pending_timeout_secs: 120,
            host_new_files: HostNewFiles::Staging,
        }
    }
}

/// An exec whose executable the host has not hashed yet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Pending {
    pid: u32,
    seq: u64,
    time_ns: u64,
    filename: String,
}

/// A process the sensor saw serving the network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Service {
    /// Its start time (host `process`), so a reused pid is not taken for it.
    start_time_ns: u64,
    exe: String,
    /// What it did: `accepted 127.0.0.1:5555` or `listens on 0.0.0.0:8080`.
    activity: String,
    /// Whether `activity` is an accepted connection.
    #[serde(default)]
    accepted: bool,
}

/// State carried across hot reloads.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    pending: Vec<Pending>,
    #[serde(default)]
    services: HashMap<u32, Service>,
}

/// Why a file counts as new where it was executed or loaded.
struct NewFile {
    /// The recent write behind it, if the host still has it.
    write: Option<harrier_sdk::FileWriteInfo>,
    /// `container drift` or `host staging directory`.
    reason: &'static str,
}

/// `ip:port` of an IP socket address, `None` for Unix and other families.
fn ip_address(address: &harrier_sdk::SocketAddress) -> Option<String> {
    match address {
        harrier_sdk::SocketAddress::Ipv4((ip, port)) => Some(format!("{ip}:{port}")),
        harrier_sdk::SocketAddress::Ipv6((ip, port)) => Some(format!("[{ip}]:{port}")),
        _ => None,
    }
}

/// The execution detector.
pub struct Execution {
    policy: Policy,
    own: Own,
    state: State,
    /// Library paths found not recently written, until when.
    old_libraries: HashMap<String, u64>,
    /// Start time of each container's oldest process seen, by container id.
    container_starts: HashMap<String, u64>,
}

impl Execution {
    fn trusted_writer(&self, exe: &str) -> bool {
        let name = basename(exe);
        TRUSTED_WRITERS.contains(&name) || self.own.trusted_writers.iter().any(|w| w == name)
    }

    fn is_malicious(&self, sha: &str) -> bool {
        MALICIOUS_SHA256.iter().any(|h| h.eq_ignore_ascii_case(sha))
            || self
                .own
                .extra_sha256
                .iter()
                .any(|h| h.eq_ignore_ascii_case(sha))
    }

    fn report(&self, spec: &FindingSpec, process: &Process, path: Option<&str>) -> bool {
        self.policy.permits(spec.finding_type, process, path)
    }

    /// Whether `path`, executed or loaded by `event`'s process, is new
    /// there: drift in a container, the host policy outside.
    fn new_file(&mut self, event: &Event, path: &str, mtime_ns: Option<u64>) -> Option<NewFile> {
        let now = event.time_ns;
        let write = host::recent_write(path).filter(|w| {
            now.saturating_sub(w.time_ns) <= self.own.new_binary_window_secs * NS
                && !self.trusted_writer(&w.writer_exe)
        });
        let Some(container) = event.process.container_id.as_deref() else {
            let write = write?;
            let staged = STAGING_DIRS.iter().any(|d| path.starts_with(d));
            let built = BUILD_TOOLS.contains(&basename(&write.writer_exe));
            return match self.own.host_new_files {
                HostNewFiles::All => Some("host file written recently"),
                HostNewFiles::Staging if staged && !built => Some("host staging directory"),
                _ => None,
            }
            .map(|reason| NewFile {
                write: Some(write),
                reason,
            });
        };
        if write.is_none() && mtime_ns.is_none() {
            return None;
        }
        let started = self.container_start(event.process.pid, container);
        let written_after = write.as_ref().is_some_and(|w| w.time_ns > started);
        let modified_after = mtime_ns.is_some_and(|m| m > started);
        (written_after || modified_after).then_some(NewFile {
            write,
            reason: "container drift",
        })
    }

    /// When the container of `pid` started: the start of its oldest
    /// process in the same container the host knows, cached per container.
    fn container_start(&mut self, pid: u32, container: &str) -> u64 {
        if let Some(&start) = self.container_starts.get(container) {
            return start;
        }
        let own = host::process(pid).map(|p| p.start_time_ns).unwrap_or(0);
        let start = host::ancestry(pid, CONTAINER_DEPTH)
            .into_iter()
            .take_while(|a| a.container_id.as_deref() == Some(container))
            .map(|a| a.start_time_ns)
            .filter(|&t| t > 0)
            .fold(own, |a, b| if a == 0 { b } else { a.min(b) });
        if self.container_starts.len() >= MAX_CONTAINERS {
            self.container_starts.clear();
        }
        self.container_starts.insert(container.to_string(), start);
        start
    }

    /// Remembers a process that listens on or accepted from an IP socket.
    fn on_serving(&mut self, event: &Event, n: &harrier_sdk::NetEvent, accepted: bool) {
        let p = &event.process;
        // A listener is remembered once; its first accepted connection
        // replaces that, being the stronger evidence.
        let known = self.state.services.get(&p.pid);
        if n.result < 0 || known.is_some_and(|s| !accepted || s.accepted) {
            return;
        }
        let activity = match (ip_address(&n.address), accepted) {
            (Some(a), true) => format!("accepted a connection from {a}"),
            (Some(a), false) => format!("listens on {a}"),
            // accept(2) without an address buffer: still a server.
            (None, true) if matches!(n.address, harrier_sdk::SocketAddress::Other(_)) => {
                "accepted a connection".to_string()
            }
            (None, _) => return,
        };
        if self.state.services.len() >= MAX_SERVICES {
            self.state.services.clear();
        }
        let start_time_ns = host::process(p.pid).map(|i| i.start_time_ns).unwrap_or(0);
        self.state.services.insert(
            p.pid,
            Service {
                start_time_ns,
                exe: p.exe.clone(),
                activity,
                accepted,
            },
        );
    }

    /// The network service among a shell's parent and ancestors (3 levels):
    /// (exe, pid, how it was recognised).
    fn serving_ancestor(&self, pid: u32) -> Option<(String, u32, String)> {
        host::ancestry(pid, 3).into_iter().find_map(|a| {
            let n = basename(&a.exe);
            if LOGIN_SERVICES.contains(&n) {
                return None;
            }
            if let Some(s) = self.state.services.get(&a.pid)
                && (s.start_time_ns == 0 || s.start_time_ns == a.start_time_ns)
            {
                return Some((a.exe.clone(), a.pid, s.activity.clone()));
            }
            (SERVICES.contains(&n) || self.own.service_parents.iter().any(|s| s == n))
                .then(|| (a.exe.clone(), a.pid, "known network service".to_string()))
        })
    }

    fn on_exec(&mut self, event: &Event, exec: &ExecEvent, out: &mut Vec<Finding>) {
        let p = &event.process;
        let path = exec.filename.as_str();
        if let Some(new) = self.new_file(event, path, Some(exec.mtime_ns).filter(|&m| m > 0))
            && self.report(&NEW_BINARY, p, Some(path))
        {
            let mut b = FindingBuilder::new(&NEW_BINARY, event)
                .evidence("filename", path)
                .evidence("reason", new.reason)
                .evidence("file_mtime_ns", exec.mtime_ns.to_string());
            if let Some(w) = &new.write {
                b = b
                    .evidence("modifying_process_exe", &w.writer_exe)
                    .evidence("modifying_process_pid", w.writer_pid.to_string())
                    .evidence("modified_time_ns", w.time_ns.to_string())
                    .evidence("created", w.created.to_string());
            }
            out.push(b.build());
        }
        if let Some(preload) = exec.ld_preload.as_deref() {
            self.on_preload(event, preload, out);
        }
        self.check_hash(
            event.process.pid,
            event.seq,
            event.time_ns,
            path,
            Some(p),
            out,
        );
        let name = basename(path);
        if path.starts_with("/dev/shm/") && self.report(&DEV_SHM, p, Some(path)) {
            out.push(
                FindingBuilder::new(&DEV_SHM, event)
                    .evidence("filename", path)
                    .evidence("cmdline", exec.args.join(" "))
                    .build(),
            );
        }
        if is_shell(name) {
            self.on_shell(event, exec, out);
        }
    }

    /// `LD_PRELOAD` naming a recently written library.
    fn on_preload(&mut self, event: &Event, preload: &str, out: &mut Vec<Finding>) {
        for lib in preload.split([':', ' ']).filter(|l| !l.is_empty()) {
            if let Some(new) = self.new_file(event, lib, None)
                && self.report(&NEW_LIBRARY, &event.process, Some(lib))
            {
                let b = FindingBuilder::new(&NEW_LIBRARY, event).evidence("ld_preload", preload);
                out.push(library_finding(b, lib, &new));
            }
        }
    }

    fn on_shell(&self, event: &Event, exec: &ExecEvent, out: &mut Vec<Finding>) {
        let p = &event.process;
        let interactive = !exec.args.iter().skip(1).any(|a| a == "-c")
            && (exec.args.iter().any(|a| a == "-i") || exec.args.len() <= 1);
        if interactive
            && p.uid >= 1
            && p.uid <= self.own.system_uid_max
            && self.report(&SYSTEM_USER_SHELL, p, None)
        {
            let user = host::process(p.pid)
                .and_then(|i| i.user_name)
                .unwrap_or_default();
            out.push(
                FindingBuilder::new(&SYSTEM_USER_SHELL, event)
                    .evidence("uid", p.uid.to_string())
                    .evidence("user_name", user)
                    .evidence("cmdline", exec.args.join(" "))
                    .build(),
            );
        }
        if interactive
            && p.container_id.is_some()
            && self.report(&TERMINAL_SHELL, p, None)
            && let Some(parent) = host::process(p.ppid)
            && (parent.container_id != p.container_id
                || CONTAINER_ENTRYPOINTS.contains(&basename(&parent.exe)))
        {
            out.push(
                FindingBuilder::new(&TERMINAL_SHELL, event)
                    .evidence("cmdline", exec.args.join(" "))
                    .evidence("parent_exe", &parent.exe)
                    .evidence("parent_pid", parent.pid.to_string())
                    .build(),
            );
        }
        if let Some((exe, pid, activity)) = self.serving_ancestor(p.pid)
            && self.report(&SHELL_CREATED, p, None)
        {
            out.push(
                FindingBuilder::new(&SHELL_CREATED, event)
                    .evidence("service_exe", exe)
                    .evidence("service_pid", pid.to_string())
                    .evidence("service_network_activity", activity)
                    .evidence("cmdline", exec.args.join(" "))
                    .build(),
            );
        }
    }

    /// Check the executable hash now, or queue the pid until the host has it.
    fn check_hash(
        &mut self,
        pid: u32,
        seq: u64,
        time_ns: u64,
        filename: &str,
        process: Option<&Process>,
        out: &mut Vec<Finding>,
    ) -> bool {
        let Some(info) = host::process(pid) else {
            return false;
        };
        let Some(sha) = info.exe_sha256.as_deref() else {
            if process.is_some() && self.state.pending.len() < MAX_PENDING {
                self.state.pending.push(Pending {
                    pid,
                    seq,
                    time_ns,
                    filename: filename.to_string(),
                });
            }
            return false;
        };
        let listed = if self.is_malicious(sha) {
            Some((&MALICIOUS_FILE, None))
        } else {
            host::intel_match(IndicatorKind::Sha256, sha)
                .filter(|hit| matches!(hit.category.as_str(), "malicious-file" | "custom"))
                .map(|hit| (&MALICIOUS_FILE_CUSTOM, Some(hit)))
        };
        if let Some((spec, hit)) = listed {
            // On tick there is no event: judge the process as the host knows it.
            let from_table;
            let process = match process {
                Some(p) => p,
                None => {
                    from_table = Process {
                        pid,
                        tid: pid,
                        ppid: info.ppid,
                        uid: info.uid,
                        euid: info.euid,
                        gid: 0,
                        egid: 0,
                        comm: String::new(),
                        exe: info.exe.clone(),
                        container_id: info.container_id.clone(),
                        cgroup_id: None,
                    };
                    &from_table
                }
            };
            if self.report(spec, process, Some(filename)) {
                let mut b = FindingBuilder::about_pid(spec, pid)
                    .event_seq(seq)
                    .evidence("exe", &info.exe)
                    .evidence("filename", filename)
                    .evidence("sha256", sha);
                if let Some(hit) = hit {
                    b = b
                        .evidence("category", &hit.category)
                        .evidence("source", &hit.source);
                }
                out.push(b.build());
            }
        }
        true
    }

    fn on_mmap(&mut self, event: &Event, path: &str, out: &mut Vec<Finding>) {
        if let Some(until) = self.old_libraries.get(path)
            && *until > event.time_ns
        {
            return;
        }
        // Only a recently written library can be new: without a write the
        // path is cached as old (whoever maps it, in or out of containers).
        if host::recent_write(path).is_none() {
            if self.old_libraries.len() > 4096 {
                self.old_libraries.retain(|_, until| *until > event.time_ns);
            }
            self.old_libraries
                .insert(path.to_string(), event.time_ns + LIBRARY_CACHE_NS);
            return;
        }
        if let Some(new) = self.new_file(event, path, None)
            && self.report(&NEW_LIBRARY, &event.process, Some(path))
        {
            out.push(library_finding(
                FindingBuilder::new(&NEW_LIBRARY, event),
                path,
                &new,
            ));
        }
    }
}

/// A `NewLibraryLoaded` finding's evidence.
fn library_finding(b: FindingBuilder, lib: &str, new: &NewFile) -> Finding {
    let mut b = b
        .evidence("library_path", lib)
        .evidence("reason", new.reason);
    if let Some(w) = &new.write {
        b = b
            .evidence("modifying_process_exe", &w.writer_exe)
            .evidence("modified_time_ns", w.time_ns.to_string());
    }
    b.build()
}

impl Detector for Execution {
    fn metadata() -> Metadata {
        finding::metadata(
            "execution",
            env!("CARGO_PKG_VERSION"),
            "New binaries and libraries, known-malicious files, shells from network services, /dev/shm execution, system-user shells.",
            &[
                EventKind::Exec,
                EventKind::MmapExec,
                EventKind::NetAccept,
                EventKind::NetListen,
            ],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        if let Some(bad) = own
            .extra_sha256
            .iter()
            .find(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(format!(
                "invalid configuration: `extra_sha256`: `{bad}` is not a SHA-256 in hex"
            ));
        }
        Ok(Self {
            policy,
            own,
            state: State::default(),
            old_libraries: HashMap::new(),
            container_starts: HashMap::new(),
        })
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        match &event.detail {
            EventDetail::Exec(exec) => self.on_exec(event, exec, out),
            // Cached per path, so the host is asked once per library per
            // few seconds however many processes map it.
            EventDetail::MmapExec(m) => self.on_mmap(event, &m.path, out),
            EventDetail::NetAccept(n) => self.on_serving(event, n, true),
            EventDetail::NetListen(n) => self.on_serving(event, n, false),
            // No forgetting at exit: droppers run for milliseconds, and the
            // host keeps exited processes (and their hash) for a while, so
            // pending pids are re-checked until `pending_timeout_secs`.
            _ => {}
        }
    }

    fn tick(&mut self, now_ns: u64, out: &mut Vec<Finding>) {
        let timeout = self.own.pending_timeout_secs * NS;
        let pending = std::mem::take(&mut self.state.pending);
        for p in pending {
            if now_ns.saturating_sub(p.time_ns) > timeout {
                continue;
            }
            if !self.check_hash(p.pid, p.seq, p.time_ns, &p.filename, None, out) {
                self.state.pending.push(p);
            }
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/execution/detect.jsonl"),
            |h| {
                h.set_exe_sha256(203, MALICIOUS_SHA256[0]);
                h.set_exe_sha256(206, &"c".repeat(64));
            },
            &[
                MALICIOUS_FILE_CUSTOM.finding_type,
                NEW_BINARY.finding_type,
                NEW_LIBRARY.finding_type,
                NEW_LIBRARY.finding_type,
                MALICIOUS_FILE.finding_type,
                SHELL_CREATED.finding_type,
                DEV_SHM.finding_type,
                SYSTEM_USER_SHELL.finding_type,
                TERMINAL_SHELL.finding_type,
            ],
        )
    }

    fn snapshot(&self) -> Vec<u8> {
        harrier_sdk::state::save(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        harrier_sdk::state::load(state, &mut self.state)
    }
}

harrier_sdk::export_detector!(Execution);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{Harness, load_fixture, medium_or_worse, types};

    harrier_sdk::detector_tests!(Execution);

    fn harness(config: &str) -> Harness<Execution> {
        Harness::new(config).unwrap()
    }

    fn detect(config: &str) -> Vec<Finding> {
        let mut h = harness(config);
        let events = load_fixture(format!("{FIXTURES}execution/detect.jsonl")).unwrap();
        for e in &events {
            h.host_mut().observe(e);
        }
        h.host_mut().set_exe_sha256(203, MALICIOUS_SHA256[0]);
        h.host_mut().set_exe_sha256(206, &"c".repeat(64));
        let text = std::fs::read_to_string(format!("{FIXTURES}execution/detect.jsonl")).unwrap();
        h.host_mut().indicators = harrier_sdk::testing::fixture_indicators(&text).unwrap();
        h.observe = false;
        h.run(&events)
    }

    #[test]
    fn detects_every_type_once() {
        let f = detect("{}");
        let mut want: Vec<String> = SPECS.iter().map(|s| s.finding_type.to_string()).collect();
        want.push(NEW_LIBRARY.finding_type.to_string());
        want.sort();
        assert_eq!(types(&f), want, "{f:#?}");
        let preload = f
            .iter()
            .find(|f| f.evidence.iter().any(|e| e.key == "ld_preload"))
            .expect("LD_PRELOAD finding");
        assert_eq!(preload.pid, 205);
        let by_type = |t: &str| f.iter().find(|f| f.finding_type == t).unwrap();
        assert_eq!(by_type(NEW_BINARY.finding_type).pid, 202);
        assert_eq!(by_type(SHELL_CREATED.finding_type).pid, 301);
        assert_eq!(by_type(SYSTEM_USER_SHELL.finding_type).pid, 401);
        let nb = by_type(NEW_BINARY.finding_type);
        assert!(
            nb.evidence
                .iter()
                .any(|e| e.key == "modifying_process_exe" && e.value == "/usr/bin/curl")
        );
    }

    #[test]
    fn unhashed_executables_are_rechecked_on_tick() {
        let mut h = harness(
            r#"{"extra_sha256":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]}"#,
        );
        let events = load_fixture(format!("{FIXTURES}execution/detect.jsonl")).unwrap();
        let f = h.run(&events);
        assert!(!types(&f).contains(&MALICIOUS_FILE.finding_type.to_string()));
        let now = events.last().unwrap().time_ns + 1;
        assert!(h.tick(now).is_empty(), "nothing hashed yet");
        h.host_mut().set_exe_sha256(203, &"a".repeat(64));
        let f = h.tick(now + 1);
        assert_eq!(types(&f), vec![MALICIOUS_FILE.finding_type.to_string()]);
        assert_eq!(f[0].pid, 203);
        assert!(h.tick(now + 2).is_empty(), "reported once");
    }

    #[test]
    fn pending_state_survives_snapshot_and_restore() {
        let mut h = harness("{}");
        let events = load_fixture(format!("{FIXTURES}execution/detect.jsonl")).unwrap();
        h.run(&events);
        let snap = h.detector().snapshot();
        let mut h2 = harness("{}");
        h2.detector().restore(&snap).unwrap();
        *h2.host_mut() = h.host_mut().clone();
        h2.host_mut().set_exe_sha256(203, MALICIOUS_SHA256[0]);
        let f = h2.tick(events.last().unwrap().time_ns + 1);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(h2.detector().restore(b"not json").is_err());
    }

    #[test]
    fn configuration_cuts_noise() {
        let f = detect(
            r#"{"trusted_writers":["curl"],"disabled_types":["Execution:Runtime/SystemUserInteractiveShell"]}"#,
        );
        let t = types(&f);
        assert!(!t.contains(&NEW_BINARY.finding_type.to_string()));
        assert!(!t.contains(&SYSTEM_USER_SHELL.finding_type.to_string()));
        assert!(
            t.contains(&NEW_LIBRARY.finding_type.to_string()),
            "payload wrote the library"
        );
        let f = detect(r#"{"new_binary_window_secs":0}"#);
        assert!(!types(&f).contains(&NEW_BINARY.finding_type.to_string()));
        assert!(
            Execution::new(r#"{"extra_sha256":["xyz"]}"#)
                .err()
                .unwrap()
                .contains("extra_sha256")
        );
    }

    /// A capture line: `kind` by `pid` (child of `ppid`, running `exe`, in
    /// `container` if any) at time `t`.
    fn line(
        t: u64,
        pid: u32,
        ppid: u32,
        exe: &str,
        container: Option<&str>,
        kind: &str,
        detail: &str,
    ) -> String {
        let container = container.map_or("null".to_string(), |c| format!("\"{c}\""));
        format!(
            r#"{{"kind":"{kind}","pid":{pid},"seq":{t},"time_ns":{t},"process":{{"pid":{pid},"tid":{pid},"ppid":{ppid},"uid":0,"euid":0,"gid":0,"egid":0,"comm":"x","exe":"{exe}","container_id":{container}}},"detail":{detail}}}"#
        )
    }

    fn exec_detail(filename: &str, args: &str, mtime: u64) -> String {
        format!(
            r#"{{"Exec":{{"filename":"{filename}","args":{args},"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":{mtime}}}}}"#
        )
    }

    fn write_detail(path: &str) -> String {
        format!(r#"{{"FileOpen":{{"path":"{path}","flags":577,"mode":493,"result":3}}}}"#)
    }

    fn replay(config: &str, lines: &[String]) -> Vec<Finding> {
        let header = r#"{"harrier_capture":1,"wit":"0.1.0"}"#.to_string();
        let text = [vec![header], lines.to_vec()].concat().join("\n");
        let events = harrier_sdk::testing::parse_fixture(&text).unwrap();
        harness(config).run(&events)
    }

    fn evidence<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
        f.evidence
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    #[test]
    fn in_a_container_new_means_drift_from_the_image() {
        let c = Some("c1");
        let events = [
            line(
                10,
                500,
                1,
                "/bin/sh",
                c,
                "exec",
                &exec_detail("/bin/sh", r#"["sh"]"#, 1),
            ),
            line(
                20,
                500,
                1,
                "/bin/sh",
                c,
                "file-open",
                &write_detail("/usr/local/bin/tool"),
            ),
            // Written after the container started: drift.
            line(
                30,
                501,
                500,
                "/usr/local/bin/tool",
                c,
                "exec",
                &exec_detail("/usr/local/bin/tool", r#"["tool"]"#, 20),
            ),
            // Modified after the start, the write no longer tracked: drift by mtime.
            line(
                40,
                502,
                500,
                "/opt/app/run",
                c,
                "exec",
                &exec_detail("/opt/app/run", r#"["run"]"#, 15),
            ),
            // From the image (mtime before the start): not new.
            line(
                50,
                503,
                500,
                "/usr/bin/python3",
                c,
                "exec",
                &exec_detail("/usr/bin/python3", r#"["python3"]"#, 5),
            ),
        ];
        let f = replay("{}", &events);
        let got: Vec<(u32, Option<&str>)> = f
            .iter()
            .filter(|f| f.finding_type == NEW_BINARY.finding_type)
            .map(|f| (f.pid, evidence(f, "reason")))
            .collect();
        assert_eq!(
            got,
            [
                (501, Some("container drift")),
                (502, Some("container drift"))
            ],
            "{f:#?}"
        );
    }

    #[test]
    fn on_hosts_only_staged_files_not_built_ones_are_new() {
        let events = |path: &str, writer: &str| {
            [
                line(10, 600, 1, writer, None, "file-open", &write_detail(path)),
                line(
                    20,
                    601,
                    1,
                    path,
                    None,
                    "exec",
                    &exec_detail(path, r#"["x"]"#, 10),
                ),
            ]
        };
        let new = |config: &str, path: &str, writer: &str| {
            replay(config, &events(path, writer))
                .iter()
                .any(|f| f.finding_type == NEW_BINARY.finding_type)
        };
        assert!(
            new("{}", "/tmp/x", "/usr/bin/curl"),
            "a download staged in /tmp"
        );
        assert!(
            !new("{}", "/tmp/build/app", "/usr/bin/ld"),
            "a link in /tmp is a build"
        );
        assert!(
            !new("{}", "/home/dev/proj/target/debug/app", "/usr/bin/cp"),
            "not a staging directory"
        );
        assert!(new(
            r#"{"host_new_files":"all"}"#,
            "/home/dev/app",
            "/usr/bin/ld"
        ));
        assert!(!new(
            r#"{"host_new_files":"none"}"#,
            "/tmp/x",
            "/usr/bin/curl"
        ));
        assert!(Execution::new(r#"{"host_new_files":"some"}"#).is_err());
    }

    #[test]
    fn a_shell_from_a_process_that_accepted_a_connection_is_suspicious() {
        let listen = r#"{"NetListen":{"fd":3,"address":{"Ipv4":["127.0.0.1",8000]},"result":0}}"#;
        let accept = r#"{"NetAccept":{"fd":4,"address":{"Ipv4":["127.0.0.1",40000]},"result":5}}"#;
        let shell = |t: u64, pid: u32, ppid: u32| {
            line(
                t,
                pid,
                ppid,
                "/bin/sh",
                None,
                "exec",
                &exec_detail("/bin/sh", r#"["sh","-c","id"]"#, 1),
            )
        };
        let service = |t: u64, pid: u32, exe: &str| {
            line(
                t,
                pid,
                1,
                exe,
                None,
                "exec",
                &exec_detail(exe, r#"["svc"]"#, 1),
            )
        };
        let f = replay(
            "{}",
            &[
                service(1, 700, "/usr/bin/python3"),
                line(2, 700, 1, "/usr/bin/python3", None, "net-listen", listen),
                line(2, 700, 1, "/usr/bin/python3", None, "net-accept", accept),
                shell(3, 701, 700),
            ],
        );
        assert_eq!(types(&f), [SHELL_CREATED.finding_type], "{f:#?}");
        assert_eq!(
            evidence(&f[0], "service_network_activity"),
            Some("accepted a connection from 127.0.0.1:40000")
        );
        assert_eq!(evidence(&f[0], "service_pid"), Some("700"));
        // A python that never served, and sshd starting a login shell, are not.
        let quiet = replay(
            "{}",
            &[service(1, 710, "/usr/bin/python3"), shell(3, 711, 710)],
        );
        assert!(quiet.is_empty(), "{quiet:#?}");
        let login = replay(
            "{}",
            &[
                service(1, 720, "/usr/sbin/sshd"),
                line(2, 720, 1, "/usr/sbin/sshd", None, "net-accept", accept),
                shell(3, 721, 720),
            ],
        );
        assert!(login.is_empty(), "{login:#?}");
    }

    #[test]
    fn an_interactive_shell_entered_into_a_container_is_a_terminal_shell() {
        let c = Some("c1");
        let events = [
            line(
                1,
                800,
                1,
                "/usr/bin/containerd-shim-runc-v2",
                None,
                "exec",
                &exec_detail("/usr/bin/containerd-shim-runc-v2", r#"["shim"]"#, 1),
            ),
            line(
                2,
                801,
                800,
                "/bin/bash",
                c,
                "exec",
                &exec_detail("/bin/bash", r#"["bash"]"#, 1),
            ),
            // A script run by the container's own shell is not.
            line(
                3,
                802,
                801,
                "/bin/sh",
                c,
                "exec",
                &exec_detail("/bin/sh", r#"["sh","-c","ls"]"#, 1),
            ),
            line(
                4,
                803,
                801,
                "/bin/sh",
                c,
                "exec",
                &exec_detail("/bin/sh", r#"["sh"]"#, 1),
            ),
        ];
        let f = replay("{}", &events);
        let terminal: Vec<u32> = f
            .iter()
            .filter(|f| f.finding_type == TERMINAL_SHELL.finding_type)
            .map(|f| f.pid)
            .collect();
        assert_eq!(terminal, [801], "{f:#?}");
    }

    #[test]
    fn benign_workload_is_quiet() {
        let mut h = harness("{}");
        let f = h.run_fixture(format!("{FIXTURES}benign.jsonl")).unwrap();
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
