//! Harrier detector `file-access`: Falco's stable file rules.
//!
//! - `CredentialAccess:Runtime/SensitiveFileRead`: `/etc/shadow`,
//!   `/etc/sudoers`, SSH host keys, root's SSH keys... opened by a program
//!   that is not trusted to (Falco "Read sensitive file untrusted").
//! - `CredentialAccess:Runtime/SensitiveFileReadAfterStartup`: the same
//!   files opened by a server (nginx, httpd, mysqld, postgres, dockerd...)
//!   more than 5 s after it started (Falco "Read sensitive file trusted after
//!   startup"); reads while it starts are its own.
//! - `CredentialAccess:Runtime/PrivateKeySearch`: `find`/`grep`/`locate`
//!   looking for private keys or passwords (Falco "Search Private Keys or
//!   Passwords").
//! - `CredentialAccess:Runtime/CloudCredentialSearch`: searching for cloud
//!   credentials (Falco "Find AWS Credentials").
//! - `CredentialAccess:Runtime/SymlinkOverSensitiveFile` and
//!   `CredentialAccess:Runtime/HardlinkOverSensitiveFile`: links made to
//!   sensitive files (Falco "Create Symlink/Hardlink Over Sensitive Files").
//! - `DefenseEvasion:Runtime/LogFileCleared`: a log under `/var/log`
//!   truncated, or login records removed (Falco "Clear Log Activities").
//! - `DefenseEvasion:Runtime/ShellHistoryCleared`: shell history truncated by
//!   a non-shell, removed, or linked to `/dev/null`.
//!
//! The hot path is `file-open`: one prefix test rejects nearly every open
//! without allocating.

#![deny(missing_docs)]

use harrier_sdk::matching::{any_arg_contains, basename, contains_ignore_case, is_shell};
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, ExecEvent, Finding, FindingBuilder, FindingSpec,
    Metadata, Policy, config, finding, testing,
};
use serde::Deserialize;

/// A sensitive file was read by an untrusted program.
pub const SENSITIVE_READ: FindingSpec = FindingSpec {
    finding_type: "CredentialAccess:Runtime/SensitiveFileRead",
    severity: 6.0,
    title: "Sensitive file read by an untrusted program",
    description: "A program that has no reason to was able to open a credential file such as /etc/shadow, /etc/sudoers or SSH private keys.",
    mitre: "T1003.008",
};
/// A sensitive file was read by a server long after it started.
pub const SENSITIVE_READ_AFTER_STARTUP: FindingSpec = FindingSpec {
    finding_type: "CredentialAccess:Runtime/SensitiveFileReadAfterStartup",
    severity: 6.0,
    title: "Sensitive file read by a server after its start-up",
    description: "A server program (web or database server, container engine) opened a credential file such as /etc/shadow long after it started: servers read such files while starting, if at all, so a later read is what an attacker inside the server does (Falco: Read sensitive file trusted after startup).",
    mitre: "T1003.008",
};
/// A search for private keys or passwords.
pub const KEY_SEARCH: FindingSpec = FindingSpec {
    finding_type: "CredentialAccess:Runtime/PrivateKeySearch",
    severity: 5.0,
    title: "Search for private keys or passwords",
    description: "find, grep or locate was used to look for private keys, key files or passwords.",
    mitre: "T1552.001",
};
/// A search for cloud credentials.
pub const CLOUD_SEARCH: FindingSpec = FindingSpec {
    finding_type: "CredentialAccess:Runtime/CloudCredentialSearch",
    severity: 5.0,
    title: "Search for cloud credentials",
    description: "A search for cloud credential files or keys (AWS credentials, access keys) was run.",
    mitre: "T1552.001",
};
/// A symlink to a sensitive file.
pub const SYMLINK: FindingSpec = FindingSpec {
    finding_type: "CredentialAccess:Runtime/SymlinkOverSensitiveFile",
    severity: 6.0,
    title: "Symlink created over a sensitive file",
    description: "A symbolic link to a sensitive file or directory was created, to read it through a path an application trusts.",
    mitre: "T1555",
};
/// A hardlink to a sensitive file.
pub const HARDLINK: FindingSpec = FindingSpec {
    finding_type: "CredentialAccess:Runtime/HardlinkOverSensitiveFile",
    severity: 6.0,
    title: "Hardlink created over a sensitive file",
    description: "A hard link to a sensitive file was created, to read or keep it under another name.",
    mitre: "T1555",
};
/// A log was cleared.
pub const LOG_CLEARED: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/LogFileCleared",
    severity: 6.0,
    title: "Log file cleared",
    description: "A log file under /var/log was truncated or login records were removed by a program that does not manage logs.",
    mitre: "T1070.002",
};
/// Shell history was cleared.
pub const HISTORY_CLEARED: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/ShellHistoryCleared",
    severity: 5.0,
    title: "Shell history cleared",
    description: "A shell history file was removed, truncated by a program other than the shell, or linked to /dev/null.",
    mitre: "T1070.003",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 8] = [
    SENSITIVE_READ,
    SENSITIVE_READ_AFTER_STARTUP,
    KEY_SEARCH,
    CLOUD_SEARCH,
    SYMLINK,
    HARDLINK,
    LOG_CLEARED,
    HISTORY_CLEARED,
];

