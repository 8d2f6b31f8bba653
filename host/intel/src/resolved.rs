//! Which domain an address was resolved from, learnt from DNS answers: a
//! bounded map (oldest entries evicted first), so that a connection to an
//! address can be judged by the name that led to it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Default capacity: addresses remembered.
pub const DEFAULT_CAPACITY: usize = 65_536;
/// An answer is remembered at least this long whatever its TTL (a client
/// may connect well after a short-lived answer expires).
pub const MIN_KEEP_NS: u64 = 300 * 1_000_000_000;

#[derive(Debug)]
struct Entry {
    name: Arc<str>,
    expires_ns: u64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<IpAddr, Entry>,
    order: VecDeque<IpAddr>,
    evicted: u64,
}

/// The address → name map.
#[derive(Debug)]
pub struct ResolvedNames {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Default for ResolvedNames {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl ResolvedNames {
    /// A map holding at most `capacity` addresses.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remember that `name` resolved to `addr` at `time_ns` with `ttl_s`.
    pub fn insert(&self, addr: IpAddr, name: &str, ttl_s: u32, time_ns: u64) {
        let keep = (u64::from(ttl_s) * 1_000_000_000).max(MIN_KEEP_NS);
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        let mut inner = self.lock();
        let entry = Entry {
            name: name.into(),
            expires_ns: time_ns.saturating_add(keep),
        };
        if inner.map.insert(addr, entry).is_none() {
            inner.order.push_back(addr);
        }
        while inner.map.len() > self.capacity {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            inner.map.remove(&old);
            inner.evicted += 1;
        }
    }

    /// The name `addr` was last resolved from, unless that expired by `now_ns`.
    pub fn name_of(&self, addr: IpAddr, now_ns: u64) -> Option<Arc<str>> {
        let inner = self.lock();
        let e = inner.map.get(&addr)?;
        (e.expires_ns >= now_ns).then(|| e.name.clone())
    }

    /// Addresses held, and how many were evicted to stay within capacity.
    pub fn stats(&self) -> (usize, u64) {
        let inner = self.lock();
        (inner.map.len(), inner.evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_expire() {
        let m = ResolvedNames::with_capacity(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "2001:db8::3".parse().unwrap();
        m.insert(a, "A.example.", 60, 0);
        assert_eq!(m.name_of(a, 1).as_deref(), Some("a.example"));
        assert!(m.name_of(a, MIN_KEEP_NS + 1).is_none(), "expired");
        m.insert(b, "b.example", 3600, 0);
        m.insert(c, "c.example", 60, 0);
        assert!(m.name_of(a, 0).is_none(), "oldest evicted");
        assert_eq!(m.name_of(c, 0).as_deref(), Some("c.example"));
        assert_eq!(m.stats(), (2, 1));
        m.insert(b, "b2.example", 60, 0);
        assert_eq!(m.name_of(b, 0).as_deref(), Some("b2.example"));
        assert_eq!(m.stats().0, 2);
    }
}
