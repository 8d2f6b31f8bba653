//! Harrier detector `persistence`: footholds and tampering with the files
//! that decide who logs in, what runs at boot and what gets recorded.
//!
//! - `Persistence:Runtime/SuspiciousCommand`: `crontab -` or `crontab FILE`
//!   installing a crontab, `systemctl enable`/`link` of a unit the host saw
//!   written recently (host `recent-write`) by a program that is not a
//!   package manager. (The Python example `persistence-py` shows the same
//!   rule in Python; this crate is what the default pack embeds.)
//! - GuardDuty's 2026 `SensitiveFileModified` types, driven by a successful
//!   open for writing, rename (to or from), link or symlink at, truncation
//!   or unlink of a listed file by a program that is not trusted to change it:
//!   - `Persistence:Runtime/SensitiveFileModified`: SSH authorized keys, user
//!     and system shell start-up files, `passwd`/`shadow`/`group`/`gshadow`,
//!     cron files, systemd units, init scripts, `ld.so.preload`;
//!   - `PrivilegeEscalation:Runtime/SensitiveFileModified`: sudoers, PAM,
//!     authentication configuration (`sshd_config`, `login.defs`, `nsswitch.conf`);
//!   - `DefenseEvasion:Runtime/SensitiveFileModified`: logs under `/var/log`
//!     (truncated, removed, renamed away or linked over, not appended to),
//!     audit and syslog configuration, shell history (changed by anything
//!     but a shell, or removed).
//!
//! Package managers are trusted everywhere; account tools (`useradd`,
//! `passwd`, ...) for the account files, `crontab`/`cron` for cron,
//! `systemctl`/`systemd` for units, log daemons and `logrotate` for logs,
//! shells for their own history. `trusted_writers` adds programs.

#![deny(missing_docs)]

use harrier_sdk::matching::{basename, is_shell};
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, ExecEvent, Finding, FindingBuilder, FindingSpec,
    Metadata, Policy, config, finding, host, testing,
};
use serde::Deserialize;

/// A crontab installed or a recently written unit enabled.
pub const PERSIST_CMD: FindingSpec = FindingSpec {
    finding_type: "Persistence:Runtime/SuspiciousCommand",
    severity: 6.0,
    title: "Suspicious persistence command executed",
    description: "A crontab was installed, or a systemd unit written recently by a program that is not a package manager was enabled.",
    mitre: "T1053.003",
};
/// A persistence file changed.
pub const PERSIST_FILE: FindingSpec = FindingSpec {
    finding_type: "Persistence:Runtime/SensitiveFileModified",
    severity: 5.0,
    title: "Sensitive file modified for persistence",
    description: "A file that grants logins or runs code at login, boot or on a schedule (SSH authorized keys, shell start-up files, account database, cron, systemd units, init scripts) was modified by a program not trusted to change it.",
    mitre: "T1098",
};
/// A privilege file changed.
pub const PRIVESC_FILE: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/SensitiveFileModified",
    severity: 5.0,
    title: "Sensitive file modified for privilege escalation",
    description: "A file that decides who may become root or how users authenticate (sudoers, PAM, authentication configuration) was modified by a program not trusted to change it.",
    mitre: "T1548.003",
};
/// A record-keeping file changed.
pub const EVASION_FILE: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/SensitiveFileModified",
    severity: 5.0,
    title: "Sensitive file modified to evade defenses",
    description: "A log was truncated, removed or replaced, audit or syslog configuration was changed, or shell history was tampered with, by a program not trusted to do so.",
    mitre: "T1070",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 4] = [PERSIST_CMD, PERSIST_FILE, PRIVESC_FILE, EVASION_FILE];

