//! Event kind names (as in captures and configuration) and the kind of an
//! event's detail.

use crate::{EventDetail, EventKind};

/// One list of (kind, name) so the mappings stay in step with the WIT.
macro_rules! kinds {
    ($($kind:ident => $name:literal),* $(,)?) => {
        /// The kebab-case name of an event kind, as in captures.
        pub fn name(kind: EventKind) -> &'static str {
            match kind { $(EventKind::$kind => $name),* }
        }

        /// The event kind with this kebab-case name.
        pub fn from_name(name: &str) -> Option<EventKind> {
            match name { $($name => Some(EventKind::$kind),)* _ => None }
        }

        /// The kind of an event detail.
        pub fn of(detail: &EventDetail) -> EventKind {
            match detail { $(EventDetail::$kind(_) => EventKind::$kind),* }
        }
    };
}

include!("../../wit/event-kinds.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in ["exec", "file-open", "fd-redirect", "dns-query"] {
            assert_eq!(name(from_name(n).unwrap()), n);
        }
        assert!(from_name("nope").is_none());
    }
}
