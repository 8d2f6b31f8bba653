//! One indicator: a domain (exact, or with its subdomains), an address or
//! CIDR range, or a SHA-256 file hash; what it means and where it came from.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ip_network::IpNetwork;

use crate::category::Category;

/// What kind of thing an indicator names (the WIT `indicator-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A domain name.
    Domain,
    /// An IPv4 or IPv6 address or range.
    Ip,
    /// A SHA-256 file hash.
    Sha256,
}

/// The value an indicator matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// A domain, lower case, without a trailing dot; `subdomains` when the
    /// feed wrote `*.name` (the name itself and every name under it).
    Domain {
        /// The name.
        name: Box<str>,
        /// Whether names under it match too.
        subdomains: bool,
    },
    /// An address (a /32 or /128 network) or a CIDR range.
    Network(IpNetwork),
    /// A SHA-256 digest.
    Sha256([u8; 32]),
}

impl Value {
    /// The kind of this value.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Domain { .. } => Kind::Domain,
            Self::Network(_) => Kind::Ip,
            Self::Sha256(_) => Kind::Sha256,
        }
    }

    /// Read an indicator as feeds write it: `*.example.com` (the domain and
    /// its subdomains), `example.com` (exactly), `192.0.2.1`,
    /// `198.51.100.0/24`, `2001:db8::/32`, or 64 hex digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty indicator".to_string());
        }
        if t.contains('/') || t.contains(':') || t.parse::<IpAddr>().is_ok() {
            return parse_network(t).map(Self::Network);
        }
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return parse_sha256(t)
                .map(Self::Sha256)
                .ok_or_else(|| format!("`{t}` is not a SHA-256 digest"));
        }
        let (name, subdomains) = match t.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (t, false),
        };
        let name = normalize_domain(name).ok_or_else(|| format!("`{t}` is not a domain name"))?;
        Ok(Self::Domain {
            name: name.into(),
            subdomains,
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain {
                name,
                subdomains: true,
            } => write!(f, "*.{name}"),
            Self::Domain { name, .. } => f.write_str(name),
            Self::Network(n) => write!(f, "{n}"),
            Self::Sha256(d) => f.write_str(&hex(d)),
        }
    }
}

/// An address, or a network in CIDR notation. Host bits set below the
/// prefix (`10.1.2.3/8`) are refused: the feed most likely meant something
/// else.
pub fn parse_network(t: &str) -> Result<IpNetwork, String> {
    match t.split_once('/') {
        None => t
            .parse::<IpAddr>()
            .map(IpNetwork::from)
            .map_err(|_| format!("`{t}` is not an IP address")),
        Some(_) => t
            .parse::<IpNetwork>()
            .map_err(|e| format!("`{t}` is not a CIDR range: {e}")),
    }
}

/// Lower-case hex of a digest.
pub fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SHA-256 digest from 64 hex digits (either case).
pub fn parse_sha256(t: &str) -> Option<[u8; 32]> {
    if t.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in t.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// A domain in the store's form: lower case, no trailing dot, labels of
/// letters, digits, `-` and `_`, each 1..=63 bytes, 253 bytes at most.
pub fn normalize_domain(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let valid = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    valid.then(|| name.to_ascii_lowercase())
}

/// An indicator as read from a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// What it matches.
    pub value: Value,
    /// What it means.
    pub category: Category,
    /// Where it came from (the feed's name), shown in evidence.
    pub source: Arc<str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_by_shape() {
        assert_eq!(
            Value::parse("*.Evil.Example.").unwrap(),
            Value::Domain {
                name: "evil.example".into(),
                subdomains: true
            }
        );
        assert_eq!(
            Value::parse("192.0.2.7").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(
            Value::parse("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        let sha = "AB".repeat(32);
        assert_eq!(Value::parse(&sha).unwrap().kind(), Kind::Sha256);
        assert_eq!(Value::parse(&sha).unwrap().to_string(), "ab".repeat(32));
        for bad in [
            "",
            "10.1.2.3/8",
            "10.0.0.0/33",
            "bad domain",
            "a..b",
            "1.2.3.4.5/8",
        ] {
            assert!(Value::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
