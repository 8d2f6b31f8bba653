//! Domain reputation without a feed: how algorithmically generated a name
//! looks, and whether it is a subdomain handed out by a free dynamic-DNS
//! or tunnel provider (where anyone can get a name, so attackers do).

/// Free dynamic-DNS, free-subdomain and tunnel providers: a name under one
/// of them is anyone's.
pub const DYNAMIC_DNS_PROVIDERS: &[&str] = &[
    "duckdns.org",
    "no-ip.com",
    "no-ip.org",
    "no-ip.biz",
    "noip.me",
    "ddns.net",
    "hopto.org",
    "zapto.org",
    "sytes.net",
    "serveftp.com",
    "servehttp.com",
    "myftp.biz",
    "dynu.com",
    "dynu.net",
    "dyndns.org",
    "dynv6.net",
    "freedns.afraid.org",
    "mooo.com",
    "chickenkiller.com",
    "ngrok.io",
    "ngrok-free.app",
    "trycloudflare.com",
    "serveo.net",
    "loca.lt",
    "portmap.io",
];

/// The provider `query` is a subdomain of, among `providers`.
pub fn dynamic_dns_provider<'a>(
    query: &str,
    providers: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let q = query.trim_end_matches('.');
    providers.into_iter().find(|p| {
        q.len() > p.len() + 1
            && q[q.len() - p.len()..].eq_ignore_ascii_case(p)
            && q.as_bytes()[q.len() - p.len() - 1] == b'.'
    })
}

/// The label a registrant chose: the one left of the public suffix
/// (`example` in `www.example.co.uk`, approximating two-level suffixes by
/// a label of at most 3 bytes before a 2-byte country code).
pub fn registered_label(query: &str) -> &str {
    let labels: Vec<&str> = query.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    if n < 2 {
        return labels.first().copied().unwrap_or("");
    }
    let two_level = n >= 3 && labels[n - 1].len() == 2 && labels[n - 2].len() <= 3;
    if two_level {
        labels[n - 3]
    } else {
        labels[n - 2]
    }
}

/// Shortest registered label scored; shorter names carry too little signal.
pub const MIN_SCORED_LEN: usize = 12;

/// How generated the registered label of `query` looks, 0.0 (a word) to
/// 1.0 (random): character entropy, few vowels, many digits, long
/// consonant runs. Labels under [`MIN_SCORED_LEN`] bytes score 0.
pub fn dga_score(query: &str) -> f32 {
    let label = registered_label(query).to_ascii_lowercase();
    let len = label.len();
    if len < MIN_SCORED_LEN {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in label.bytes() {
        counts[b as usize] += 1;
    }
    let entropy: f32 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / len as f32;
            -p * p.log2()
        })
        .sum();
    let letters = label.bytes().filter(u8::is_ascii_alphabetic).count().max(1);
    let vowels = label.bytes().filter(|b| b"aeiouy".contains(b)).count();
    let digits = label.bytes().filter(u8::is_ascii_digit).count();
    let mut run = 0;
    let mut longest_run = 0;
    for b in label.bytes() {
        if b.is_ascii_alphabetic() && !b"aeiouy".contains(&b) {
            run += 1;
            longest_run = longest_run.max(run);
        } else {
            run = 0;
        }
    }
    let clamp = |x: f32| x.clamp(0.0, 1.0);
    let vowel_ratio = vowels as f32 / letters as f32;
    let score = 0.35 * clamp((entropy - 3.0) / 1.0)
        + 0.25 * clamp((0.32 - vowel_ratio) / 0.17)
        + 0.2 * clamp(digits as f32 / len as f32 / 0.25)
        + 0.2 * clamp((longest_run as f32 - 3.0) / 3.0);
    (score * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_score_high_and_words_low() {
        for name in [
            "xjw3kq9vzt7hplm4.com",
            "qhzrtkvbnmxw8p2l.net",
            "a.b.kq7vz9xw3tjhr2m.info",
        ] {
            assert!(dga_score(name) >= 0.75, "{name}: {}", dga_score(name));
        }
        for name in [
            "googleusercontent.com",
            "d1a2b3c4d5e6f7.cloudfront.net",
            "ntp.ubuntu.com",
            "security.debian.org",
            "registry.kubernetesdashboard.io",
            "login.microsoftonline.com",
            "guarddutydgaactivity.com",
        ] {
            assert!(dga_score(name) < 0.75, "{name}: {}", dga_score(name));
        }
    }

    #[test]
    fn registered_labels_skip_public_suffixes() {
        assert_eq!(registered_label("www.example.co.uk."), "example");
        assert_eq!(registered_label("a.b.example.com"), "example");
        assert_eq!(registered_label("localhost"), "localhost");
    }

    #[test]
    fn only_subdomains_of_a_provider_count() {
        let p = DYNAMIC_DNS_PROVIDERS.iter().copied();
        assert_eq!(
            dynamic_dns_provider("evil.DuckDNS.org.", p.clone()),
            Some("duckdns.org")
        );
        assert_eq!(dynamic_dns_provider("duckdns.org", p.clone()), None);
        assert_eq!(dynamic_dns_provider("notduckdns.org", p), None);
    }
}
