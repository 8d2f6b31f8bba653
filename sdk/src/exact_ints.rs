//! Integer fields of fixtures as JSON numbers or decimal strings (captures
//! write nanosecond times as strings), as the host reads them.

include!("../../wit/exact-ints.rs");