/// Sensitive files by exact path.
pub const SENSITIVE_FILES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/pam.conf",
    "/etc/security/pwquality.conf",
    "/etc/security/opasswd",
];
/// Sensitive files by prefix.
pub const SENSITIVE_PREFIXES: &[&str] = &[
    "/etc/sudoers.d/",
    "/etc/pam.d/",
    "/root/.ssh/",
    "/etc/ssh/ssh_host_",
];
/// Directories whose link is as bad as a link to a sensitive file (Falco).
pub const SENSITIVE_DIRS: &[&str] = &["/", "/etc", "/etc/", "/root", "/root/"];

/// Programs trusted to read sensitive files.
pub const TRUSTED_READERS: &[&str] = &[
    "sshd",
    "sudo",
    "su",
    "login",
    "passwd",
    "unix_chkpwd",
    "chage",
    "useradd",
    "userdel",
    "usermod",
    "groupadd",
    "groupmod",
    "groupdel",
    "vipw",
    "vigr",
    "pwck",
    "grpck",
    "chpasswd",
    "chsh",
    "chfn",
    "newgrp",
    "gpasswd",
    "systemd",
    "systemd-logind",
    "systemd-userdbd",
    "cron",
    "crond",
    "atd",
    "dbus-daemon",
    "polkitd",
    "accounts-daemon",
    "gdm-session-worker",
    "sssd",
    "nscd",
    "shadowconfig",
    "pkexec",
    "runuser",
    "doas",
    "ssh-keygen",
    "sshd-session",
    "sshd-auth",
    "dpkg",
    "rpm",
    "apt-get",
    "apt",
    "yum",
    "dnf",
];
/// Servers trusted to read sensitive files while they start, and only then
/// (Falco's `server_procs` without sshd, which reads them per connection).
pub const SERVER_PROGRAMS: &[&str] = &[
    "nginx",
    "httpd",
    "httpd-foregroun",
    "lighttpd",
    "apache",
    "apache2",
    "mysqld",
    "mariadbd",
    "postgres",
    "sqlplus",
    "docker",
    "dockerd",
    "docker-compose",
    "docker-entrypoi",
    "docker-runc-cur",
    "docker-current",
    "dockerd-current",
];
/// How long after a server's start its sensitive reads count as start-up
/// (Falco's `proc_is_new`).
const STARTUP_NS: u64 = 5_000_000_000;

/// Programs trusted to truncate or remove logs.
pub const TRUSTED_LOG_WRITERS: &[&str] = &[
    "logrotate",
    "rsyslogd",
    "syslog-ng",
    "systemd-journald",
    "journalctl",
    "auditd",
    "systemd",
    "dpkg",
    "rpm",
];
/// Program names that search.
const SEARCHERS: &[&str] = &[
    "find", "grep", "egrep", "fgrep", "rg", "ag", "locate", "mlocate", "plocate", "fd", "ack",
];
/// Key material or key file names: a search for any of them is a key search.
const KEY_NEEDLES: &[&str] = &[
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "begin private",
    "begin rsa private",
    "begin dsa private",
    "begin ec private",
    "begin openssh private",
    "begin encrypted private",
    "ssh_host_",
];
/// Key file extensions: a search for them by name (`find -name '*.pem'`, `locate .key`).
const KEY_FILE_NEEDLES: &[&str] = &[".pem", ".key", ".p12", ".pfx", ".ppk"];
/// Password patterns: a key search only as what a recursive grep (or a
/// find by name) looks for, not as a file it reads (`grep root /etc/passwd`).
const PASSWORD_NEEDLES: &[&str] = &["passw"];
/// Needles of a cloud credential search.
const CLOUD_NEEDLES: &[&str] = &[
    "aws_secret_access_key",
    "aws_access_key_id",
    ".aws/credentials",
    "credentials",
    "akia",
];
/// Login records under /var/log.
const LOGIN_RECORDS: &[&str] = &[
    "/var/log/wtmp",
    "/var/log/btmp",
    "/var/log/lastlog",
    "/var/log/auth.log",
    "/var/log/secure",
];

