//! Harrier detector `network`: shells over sockets, netcat, sniffing and
//! SSH to odd ports. (DNS and connections to known-bad names and addresses
//! are the `threat-intel` detector's, from the host's indicator feeds.)
//!
//! - `Execution:Runtime/ReverseShell`: a socket is `dup2`-ed onto stdin,
//!   stdout or stderr of a shell, or onto stdin of a process that then
//!   executes a shell, or a shell is started with a `/dev/tcp/` redirection
//!   (Falco "Redirect STDOUT/STDIN to Network Connection").
//! - `Execution:Runtime/NetcatRemoteCodeExecution`: netcat with `-e`/`-c`
//!   (Falco "Netcat Remote Code Execution in Container").
//! - `CredentialAccess:Runtime/PacketSocketCreated`: an `AF_PACKET` socket
//!   by a program that is not a known network daemon (Falco "Packet socket
//!   created in container").
//! - `UnauthorizedAccess:Runtime/SshNonStandardPort`: an SSH client connects
//!   to a port other than 22 (Falco "Disallowed SSH Connection Non Standard
//!   Port"); allow ports with `allowed_ssh_ports`.
//! - `Discovery:Runtime/KubernetesAPIServerContacted`: a process in a
//!   container connects (or tries to: the result is in the evidence) to the
//!   Kubernetes API server, port 6443 or an address of `api_servers` (the
//!   `kubernetes` service's usual cluster IPs on 443) (Falco "Contact K8S
//!   API Server From Container"); cluster components that talk to the API
//!   by design (kube-proxy, CoreDNS, CNI agents...) are left alone.

#![deny(missing_docs)]

use std::collections::HashMap;

use harrier_sdk::matching::{any_arg_contains, basename, is_shell};
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, Finding, FindingBuilder, FindingSpec, Metadata,
    Policy, SocketAddress, config, finding, testing,
};
use serde::{Deserialize, Serialize};

/// A reverse shell.
pub const REVERSE_SHELL: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/ReverseShell",
    severity: 9.0,
    title: "Reverse shell",
    description: "A shell's standard input or output is a network socket: someone remote is typing into this host.",
    mitre: "T1059.004",
};
/// netcat executing a program.
pub const NETCAT: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/NetcatRemoteCodeExecution",
    severity: 8.0,
    title: "Netcat remote code execution",
    description: "netcat was started with -e/-c, which hands a program (usually a shell) to a network peer.",
    mitre: "T1059",
};
/// A raw packet socket.
pub const PACKET_SOCKET: FindingSpec = FindingSpec {
    finding_type: "CredentialAccess:Runtime/PacketSocketCreated",
    severity: 5.0,
    title: "Packet socket created",
    description: "A program that is not a known network daemon created an AF_PACKET socket, used to sniff traffic or forge packets.",
    mitre: "T1040",
};
/// ssh to a non-standard port.
pub const SSH_PORT: FindingSpec = FindingSpec {
    finding_type: "UnauthorizedAccess:Runtime/SshNonStandardPort",
    severity: 3.0,
    title: "SSH connection to a non-standard port",
    description: "An SSH client connected to a port other than 22, a way to reach tunnels and attacker infrastructure (Falco: Disallowed SSH Connection Non Standard Port).",
    mitre: "T1571",
};

/// The Kubernetes API server contacted from a container.
pub const K8S_API: FindingSpec = FindingSpec {
    finding_type: "Discovery:Runtime/KubernetesAPIServerContacted",
    severity: 3.0,
    title: "Kubernetes API server contacted from a container",
    description: "A process in a container connected to the Kubernetes API server (Falco: Contact K8S API Server From Container). Attackers in a compromised pod use its service account token to list secrets, start pods or escalate; most application containers never talk to the API.",
    mitre: "T1613",
};

/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 5] = [REVERSE_SHELL, NETCAT, PACKET_SOCKET, SSH_PORT, K8S_API];

/// The `kubernetes` service's cluster IP in the default service ranges of
/// kubeadm, EKS (two ranges) and GKE/AKS, on 443.
const API_SERVERS: &[&str] = &[
    "10.96.0.1:443",
    "10.100.0.1:443",
    "172.20.0.1:443",
    "10.0.0.1:443",
];
/// The API server's own port wherever it listens.
const API_PORTS: &[u16] = &[6443];
/// Cluster components whose job is to talk to the API server.
pub const KUBE_CLIENTS: &[&str] = &[
    "kube-proxy",
    "coredns",
    "kube-controller-manager",
    "kube-controller",
    "kube-scheduler",
    "kube-apiserver",
    "kubelet",
    "calico-node",
    "calico-kube-controllers",
    "flanneld",
    "cilium-agent",
    "cilium-operator",
    "aws-k8s-agent",
    "aws-node",
    "cluster-autoscaler",
    "metrics-server",
    "kube-state-metrics",
    "ingress-nginx-controller",
    "nginx-ingress-controller",
    "external-dns",
    "cert-manager",
    "harrier",
];

