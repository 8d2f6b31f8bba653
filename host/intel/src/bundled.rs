//! The feeds built into the binary: curated public indicators (mining
//! pools, Tor directory authorities) and GuardDuty's public test
//! indicators, which exist only to check detection end to end, like the
//! EICAR test file, and can be turned off.

use std::sync::Arc;

use crate::feed::{Feed, FeedError, parse_feed};

/// The store group the bundled feeds load into.
pub const GROUP: &str = "bundled";

/// Curated public indicators.
pub const CURATED: (&str, &str) = ("bundled/curated.txt", include_str!("../feeds/curated.txt"));

/// GuardDuty's test domains (`*.guarddutyc2activityb.com`, ...).
pub const GUARDDUTY_TEST: (&str, &str) = (
    "bundled/guardduty-test.txt",
    include_str!("../feeds/guardduty-test.txt"),
);

/// The bundled feeds, with GuardDuty's test indicators if
/// `test_indicators`.
pub fn feeds(test_indicators: bool) -> Result<Vec<Arc<Feed>>, FeedError> {
    let mut files = vec![CURATED];
    if test_indicators {
        files.push(GUARDDUTY_TEST);
    }
    files
        .into_iter()
        .map(|(name, text)| parse_feed(name, text).map(Arc::new))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::indicator::Kind;
    use crate::store::IntelStore;

    /// The tester's eleven DNS indicators and the category each must hit.
    pub(crate) const TESTER_DOMAINS: [(&str, Category); 11] = [
        ("c2.guarddutyc2activityb.com", Category::CommandAndControl),
        ("crypto.guarddutyc2activityb.com", Category::CryptoMining),
        ("abused-rep.guarddutyc2activityb.com", Category::Abused),
        ("crypto-rep.guarddutyc2activityb.com", Category::Bitcoin),
        (
            "malicious-rep.guarddutyc2activityb.com",
            Category::Malicious,
        ),
        (
            "suspicious-rep.guarddutyc2activityb.com",
            Category::Suspicious,
        ),
        ("guarddutyblackholeactivity.com", Category::Blackhole),
        ("guarddutydroppointactivity.com", Category::DropPoint),
        ("guarddutydgaactivity.com", Category::Dga),
        ("guarddutydrivebyactivity.com", Category::DriveBySource),
        ("guarddutyphishingactivity.com", Category::Phishing),
    ];

    #[test]
    fn every_tester_domain_hits_its_category_and_the_switch_removes_them() {
        let store = IntelStore::new();
        store.set_group(GROUP, feeds(true).unwrap());
        for (domain, category) in TESTER_DOMAINS {
            let hit = store
                .lookup(Kind::Domain, domain)
                .unwrap_or_else(|| panic!("{domain}"));
            assert_eq!(hit.category, category, "{domain}");
            assert_eq!(&*hit.source, GUARDDUTY_TEST.0);
        }
        assert_eq!(
            store
                .lookup(Kind::Domain, "pool.supportxmr.com")
                .unwrap()
                .category,
            Category::CryptoMining
        );
        assert_eq!(
            store.lookup(Kind::Ip, "193.23.244.244").unwrap().category,
            Category::TorEntry
        );
        store.set_group(GROUP, feeds(false).unwrap());
        assert!(store.lookup(Kind::Domain, TESTER_DOMAINS[0].0).is_none());
        assert!(store.lookup(Kind::Domain, "pool.supportxmr.com").is_some());
    }
}
