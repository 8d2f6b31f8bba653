//! Harrier detector `privilege-escalation`: container escapes and gaining root.
//!
//! - `PrivilegeEscalation:Runtime/DockerSocketAccessed`: a process other than
//!   a trusted client connects to (or opens) a container runtime socket,
//!   successfully or not (the listener may not be up yet).
//! - `PrivilegeEscalation:Runtime/RuncContainerEscape`: a write-open of a
//!   `runc` binary or of `/proc/<pid>/exe` (CVE-2019-5736 style).
//! - `PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified`: a write to a
//!   cgroup `release_agent` (or `notify_on_release`).
//! - `PrivilegeEscalation:Runtime/ContainerMountsHostDirectory`: a process in
//!   a container mounts (or tries to mount) a host block device or a host
//!   directory (container-only, using the container identity from
//!   enrichment); a refused mount is reported too, with its errno.
//! - `PrivilegeEscalation:Runtime/UserfaultfdUsage`: `userfaultfd(2)` used.
//! - `PrivilegeEscalation:Runtime/ElevationToRoot`: a non-root user runs a
//!   setuid-root program (euid 0 at exec), or a non-root process
//!   successfully sets its uid or euid to 0, without being a known setuid
//!   helper (sudo, su, ...).
//!
//! GuardDuty's 2026 documentation lists DockerSocketAccessed,
//! RuncContainerEscape, CGroupsReleaseAgentModified,
//! ContainerMountsHostDirectory, UserfaultfdUsage and ElevationToRoot
//! among its retired types; Harrier keeps detecting them.
//! - `PrivilegeEscalation:Runtime/DebugfsLaunchedInContainer`: `debugfs` run
//!   in a container (Falco "Debugfs Launched in Privileged Container").

#![deny(missing_docs)]

use harrier_sdk::matching::{basename, result_text};
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, Finding, FindingBuilder, FindingSpec, Metadata,
    Policy, SocketAddress, config, finding, testing,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A container runtime socket was used.
pub const DOCKER_SOCKET: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/DockerSocketAccessed",
    severity: 6.0,
    title: "Container runtime socket accessed",
    description: "A process that is not a known container client connected to the Docker/containerd socket, which gives control of the host.",
    mitre: "T1611",
};
/// A runc binary was opened for writing.
pub const RUNC_ESCAPE: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/RuncContainerEscape",
    severity: 9.0,
    title: "runc binary modification attempted",
    description: "A process opened the runc binary (or /proc/<pid>/exe) for writing, the CVE-2019-5736 container escape.",
    mitre: "T1611",
};
/// A cgroup release_agent was written.
pub const RELEASE_AGENT: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/CGroupsReleaseAgentModified",
    severity: 8.0,
    title: "cgroup release_agent modified",
    description: "A process wrote a cgroup release_agent or notify_on_release file, a known container escape (CVE-2022-0492).",
    mitre: "T1611",
};
/// A container mounted a host directory or device.
pub const HOST_MOUNT: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/ContainerMountsHostDirectory",
    severity: 8.0,
    title: "Container mounted a host directory",
    description: "A process in a container mounted (or tried to mount) a host block device or a host directory, exposing the host file system.",
    mitre: "T1611",
};
/// userfaultfd was used.
pub const USERFAULTFD: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/UserfaultfdUsage",
    severity: 5.0,
    title: "userfaultfd used",
    description: "A process created a userfaultfd, a primitive used to win kernel race conditions in exploits.",
    mitre: "T1068",
};
/// A process became root.
pub const TO_ROOT: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/ElevationToRoot",
    severity: 8.0,
    title: "Process elevated to root",
    description: "A non-root user ran a setuid-root program, or a non-root process set its user id to root, without being a known setuid helper (sudo, su, ...), a sign of a privilege escalation exploit.",
    mitre: "T1548.001",
};

/// debugfs run in a container.
pub const DEBUGFS: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/DebugfsLaunchedInContainer",
    severity: 7.0,
    title: "debugfs launched in a container",
    description: "debugfs was run inside a container; in a privileged container it reads and writes the host's disk directly (Falco: Debugfs Launched in Privileged Container).",
    mitre: "T1611",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 7] = [
    DOCKER_SOCKET,
    RUNC_ESCAPE,
    RELEASE_AGENT,
    HOST_MOUNT,
    USERFAULTFD,
    TO_ROOT,
    DEBUGFS,
];

