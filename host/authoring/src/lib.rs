//! Tools for detector authors: `harrier new detector NAME --lang LANG`
//! writes a project outside this repository that builds to a component and
//! passes its own test with one command each (`make`, `make test`).
//!
//! Every scaffold carries the contract (`wit/`), a capture and the findings
//! expected from it (`fixtures/`), and the SDK of its language vendored in
//! (`harrier-sdk/`, or `harrier_sdk/` for Python), so it depends on neither
//! this repository's layout nor an unpublished package. All four implement
//! the same detector and report the same findings.

pub mod names;
pub mod scaffold;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub use names::DetectorName;
pub use scaffold::{Language, Scaffold};
