//! Resource keys: what "the same resource" means for merging and correlation.

use crate::input::FindingInput;

/// The key under which repeats of one finding type merge: the container id
/// for a containerised process, else the executable plus the executables of
/// its nearest `lineage_depth` ancestors (so a miner restarted by the same
/// cron job merges even though its pid changed).
pub(crate) fn merge_key(input: &FindingInput, lineage_depth: usize) -> String {
    if let Some(container) = &input.container {
        return format!("container:{}", container.id);
    }
    let mut key = String::from("host:");
    push_exe(&mut key, &input.process.exe, input.process.pid);
    for ancestor in input.process.ancestry.iter().take(lineage_depth) {
        key.push('<');
        push_exe(&mut key, &ancestor.exe, ancestor.pid);
    }
    key
}

/// What one attacker holds, under which findings correlate into an attack
/// sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// The correlation key, e.g. `container:<id>`, `session:<pid>:<exe>`.
    pub(crate) key: String,
    /// `container`, `session` or `process-tree`.
    pub(crate) kind: &'static str,
    /// The shared resource for people, e.g. `/usr/sbin/sshd (pid 900)`.
    pub(crate) label: String,
}

/// Programs that start sessions for others: login daemons, schedulers,
/// terminal multiplexers, container shims and network services. Everything a
/// host runs descends from a few of them, so their subtree is far too wide a
/// scope; the session is the child each started (one login, one cron job,
/// one connection's worker).
const SESSION_STARTERS: &[&str] = &[
    "sshd",
    "sshd-session",
    "dropbear",
    "login",
    "telnetd",
    "in.telnetd",
    "mosh-server",
    "cron",
    "crond",
    "atd",
    "tmux",
    "tmux: server",
    "screen",
    "systemd",
    "gdm-session-worker",
    "lightdm",
    "sddm",
    "xinetd",
    "inetd",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "conmon",
    "nginx",
    "httpd",
    "apache2",
    "php-fpm",
    "lighttpd",
    "caddy",
];

/// The scope of a finding for correlation: its container; else, on a host,
/// the session one session starter (sshd, cron, a web server, ...) started
/// for the process — the child of the farthest such ancestor; else the
/// farthest known ancestor below init (or the process itself).
pub(crate) fn correlation_scope(input: &FindingInput) -> Scope {
    if let Some(container) = &input.container {
        return Scope {
            key: format!("container:{}", container.id),
            kind: "container",
            label: format!("container {}", container.id),
        };
    }
    let process = &input.process;
    // The chain from the process up, nearest first, without init.
    let chain: Vec<(u32, &str)> = std::iter::once((process.pid, process.exe.as_str()))
        .chain(process.ancestry.iter().map(|a| (a.pid, a.exe.as_str())))
        .filter(|(pid, _)| *pid > 1)
        .collect();
    let starter = chain
        .iter()
        .rposition(|(_, exe)| SESSION_STARTERS.contains(&exe.rsplit('/').next().unwrap_or(exe)));
    if let Some(index) = starter
        && index > 0
    {
        let (pid, exe) = chain[index - 1];
        let (starter_pid, starter_exe) = chain[index];
        return Scope {
            key: format!("session:{pid}:{exe}"),
            kind: "session",
            label: format!(
                "the session {exe} (pid {pid}) started by {starter_exe} (pid {starter_pid})"
            ),
        };
    }
    let (pid, exe) = chain
        .last()
        .copied()
        .unwrap_or((process.pid, process.exe.as_str()));
    Scope {
        key: format!("lineage:{pid}:{exe}"),
        kind: "process-tree",
        label: format!("the process tree rooted at {exe} (pid {pid})"),
    }
}