/// Known clients of container runtime sockets.
pub const SOCKET_CLIENTS: &[&str] = &[
    "docker",
    "dockerd",
    "containerd",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "ctr",
    "kubelet",
    "crictl",
    "podman",
    "buildkitd",
    "docker-proxy",
    "cri-dockerd",
    "nerdctl",
    "systemd",
    "docker-compose",
    "com.docker.cli",
];

/// Programs whose job is to switch to root.
pub const SETUID_PROGRAMS: &[&str] = &[
    "sudo",
    "su",
    "sshd",
    "login",
    "cron",
    "crond",
    "atd",
    "passwd",
    "newgrp",
    "chsh",
    "chfn",
    "gpasswd",
    "pkexec",
    "polkit-agent-helper-1",
    "unix_chkpwd",
    "runuser",
    "doas",
    "mount",
    "umount",
    "fusermount",
    "fusermount3",
    "systemd",
    "systemd-logind",
    "dbus-daemon-launch-helper",
    "ping",
    "sg",
    "setpriv",
    "gdm-session-worker",
    "lightdm",
    "sddm",
    "Xorg",
    "Xorg.wrap",
    "sudoedit",
    "ssh-keysign",
    "snap-confine",
    "chrome-sandbox",
    "mount.nfs",
    "mount.cifs",
    "ntfs-3g",
    "pppd",
    "newuidmap",
    "newgidmap",
    "exim4",
    "at",
];

/// Block device prefixes of host disks.
const HOST_DEVICES: &[&str] = &[
    "/dev/sd",
    "/dev/nvme",
    "/dev/vd",
    "/dev/xvd",
    "/dev/hd",
    "/dev/mapper/",
    "/dev/dm-",
    "/dev/root",
];
/// Host directories whose bind mount into a container exposes the host.
const HOST_DIRS: &[&str] = &[
    "/",
    "/etc",
    "/root",
    "/home",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/proc",
    "/sys",
    "/boot",
    "/usr",
    "/var/run",
    "/run",
];
/// `O_WRONLY | O_RDWR`.
const WRITE_FLAGS: u32 = 0o3;
/// `O_TRUNC`.
const O_TRUNC: u32 = 0o1000;
/// Most processes whose non-root exec-time uid is remembered.
const MAX_EXEC_UIDS: usize = 16384;

/// The detector's own configuration keys.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    runtime_sockets: Vec<String>,
    trusted_socket_clients: Vec<String>,
    trusted_setuid_programs: Vec<String>,
    host_mount_sources: Vec<String>,
}

impl Default for Own {
    fn default() -> Self {
        Self {
            runtime_sockets: [
                "/var/run/docker.sock",
                "/run/docker.sock",
                "/run/containerd/containerd.sock",
                "/var/run/crio/crio.sock",
                "/run/podman/podman.sock",
            ]
            .map(String::from)
            .to_vec(),
            trusted_socket_clients: Vec::new(),
            trusted_setuid_programs: Vec::new(),
            host_mount_sources: Vec::new(),
        }
    }
}

/// State carried across hot reloads: the real uid each live process had
/// when it last executed a program, for the processes that were not root
/// then. The sensor reports a credential change with the credentials the
/// process has after it, so a successful `setuid(0)` shows uid 0: the uid
/// before has to come from the exec.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    exec_uids: HashMap<u32, u32>,
}

/// The privilege-escalation detector.
pub struct PrivilegeEscalation {
    policy: Policy,
    own: Own,
    state: State,
}

impl PrivilegeEscalation {
    fn emit(
        &self,
        spec: &FindingSpec,
        event: &Event,
        path: Option<&str>,
        evidence: &[(&str, &str)],
        out: &mut Vec<Finding>,
    ) {
        if !self.policy.permits(spec.finding_type, &event.process, path) {
            return;
        }
        let mut b = FindingBuilder::new(spec, event);
        for (k, v) in evidence {
            b = b.evidence(k, v);
        }
        out.push(b.build());
    }