/// SSH client program names.
const SSH_CLIENTS: &[&str] = &["ssh", "dbclient", "sshpass"];

/// Programs that legitimately open packet sockets.
pub const PACKET_PROGRAMS: &[&str] = &[
    "dhclient",
    "dhcpcd",
    "dhcpd",
    "NetworkManager",
    "systemd-networkd",
    "wpa_supplicant",
    "lldpd",
    "keepalived",
    "arping",
    "udhcpc",
    "dnsmasq",
    "hostapd",
];

const AF_PACKET: u32 = 17;
/// `EINPROGRESS`: a non-blocking connect under way.
const EINPROGRESS: i64 = 115;
/// Most pids with a socket on stdin/stdout remembered.
const MAX_REDIRECTED: usize = 4096;

/// The detector's own configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    trusted_packet_programs: Vec<String>,
    /// Ports an SSH client may connect to besides 22.
    allowed_ssh_ports: Vec<u16>,
    /// The API server's addresses as `address:port` (default [`API_SERVERS`]).
    api_servers: Option<Vec<String>>,
    /// Ports that are the API server's on any address (default [`API_PORTS`]).
    api_ports: Option<Vec<u16>>,
    /// More programs allowed to talk to the API server.
    trusted_api_clients: Vec<String>,
}

/// State carried across hot reloads: pids with a socket on 0/1/2 (seq of the
/// redirect, bit mask of fds) and pids already reported.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    redirected: HashMap<u32, (u64, u8)>,
    reported: Vec<u32>,
}

/// The network detector.
pub struct Network {
    policy: Policy,
    own: Own,
    /// The API server's endpoints (`api_servers` or [`API_SERVERS`]),
    /// parsed once so a connect compares without allocating.
    api_servers: Vec<(String, u16)>,
    /// Its ports on any address (`api_ports` or [`API_PORTS`]).
    api_ports: Vec<u16>,
    state: State,
}

/// `address:port` as a pair (an IPv6 address's colons stay in the address).
fn endpoint(text: &str) -> Result<(String, u16), String> {
    text.rsplit_once(':')
        .and_then(|(address, port)| Some((address.to_string(), port.parse().ok()?)))
        .filter(|(address, _)| !address.is_empty())
        .ok_or_else(|| format!("invalid configuration: api_servers: `{text}` is not address:port"))
}

/// Interpreters whose socket on stdin is as good as a shell's.
fn is_shell_like(name: &str) -> bool {
    is_shell(name)
        || matches!(
            name,
            "python" | "python3" | "perl" | "ruby" | "php" | "lua" | "socat"
        )
}

impl Network {
    /// Whether `address:port` is the Kubernetes API server.
    fn is_api_server(&self, address: &str, port: u16) -> bool {
        self.api_ports.contains(&port)
            || self
                .api_servers
                .iter()
                .any(|(a, p)| *p == port && a == address)
    }

    fn api_contact(
        &mut self,
        event: &Event,
        address: &str,
        port: u16,
        result: i64,
        out: &mut Vec<Finding>,
    ) {
        let program = basename(&event.process.exe);
        if event.process.container_id.is_none()
            || KUBE_CLIENTS.contains(&program)
            || self.own.trusted_api_clients.iter().any(|c| c == program)
            || !self.is_api_server(address, port)
        {
            return;
        }
        let b = FindingBuilder::new(&K8S_API, event)
            .evidence("remote", format!("{address}:{port}"))
            .evidence("result", result.to_string());
        self.emit(b, &K8S_API, event, out);
    }

    fn emit(
        &mut self,
        b: FindingBuilder,
        spec: &FindingSpec,
        event: &Event,
        out: &mut Vec<Finding>,
    ) {
        if self.policy.permits(spec.finding_type, &event.process, None) {
            out.push(b.build());
        }
    }

    fn reverse_shell(
        &mut self,
        event: &Event,
        reason: &str,
        extra_seq: Option<u64>,
        out: &mut Vec<Finding>,
    ) {
        let pid = event.process.pid;
        if self.state.reported.contains(&pid) {
            return;
        }
        if self.state.reported.len() >= MAX_REDIRECTED {
            self.state.reported.remove(0);
        }
        self.state.reported.push(pid);
        let mut b = FindingBuilder::new(&REVERSE_SHELL, event).evidence("reason", reason);
        if let Some(seq) = extra_seq {
            b = b.event_seq(seq);
        }
        self.emit(b, &REVERSE_SHELL, event, out);
    }
}

