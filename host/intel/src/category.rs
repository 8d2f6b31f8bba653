//! What an indicator means: its category, which detectors map to a finding
//! type (command-and-control to `Backdoor:Runtime/C&CActivity.B`, ...).

use std::fmt;
use std::str::FromStr;

/// The category of an indicator. Its [`Category::name`] is what detectors
/// receive in `intel-hit.category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Command-and-control servers of malware.
    CommandAndControl,
    /// Cryptocurrency mining pools and services.
    CryptoMining,
    /// Black-hole or sinkhole addresses.
    Blackhole,
    /// Drop points: hosts collecting stolen credentials and data.
    DropPoint,
    /// Algorithmically generated domains.
    Dga,
    /// Sources of drive-by downloads.
    DriveBySource,
    /// Phishing.
    Phishing,
    /// Tor relays (middle and exit nodes).
    TorRelay,
    /// Tor entry points: guards and directory authorities, what a Tor
    /// client connects to first.
    TorEntry,
    /// Known-malicious files (by hash).
    MaliciousFile,
    /// The operator's own threat list.
    Custom,
    /// Reputation: domains known to be abused.
    Abused,
    /// Reputation: domains related to cryptocurrency.
    Bitcoin,
    /// Reputation: domains associated with malicious activity.
    Malicious,
    /// Reputation: suspicious domains (young, rare, look-alike).
    Suspicious,
}

/// Every category, in declaration order.
pub const ALL: [Category; 15] = [
    Category::CommandAndControl,
    Category::CryptoMining,
    Category::Blackhole,
    Category::DropPoint,
    Category::Dga,
    Category::DriveBySource,
    Category::Phishing,
    Category::TorRelay,
    Category::TorEntry,
    Category::MaliciousFile,
    Category::Custom,
    Category::Abused,
    Category::Bitcoin,
    Category::Malicious,
    Category::Suspicious,
];

impl Category {
    /// The category's name in feeds and in `intel-hit.category`.
    pub fn name(self) -> &'static str {
        match self {
            Self::CommandAndControl => "command-and-control",
            Self::CryptoMining => "crypto-mining",
            Self::Blackhole => "blackhole",
            Self::DropPoint => "drop-point",
            Self::Dga => "dga",
            Self::DriveBySource => "drive-by-source",
            Self::Phishing => "phishing",
            Self::TorRelay => "tor-relay",
            Self::TorEntry => "tor-entry",
            Self::MaliciousFile => "malicious-file",
            Self::Custom => "custom",
            Self::Abused => "abused",
            Self::Bitcoin => "bitcoin",
            Self::Malicious => "malicious",
            Self::Suspicious => "suspicious",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A category name no feed may use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category `{0}` (known: {known})", known = known_names())]
pub struct UnknownCategory(pub String);

fn known_names() -> String {
    ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

impl FromStr for Category {
    type Err = UnknownCategory;

    /// A name, case-insensitive, `_` and ` ` read as `-`; a few common
    /// aliases (`c2`, `cnc`, `mining`, `sinkhole`, `tor-exit`) are accepted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '_' | ' ' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        if let Some(c) = ALL.iter().find(|c| c.name() == norm) {
            return Ok(*c);
        }
        Ok(match norm.as_str() {
            "c2" | "cnc" | "c-and-c" | "botnet-cc" => Self::CommandAndControl,
            "mining" | "cryptomining" | "mining-pool" => Self::CryptoMining,
            "sinkhole" | "black-hole" => Self::Blackhole,
            "droppoint" => Self::DropPoint,
            "drive-by" | "driveby" => Self::DriveBySource,
            "tor-exit" | "tor" => Self::TorRelay,
            "tor-guard" | "tor-directory" => Self::TorEntry,
            "malware" => Self::MaliciousFile,
            _ => return Err(UnknownCategory(s.trim().to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for c in ALL {
            assert_eq!(c.name().parse::<Category>().unwrap(), c);
        }
        assert_eq!(
            "C2".parse::<Category>().unwrap(),
            Category::CommandAndControl
        );
        assert_eq!(
            "Drop_Point".parse::<Category>().unwrap(),
            Category::DropPoint
        );
        let err = "ransom".parse::<Category>().unwrap_err();
        assert!(err.to_string().contains("`ransom`"), "{err}");
        assert!(err.to_string().contains("phishing"), "{err}");
    }
}