    fn is_runtime_socket(&self, path: &str) -> bool {
        self.own.runtime_sockets.iter().any(|s| s == path)
    }

    fn trusted_client(&self, exe: &str) -> bool {
        let n = basename(exe);
        SOCKET_CLIENTS.contains(&n) || self.own.trusted_socket_clients.iter().any(|c| c == n)
    }

    fn on_open(&self, event: &Event, path: &str, flags: u32, out: &mut Vec<Finding>) {
        let writes = flags & (WRITE_FLAGS | O_TRUNC) != 0;
        if writes {
            let runc =
                basename(path) == "runc" || (path.starts_with("/proc/") && path.ends_with("/exe"));
            if runc && basename(&event.process.exe) != "runc" {
                self.emit(
                    &RUNC_ESCAPE,
                    event,
                    Some(path),
                    &[("runc_binary_path", path)],
                    out,
                );
            }
            let name = basename(path);
            if (name == "release_agent" || name == "notify_on_release")
                && !path.starts_with("/sys/fs/cgroup/systemd/")
            {
                self.emit(
                    &RELEASE_AGENT,
                    event,
                    Some(path),
                    &[("release_agent_path", path)],
                    out,
                );
            }
        }
        if self.is_runtime_socket(path) && !self.trusted_client(&event.process.exe) {
            self.emit(
                &DOCKER_SOCKET,
                event,
                Some(path),
                &[("socket_path", path)],
                out,
            );
        }
    }

    /// Remembers the real uid of a process at exec, if it is not root.
    fn remember_exec_uid(&mut self, pid: u32, uid: u32) {
        let uids = &mut self.state.exec_uids;
        if uid == 0 {
            uids.remove(&pid);
            return;
        }
        if uids.len() >= MAX_EXEC_UIDS
            && !uids.contains_key(&pid)
            && let Some(&old) = uids.keys().next()
        {
            uids.remove(&old);
        }
        uids.insert(pid, uid);
    }

    fn on_credential_change(
        &mut self,
        event: &Event,
        c: &harrier_sdk::CredentialEvent,
        out: &mut Vec<Finding>,
    ) {
        let p = &event.process;
        // The event shows the credentials after the call: a real uid that is
        // still not root is the uid before; otherwise ask the exec.
        let previous = if p.uid != 0 {
            p.uid
        } else {
            self.state.exec_uids.get(&p.pid).copied().unwrap_or(0)
        };
        if c.result == 0 && c.uid == 0 {
            self.state.exec_uids.remove(&p.pid);
        }
        let to_root = c.uid == 0 || c.euid == 0;
        if to_root && c.result == 0 && previous != 0 && !self.trusted_setuid(&p.exe) {
            self.emit(
                &TO_ROOT,
                event,
                None,
                &[
                    ("syscall", &c.syscall),
                    ("previous_uid", &previous.to_string()),
                ],
                out,
            );
        }
    }

    fn on_mount(&self, event: &Event, m: &harrier_sdk::MountEvent, out: &mut Vec<Finding>) {
        if event.process.container_id.is_none() {
            return;
        }
        // GuardDuty fires on the call, granted or not: the attempt shows
        // intent, and its errno says how far it got.
        let source = m.source.as_str();
        let dir = source.trim_end_matches('/');
        let dir = if dir.is_empty() && source.starts_with('/') {
            "/"
        } else {
            dir
        };
        let device = HOST_DEVICES.iter().any(|d| source.starts_with(d));
        let host_dir = HOST_DIRS.contains(&dir);
        let configured = self.own.host_mount_sources.iter().any(|s| s == source);
        if !(device || host_dir || configured) {
            return;
        }
        let result = result_text(m.result);
        let flags = format!("{:#x}", m.flags);
        let evidence = [
            ("mount_source", source),
            ("mount_target", m.target.as_str()),
            ("fs_type", m.fs_type.as_str()),
            ("mount_flags", flags.as_str()),
            ("result", result.as_str()),
        ];
        self.emit(&HOST_MOUNT, event, Some(source), &evidence, out);
    }

