//! Timestamps: RFC 3339 rendering of event times.

use std::time::{Duration, UNIX_EPOCH};

/// Renders nanoseconds since the Unix epoch as RFC 3339 in UTC with
/// millisecond precision, e.g. `2026-11-28T14:30:24.123Z`.
pub fn rfc3339(time_ns: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_nanos(time_ns);
    humantime::format_rfc3339_millis(at).to_string()
}

/// Renders nanoseconds since the Unix epoch as RFC 3339 in UTC with
/// nanosecond precision (Falco's `time` field).
pub(crate) fn rfc3339_nanos(time_ns: u64) -> String {
    let at = UNIX_EPOCH + Duration::from_nanos(time_ns);
    humantime::format_rfc3339_nanos(at).to_string()
}

/// Milliseconds since the Unix epoch (OCSF timestamps).
pub(crate) fn millis(time_ns: u64) -> u64 {
    time_ns / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_utc_with_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            rfc3339_nanos(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
    }
}