/// Package managers and image tools: trusted for every file.
pub const PACKAGE_MANAGERS: &[&str] = &[
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
    "unattended-upgrade",
    "packagekitd",
    "ucf",
    "deb-systemd-helper",
    "update-rc.d",
    "insserv",
    "systemd-sysv-install",
];
/// Account tools, trusted for the account database.
const ACCOUNT_TOOLS: &[&str] = &[
    "useradd",
    "usermod",
    "userdel",
    "groupadd",
    "groupmod",
    "groupdel",
    "passwd",
    "chpasswd",
    "chage",
    "chsh",
    "chfn",
    "gpasswd",
    "newusers",
    "pwconv",
    "pwunconv",
    "grpconv",
    "grpunconv",
    "vipw",
    "vigr",
    "shadowconfig",
    "systemd-sysusers",
];
/// Trusted for cron files.
const CRON_TOOLS: &[&str] = &["crontab", "cron", "crond", "anacron"];
/// Trusted for systemd units and init scripts.
const UNIT_TOOLS: &[&str] = &["systemctl", "systemd"];
/// Trusted for logs.
const LOG_TOOLS: &[&str] = &[
    "logrotate",
    "rsyslogd",
    "syslog-ng",
    "systemd-journald",
    "journalctl",
    "auditd",
    "systemd",
];

/// What a sensitive file is for: the type it raises and who may change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Accounts,
    Cron,
    Units,
    /// Other persistence files: authorized keys, shell start-up, preload.
    Persistence,
    Privilege,
    Log,
    AuditConfig,
    History,
}

impl Class {
    fn spec(self) -> &'static FindingSpec {
        match self {
            Class::Accounts | Class::Cron | Class::Units | Class::Persistence => &PERSIST_FILE,
            Class::Privilege => &PRIVESC_FILE,
            Class::Log | Class::AuditConfig | Class::History => &EVASION_FILE,
        }
    }

    /// Programs (besides package managers) trusted to change such a file.
    fn trusted(self) -> &'static [&'static str] {
        match self {
            Class::Accounts => ACCOUNT_TOOLS,
            Class::Cron => CRON_TOOLS,
            Class::Units => UNIT_TOOLS,
            Class::Log => LOG_TOOLS,
            _ => &[],
        }
    }
}

/// Files by exact path.
const FILES: &[(&str, Class, &str)] = &[
    ("/etc/passwd", Class::Accounts, "account database"),
    ("/etc/shadow", Class::Accounts, "account database"),
    ("/etc/group", Class::Accounts, "account database"),
    ("/etc/gshadow", Class::Accounts, "account database"),
    ("/etc/crontab", Class::Cron, "cron table"),
    ("/etc/anacrontab", Class::Cron, "cron table"),
    ("/etc/rc.local", Class::Units, "init script"),
    (
        "/etc/ld.so.preload",
        Class::Persistence,
        "dynamic linker preload",
    ),
    ("/etc/profile", Class::Persistence, "shell start-up file"),
    (
        "/etc/bash.bashrc",
        Class::Persistence,
        "shell start-up file",
    ),
    (
        "/etc/environment",
        Class::Persistence,
        "shell start-up file",
    ),
    ("/etc/sudoers", Class::Privilege, "sudoers"),
    ("/etc/pam.conf", Class::Privilege, "PAM configuration"),
    (
        "/etc/ssh/sshd_config",
        Class::Privilege,
        "authentication configuration",
    ),
    (
        "/etc/login.defs",
        Class::Privilege,
        "authentication configuration",
    ),
    (
        "/etc/nsswitch.conf",
        Class::Privilege,
        "authentication configuration",
    ),
    (
        "/etc/rsyslog.conf",
        Class::AuditConfig,
        "syslog configuration",
    ),
    (
        "/etc/syslog-ng/syslog-ng.conf",
        Class::AuditConfig,
        "syslog configuration",
    ),
    (
        "/etc/systemd/journald.conf",
        Class::AuditConfig,
        "journal configuration",
    ),
];
/// Files by prefix.
const PREFIXES: &[(&str, Class, &str)] = &[
    ("/etc/cron.d/", Class::Cron, "cron file"),
    ("/etc/cron.hourly/", Class::Cron, "cron file"),
    ("/etc/cron.daily/", Class::Cron, "cron file"),
    ("/etc/cron.weekly/", Class::Cron, "cron file"),
    ("/etc/cron.monthly/", Class::Cron, "cron file"),
    ("/var/spool/cron/", Class::Cron, "crontab"),
    ("/etc/systemd/system/", Class::Units, "systemd unit"),
    ("/etc/systemd/user/", Class::Units, "systemd unit"),
    ("/usr/lib/systemd/system/", Class::Units, "systemd unit"),
    ("/lib/systemd/system/", Class::Units, "systemd unit"),
    ("/etc/init.d/", Class::Units, "init script"),
    ("/etc/profile.d/", Class::Persistence, "shell start-up file"),
    ("/etc/sudoers.d/", Class::Privilege, "sudoers"),
    ("/etc/pam.d/", Class::Privilege, "PAM configuration"),
    ("/etc/security/", Class::Privilege, "PAM configuration"),
    (
        "/etc/ssh/sshd_config.d/",
        Class::Privilege,
        "authentication configuration",
    ),
    ("/etc/audit/", Class::AuditConfig, "audit configuration"),
    (
        "/etc/rsyslog.d/",
        Class::AuditConfig,
        "syslog configuration",
    ),
    ("/var/log/", Class::Log, "log file"),
];
/// User start-up files by name (in any home directory).
const SHELL_RC: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
    ".kshrc",
    ".cshrc",
    ".tcshrc",
];

