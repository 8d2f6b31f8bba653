//! Harrier detector `execution`: what gets executed and from where.
//!
//! - `Execution:Runtime/NewBinaryExecuted`: an executable created or written
//!   within `new_binary_window_secs` (host `recent-write`) is executed.
//! - `Execution:Runtime/NewLibraryLoaded`: a recently written file is mapped
//!   executable (a library loaded), or named in `LD_PRELOAD` of an execution.
//! - `Execution:Runtime/MaliciousFileExecuted`: the executable's SHA-256
//!   (host `process`) is on the bundled list or `extra_sha256`. The host
//!   hashes off the event path, so unhashed pids are re-checked on `tick`.
//! - `Execution:Runtime/MaliciousFileExecuted.Custom`: the same hash is on
//!   the host's threat-intelligence feeds as `malicious-file` or `custom`
//!   (host `intel-match`), e.g. the operator's own list.
//! - `Execution:Runtime/SuspiciousShellCreated`: a shell started by a network
//!   service (web servers, databases, language runtimes serving requests).
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
    description: "A file created or modified within the tracking window was executed; droppers and downloaded tools look like this.",
    mitre: "T1105",
};
/// A recently written file is mapped executable.
pub const NEW_LIBRARY: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/NewLibraryLoaded",
    severity: 5.0,
    title: "Newly created or modified library loaded",
    description: "A file created or modified within the tracking window was mapped executable into a process (library loading or injection).",
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
    description: "A network-facing service (web server, database, application runtime) started a shell, typical of web shells and remote code execution.",
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

/// An executable whose hash is on a threat-intelligence feed.
pub const MALICIOUS_FILE_CUSTOM: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/MaliciousFileExecuted.Custom",
    severity: 8.0,
    title: "Executable on a threat list",
    description: "A process executed a file whose SHA-256 is on a threat-intelligence feed the host loaded (such as the operator's own list).",
    mitre: "T1204.002",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 7] = [
    NEW_BINARY,
    NEW_LIBRARY,
    MALICIOUS_FILE,
    MALICIOUS_FILE_CUSTOM,
    SHELL_CREATED,
    DEV_SHM,
    SYSTEM_USER_SHELL,
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

const NS: u64 = 1_000_000_000;
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

/// State carried across hot reloads.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    pending: Vec<Pending>,
}

/// The execution detector.
pub struct Execution {
    policy: Policy,
    own: Own,
    state: State,
    /// Library paths found not recently written, until when.
    old_libraries: HashMap<String, u64>,
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

    /// The recent write of `path` if it makes the file "new".
    fn new_file(&self, path: &str, now: u64) -> Option<harrier_sdk::FileWriteInfo> {
        let w = host::recent_write(path)?;
        let fresh = now.saturating_sub(w.time_ns) <= self.own.new_binary_window_secs * NS;
        (fresh && !self.trusted_writer(&w.writer_exe)).then_some(w)
    }

    fn on_exec(&mut self, event: &Event, exec: &ExecEvent, out: &mut Vec<Finding>) {
        let p = &event.process;
        let path = exec.filename.as_str();
        if let Some(w) = self.new_file(path, event.time_ns)
            && self.report(&NEW_BINARY, p, Some(path))
        {
            out.push(
                FindingBuilder::new(&NEW_BINARY, event)
                    .evidence("filename", path)
                    .evidence("modifying_process_exe", &w.writer_exe)
                    .evidence("modifying_process_pid", w.writer_pid.to_string())
                    .evidence("modified_time_ns", w.time_ns.to_string())
                    .evidence("created", w.created.to_string())
                    .build(),
            );
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
    fn on_preload(&self, event: &Event, preload: &str, out: &mut Vec<Finding>) {
        for lib in preload.split([':', ' ']).filter(|l| !l.is_empty()) {
            if let Some(w) = self.new_file(lib, event.time_ns)
                && self.report(&NEW_LIBRARY, &event.process, Some(lib))
            {
                out.push(
                    FindingBuilder::new(&NEW_LIBRARY, event)
                        .evidence("library_path", lib)
                        .evidence("ld_preload", preload)
                        .evidence("modifying_process_exe", &w.writer_exe)
                        .evidence("modified_time_ns", w.time_ns.to_string())
                        .build(),
                );
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
        let service = host::ancestry(p.pid, 3).into_iter().find(|a| {
            let n = basename(&a.exe);
            SERVICES.contains(&n) || self.own.service_parents.iter().any(|s| s == n)
        });
        if let Some(service) = service
            && self.report(&SHELL_CREATED, p, None)
        {
            out.push(
                FindingBuilder::new(&SHELL_CREATED, event)
                    .evidence("service_exe", &service.exe)
                    .evidence("service_pid", service.pid.to_string())
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
        match self.new_file(path, event.time_ns) {
            None => {
                if self.old_libraries.len() > 4096 {
                    self.old_libraries.retain(|_, until| *until > event.time_ns);
                }
                self.old_libraries
                    .insert(path.to_string(), event.time_ns + LIBRARY_CACHE_NS);
            }
            Some(w) => {
                if self.report(&NEW_LIBRARY, &event.process, Some(path)) {
                    out.push(
                        FindingBuilder::new(&NEW_LIBRARY, event)
                            .evidence("library_path", path)
                            .evidence("modifying_process_exe", &w.writer_exe)
                            .evidence("modified_time_ns", w.time_ns.to_string())
                            .build(),
                    );
                }
            }
        }
    }
}

impl Detector for Execution {
    fn metadata() -> Metadata {
        finding::metadata(
            "execution",
            env!("CARGO_PKG_VERSION"),
            "New binaries and libraries, known-malicious files, shells from network services, /dev/shm execution, system-user shells.",
            &[EventKind::Exec, EventKind::MmapExec],
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
        })
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        match &event.detail {
            EventDetail::Exec(exec) => self.on_exec(event, exec, out),
            // Cached per path, so the host is asked once per library per
            // few seconds however many processes map it.
            EventDetail::MmapExec(m) => self.on_mmap(event, &m.path, out),
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

    #[test]
    fn benign_workload_is_quiet() {
        let mut h = harness("{}");
        let f = h.run_fixture(format!("{FIXTURES}benign.jsonl")).unwrap();
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