impl Detector for Network {
    fn metadata() -> Metadata {
        finding::metadata(
            "network",
            env!("CARGO_PKG_VERSION"),
            "Reverse shells, netcat remote code execution, packet sockets and SSH to non-standard ports.",
            &[
                EventKind::FdRedirect,
                EventKind::Exec,
                EventKind::Exit,
                EventKind::SocketCreate,
                EventKind::NetConnect,
            ],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        let listed: Vec<&str> = match &own.api_servers {
            Some(servers) => servers.iter().map(String::as_str).collect(),
            None => API_SERVERS.to_vec(),
        };
        let api_servers = listed
            .into_iter()
            .map(endpoint)
            .collect::<Result<Vec<_>, String>>()?;
        let api_ports = own.api_ports.clone().unwrap_or_else(|| API_PORTS.to_vec());
        Ok(Self {
            policy,
            own,
            api_servers,
            api_ports,
            state: State::default(),
        })
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let pid = event.process.pid;
        match &event.detail {
            EventDetail::FdRedirect(r) => {
                if !r.is_socket || r.result < 0 || !(0..=2).contains(&r.new_fd) {
                    return;
                }
                let entry = self.state.redirected.entry(pid).or_insert((event.seq, 0));
                entry.1 |= 1 << r.new_fd;
                if self.state.redirected.len() > MAX_REDIRECTED {
                    self.state.redirected.clear();
                }
                if is_shell(basename(&event.process.exe)) {
                    self.reverse_shell(
                        event,
                        "socket duplicated onto a shell's standard streams",
                        None,
                        out,
                    );
                }
            }
            EventDetail::Exec(exec) => {
                let name = basename(&exec.filename);
                if is_shell_like(name) {
                    if let Some((seq, mask)) = self.state.redirected.get(&pid).copied()
                        && mask & 1 != 0
                    {
                        self.reverse_shell(
                            event,
                            "shell executed with a socket as standard input",
                            Some(seq),
                            out,
                        );
                    } else if any_arg_contains(&exec.args, "/dev/tcp/")
                        || any_arg_contains(&exec.args, "/dev/udp/")
                    {
                        self.reverse_shell(event, "shell redirected to /dev/tcp", None, out);
                    }
                }
                if matches!(
                    name,
                    "nc" | "ncat" | "netcat" | "nc.traditional" | "nc.openbsd"
                ) && exec.args.iter().skip(1).any(|a| {
                    matches!(
                        a.as_str(),
                        "-e" | "-c" | "--exec" | "--sh-exec" | "--lua-exec"
                    ) || (a.starts_with("-e") && a.len() > 2)
                }) {
                    let b = FindingBuilder::new(&NETCAT, event)
                        .evidence("cmdline", exec.args.join(" "));
                    self.emit(b, &NETCAT, event, out);
                }
            }
            EventDetail::Exit(_) => {
                self.state.redirected.remove(&pid);
                self.state.reported.retain(|p| *p != pid);
            }
            EventDetail::NetConnect(n) => {
                let (address, port) = match &n.address {
                    SocketAddress::Ipv4((address, port)) | SocketAddress::Ipv6((address, port)) => {
                        (address.as_str(), *port)
                    }
                    _ => return,
                };
                self.api_contact(event, address, port, n.result, out);
                // A non-blocking connect (ssh -o ConnectTimeout=N) returns
                // EINPROGRESS before the handshake completes.
                if port != 22
                    && (n.result >= 0 || n.result == -EINPROGRESS)
                    && SSH_CLIENTS.contains(&basename(&event.process.exe))
                    && !self.own.allowed_ssh_ports.contains(&port)
                {
                    let b = FindingBuilder::new(&SSH_PORT, event)
                        .evidence("remote_port", port.to_string());
                    self.emit(b, &SSH_PORT, event, out);
                }
            }
            EventDetail::SocketCreate(s) => {
                let name = basename(&event.process.exe);
                if s.family == AF_PACKET
                    && s.result >= 0
                    && !PACKET_PROGRAMS.contains(&name)
                    && !self.own.trusted_packet_programs.iter().any(|p| p == name)
                {
                    let b = FindingBuilder::new(&PACKET_SOCKET, event)
                        .evidence("socket_type", s.socket_type.to_string())
                        .evidence("protocol", s.protocol.to_string());
                    self.emit(b, &PACKET_SOCKET, event, out);
                }
            }
            _ => {}
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/network/detect.jsonl"),
            |_| {},
            &[
                REVERSE_SHELL.finding_type,
                REVERSE_SHELL.finding_type,
                NETCAT.finding_type,
                PACKET_SOCKET.finding_type,
                SSH_PORT.finding_type,
                K8S_API.finding_type,
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

harrier_sdk::export_detector!(Network);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{Harness, load_fixture, medium_or_worse};

    harrier_sdk::detector_tests!(Network);

    #[test]
    fn detects_every_type() {
        let f = run("{}", "network/detect.jsonl");
        let got: Vec<(u32, &str)> = f.iter().map(|f| (f.pid, f.finding_type.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (1100, REVERSE_SHELL.finding_type),
                (1102, REVERSE_SHELL.finding_type),
                (1103, NETCAT.finding_type),
                (1104, PACKET_SOCKET.finding_type),
                (1106, SSH_PORT.finding_type),
                (1110, K8S_API.finding_type),
            ]
        );
        assert_eq!(f[0].event_seqs.len(), 2, "cites the dup2 and the exec");
    }

    #[test]
    fn the_api_server_is_configurable_and_cluster_components_are_left_alone() {
        let api = |config: &str| -> Vec<u32> {
            run(config, "network/detect.jsonl")
                .iter()
                .filter(|f| f.finding_type == K8S_API.finding_type)
                .map(|f| f.pid)
                .collect()
        };
        // kube-proxy (1111) is a cluster component; 1112 is not in a container.
        assert_eq!(api("{}"), [1110]);
        assert_eq!(api(r#"{"api_servers":["10.96.3.3:8080"]}"#), [1113]);
        assert_eq!(api(r#"{"api_ports":[8080],"api_servers":[]}"#), [1113]);
        assert!(api(r#"{"trusted_api_clients":["curl"]}"#).is_empty());
        let refused = Network::new(r#"{"api_servers":["10.96.0.1"]}"#)
            .err()
            .unwrap();
        assert!(
            refused.contains("`10.96.0.1` is not address:port"),
            "{refused}"
        );
        let f = run("{}", "network/detect.jsonl");
        let contact = f.iter().find(|f| f.pid == 1110).unwrap();
        let evidence: Vec<(&str, &str)> = contact
            .evidence
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert!(
            evidence.contains(&("remote", "10.96.0.1:443")),
            "{evidence:?}"
        );
        assert!(evidence.contains(&("result", "-115")), "{evidence:?}");
    }

    #[test]
    fn redirect_state_survives_a_reload() {
        let events = load_fixture(format!("{FIXTURES}network/detect.jsonl")).unwrap();
        let exec = events
            .iter()
            .position(|e| matches!(e.detail, EventDetail::Exec(_)))
            .unwrap();
        let mut h = Harness::<Network>::new("{}").unwrap();
        assert!(h.run(&events[..exec]).is_empty());
        let snap = h.detector().snapshot();
        let mut h2 = Harness::<Network>::new("{}").unwrap();
        h2.detector().restore(&snap).unwrap();
        let f = h2.run(&events[exec..exec + 1]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].finding_type, REVERSE_SHELL.finding_type);
    }

    #[test]
    fn configuration_extends_and_cuts() {
        let f = run(
            r#"{"trusted_packet_programs":["sniffer"],"containers_only":true}"#,
            "network/detect.jsonl",
        );
        assert_eq!(
            f.len(),
            2,
            "only netcat and the API contact ran in a container: {f:#?}"
        );
        assert!(Network::new(r#"{"allowed_ssh_ports":"x"}"#).is_err());
        assert!(
            Network::new(r#"{"extra_c2_domains":[]}"#).is_err(),
            "domain lists moved to the intel feeds"
        );
    }

    /// `ssh -o ConnectTimeout=5 -p 36533 127.0.0.1` as the live sensor saw
    /// it: a non-blocking connect, result -EINPROGRESS.
    const SSH_CONNECT: &str = r#"{"kind":"net-connect","pid":5346,"seq":89,"time_ns":1795886020897528357,"process":{"pid":5346,"tid":5346,"ppid":5303,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"ssh","exe":"/usr/bin/ssh","container_id":null},"detail":{"NetConnect":{"fd":3,"address":{"Ipv4":["127.0.0.1",36533]},"result":-115}}}"#;

    fn ssh_findings(result: &str) -> Vec<Finding> {
        let header = r#"{"harrier_capture":1,"wit":"0.1.0"}"#;
        let line = SSH_CONNECT.replace(r#""result":-115"#, result);
        let events = harrier_sdk::testing::parse_fixture(&format!("{header}\n{line}")).unwrap();
        Harness::<Network>::new("{}").unwrap().run(&events)
    }

    #[test]
    fn ssh_with_a_connect_timeout_is_reported() {
        let f = ssh_findings(r#""result":-115"#);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].finding_type, SSH_PORT.finding_type);
        assert!(
            ssh_findings(r#""result":-111"#).is_empty(),
            "a refused connect reaches nothing"
        );
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
    }
}