/// What happened to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Opened for writing without truncating (appends included).
    Write,
    /// Truncated (O_TRUNC open or truncate(2)).
    Truncate,
    /// Replaced by a rename onto it, or renamed away.
    Rename,
    /// A link or symlink created at its path.
    Link,
    /// Removed.
    Unlink,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Change::Write => "opened for writing",
            Change::Truncate => "truncated",
            Change::Rename => "renamed",
            Change::Link => "linked",
            Change::Unlink => "removed",
        }
    }
}

const WRITE_FLAGS: u32 = 0o3;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;
/// Unit directories `systemctl enable NAME` looks in.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system/",
    "/usr/lib/systemd/system/",
    "/lib/systemd/system/",
];
/// How recent a unit's write must be for its enabling to count.
const UNIT_WINDOW_NS: u64 = 600 * 1_000_000_000;

/// The detector's own configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    /// More programs trusted to change any listed file.
    trusted_writers: Vec<String>,
    /// More path prefixes whose change is `Persistence:Runtime/SensitiveFileModified`.
    extra_persistence_paths: Vec<String>,
}

/// The persistence detector.
pub struct Persistence {
    policy: Policy,
    own: Own,
}

/// The class and kind of a listed path.
fn classify(path: &str) -> Option<(Class, &'static str)> {
    if let Some((_, class, what)) = FILES.iter().find(|(p, _, _)| *p == path) {
        return Some((*class, what));
    }
    if let Some((_, class, what)) = PREFIXES.iter().find(|(p, _, _)| path.starts_with(p)) {
        return Some((*class, what));
    }
    let name = basename(path);
    if path.ends_with("/.ssh/authorized_keys") || path.ends_with("/.ssh/authorized_keys2") {
        Some((Class::Persistence, "SSH authorized keys"))
    } else if path.contains("/.config/systemd/user/") {
        Some((Class::Units, "systemd user unit"))
    } else if SHELL_RC.contains(&name) && path.starts_with('/') {
        Some((Class::Persistence, "shell start-up file"))
    } else if name.ends_with("_history") || name == ".history" {
        Some((Class::History, "shell history"))
    } else {
        None
    }
}

impl Persistence {
    fn trusted(&self, class: Class, exe: &str) -> bool {
        let name = basename(exe);
        PACKAGE_MANAGERS.contains(&name)
            || class.trusted().contains(&name)
            || self.own.trusted_writers.iter().any(|w| w == name)
    }

    /// A change of `path`: the finding, if the path is listed and the
    /// change matters for its class.
    fn on_change(&self, event: &Event, path: &str, change: Change, out: &mut Vec<Finding>) {
        let listed = classify(path).or_else(|| {
            self.own
                .extra_persistence_paths
                .iter()
                .any(|p| path.starts_with(p.as_str()))
                .then_some((Class::Persistence, "configured persistence path"))
        });
        let Some((class, what)) = listed else { return };
        let exe = &event.process.exe;
        let matters = match class {
            // Logs grow all day; clearing or replacing them is the tampering.
            Class::Log => change != Change::Write,
            // Shells write their own history.
            Class::History => change == Change::Unlink || !is_shell(basename(exe)),
            _ => true,
        };
        if !matters || self.trusted(class, exe) {
            return;
        }
        let spec = class.spec();
        if self
            .policy
            .permits(spec.finding_type, &event.process, Some(path))
        {
            out.push(
                FindingBuilder::new(spec, event)
                    .evidence("path", path)
                    .evidence("file_kind", what)
                    .evidence("change", change.name())
                    .evidence("exe", exe)
                    .build(),
            );
        }
    }

