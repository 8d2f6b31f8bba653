//! Glue between the generated exports and a [`Detector`] value held in a
//! thread-local; used by [`crate::export_detector!`] only.

use std::cell::RefCell;
use std::thread::LocalKey;

pub use wit_bindgen;

use crate::{Detector, Event, Finding, LogLevel, host};

/// Where the exported detector value lives between calls.
pub type Slot<D> = LocalKey<RefCell<Option<D>>>;

/// `init`: build the detector from its configuration, replacing any previous one.
pub fn init<D: Detector>(slot: &'static Slot<D>, config: &str) -> Result<(), String> {
    let detector = D::new(config)?;
    slot.with(|s| *s.borrow_mut() = Some(detector));
    Ok(())
}

/// Run `f` on the detector, building it from `{}` if the host never called `init`.
fn with_detector<D: Detector, R>(
    slot: &'static Slot<D>,
    fallback: R,
    f: impl FnOnce(&mut D) -> R,
) -> R {
    slot.with(|s| {
        let mut s = s.borrow_mut();
        if s.is_none() {
            match D::new("{}") {
                Ok(d) => *s = Some(d),
                Err(e) => {
                    host::log(
                        LogLevel::Error,
                        &format!("called before init and the default configuration fails: {e}"),
                    );
                    return fallback;
                }
            }
        }
        match s.as_mut() {
            Some(d) => f(d),
            None => fallback,
        }
    })
}

/// `on-events`: examine a batch.
pub fn on_events<D: Detector>(slot: &'static Slot<D>, events: &[Event]) -> Vec<Finding> {
    with_detector(slot, Vec::new(), |d| {
        let mut out = Vec::new();
        d.on_events(events, &mut out);
        out
    })
}

/// `tick`: periodic call.
pub fn tick<D: Detector>(slot: &'static Slot<D>, now_ns: u64) -> Vec<Finding> {
    with_detector(slot, Vec::new(), |d| {
        let mut out = Vec::new();
        d.tick(now_ns, &mut out);
        out
    })
}

/// `read-path-prefixes`: the read-only opens wanted (`None`: all of them).
pub fn read_path_prefixes<D: Detector>(slot: &'static Slot<D>) -> Option<Vec<String>> {
    with_detector(slot, None, |d| d.read_path_prefixes())
}

/// `snapshot`: serialize state.
pub fn snapshot<D: Detector>(slot: &'static Slot<D>) -> Vec<u8> {
    with_detector(slot, Vec::new(), |d| d.snapshot())
}

/// `restore`: restore state.
pub fn restore<D: Detector>(slot: &'static Slot<D>, state: &[u8]) -> Result<(), String> {
    with_detector(
        slot,
        Err("the detector could not be built from its default configuration".to_string()),
        |d| d.restore(state),
    )
}