const WRITE_FLAGS: u32 = 0o3;
const O_TRUNC: u32 = 0o1000;

/// The detector's own configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    extra_sensitive_files: Vec<String>,
    trusted_readers: Vec<String>,
    trusted_log_writers: Vec<String>,
}

/// The file-access detector.
pub struct FileAccess {
    policy: Policy,
    own: Own,
}

/// Whether `path` names a shell history file.
fn is_history(path: &str) -> bool {
    let n = basename(path);
    n.ends_with("_history") || n == ".history" || n == "fish_history"
}

impl FileAccess {
    fn is_sensitive(&self, path: &str) -> bool {
        SENSITIVE_FILES.contains(&path)
            || SENSITIVE_PREFIXES
                .iter()
                .any(|p| path.starts_with(p) && !path.ends_with(".pub"))
            || self.own.extra_sensitive_files.iter().any(|f| f == path)
    }

    fn trusted_reader(&self, exe: &str) -> bool {
        let n = basename(exe);
        TRUSTED_READERS.contains(&n) || self.own.trusted_readers.iter().any(|r| r == n)
    }

    /// A read of a sensitive file: by a server after start-up, or by a
    /// program not trusted to read it at all.
    fn sensitive_read(&self, event: &Event, path: &str, out: &mut Vec<Finding>) {
        let exe = &event.process.exe;
        if SERVER_PROGRAMS.contains(&basename(exe)) {
            if started_long_ago(event, STARTUP_NS) {
                self.emit(&SENSITIVE_READ_AFTER_STARTUP, event, path, out);
            }
        } else if !self.trusted_reader(exe) {
            self.emit(&SENSITIVE_READ, event, path, out);
        }
    }

    fn trusted_log_writer(&self, exe: &str) -> bool {
        let n = basename(exe);
        TRUSTED_LOG_WRITERS.contains(&n) || self.own.trusted_log_writers.iter().any(|r| r == n)
    }

    fn emit(&self, spec: &FindingSpec, event: &Event, path: &str, out: &mut Vec<Finding>) {
        if self
            .policy
            .permits(spec.finding_type, &event.process, Some(path))
        {
            out.push(
                FindingBuilder::new(spec, event)
                    .evidence("path", path)
                    .build(),
            );
        }
    }

    /// A log or history file was emptied (truncate, O_TRUNC open) or removed.
    fn cleared(&self, event: &Event, path: &str, removed: bool, out: &mut Vec<Finding>) {
        let exe = &event.process.exe;
        if path.starts_with("/var/log/") && !self.trusted_log_writer(exe) {
            if !removed || LOGIN_RECORDS.contains(&path) {
                self.emit(&LOG_CLEARED, event, path, out);
            }
        } else if is_history(path) && (removed || !is_shell(basename(exe))) {
            self.emit(&HISTORY_CLEARED, event, path, out);
        }
    }

    fn on_exec(&self, event: &Event, exec: &ExecEvent, out: &mut Vec<Finding>) {
        let program = basename(&exec.filename);
        if !SEARCHERS.contains(&program) {
            return;
        }
        let args = exec.args.get(1..).unwrap_or(&[]);
        let spec = if CLOUD_NEEDLES.iter().any(|n| any_arg_contains(args, n)) {
            &CLOUD_SEARCH
        } else if key_search(program, args) {
            &KEY_SEARCH
        } else {
            return;
        };
        if self.policy.permits(spec.finding_type, &event.process, None) {
            out.push(
                FindingBuilder::new(spec, event)
                    .evidence("cmdline", exec.args.join(" "))
                    .build(),
            );
        }
    }
}

/// Whether the event's process started at least `window_ns` before it, by
/// the host's process table. An unknown start is not long ago: the live
/// agent knows a running server's start from procfs, so only a capture
/// without it (a replay) lacks one, and a guess would be a finding.
fn started_long_ago(event: &Event, window_ns: u64) -> bool {
    harrier_sdk::host::process(event.process.pid)
        .map(|p| p.start_time_ns)
        .is_some_and(|start| start != 0 && event.time_ns.saturating_sub(start) >= window_ns)
}