    fn on_exec(&self, event: &Event, exec: &ExecEvent, out: &mut Vec<Finding>) {
        let name = basename(&exec.filename);
        let args = exec.args.get(1..).unwrap_or_default();
        let cmdline = || exec.args.join(" ");
        let found = match name {
            "crontab" => crontab_source(args).map(|source| {
                FindingBuilder::new(&PERSIST_CMD, event)
                    .evidence("rule", "crontab installed")
                    .evidence("cmdline", cmdline())
                    .evidence("crontab_source", source)
            }),
            "systemctl" => self.enabled_fresh_unit(args).map(|(path, writer)| {
                FindingBuilder::new(&PERSIST_CMD, event)
                    .evidence("rule", "recently written unit enabled")
                    .evidence("cmdline", cmdline())
                    .evidence("unit_path", path)
                    .evidence("modifying_process_exe", writer)
            }),
            _ => None,
        };
        if let Some(b) = found
            && self
                .policy
                .permits(PERSIST_CMD.finding_type, &event.process, None)
        {
            out.push(b.build());
        }
    }

    /// The unit path and writer of a recently written unit that
    /// `systemctl enable|link|reenable` names, if any.
    fn enabled_fresh_unit(&self, args: &[String]) -> Option<(String, String)> {
        const VERBS: &[&str] = &["enable", "link", "reenable"];
        if !args.iter().any(|a| VERBS.contains(&a.as_str())) {
            return None;
        }
        let now = host::now_ns();
        let units = args
            .iter()
            .filter(|a| !a.starts_with('-') && !VERBS.contains(&a.as_str()));
        for unit in units {
            let candidates: Vec<String> = if unit.starts_with('/') {
                vec![unit.clone()]
            } else {
                UNIT_DIRS.iter().map(|d| format!("{d}{unit}")).collect()
            };
            for path in candidates {
                if let Some(w) = host::recent_write(&path)
                    && now.saturating_sub(w.time_ns) <= UNIT_WINDOW_NS
                    && !self.trusted(Class::Units, &w.writer_exe)
                {
                    return Some((path, w.writer_exe));
                }
            }
        }
        None
    }
}

/// What `crontab` installs from: `-` (standard input) or a file; `None` for
/// listing, editing, removing or help.
fn crontab_source(args: &[String]) -> Option<&str> {
    const NOT_INSTALLING: &[&str] = &["-l", "-e", "-r", "-h", "--help", "-V"];
    if args.iter().any(|a| NOT_INSTALLING.contains(&a.as_str())) {
        return None;
    }
    // `-u USER` takes a value; anything else not an option is the source.
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "-u" => {
                rest.next();
            }
            "-" => return Some("-"),
            a if a.starts_with('-') => {}
            a => return Some(a),
        }
    }
    None
}

