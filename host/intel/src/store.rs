//! The indicator store: an immutable [`Snapshot`] of every loaded feed,
//! read lock-free by detectors and replaced whole when a feed changes.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use ip_network::IpNetwork;
use ip_network_table::IpNetworkTable;
use rustc_hash::FxHashMap;

use crate::category::Category;
use crate::feed::Feed;
use crate::indicator::{Kind, Value, hex, parse_sha256};

/// A match: what the indicator means, where it came from and which entry
/// matched (the parent domain, the CIDR range, the digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The indicator's category.
    pub category: Category,
    /// The feed it came from.
    pub source: Arc<str>,
    /// The entry that matched.
    pub indicator: String,
}

/// Category and source of an entry, shared by every entry of a feed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Meta {
    category: Category,
    source: Arc<str>,
}

/// A domain entry: index into `meta`, and whether names under it match.
#[derive(Debug, Clone, Copy)]
struct DomainEntry {
    meta: u32,
    subdomains: bool,
}

/// How many entries a snapshot holds, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Domains (exact and with subdomains).
    pub domains: usize,
    /// Addresses and CIDR ranges.
    pub networks: usize,
    /// SHA-256 digests.
    pub hashes: usize,
    /// Entries a later feed gave again (the later one is kept).
    pub replaced: usize,
}

/// Every indicator of the loaded feeds, immutable once built.
#[derive(Default)]
pub struct Snapshot {
    meta: Vec<Meta>,
    domains: FxHashMap<Box<str>, DomainEntry>,
    networks: IpNetworkTable<u32>,
    hashes: FxHashMap<[u8; 32], u32>,
    counts: Counts,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("counts", &self.counts)
            .finish()
    }
}

impl Snapshot {
    /// A snapshot of `feeds`; where two give the same entry the later wins.
    pub fn build<'a>(feeds: impl IntoIterator<Item = &'a Feed>) -> Self {
        let mut s = Self::default();
        let mut meta_index: FxHashMap<Meta, u32> = FxHashMap::default();
        for feed in feeds {
            for ind in &feed.indicators {
                let meta = Meta {
                    category: ind.category,
                    source: ind.source.clone(),
                };
                let next = s.meta.len() as u32;
                let m = *meta_index.entry(meta.clone()).or_insert_with(|| {
                    s.meta.push(meta);
                    next
                });
                let replaced = match &ind.value {
                    Value::Domain { name, subdomains } => s
                        .domains
                        .insert(
                            name.clone(),
                            DomainEntry {
                                meta: m,
                                subdomains: *subdomains,
                            },
                        )
                        .is_some(),
                    Value::Network(net) => s.networks.insert(*net, m).is_some(),
                    Value::Sha256(d) => s.hashes.insert(*d, m).is_some(),
                };
                s.counts.replaced += replaced as usize;
            }
        }
        s.domains.shrink_to_fit();
        s.hashes.shrink_to_fit();
        let (v4, v6) = s.networks.len();
        s.counts.domains = s.domains.len();
        s.counts.networks = v4 + v6;
        s.counts.hashes = s.hashes.len();
        s
    }

    /// How many entries it holds.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    fn hit(&self, meta: u32, indicator: String) -> Hit {
        let m = &self.meta[meta as usize];
        Hit {
            category: m.category,
            source: m.source.clone(),
            indicator,
        }
    }

    /// The most specific entry for `query`: the name itself, else the
    /// nearest parent listed with its subdomains. Case and a trailing dot
    /// are ignored.
    pub fn match_domain(&self, query: &str) -> Option<Hit> {
        let q = query.strip_suffix('.').unwrap_or(query);
        let mut buf = [0u8; 253];
        let lower: &str = if q.bytes().any(|b| b.is_ascii_uppercase()) {
            let bytes = buf.get_mut(..q.len())?;
            bytes.copy_from_slice(q.as_bytes());
            bytes.make_ascii_lowercase();
            std::str::from_utf8(bytes).ok()?
        } else {
            q
        };
        let mut name = lower;
        let mut exact = true;
        loop {
            if let Some((key, e)) = self.domains.get_key_value(name)
                && (exact || e.subdomains)
            {
                return Some(self.hit(e.meta, key.to_string()));
            }
            let dot = name.find('.')?;
            name = &name[dot + 1..];
            exact = false;
        }
    }

    /// The longest-prefix entry containing `addr`.
    pub fn match_ip(&self, addr: IpAddr) -> Option<Hit> {
        let (net, meta): (IpNetwork, &u32) = self.networks.longest_match(addr)?;
        Some(self.hit(*meta, net.to_string()))
    }

    /// The entry for a SHA-256 digest given as hex (either case).
    pub fn match_sha256(&self, digest: &str) -> Option<Hit> {
        let d = parse_sha256(digest)?;
        let meta = self.hashes.get(&d)?;
        Some(self.hit(*meta, hex(&d)))
    }

    /// Look `value` up as `kind`; a value that does not parse as that kind
    /// (an address that is not one) matches nothing.
    pub fn lookup(&self, kind: Kind, value: &str) -> Option<Hit> {
        match kind {
            Kind::Domain => self.match_domain(value),
            Kind::Ip => self.match_ip(value.parse().ok()?),
            Kind::Sha256 => self.match_sha256(value),
        }
    }
}

