//! The finding types of the threat-intel detector, with GuardDuty's names
//! and default severities (High 8, Medium 5, Low 2).

use harrier_sdk::FindingSpec;

/// A connection to a command-and-control address.
pub const C2: FindingSpec = FindingSpec {
    finding_type: "Backdoor:Runtime/C&CActivity.B",
    severity: 8.0,
    title: "Connection to a command-and-control server",
    description: "A process connected to an address known to be used for command and control of malware.",
    mitre: "T1071",
};
/// A connection to a cryptocurrency (mining) address.
pub const BITCOIN: FindingSpec = FindingSpec {
    finding_type: "CryptoCurrency:Runtime/BitcoinTool.B",
    severity: 8.0,
    title: "Connection to a cryptocurrency service",
    description: "A process connected to an address associated with cryptocurrency mining pools or services.",
    mitre: "T1496",
};
/// A connection to a black-hole address.
pub const BLACKHOLE: FindingSpec = FindingSpec {
    finding_type: "Trojan:Runtime/BlackholeTraffic",
    severity: 5.0,
    title: "Connection to a black-holed address",
    description: "A process tried to reach an address that is black-holed (sinkholed) because it served malware.",
    mitre: "T1071",
};
/// A connection to a drop point.
pub const DROP_POINT: FindingSpec = FindingSpec {
    finding_type: "Trojan:Runtime/DropPoint",
    severity: 5.0,
    title: "Connection to a malware drop point",
    description: "A process connected to an address known to hold credentials and other data stolen by malware.",
    mitre: "T1041",
};
/// A Tor client.
pub const TOR_CLIENT: FindingSpec = FindingSpec {
    finding_type: "UnauthorizedAccess:Runtime/TorClient",
    severity: 8.0,
    title: "Tor client",
    description: "A process connected to a Tor guard or directory authority: it is using the Tor network, which can hide access to attacker infrastructure.",
    mitre: "T1090",
};
/// A Tor relay.
pub const TOR_RELAY: FindingSpec = FindingSpec {
    finding_type: "UnauthorizedAccess:Runtime/TorRelay",
    severity: 8.0,
    title: "Tor relay",
    description: "A process exchanged connections with Tor relays the way a relay does: the host is acting as part of the Tor network.",
    mitre: "T1090",
};
/// A DNS query for a C&C domain.
pub const C2_DNS: FindingSpec = FindingSpec {
    finding_type: "Backdoor:Runtime/C&CActivity.B!DNS",
    severity: 8.0,
    title: "DNS query for a command-and-control domain",
    description: "A process queried a domain known to be used for command and control of malware.",
    mitre: "T1071",
};
/// A DNS query for a mining domain.
pub const BITCOIN_DNS: FindingSpec = FindingSpec {
    finding_type: "CryptoCurrency:Runtime/BitcoinTool.B!DNS",
    severity: 8.0,
    title: "DNS query for a cryptocurrency domain",
    description: "A process queried a domain associated with cryptocurrency mining pools or mining services.",
    mitre: "T1496",
};
/// A DNS query for a black-holed domain.
pub const BLACKHOLE_DNS: FindingSpec = FindingSpec {
    finding_type: "Trojan:Runtime/BlackholeTraffic!DNS",
    severity: 5.0,
    title: "DNS query for a black-holed domain",
    description: "A process queried a domain that is redirected to a black-hole (sinkhole) address.",
    mitre: "T1071",
};
/// A DNS query for a drop point.
pub const DROP_POINT_DNS: FindingSpec = FindingSpec {
    finding_type: "Trojan:Runtime/DropPoint!DNS",
    severity: 5.0,
    title: "DNS query for a malware drop point",
    description: "A process queried the domain of a host known to hold credentials and other data stolen by malware.",
    mitre: "T1041",
};
/// A DNS query for an algorithmically generated domain.
pub const DGA_DNS: FindingSpec = FindingSpec {
    finding_type: "Trojan:Runtime/DGADomainRequest.C!DNS",
    severity: 8.0,
    title: "DNS query for a generated domain",
    description: "A process queried a domain known to be algorithmically generated, as malware does to find its command server.",
    mitre: "T1568",
};
/// A DNS query for a drive-by source.
pub const DRIVE_BY_DNS: FindingSpec = FindingSpec {
    finding_type: "Trojan:Runtime/DriveBySourceTraffic!DNS",
    severity: 8.0,
    title: "DNS query for a drive-by download source",
    description: "A process queried the domain of a host known to be a source of drive-by download attacks.",
    mitre: "T1189",
};
/// A DNS query for a phishing domain.
pub const PHISHING_DNS: FindingSpec = FindingSpec {
    finding_type: "Trojan:Runtime/PhishingDomainRequest!DNS",
    severity: 8.0,
    title: "DNS query for a phishing domain",
    description: "A process queried a domain involved in phishing attacks.",
    mitre: "T1566",
};
/// A DNS query for an abused domain.
pub const ABUSED_REP: FindingSpec = FindingSpec {
    finding_type: "Impact:Runtime/AbusedDomainRequest.Reputation",
    severity: 5.0,
    title: "DNS query for an abused domain",
    description: "A process queried a low-reputation domain associated with known abused domains, such as free dynamic-DNS or tunnel subdomains.",
    mitre: "T1568",
};
/// A DNS query for a low-reputation cryptocurrency domain.
pub const BITCOIN_REP: FindingSpec = FindingSpec {
    finding_type: "Impact:Runtime/BitcoinDomainRequest.Reputation",
    severity: 8.0,
    title: "DNS query for a low-reputation cryptocurrency domain",
    description: "A process queried a low-reputation domain associated with cryptocurrency activity.",
    mitre: "T1496",
};
/// A DNS query for a low-reputation malicious domain.
pub const MALICIOUS_REP: FindingSpec = FindingSpec {
    finding_type: "Impact:Runtime/MaliciousDomainRequest.Reputation",
    severity: 8.0,
    title: "DNS query for a malicious domain",
    description: "A process queried a low-reputation domain associated with malicious activity.",
    mitre: "T1071",
};
/// A DNS query for a suspicious domain.
pub const SUSPICIOUS_REP: FindingSpec = FindingSpec {
    finding_type: "Impact:Runtime/SuspiciousDomainRequest.Reputation",
    severity: 2.0,
    title: "DNS query for a suspicious domain",
    description: "A process queried a low-reputation domain that is suspicious by its age, rarity or look (its name scores as algorithmically generated).",
    mitre: "T1071",
};
/// A DNS answer pointing a name at the instance metadata service.
pub const METADATA_REBIND: FindingSpec = FindingSpec {
    finding_type: "UnauthorizedAccess:Runtime/MetadataDNSRebind",
    severity: 8.0,
    title: "DNS answer points at the instance metadata service",
    description: "A process received a DNS answer resolving a name that is not the metadata service's own to the instance metadata address (169.254.169.254, fd00:ec2::254): DNS rebinding, to reach the metadata service and its credentials through an application that only fetches named URLs.",
    mitre: "T1552.005",
};
/// Every finding type of this detector.
pub const SPECS: [FindingSpec; 18] = [
    C2,
    BITCOIN,
    BLACKHOLE,
    DROP_POINT,
    TOR_CLIENT,
    TOR_RELAY,
    C2_DNS,
    BITCOIN_DNS,
    BLACKHOLE_DNS,
    DROP_POINT_DNS,
    DGA_DNS,
    DRIVE_BY_DNS,
    PHISHING_DNS,
    ABUSED_REP,
    BITCOIN_REP,
    MALICIOUS_REP,
    SUSPICIOUS_REP,
    METADATA_REBIND,
];

/// The DNS finding type for an indicator category, if it has one.
pub fn dns_spec(category: &str) -> Option<&'static FindingSpec> {
    Some(match category {
        "command-and-control" => &C2_DNS,
        "crypto-mining" => &BITCOIN_DNS,
        "blackhole" => &BLACKHOLE_DNS,
        "drop-point" => &DROP_POINT_DNS,
        "dga" => &DGA_DNS,
        "drive-by-source" => &DRIVE_BY_DNS,
        "phishing" => &PHISHING_DNS,
        "abused" => &ABUSED_REP,
        "bitcoin" => &BITCOIN_REP,
        "malicious" | "custom" => &MALICIOUS_REP,
        "suspicious" => &SUSPICIOUS_REP,
        _ => return None,
    })
}

/// The network finding type for a connection to an address of `category`.
pub fn connect_spec(category: &str) -> Option<&'static FindingSpec> {
    Some(match category {
        "command-and-control" => &C2,
        "crypto-mining" | "bitcoin" => &BITCOIN,
        "blackhole" => &BLACKHOLE,
        "drop-point" => &DROP_POINT,
        "tor-entry" => &TOR_CLIENT,
        "tor-relay" => &TOR_RELAY,
        _ => return None,
    })
}