/// Whether a search looks for private keys or passwords (Falco "Search
/// Private Keys or Passwords"): key material or key file names anywhere;
/// key file extensions and passwords only as the thing searched for.
fn key_search(program: &str, args: &[String]) -> bool {
    if KEY_NEEDLES.iter().any(|n| any_arg_contains(args, n)) {
        return true;
    }
    let sought = searched_for(program, args);
    let wants = |needles: &[&str]| {
        sought
            .iter()
            .any(|a| needles.iter().any(|n| contains_ignore_case(a, n)))
    };
    match program {
        "find" | "locate" | "mlocate" | "plocate" | "fd" => {
            wants(KEY_FILE_NEEDLES) || wants(PASSWORD_NEEDLES)
        }
        _ => wants(PASSWORD_NEEDLES) && recursive(program, args),
    }
}

/// What a search looks for: `find`'s `-name`/`-iname`/`-path`/`-regex`
/// patterns, `locate`/`fd` operands, a grep's `-e` patterns or first operand.
fn searched_for<'a>(program: &str, args: &'a [String]) -> Vec<&'a str> {
    let after = |flags: &[&str]| -> Vec<&'a str> {
        args.windows(2)
            .filter(|w| flags.contains(&w[0].as_str()))
            .map(|w| w[1].as_str())
            .collect()
    };
    match program {
        "find" => after(&[
            "-name",
            "-iname",
            "-path",
            "-ipath",
            "-regex",
            "-iregex",
            "-wholename",
        ]),
        "locate" | "mlocate" | "plocate" | "fd" => args
            .iter()
            .filter(|a| !a.starts_with('-'))
            .map(String::as_str)
            .collect(),
        _ => {
            let patterns = after(&["-e", "--regexp"]);
            if !patterns.is_empty() {
                return patterns;
            }
            args.iter()
                .find(|a| !a.starts_with('-'))
                .map(|a| vec![a.as_str()])
                .unwrap_or_default()
        }
    }
}