/// The feeds of one source (the bundled feed, the intel directory, a
/// pack), replaced together.
#[derive(Debug, Clone)]
struct Group {
    name: String,
    feeds: Vec<Arc<Feed>>,
}

/// The live store: the current snapshot behind an [`ArcSwap`], and the
/// feeds it was built from, by source. Readers never wait: a reload builds
/// a new snapshot aside and swaps the pointer.
#[derive(Default)]
pub struct IntelStore {
    current: ArcSwap<Snapshot>,
    groups: Mutex<Vec<Group>>,
    lookups: AtomicU64,
    hits: AtomicU64,
}

/// What the store holds and what it was asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntelStats {
    /// Entries of the current snapshot.
    pub counts: Counts,
    /// Questions counted since start (see [`IntelStore::count`]).
    pub lookups: u64,
    /// Of those, questions that matched an indicator.
    pub hits: u64,
}

impl std::fmt::Debug for IntelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntelStore")
            .field("counts", &self.current.load().counts())
            .finish()
    }
}

impl IntelStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current snapshot (lock-free).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Look `value` up in the current snapshot (lock-free).
    pub fn lookup(&self, kind: Kind, value: &str) -> Option<Hit> {
        self.current.load().lookup(kind, value)
    }

    /// Counts one question a detector asked (`intel-match`) and whether it
    /// matched; the host answers from a [`IntelStore::snapshot`], possibly
    /// in more than one look-up, so it counts the question here once.
    pub fn count(&self, hit: bool) {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        if hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Entries held, lookups and hits so far.
    pub fn stats(&self) -> IntelStats {
        IntelStats {
            counts: self.current.load().counts(),
            lookups: self.lookups.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
        }
    }

    /// Replace every feed of source `group` (added after the existing
    /// sources if new: later sources win where entries repeat) and swap in
    /// a snapshot of all sources. Returns the new snapshot's counts.
    pub fn set_group(&self, group: &str, feeds: Vec<Arc<Feed>>) -> Counts {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        match groups.iter_mut().find(|g| g.name == group) {
            Some(g) => g.feeds = feeds,
            None => groups.push(Group {
                name: group.to_string(),
                feeds,
            }),
        }
        self.rebuild(&groups)
    }

    /// Drop source `group` and swap in a snapshot without it.
    pub fn remove_group(&self, group: &str) -> Counts {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.retain(|g| g.name != group);
        self.rebuild(&groups)
    }

    /// The feeds currently loaded from `group`.
    pub fn feeds(&self, group: &str) -> Vec<Arc<Feed>> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups
            .iter()
            .find(|g| g.name == group)
            .map(|g| g.feeds.clone())
            .unwrap_or_default()
    }

    fn rebuild(&self, groups: &[Group]) -> Counts {
        let snapshot = Snapshot::build(groups.iter().flat_map(|g| g.feeds.iter().map(|f| &**f)));
        let counts = snapshot.counts();
        self.current.store(Arc::new(snapshot));
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::parse_feed;

    fn store(text: &str) -> IntelStore {
        let s = IntelStore::new();
        s.set_group("test", vec![Arc::new(parse_feed("t.txt", text).unwrap())]);
        s
    }

    #[test]
    fn the_most_specific_domain_wins() {
        let s = store(
            "[command-and-control]\n*.guarddutyc2activityb.com\n[crypto-mining]\ncrypto.guarddutyc2activityb.com\n[phishing]\nexact.example\n",
        );
        let hit = s
            .lookup(Kind::Domain, "C2.GuardDutyC2ActivityB.com.")
            .unwrap();
        assert_eq!(hit.category, Category::CommandAndControl);
        assert_eq!(hit.indicator, "guarddutyc2activityb.com");
        assert_eq!(hit.source.as_ref(), "t.txt");
        let hit = s
            .lookup(Kind::Domain, "crypto.guarddutyc2activityb.com")
            .unwrap();
        assert_eq!(hit.category, Category::CryptoMining);
        assert_eq!(
            s.lookup(Kind::Domain, "guarddutyc2activityb.com")
                .unwrap()
                .category,
            Category::CommandAndControl
        );
        assert_eq!(
            s.lookup(Kind::Domain, "exact.example").unwrap().category,
            Category::Phishing
        );
        assert!(s.lookup(Kind::Domain, "www.exact.example").is_none());
        assert!(
            s.lookup(Kind::Domain, "notguarddutyc2activityb.com")
                .is_none()
        );
        assert!(s.lookup(Kind::Domain, &"a".repeat(300)).is_none());
    }

    #[test]
    fn addresses_match_the_longest_prefix() {
        let s = store(
            "[tor-relay]\n198.51.100.0/24\n2001:db8::/32\n[command-and-control]\n198.51.100.7\n",
        );
        let hit = s.lookup(Kind::Ip, "198.51.100.7").unwrap();
        assert_eq!(
            (hit.category, hit.indicator.as_str()),
            (Category::CommandAndControl, "198.51.100.7/32")
        );
        let hit = s.lookup(Kind::Ip, "198.51.100.8").unwrap();
        assert_eq!(
            (hit.category, hit.indicator.as_str()),
            (Category::TorRelay, "198.51.100.0/24")
        );
        assert_eq!(
            s.lookup(Kind::Ip, "2001:db8::1").unwrap().indicator,
            "2001:db8::/32"
        );
        assert!(s.lookup(Kind::Ip, "198.51.101.1").is_none());
        assert!(s.lookup(Kind::Ip, "not an address").is_none());
    }

    #[test]
    fn hashes_match_in_either_case() {
        let d = "9f".repeat(32);
        let s = store(&format!("[malicious-file]\n{d}\n"));
        assert_eq!(
            s.lookup(Kind::Sha256, &d.to_uppercase()).unwrap().indicator,
            d
        );
        assert!(s.lookup(Kind::Sha256, &"00".repeat(32)).is_none());
        assert!(s.lookup(Kind::Sha256, "xyz").is_none());
    }

    #[test]
    fn a_group_is_replaced_whole_and_later_groups_win() {
        let s = store("[phishing]\na.example\n");
        s.set_group(
            "later",
            vec![Arc::new(
                parse_feed("l.txt", "[drop-point]\na.example\nb.example\n").unwrap(),
            )],
        );
        assert_eq!(
            s.lookup(Kind::Domain, "a.example").unwrap().category,
            Category::DropPoint
        );
        assert_eq!(s.snapshot().counts().replaced, 1);
        let held = s.snapshot();
        let counts = s.remove_group("later");
        assert_eq!(counts.domains, 1);
        assert_eq!(
            s.lookup(Kind::Domain, "a.example").unwrap().category,
            Category::Phishing
        );
        assert!(s.lookup(Kind::Domain, "b.example").is_none());
        assert!(
            held.match_domain("b.example").is_some(),
            "a reader's snapshot stays whole"
        );
    }
}
