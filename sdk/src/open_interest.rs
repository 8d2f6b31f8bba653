//! The contract's rule for which file opens reach a detector, by its
//! `read-path-prefixes` answer; the test harness applies it as the host does.

include!("../../wit/read-path-filter.rs");