impl Detector for Persistence {
    fn metadata() -> Metadata {
        finding::metadata(
            "persistence",
            env!("CARGO_PKG_VERSION"),
            "Crontabs installed and fresh units enabled; sensitive files (authorized keys, shell start-up, accounts, cron, units, sudoers, PAM, logs, audit configuration, history) modified.",
            &[
                EventKind::Exec,
                EventKind::FileOpen,
                EventKind::FileRename,
                EventKind::FileLink,
                EventKind::FileUnlink,
                EventKind::FileTruncate,
            ],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        if let Some(bad) = own
            .extra_persistence_paths
            .iter()
            .find(|p| !p.starts_with('/'))
        {
            return Err(format!(
                "invalid configuration: `extra_persistence_paths`: `{bad}` is not an absolute path"
            ));
        }
        Ok(Self { policy, own })
    }

    /// Only changes matter: writing opens always arrive, no read is wanted.
    fn read_path_prefixes(&self) -> Option<Vec<String>> {
        Some(Vec::new())
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        match &event.detail {
            EventDetail::FileOpen(open) => {
                // Hot path: only successful writing opens of absolute paths.
                if open.result < 0
                    || open.flags & (WRITE_FLAGS | O_CREAT | O_TRUNC) == 0
                    || !open.path.starts_with('/')
                {
                    return;
                }
                let change = if open.flags & O_TRUNC != 0 {
                    Change::Truncate
                } else {
                    Change::Write
                };
                self.on_change(event, &open.path, change, out);
            }
            EventDetail::FileRename(r) if r.result >= 0 => {
                self.on_change(event, &r.new_path, Change::Rename, out);
                if classify(&r.old_path).is_some() {
                    self.on_change(event, &r.old_path, Change::Rename, out);
                }
            }
            EventDetail::FileLink(l) if l.result >= 0 => {
                self.on_change(event, &l.link_path, Change::Link, out)
            }
            EventDetail::FileUnlink(u) if u.result >= 0 => {
                self.on_change(event, &u.path, Change::Unlink, out)
            }
            EventDetail::FileTruncate(t) if t.result >= 0 => {
                self.on_change(event, &t.path, Change::Truncate, out)
            }
            EventDetail::Exec(exec) => self.on_exec(event, exec, out),
            _ => {}
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/persistence/detect.jsonl"),
            |_| {},
            &[
                PERSIST_CMD.finding_type,
                PERSIST_FILE.finding_type,
                PERSIST_FILE.finding_type,
                PRIVESC_FILE.finding_type,
                EVASION_FILE.finding_type,
            ],
        )
    }
}

harrier_sdk::export_detector!(Persistence);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{medium_or_worse, types};

    harrier_sdk::detector_tests!(Persistence);

    #[test]
    fn detects_every_type() {
        let f = run("{}", "persistence/detect.jsonl");
        let got: Vec<(u32, &str, Option<&str>)> = f
            .iter()
            .map(|f| {
                let path = f
                    .evidence
                    .iter()
                    .find(|e| e.key == "path")
                    .map(|e| e.value.as_str());
                (f.pid, f.finding_type.as_str(), path)
            })
            .collect();
        assert_eq!(
            got,
            [
                (1300, PERSIST_CMD.finding_type, None),
                (1301, PERSIST_FILE.finding_type, Some("/etc/cron.d/update")),
                (
                    1302,
                    PERSIST_FILE.finding_type,
                    Some("/root/.ssh/authorized_keys")
                ),
                (
                    1303,
                    PRIVESC_FILE.finding_type,
                    Some("/etc/sudoers.d/90-backdoor")
                ),
                (1304, EVASION_FILE.finding_type, Some("/var/log/auth.log")),
            ],
            "{f:#?}"
        );
    }

    #[test]
    fn classes_and_changes() {
        assert_eq!(
            classify("/home/bob/.bashrc").map(|c| c.0),
            Some(Class::Persistence)
        );
        assert_eq!(classify("/etc/passwd").map(|c| c.0), Some(Class::Accounts));
        assert_eq!(
            classify("/etc/pam.d/sshd").map(|c| c.0),
            Some(Class::Privilege)
        );
        assert_eq!(
            classify("/root/.bash_history").map(|c| c.0),
            Some(Class::History)
        );
        assert_eq!(classify("/etc/hostname"), None);
        assert_eq!(
            crontab_source(&["-u".into(), "bob".into(), "-".into()]),
            Some("-")
        );
        assert_eq!(
            crontab_source(&["/tmp/cron.txt".into()]),
            Some("/tmp/cron.txt")
        );
        assert_eq!(crontab_source(&["-l".into()]), None);
        assert_eq!(crontab_source(&["-u".into(), "bob".into()]), None);
    }

    #[test]
    fn trusted_programs_and_ordinary_changes_are_quiet() {
        let f = run(
            r#"{"trusted_writers":["sh"],"disabled_types":["Persistence:Runtime/SuspiciousCommand"]}"#,
            "persistence/detect.jsonl",
        );
        // The cron file and the key were written by sh; the sudoers and log by others.
        assert_eq!(
            types(&f),
            [EVASION_FILE.finding_type, PRIVESC_FILE.finding_type],
            "{f:#?}"
        );
        assert!(Persistence::new(r#"{"extra_persistence_paths":["opt/x"]}"#).is_err());
        assert!(Persistence::new(r#"{"trusted_writer":[]}"#).is_err());
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
