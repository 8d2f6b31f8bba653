//! The parser on crafted messages: compression, every record kind, and malformed input.

use super::*;

/// Wire form of a dotted name.
fn wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A header: id, flags, counts.
fn header(flags: u16, qd: u16, an: u16) -> Vec<u8> {
    let mut h = vec![0xab, 0xcd];
    for v in [flags, qd, an, 0, 0] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h
}

fn rr(owner: &[u8], rtype: u16, ttl: u32, data: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(data.len() as u16).to_be_bytes());
    r.extend_from_slice(data);
    r
}

/// `www.example.com A?` answered by a CNAME to `cdn.example.net` (compressed
/// against the question) and an A and an AAAA for the target (compressed
/// against the CNAME's data).
fn cname_response() -> Vec<u8> {
    let mut m = header(0x8180, 1, 3);
    m.extend(wire("www.example.com"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    // Question name at offset 12.
    let mut target = wire("cdn.example");
    target.pop();
    target.extend_from_slice(&[3, b'n', b'e', b't', 0]);
    let cname_data_at = m.len() + 2 + 10;
    m.extend(rr(&[0xc0, 12], TYPE_CNAME, 300, &target));
    let ptr = [0xc0 | (cname_data_at >> 8) as u8, cname_data_at as u8];
    m.extend(rr(&ptr, TYPE_A, 60, &[93, 184, 216, 34]));
    let v6: Ipv6Addr = "2606:2800:220:1::248".parse().unwrap();
    m.extend(rr(&ptr, TYPE_AAAA, 61, &v6.octets()));
    m
}

#[test]
fn a_cname_chain_with_compression_parses() {
    let r = parse_response(&cname_response()).unwrap();
    assert_eq!(r.query, "www.example.com");
    assert_eq!(r.query_type, TYPE_A);
    assert_eq!(r.rcode, 0);
    assert!(r.complete);
    let got: Vec<(&str, u16, u32, &str)> = r
        .answers
        .iter()
        .map(|a| (a.name.as_str(), a.record_type, a.ttl, a.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("www.example.com", TYPE_CNAME, 300, "cdn.example.net"),
            ("cdn.example.net", TYPE_A, 60, "93.184.216.34"),
            ("cdn.example.net", TYPE_AAAA, 61, "2606:2800:220:1::248"),
        ]
    );
}

#[test]
fn nxdomain_has_its_rcode_and_no_answers() {
    let mut m = header(0x8183, 1, 0);
    m.extend(wire("nope.invalid"));
    m.extend_from_slice(&[0, 28, 0, 1]);
    let r = parse_response(&m).unwrap();
    assert_eq!(
        (r.query.as_str(), r.query_type, r.rcode),
        ("nope.invalid", 28, 3)
    );
    assert!(r.answers.is_empty() && r.complete);
}

#[test]
fn other_record_types_are_skipped() {
    let mut m = header(0x8180, 1, 2);
    m.extend(wire("example.com"));
    m.extend_from_slice(&[0, 16, 0, 1]);
    m.extend(rr(&[0xc0, 12], 16, 5, b"\x05hello"));
    m.extend(rr(&[0xc0, 12], TYPE_A, 5, &[10, 0, 0, 1]));
    let r = parse_response(&m).unwrap();
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].value, "10.0.0.1");
    assert!(r.complete);
}

#[test]
fn queries_and_responses_are_told_apart() {
    let mut q = header(0x0100, 1, 0);
    q.extend(wire("example.com"));
    q.extend_from_slice(&[0, 28, 0, 1]);
    assert_eq!(parse_query(&q), Ok(("example.com".into(), 28)));
    assert_eq!(parse_response(&q), Err(DnsError::WrongDirection));
    assert_eq!(
        parse_query(&cname_response()),
        Err(DnsError::WrongDirection)
    );
    assert_eq!(parse_query(&q[..15]), Err(DnsError::Truncated(15)));
    assert_eq!(
        parse_query(&header(0x0100, 0, 0)),
        Err(DnsError::NoQuestion)
    );
}

#[test]
fn pointer_loops_and_forward_pointers_are_refused() {
    // A pointer to itself.
    let mut m = header(0x8180, 1, 0);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(parse_response(&m), Err(DnsError::BadPointer(12)));
    // A label followed by a pointer back to that label: a loop through two places.
    let mut m = header(0x8180, 1, 0);
    m.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(parse_response(&m), Err(DnsError::BadPointer(14)));
    // A pointer forwards.
    let mut m = header(0x8180, 1, 0);
    m.extend_from_slice(&[0xc0, 40, 0, 1, 0, 1]);
    m.resize(60, 0);
    assert_eq!(parse_response(&m), Err(DnsError::BadPointer(12)));
}

#[test]
fn bad_labels_and_long_names_are_refused() {
    let mut m = header(0x8180, 1, 0);
    m.extend_from_slice(&[0x41, 0, 0, 1, 0, 1]);
    assert_eq!(parse_response(&m), Err(DnsError::BadLabel(12)));
    let mut m = header(0x8180, 1, 0);
    for _ in 0..5 {
        m.push(63);
        m.extend_from_slice(&[b'x'; 63]);
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(parse_response(&m), Err(DnsError::NameTooLong(12)));
}

#[test]
fn a_bad_answer_keeps_the_ones_before_it() {
    let mut m = header(0x8180, 1, 3);
    m.extend(wire("example.com"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend(rr(&[0xc0, 12], TYPE_A, 5, &[10, 0, 0, 1]));
    m.extend(rr(&[0xc0, 12], TYPE_A, 5, &[10, 0, 0, 2, 9]));
    m.extend(rr(&[0xc0, 12], TYPE_A, 5, &[10, 0, 0, 3]));
    let r = parse_response(&m).unwrap();
    assert_eq!(r.answers.len(), 1);
    assert!(!r.complete);
}

#[test]
fn answers_are_bounded() {
    let mut m = header(0x8180, 1, 100);
    m.extend(wire("many.example"));
    m.extend_from_slice(&[0, 1, 0, 1]);
    for i in 0..100u8 {
        m.extend(rr(&[0xc0, 12], TYPE_A, 1, &[10, 0, 0, i]));
    }
    let r = parse_response(&m).unwrap();
    assert_eq!(r.answers.len(), MAX_ANSWERS);
    assert!(!r.complete);
}

#[test]
fn odd_label_bytes_are_escaped_losslessly() {
    let mut m = header(0x8180, 1, 0);
    m.extend_from_slice(&[3, b'a', b'.', 0xff, 2, b'\\', 0xfe, 0, 0, 1, 0, 1]);
    let r = parse_response(&m).unwrap();
    assert_eq!(r.query, "a\\046\\255.\\092\\254");
}

#[test]
fn every_cut_of_a_response_is_handled() {
    let full = cname_response();
    for len in 0..full.len() {
        match parse_response(&full[..len]) {
            Ok(r) => assert!(!r.complete, "cut at {len} parsed as complete"),
            Err(_) => assert!(len < 33, "cut at {len} after the question is an error"),
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    // xorshift: deterministic, no dependency.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let base = cname_response();
    for _ in 0..20_000 {
        let mut m = base.clone();
        for _ in 0..(next() % 6 + 1) {
            let i = (next() as usize) % m.len();
            m[i] = next() as u8;
        }
        m.truncate((next() as usize) % (m.len() + 1));
        let _ = parse_response(&m);
        let _ = parse_query(&m);
    }
}