    /// A setuid-root program run by a non-root user: root from the exec on,
    /// whether or not it ever calls setuid.
    fn on_exec(&mut self, event: &Event, exec: &harrier_sdk::ExecEvent, out: &mut Vec<Finding>) {
        let p = &event.process;
        if p.uid == 0 || p.euid != 0 || self.trusted_setuid(&exec.filename) {
            self.remember_exec_uid(p.pid, p.uid);
            return;
        }
        // Reported here: a later setuid(0) of the same process is the same story.
        self.state.exec_uids.remove(&p.pid);
        let uid = p.uid.to_string();
        let mode = format!("{:o}", exec.file_mode & 0o7777);
        self.emit(
            &TO_ROOT,
            event,
            Some(&exec.filename),
            &[
                ("filename", &exec.filename),
                ("cmdline", &exec.args.join(" ")),
                ("previous_uid", &uid),
                ("euid_at_exec", "0"),
                ("file_mode", &mode),
            ],
            out,
        );
    }

    fn trusted_setuid(&self, exe: &str) -> bool {
        let name = basename(exe);
        SETUID_PROGRAMS.contains(&name)
            || self.own.trusted_setuid_programs.iter().any(|t| t == name)
    }
}

impl Detector for PrivilegeEscalation {
    fn metadata() -> Metadata {
        finding::metadata(
            "privilege-escalation",
            env!("CARGO_PKG_VERSION"),
            "Container escapes (runtime socket, runc, release_agent, host mounts), userfaultfd and unexpected elevation to root.",
            &[
                EventKind::FileOpen,
                EventKind::NetConnect,
                EventKind::Mount,
                EventKind::Userfaultfd,
                EventKind::CredentialChange,
                EventKind::Exec,
                EventKind::Exit,
            ],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        Ok(Self {
            policy,
            own,
            state: State::default(),
        })
    }

    /// Reads matter only of runtime sockets; runc and release_agent
    /// tampering are writes, which always arrive.
    fn read_path_prefixes(&self) -> Option<Vec<String>> {
        Some(self.own.runtime_sockets.clone())
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        match &event.detail {
            EventDetail::FileOpen(open) => {
                // Hot path: only a few prefixes can matter.
                let p = open.path.as_str();
                if open.result >= 0
                    && (p.starts_with("/proc/")
                        || p.starts_with("/sys/fs/cgroup")
                        || p.ends_with("release_agent")
                        || p.ends_with("/runc")
                        || p.ends_with(".sock"))
                {
                    self.on_open(event, p, open.flags, out);
                }
            }
            EventDetail::NetConnect(n) => {
                // Refused or not yet listening counts too: the client tried.
                if let SocketAddress::Unix(path) = &n.address
                    && self.is_runtime_socket(path)
                    && !self.trusted_client(&event.process.exe)
                {
                    self.emit(
                        &DOCKER_SOCKET,
                        event,
                        Some(path),
                        &[("socket_path", path), ("result", &result_text(n.result))],
                        out,
                    );
                }
            }
            EventDetail::Mount(m) => self.on_mount(event, m, out),
            EventDetail::Exec(exec) => {
                self.on_exec(event, exec, out);
                if event.process.container_id.is_some() && basename(&exec.filename) == "debugfs" {
                    self.emit(
                        &DEBUGFS,
                        event,
                        None,
                        &[("cmdline", &exec.args.join(" "))],
                        out,
                    );
                }
            }
            EventDetail::Exit(_) => {
                self.state.exec_uids.remove(&event.process.pid);
            }
            EventDetail::Userfaultfd(u) if u.result >= 0 => {
                self.emit(&USERFAULTFD, event, None, &[], out);
            }
            EventDetail::CredentialChange(c) => self.on_credential_change(event, c, out),
            _ => {}
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/privilege-escalation/detect.jsonl"),
            |_| {},
            &SPECS.map(|s| s.finding_type),
        )
    }

    fn snapshot(&self) -> Vec<u8> {
        harrier_sdk::state::save(&self.state)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        harrier_sdk::state::load(state, &mut self.state)
    }
}

harrier_sdk::export_detector!(PrivilegeEscalation);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{Harness, medium_or_worse, types};

