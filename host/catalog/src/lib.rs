//! The catalog: which detectors should run, and the one step that makes
//! the running set agree.
//!
//! The model is a topology reload: each [`Source`] (the detectors built into
//! the binary, plugin directories, installed rule packs, and any later
//! source such as a fleet) looks at what it owns and offers a keyed set of
//! detector specs ([`Wanted`]). [`Catalog::reconcile`] unions the offers,
//! diffs them against what the detector set itself records as held (its
//! [`harrier_pipeline::Ledger`]; see [`plan()`]), compiles what is new off the
//! event path and hands the set one batch of changes. Watchers ([`Watcher`]:
//! file notifications, SIGHUP) only signal that a round is due.
//!
//! Uniqueness of detector names is the set's rule, not the catalog's: every
//! detector is held under its [`DetectorKey`], the lowest key providing a
//! name serves and the others stand by (see [`DetectorKey`] for the order).
//! So whatever the sources offer now is what runs, whatever the order in
//! which it appeared.

#![deny(missing_docs)]

mod catalog;
pub mod directory;
pub mod embedded;
pub mod packs;
mod plan;
mod settings;
mod source;
mod target;
mod watch;

pub use catalog::{Catalog, Compile, Round};
pub use harrier_pipeline::DetectorKey;
pub use plan::{Plan, plan};
pub use settings::Settings;
pub use source::{Offer, Source, Wanted, Watch};
pub use target::Target;
pub use watch::{WatchConfig, Watcher};
