//! Tests of the threat-intel detector over its fixture and inline events.

use super::*;
use harrier_sdk::testing::{Harness, medium_or_worse, parse_fixture};

harrier_sdk::detector_tests!(ThreatIntel);

const HEADER: &str = r#"{"harrier_capture":1,"wit":"0.1.0"}"#;

/// A DNS query by curl (pid 77) for `name`.
fn query(name: &str) -> String {
    format!(
        r#"{{"kind":"dns-query","pid":77,"seq":1,"time_ns":5,"process":{{"pid":77,"tid":77,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"curl","exe":"/usr/bin/curl","container_id":null}},"detail":{{"DnsQuery":{{"query":"{name}","query_type":1,"server":{{"Ipv4":["127.0.0.53",53]}}}}}}}}"#
    )
}

fn findings_of(config: &str, lines: &[String]) -> Vec<Finding> {
    let events = parse_fixture(&format!("{HEADER}\n{}", lines.join("\n"))).unwrap();
    Harness::<ThreatIntel>::new(config).unwrap().run(&events)
}

fn evidence<'a>(f: &'a Finding, key: &str) -> &'a str {
    f.evidence
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.value.as_str())
        .unwrap_or_else(|| panic!("no {key} in {:?}", f.evidence))
}

#[test]
fn every_type_fires_once_from_the_fixture() {
    let f = run("{}", "threat-intel/detect.jsonl");
    let got: Vec<(u32, &str)> = f.iter().map(|f| (f.pid, f.finding_type.as_str())).collect();
    let dns = |s: &FindingSpec| (2201, s.finding_type);
    assert_eq!(
        got,
        vec![
            dns(&C2_DNS),
            dns(&BITCOIN_DNS),
            dns(&ABUSED_REP),
            dns(&BITCOIN_REP),
            dns(&MALICIOUS_REP),
            dns(&SUSPICIOUS_REP),
            dns(&BLACKHOLE_DNS),
            dns(&DROP_POINT_DNS),
            dns(&DGA_DNS),
            dns(&DRIVE_BY_DNS),
            dns(&PHISHING_DNS),
            (2202, C2.finding_type),
            (2202, BITCOIN.finding_type),
            (2202, BLACKHOLE.finding_type),
            (2202, DROP_POINT.finding_type),
            (2203, TOR_CLIENT.finding_type),
            (2204, TOR_RELAY.finding_type),
            // The rebinding answer; the metadata service's own name is not.
            (2290, METADATA_REBIND.finding_type),
        ]
    );
    assert_eq!(evidence(&f[17], "domain"), "rebind.attacker.example");
    assert_eq!(evidence(&f[17], "answer"), "169.254.169.254");
    assert_eq!(evidence(&f[0], "indicator"), "guarddutyc2activityb.com");
    assert_eq!(evidence(&f[0], "domain"), "c2.guarddutyc2activityb.com");
    assert_eq!(evidence(&f[1], "category"), "crypto-mining");
    assert_eq!(evidence(&f[11], "remote_ip"), "198.51.100.10");
    assert_eq!(evidence(&f[16], "peer_ip"), "198.51.100.14");
}

#[test]
fn heuristics_judge_names_on_no_feed() {
    let f = findings_of(
        "{}",
        &[
            query("x7.DuckDNS.org."),
            query("xjw3kq9vzt7hplm4.com"),
            query("www.wikipedia.org"),
        ],
    );
    let types: Vec<&str> = f.iter().map(|f| f.finding_type.as_str()).collect();
    assert_eq!(
        types,
        [ABUSED_REP.finding_type, SUSPICIOUS_REP.finding_type]
    );
    assert_eq!(evidence(&f[0], "provider"), "duckdns.org");
    assert!(evidence(&f[1], "dga_score").parse::<f32>().unwrap() >= 0.75);
    let f = findings_of(
        r#"{"dga_threshold":1.0,"extra_dynamic_dns_providers":["tunnel.example"]}"#,
        &[query("xjw3kq9vzt7hplm4.com"), query("a.tunnel.example")],
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(evidence(&f[0], "provider"), "tunnel.example");
    assert!(
        findings_of(
            "{}",
            &[
                query("1.0.0.127.in-addr.arpa"),
                query("kq7vz9xw3tjhr2mq.local")
            ]
        )
        .is_empty()
    );
}

#[test]
fn configuration_is_checked_and_cuts() {
    assert!(
        ThreatIntel::new(r#"{"dga_threshold":2}"#)
            .unwrap_err()
            .contains("dga_threshold")
    );
    assert!(ThreatIntel::new(r#"{"feeds":[]}"#).is_err());
    let f = findings_of(
        r#"{"disabled_types":["Impact:Runtime/AbusedDomainRequest.Reputation"]}"#,
        &[query("x7.duckdns.org")],
    );
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn benign_workload_is_quiet() {
    let f = run("{}", "benign.jsonl");
    assert!(medium_or_worse(&f).is_empty(), "{:#?}", medium_or_worse(&f));
}
