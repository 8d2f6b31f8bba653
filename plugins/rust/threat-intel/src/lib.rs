//! Harrier detector `threat-intel`: GuardDuty's threat-intelligence finding
//! types, judged by the host's indicator feeds (`host::intel_match`), so the
//! feeds never live inside the guest.
//!
//! - DNS queries: a name on a feed gives the type of its category
//!   (`Backdoor:Runtime/C&CActivity.B!DNS`, `Trojan:Runtime/PhishingDomainRequest!DNS`,
//!   the four `Impact:Runtime/*DomainRequest.Reputation`, ...). A name on no
//!   feed is judged by reputation heuristics: a subdomain of a free
//!   dynamic-DNS or tunnel provider is `AbusedDomainRequest.Reputation`; a
//!   registered label that scores as generated (`dga_threshold`) is
//!   `SuspiciousDomainRequest.Reputation`, the score in the evidence.
//! - Connection attempts (connect, whatever its result, and accept for Tor
//!   relays) to an address on a
//!   feed, or to one the host saw resolved from a listed domain:
//!   `Backdoor:Runtime/C&CActivity.B`, `CryptoCurrency:Runtime/BitcoinTool.B`,
//!   `Trojan:Runtime/BlackholeTraffic`, `Trojan:Runtime/DropPoint`,
//!   `UnauthorizedAccess:Runtime/TorClient` (a Tor guard or directory
//!   authority), `UnauthorizedAccess:Runtime/TorRelay`.
//!
//! - DNS answers: an A or AAAA record pointing a name that is not the
//!   metadata service's own at the instance metadata address
//!   (`UnauthorizedAccess:Runtime/MetadataDNSRebind`).
//!
//! (`Execution:Runtime/MaliciousFileExecuted.Custom`, a file hash on a feed,
//! is the `execution` detector's: it already reads each executable's hash.)

#![deny(missing_docs)]

pub mod reputation;
pub mod specs;

use harrier_sdk::{
    Detector, DnsAnswerEvent, Event, EventDetail, EventKind, Finding, FindingBuilder, FindingSpec,
    IndicatorKind, IntelHit, Metadata, Policy, Process, SocketAddress, config, finding, host,
    testing,
};
use serde::Deserialize;

use crate::reputation::{DYNAMIC_DNS_PROVIDERS, dga_score, dynamic_dns_provider};
use crate::specs::*;

/// The detector's own configuration keys.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    /// Score (0..1) from which a name looks generated.
    dga_threshold: f32,
    /// More free dynamic-DNS or tunnel providers.
    extra_dynamic_dns_providers: Vec<String>,
}

impl Default for Own {
    fn default() -> Self {
        Self {
            dga_threshold: 0.75,
            extra_dynamic_dns_providers: Vec::new(),
        }
    }
}

/// The threat-intel detector.
#[derive(Debug)]
pub struct ThreatIntel {
    policy: Policy,
    own: Own,
}

/// The instance metadata service's addresses (AWS IPv4 and IPv6; the IPv4
/// one is also GCP's and Azure's).
pub const METADATA_ADDRESSES: &[&str] = &["169.254.169.254", "fd00:ec2::254"];

/// Names that resolve to the metadata service by design.
pub const METADATA_NAMES: &[&str] = &[
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.google.internal",
    "metadata",
];

/// The address and port of an IP socket address.
fn ip_of(address: &SocketAddress) -> Option<(&str, u16)> {
    match address {
        SocketAddress::Ipv4((ip, port)) | SocketAddress::Ipv6((ip, port)) => Some((ip, *port)),
        _ => None,
    }
}

/// Names not worth scoring: reverse look-ups and local names.
fn is_local_name(q: &str) -> bool {
    let q = q.trim_end_matches('.');
    !q.contains('.')
        || [
            ".arpa",
            ".local",
            ".internal",
            ".localdomain",
            ".lan",
            ".home.arpa",
        ]
        .iter()
        .any(|s| q.len() >= s.len() && q[q.len() - s.len()..].eq_ignore_ascii_case(s))
}

impl ThreatIntel {
    fn emit(
        &self,
        spec: &FindingSpec,
        process: &Process,
        b: FindingBuilder,
        out: &mut Vec<Finding>,
    ) {
        if self.policy.permits(spec.finding_type, process, None) {
            out.push(b.build());
        }
    }

    fn with_hit(b: FindingBuilder, hit: &IntelHit) -> FindingBuilder {
        b.evidence("indicator", &hit.indicator)
            .evidence("category", &hit.category)
            .evidence("source", &hit.source)
    }