/// Whether a grep-like search walks directories (`rg`, `ag`, `ack` always do).
fn recursive(program: &str, args: &[String]) -> bool {
    matches!(program, "rg" | "ag" | "ack")
        || args.iter().any(|a| {
            a == "--recursive"
                || a == "--dereference-recursive"
                || (a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R']))
        })
}

impl Detector for FileAccess {
    fn metadata() -> Metadata {
        finding::metadata(
            "file-access",
            env!("CARGO_PKG_VERSION"),
            "Falco file rules: sensitive file reads, key and credential searches, links over sensitive files, log and shell history clearing.",
            &[
                EventKind::FileOpen,
                EventKind::FileLink,
                EventKind::FileTruncate,
                EventKind::FileUnlink,
                EventKind::Exec,
            ],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        Ok(Self { policy, own })
    }

    /// Only sensitive files matter when read; writes always arrive.
    fn read_path_prefixes(&self) -> Option<Vec<String>> {
        let builtin = SENSITIVE_FILES.iter().chain(SENSITIVE_PREFIXES);
        let configured = self.own.extra_sensitive_files.iter().map(String::as_str);
        Some(
            builtin
                .copied()
                .chain(configured)
                .map(str::to_owned)
                .collect(),
        )
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        match &event.detail {
            EventDetail::FileOpen(open) => {
                let p = open.path.as_str();
                // Hot path: a prefix test rejects almost every open.
                if open.result < 0
                    || !(p.starts_with("/etc/")
                        || p.starts_with("/root/")
                        || p.starts_with("/var/log/")
                        || p.ends_with("history"))
                {
                    return;
                }
                if open.flags & O_TRUNC != 0 && open.flags & WRITE_FLAGS != 0 {
                    self.cleared(event, p, false, out);
                } else if open.flags & WRITE_FLAGS == 0 && self.is_sensitive(p) {
                    self.sensitive_read(event, p, out);
                }
            }
            EventDetail::FileTruncate(t) if t.result >= 0 => {
                self.cleared(event, &t.path, false, out)
            }
            EventDetail::FileUnlink(u) if u.result >= 0 => self.cleared(event, &u.path, true, out),
            EventDetail::FileLink(l) if l.result >= 0 => {
                let target = l.target.as_str();
                if is_history(&l.link_path) && target == "/dev/null" {
                    self.emit(&HISTORY_CLEARED, event, &l.link_path, out);
                } else if self.is_sensitive(target)
                    || (l.symbolic && SENSITIVE_DIRS.contains(&target))
                {
                    let spec = if l.symbolic { &SYMLINK } else { &HARDLINK };
                    if self
                        .policy
                        .permits(spec.finding_type, &event.process, Some(target))
                    {
                        out.push(
                            FindingBuilder::new(spec, event)
                                .evidence("target", target)
                                .evidence("link_path", &l.link_path)
                                .build(),
                        );
                    }
                }
            }
            EventDetail::Exec(exec) => self.on_exec(event, exec, out),
            _ => {}
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/file-access/detect.jsonl"),
            |_| {},
            &SPECS.map(|s| s.finding_type),
        )
    }
}

harrier_sdk::export_detector!(FileAccess);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{Harness, load_fixture, medium_or_worse, types};

    harrier_sdk::detector_tests!(FileAccess);

    #[test]
    fn detects_every_type_once() {
        let f = run("{}", "file-access/detect.jsonl");
        let mut want: Vec<String> = SPECS.iter().map(|s| s.finding_type.to_string()).collect();
        want.sort();
        assert_eq!(types(&f), want, "{f:#?}");
    }

    #[test]
    fn configuration_cuts_noise() {
        let f = run(
            r#"{"trusted_readers":["python3"],"allow_paths":["/var/log/*"]}"#,
            "file-access/detect.jsonl",
        );
        assert_eq!(f.len(), 6, "{f:#?}");
        assert!(
            FileAccess::new(r#"{"trusted_readers":{}}"#)
                .err()
                .unwrap()
                .contains("trusted_readers")
        );
    }

    #[test]
    fn a_server_reading_credentials_counts_only_after_its_start_up() {
        let f = run("{}", "file-access/detect.jsonl");
        let after: Vec<u32> = f
            .iter()
            .filter(|f| f.finding_type == SENSITIVE_READ_AFTER_STARTUP.finding_type)
            .map(|f| f.pid)
            .collect();
        // nginx 1300 read /etc/shadow 11 s after its exec; 1301 within 1 s.
        assert_eq!(after, [1300], "{f:#?}");
        assert!(
            !f.iter()
                .any(|f| f.finding_type == SENSITIVE_READ.finding_type && f.pid >= 1300),
            "a server's read is not also an untrusted read: {f:#?}"
        );
    }

    #[test]
    fn key_searches_look_for_keys_not_at_password_files() {
        let is = |a: &[&str]| {
            let rest: Vec<String> = a[1..].iter().map(|s| s.to_string()).collect();
            key_search(a[0], &rest)
        };
        assert!(is(&["find", "/", "-name", "id_rsa"]));
        assert!(is(&["find", "/home", "-name", "*.pem"]));
        assert!(is(&["grep", "-rl", "BEGIN OPENSSH PRIVATE KEY", "/home"]));
        assert!(is(&["grep", "-ri", "password", "/var/www"]));
        assert!(is(&["rg", "passwd", "/srv"]));
        assert!(is(&["locate", "id_ed25519"]));
        assert!(!is(&["grep", "root", "/etc/passwd"]));
        assert!(!is(&["grep", "-c", "nologin", "/etc/passwd"]));
        assert!(
            !is(&["grep", "-i", "password", "/etc/login.defs"]),
            "not recursive"
        );
        assert!(!is(&["find", "/srv", "-newer", "/etc/passwd"]));
        assert!(!is(&["grep", "-r", "TODO", "src/"]));
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }

    #[test]
    fn many_ordinary_opens_produce_nothing() {
        let events = load_fixture(format!("{FIXTURES}benign.jsonl")).unwrap();
        let opens: Vec<Event> = events
            .iter()
            .filter(|e| matches!(e.detail, EventDetail::FileOpen(_)))
            .cycle()
            .take(10_000)
            .cloned()
            .collect();
        let mut h = Harness::<FileAccess>::new("{}").unwrap();
        h.observe = false;
        let start = std::time::Instant::now();
        let f = h.run(&opens);
        let per_event = start.elapsed() / opens.len() as u32;
        assert!(medium_or_worse(&f).is_empty());
        assert!(
            per_event < std::time::Duration::from_micros(5),
            "{per_event:?} per open"
        );
    }
}