    harrier_sdk::detector_tests!(PrivilegeEscalation);

    #[test]
    fn detects_every_type_once() {
        let f = run("{}", "privilege-escalation/detect.jsonl");
        let mut want: Vec<String> = SPECS.iter().map(|s| s.finding_type.to_string()).collect();
        want.sort();
        assert_eq!(types(&f), want, "{f:#?}");
        let mount = f
            .iter()
            .find(|f| f.finding_type == HOST_MOUNT.finding_type)
            .unwrap();
        assert_eq!(
            mount.pid, 603,
            "the host's own mount (pid 606) is not a container"
        );
    }

    #[test]
    fn configuration_cuts_noise() {
        let f = run(
            r#"{"trusted_socket_clients":["python3"],"trusted_setuid_programs":["dirtypipe"]}"#,
            "privilege-escalation/detect.jsonl",
        );
        assert_eq!(f.len(), 5, "{f:#?}");
        let f = run(
            r#"{"containers_only":true}"#,
            "privilege-escalation/detect.jsonl",
        );
        assert_eq!(f.len(), 5, "userfaultfd and elevation were on the host");
        let f = run(
            r#"{"allow_paths":["/tmp/cgrp/*"]}"#,
            "privilege-escalation/detect.jsonl",
        );
        assert_eq!(f.len(), 6);
        assert!(PrivilegeEscalation::new(r#"{"runtime_sockets":"x"}"#).is_err());
    }

    /// As the live sensor reports it: the exec of a setuid-root program by
    /// uid 65534 (euid 0), then its `setuid(0)` with the credentials after
    /// the call (uid 0), as pid 5302 did on the real kernel.
    const SETUID_EXEC: &str = r#"{"kind":"exec","pid":5302,"seq":1,"time_ns":1,"process":{"pid":5302,"tid":5302,"ppid":5205,"uid":65534,"euid":0,"gid":65534,"egid":65534,"comm":"rootshell","exe":"/var/tmp/hx/rootshell","container_id":null},"detail":{"Exec":{"filename":"/var/tmp/hx/rootshell","args":["rootshell"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":35309,"dev":1,"inode":2,"mtime_ns":3}}}"#;
    const SETUID_ZERO: &str = r#"{"kind":"credential-change","pid":5302,"seq":2,"time_ns":2,"process":{"pid":5302,"tid":5302,"ppid":5205,"uid":0,"euid":0,"gid":65534,"egid":65534,"comm":"rootshell","exe":"/var/tmp/hx/rootshell","container_id":null},"detail":{"CredentialChange":{"syscall":"setuid","uid":0,"euid":0,"gid":4294967295,"egid":4294967295,"result":0}}}"#;
    const EXIT: &str = r#"{"kind":"exit","pid":5302,"seq":3,"time_ns":3,"process":{"pid":5302,"tid":5302,"ppid":5205,"uid":0,"euid":0,"gid":65534,"egid":65534,"comm":"rootshell","exe":"/var/tmp/hx/rootshell","container_id":null},"detail":{"Exit":{"code":0,"signal":0}}}"#;

    /// The events of capture `lines` (without the header).
    fn events(lines: &[&str]) -> Vec<Event> {
        let header = r#"{"harrier_capture":1,"wit":"0.1.0"}"#;
        harrier_sdk::testing::parse_fixture(&[&[header], lines].concat().join("\n")).unwrap()
    }

    fn replay(lines: &[&str]) -> Vec<Finding> {
        Harness::<PrivilegeEscalation>::new("{}")
            .unwrap()
            .run(&events(lines))
    }

    /// The same process when its program is not setuid: still uid 65534 after the exec.
    fn plain_exec() -> String {
        SETUID_EXEC.replace(r#""euid":0,"gid":65534"#, r#""euid":65534,"gid":65534"#)
    }

    #[test]
    fn a_setuid_root_program_run_by_a_user_is_an_elevation_at_exec() {
        let f = replay(&[SETUID_EXEC]);
        assert_eq!(types(&f), [TO_ROOT.finding_type], "{f:#?}");
        let has = |k: &str, v: &str| f[0].evidence.iter().any(|e| e.key == k && e.value == v);
        assert!(
            has("previous_uid", "65534") && has("file_mode", "4755"),
            "{f:#?}"
        );
        // Its later setuid(0) is the same story, not a second finding.
        assert_eq!(replay(&[SETUID_EXEC, SETUID_ZERO]).len(), 1);
        // sudo is a setuid helper doing its job.
        let sudo = SETUID_EXEC.replace("/var/tmp/hx/rootshell", "/usr/bin/sudo");
        assert!(replay(&[&sudo]).is_empty());
    }

    #[test]
    fn elevation_seen_after_the_call_uses_the_uid_at_exec() {
        let exec = plain_exec();
        let f = replay(&[&exec, SETUID_ZERO]);
        assert_eq!(types(&f), [TO_ROOT.finding_type], "{f:#?}");
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.key == "previous_uid" && e.value == "65534"),
            "{f:#?}"
        );
        // A process that was root at exec setting uid 0 is not an elevation.
        let root_exec = SETUID_EXEC.replace(r#""uid":65534"#, r#""uid":0"#);
        assert!(replay(&[&root_exec, SETUID_ZERO]).is_empty());
        // Nor a later process reusing the pid after the exit.
        assert!(replay(&[&exec, EXIT, SETUID_ZERO]).is_empty());
    }

    #[test]
    fn exec_uids_survive_a_hot_reload() {
        let mut h = Harness::<PrivilegeEscalation>::new("{}").unwrap();
        assert!(h.run(&events(&[&plain_exec()])).is_empty());
        let snap = h.detector().snapshot();
        let mut h2 = Harness::<PrivilegeEscalation>::new("{}").unwrap();
        h2.detector().restore(&snap).unwrap();
        assert_eq!(
            types(&h2.run(&events(&[SETUID_ZERO]))),
            [TO_ROOT.finding_type]
        );
    }

    /// The GuardDuty tester's mount: `mount("/etc/", "/tmp/", "tempfs-test", 0)`
    /// in a pod, refused by the kernel (ENODEV).
    const TESTER_MOUNT: &str = r#"{"kind":"mount","pid":700,"seq":1,"time_ns":1,"process":{"pid":700,"tid":700,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"mountTest","exe":"/tmp/1700000000-mountTest","container_id":"c1"},"detail":{"Mount":{"source":"/etc/","target":"/tmp/","fs_type":"tempfs-test","flags":0,"result":-19}}}"#;
    /// `nc -U /var/run/docker.sock` before the listener is up.
    const REFUSED_CONNECT: &str = r#"{"kind":"net-connect","pid":701,"seq":2,"time_ns":2,"process":{"pid":701,"tid":701,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"nc","exe":"/usr/bin/nc.openbsd","container_id":"c1"},"detail":{"NetConnect":{"fd":3,"address":{"Unix":"/var/run/docker.sock"},"result":-111}}}"#;

    #[test]
    fn attempts_are_reported_with_their_errno() {
        let f = replay(&[TESTER_MOUNT, REFUSED_CONNECT]);
        assert_eq!(
            types(&f),
            [HOST_MOUNT.finding_type, DOCKER_SOCKET.finding_type],
            "{f:#?}"
        );
        let result = |f: &Finding| {
            f.evidence
                .iter()
                .find(|e| e.key == "result")
                .map(|e| e.value.clone())
        };
        assert_eq!(result(&f[0]).as_deref(), Some("-19 (ENODEV)"));
        assert_eq!(result(&f[1]).as_deref(), Some("-111 (ECONNREFUSED)"));
        // The same mount on the host is not a container mounting the host.
        let host = TESTER_MOUNT.replace(r#""container_id":"c1""#, r#""container_id":null"#);
        assert!(replay(&[&host]).is_empty());
        // A tmpfs of its own is no host directory.
        let tmpfs = TESTER_MOUNT.replace(r#""source":"/etc/""#, r#""source":"tmpfs""#);
        assert!(replay(&[&tmpfs]).is_empty());
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