    fn dns_query(&self, event: &Event, query: &str, out: &mut Vec<Finding>) {
        if let Some(hit) = host::intel_match(IndicatorKind::Domain, query) {
            if let Some(spec) = dns_spec(&hit.category) {
                let b = FindingBuilder::new(spec, event).evidence("domain", query);
                self.emit(spec, &event.process, Self::with_hit(b, &hit), out);
            }
            return;
        }
        if is_local_name(query) {
            return;
        }
        let providers = DYNAMIC_DNS_PROVIDERS.iter().copied().chain(
            self.own
                .extra_dynamic_dns_providers
                .iter()
                .map(String::as_str),
        );
        if let Some(provider) = dynamic_dns_provider(query, providers) {
            let b = FindingBuilder::new(&ABUSED_REP, event)
                .evidence("domain", query)
                .evidence(
                    "reason",
                    "subdomain of a free dynamic-DNS or tunnel provider",
                )
                .evidence("provider", provider);
            self.emit(&ABUSED_REP, &event.process, b, out);
            return;
        }
        let score = dga_score(query);
        if score >= self.own.dga_threshold {
            let b = FindingBuilder::new(&SUSPICIOUS_REP, event)
                .evidence("domain", query)
                .evidence("reason", "the name looks algorithmically generated")
                .evidence("dga_score", format!("{score:.2}"));
            self.emit(&SUSPICIOUS_REP, &event.process, b, out);
        }
    }

    /// An answer that rebinds a name to the metadata service.
    fn dns_answer(&self, event: &Event, answer: &DnsAnswerEvent, out: &mut Vec<Finding>) {
        let query = answer.query.trim_end_matches('.').to_ascii_lowercase();
        if METADATA_NAMES.contains(&query.as_str()) {
            return;
        }
        let Some(record) = answer.answers.iter().find(|r| {
            matches!(r.record_type, 1 | 28) && METADATA_ADDRESSES.contains(&r.value.as_str())
        }) else {
            return;
        };
        let mut b = FindingBuilder::new(&METADATA_REBIND, event)
            .evidence("domain", &answer.query)
            .evidence("answer_name", &record.name)
            .evidence("answer", &record.value)
            .evidence("ttl", record.ttl.to_string());
        if let Some((server, port)) = ip_of(&answer.server) {
            b = b.evidence("dns_server", format!("{server}:{port}"));
        }
        self.emit(&METADATA_REBIND, &event.process, b, out);
    }

    fn connection(
        &self,
        event: &Event,
        address: &SocketAddress,
        accepted: bool,
        out: &mut Vec<Finding>,
    ) {
        let Some((ip, port)) = ip_of(address) else {
            return;
        };
        let Some(hit) = host::intel_match(IndicatorKind::Ip, ip) else {
            return;
        };
        let spec = match (accepted, hit.category.as_str()) {
            (true, "tor-relay" | "tor-entry") => &TOR_RELAY,
            (true, _) => return,
            (false, category) => match connect_spec(category) {
                Some(spec) => spec,
                None => return,
            },
        };
        let (ip_key, port_key) = if accepted {
            ("peer_ip", "peer_port")
        } else {
            ("remote_ip", "remote_port")
        };
        let b = FindingBuilder::new(spec, event)
            .evidence(ip_key, ip)
            .evidence(port_key, port.to_string());
        self.emit(spec, &event.process, Self::with_hit(b, &hit), out);
    }
}

impl Detector for ThreatIntel {
    fn metadata() -> Metadata {
        finding::metadata(
            "threat-intel",
            env!("CARGO_PKG_VERSION"),
            "Connections, DNS queries and executions matched against the host's threat-intelligence feeds, plus domain reputation heuristics.",
            &[
                EventKind::DnsQuery,
                EventKind::DnsAnswer,
                EventKind::NetConnect,
                EventKind::NetAccept,
            ],
            &SPECS,
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        if !(0.0..=1.0).contains(&own.dga_threshold) {
            return Err(format!(
                "dga_threshold: {} is not between 0 and 1",
                own.dga_threshold
            ));
        }
        Ok(Self { policy, own })
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        match &event.detail {
            EventDetail::DnsQuery(d) => self.dns_query(event, &d.query, out),
            EventDetail::DnsAnswer(a) if a.rcode == 0 => self.dns_answer(event, a, out),
            // An attempt is enough: a black hole never answers, and a
            // refused C&C connection was still an attempt to reach it.
            EventDetail::NetConnect(n) => self.connection(event, &n.address, false, out),
            EventDetail::NetAccept(n) if n.result >= 0 => {
                self.connection(event, &n.address, true, out)
            }
            _ => {}
        }
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&SPECS)?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/threat-intel/detect.jsonl"),
            |_| {},
            &SELF_TEST_TYPES,
        )
    }
}

/// What the self-test fixture raises: every type once.
const SELF_TEST_TYPES: [&str; 18] = [
    C2.finding_type,
    BITCOIN.finding_type,
    BLACKHOLE.finding_type,
    DROP_POINT.finding_type,
    TOR_CLIENT.finding_type,
    TOR_RELAY.finding_type,
    C2_DNS.finding_type,
    BITCOIN_DNS.finding_type,
    BLACKHOLE_DNS.finding_type,
    DROP_POINT_DNS.finding_type,
    DGA_DNS.finding_type,
    DRIVE_BY_DNS.finding_type,
    PHISHING_DNS.finding_type,
    ABUSED_REP.finding_type,
    BITCOIN_REP.finding_type,
    MALICIOUS_REP.finding_type,
    SUSPICIOUS_REP.finding_type,
    METADATA_REBIND.finding_type,
];

harrier_sdk::export_detector!(ThreatIntel);

#[cfg(test)]
mod tests;
