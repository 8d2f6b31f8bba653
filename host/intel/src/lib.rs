//! Harrier's threat intelligence: indicators of compromise that detectors
//! ask about through the `intel-match` host function.
//!
//! - [`category`]: what an indicator means (command-and-control, mining,
//!   Tor, reputation classes, ...).
//! - [`indicator`]: domains (exact, or with subdomains), addresses and CIDR
//!   ranges, SHA-256 hashes.
//! - [`feed`]: plain lists, CSV, STIX 2.1 bundles.
//! - [`store`]: the immutable [`Snapshot`] (hash maps and a longest-prefix
//!   table) behind an atomic pointer: lookups never lock; a reload builds a
//!   new snapshot aside and swaps it.
//! - [`bundled`]: the feeds built into the binary, [`dir`] and [`watch`]:
//!   the watched intel directories; [`resolved`]: which domain an address
//!   was resolved from.

pub mod bundled;
pub mod category;
pub mod dir;
pub mod feed;
pub mod indicator;
pub mod resolved;
pub mod store;
pub mod watch;

pub use category::Category;
pub use dir::FeedDir;
pub use feed::{Feed, FeedError, parse_feed};
pub use indicator::{Indicator, Kind, Value};
pub use resolved::ResolvedNames;
pub use store::{Counts, Hit, IntelStats, IntelStore, Snapshot};
pub use watch::{IntelWatcher, WatchStats};