/// Appends an executable path, or the pid when the path is unknown.
fn push_exe(key: &mut String, exe: &str, pid: u32) {
    if exe.is_empty() {
        key.push_str(&format!("pid={pid}"));
    } else {
        key.push_str(exe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{AncestorSummary, ContainerContext, DetectorRef, ProcessContext};

    fn input(pid: u32, exe: &str, ancestry: &[(u32, &str)]) -> FindingInput {
        FindingInput {
            raw: harrier_events::Finding {
                finding_type: "T".into(),
                severity: 5.0,
                title: String::new(),
                description: String::new(),
                mitre_technique: None,
                pid,
                event_seqs: vec![],
                evidence: vec![],
            },
            detector: DetectorRef::new("d", "1"),
            process: ProcessContext {
                pid,
                exe: exe.into(),
                ancestry: ancestry
                    .iter()
                    .map(|(pid, exe)| AncestorSummary {
                        pid: *pid,
                        exe: exe.to_string(),
                        cmdline: String::new(),
                    })
                    .collect(),
                ..Default::default()
            },
            container: None,
            kubernetes: None,
            events: vec![],
            time_ns: 0,
        }
    }

    #[test]
    fn host_merge_key_uses_exe_lineage_not_pids() {
        let a = input(
            10,
            "/tmp/xmrig",
            &[(9, "/bin/sh"), (8, "/usr/sbin/cron"), (1, "/sbin/init")],
        );
        let b = input(
            20,
            "/tmp/xmrig",
            &[(19, "/bin/sh"), (8, "/usr/sbin/cron"), (1, "/sbin/init")],
        );
        assert_eq!(merge_key(&a, 3), merge_key(&b, 3));
        assert_eq!(
            merge_key(&a, 3),
            "host:/tmp/xmrig</bin/sh</usr/sbin/cron</sbin/init"
        );
        let c = input(30, "/tmp/xmrig", &[(29, "/bin/bash")]);
        assert_ne!(merge_key(&a, 3), merge_key(&c, 3));
    }

    #[test]
    fn container_keys_ignore_the_process() {
        let mut a = input(10, "/bin/sh", &[]);
        let mut b = input(11, "/usr/bin/curl", &[]);
        for i in [&mut a, &mut b] {
            i.container = Some(ContainerContext {
                id: "c1".into(),
                ..Default::default()
            });
        }
        assert_eq!(merge_key(&a, 3), merge_key(&b, 3));
        assert_eq!(correlation_scope(&a).key, "container:c1");
    }

    #[test]
    fn correlation_scope_is_the_session_not_the_daemon() {
        let in_session = |pid, exe: &str, session: u32| {
            input(
                pid,
                exe,
                &[
                    (pid - 1, "/bin/bash"),
                    (session, "/usr/sbin/sshd-session"),
                    (900, "/usr/sbin/sshd"),
                    (1, "/sbin/init"),
                ],
            )
        };
        let shell = in_session(12, "/tmp/x", 1000);
        let miner = in_session(22, "/tmp/xmrig", 1000);
        let scope = correlation_scope(&shell);
        assert_eq!(scope.key, "session:1000:/usr/sbin/sshd-session");
        assert_eq!(scope.kind, "session");
        assert_eq!(correlation_scope(&miner), scope);
        // Another login of the same sshd is another session.
        let other = in_session(32, "/tmp/xmrig", 2000);
        assert_ne!(correlation_scope(&other), scope);
        // A web server's worker scopes what it starts.
        let web = input(
            12,
            "/bin/sh",
            &[
                (11, "/usr/sbin/nginx"),
                (10, "/usr/sbin/nginx"),
                (1, "/sbin/init"),
            ],
        );
        assert_eq!(correlation_scope(&web).key, "session:11:/usr/sbin/nginx");
        // Without any session starter: the tree root below init.
        let plain = input(
            13,
            "/tmp/x",
            &[(12, "/bin/sh"), (10, "/usr/bin/python3"), (1, "/sbin/init")],
        );
        assert_eq!(correlation_scope(&plain).key, "lineage:10:/usr/bin/python3");
        assert_eq!(correlation_scope(&plain).kind, "process-tree");
        let alone = input(10, "/usr/bin/python3", &[(1, "/sbin/init")]);
        assert_eq!(correlation_scope(&alone).key, "lineage:10:/usr/bin/python3");
    }
}
