//! Event kinds: the name each kind has in captures and configuration, and
//! the kind of an event's detail.

use crate::{EventDetail, EventKind};

/// One list of (kind, detail variant, name) so the three stay in step.
macro_rules! kinds {
    ($($kind:ident => $name:literal),* $(,)?) => {
        impl EventKind {
            /// Every event kind, in WIT order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$kind),*];

            /// The kebab-case name used in captures, configuration and metrics.
            pub fn name(self) -> &'static str {
                match self { $(EventKind::$kind => $name),* }
            }

            /// Parse a kebab-case name.
            pub fn from_name(name: &str) -> Result<Self, UnknownKind> {
                match name {
                    $($name => Ok(EventKind::$kind),)*
                    _ => Err(UnknownKind(name.to_string())),
                }
            }

            /// Position in [`EventKind::ALL`]; also the kind's index in the
            /// sensor's in-kernel enable map.
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl EventDetail {
            /// The kind of this event.
            pub fn kind(&self) -> EventKind {
                match self { $(EventDetail::$kind(_) => EventKind::$kind),* }
            }
        }
    };
}

include!("../../../wit/event-kinds.rs");

/// An event kind name that is not in the WIT contract.
#[derive(Debug, thiserror::Error)]
#[error("unknown event kind `{0}` (known kinds: {known})", known = EventKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownKind(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_indices_follow_wit_order() {
        for (i, kind) in EventKind::ALL.iter().enumerate() {
            assert_eq!(EventKind::from_name(kind.name()).unwrap(), *kind);
            assert_eq!(kind.index(), i);
        }
        assert!(EventKind::from_name("exce").is_err());
    }
}
