//! Shadow mode: a detector that runs and whose findings are counted and
//! marked `shadow`, but reach only the sinks that ask for shadow findings,
//! so a new rule can be rolled out without paging anyone. An optional
//! expiry ends the trial: the detector is then unloaded or goes live.

use std::time::UNIX_EPOCH;

use serde::{Deserialize, Deserializer};

/// How a detector runs in shadow mode (`[plugins.shadow.<name>]`, or a
/// pack override's `shadow`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShadowMode {
    /// End of the shadow period, RFC 3339 (e.g. `2026-12-31T00:00:00Z`) in
    /// the configuration, nanoseconds since the Unix epoch here; none:
    /// shadow until the configuration changes.
    #[serde(deserialize_with = "rfc3339_ns")]
    pub until: Option<u64>,
    /// What happens at `until`: `off` (unload it, the default) or `live`.
    pub then: AfterShadow,
}

/// What a detector does when its shadow period ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterShadow {
    /// Unload the detector.
    #[default]
    Off,
    /// Keep it, with its findings going to every sink from then on.
    Live,
}

impl ShadowMode {
    /// Whether the shadow period is over at `now_ns` (event time in replay,
    /// wall time live).
    pub fn expired(&self, now_ns: u64) -> bool {
        self.until.is_some_and(|until| now_ns >= until)
    }
}

/// Parse an RFC 3339 time into nanoseconds since the Unix epoch.
pub fn parse_rfc3339_ns(text: &str) -> Result<u64, String> {
    let time = humantime::parse_rfc3339_weak(text).map_err(|e| {
        format!("`{text}` is not an RFC 3339 time ({e}), e.g. 2026-12-31T00:00:00Z")
    })?;
    let since = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| format!("`{text}` is before 1970"))?;
    // Past 2554 nanoseconds overflow u64: such an end is "never".
    Ok(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

fn rfc3339_ns<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| parse_rfc3339_ns(&t).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_parses_and_bad_times_are_named() {
        let mode: ShadowMode =
            serde_json::from_str(r#"{"until":"2026-12-31T00:00:00Z","then":"live"}"#).unwrap();
        let until = mode.until.unwrap();
        assert_eq!(until, 1_798_675_200_000_000_000);
        assert!(!mode.expired(until - 1) && mode.expired(until));
        assert_eq!(mode.then, AfterShadow::Live);
        let never: ShadowMode = serde_json::from_str("{}").unwrap();
        assert!(!never.expired(u64::MAX) && never.then == AfterShadow::Off);
        let bad = serde_json::from_str::<ShadowMode>(r#"{"until":"tomorrow"}"#).unwrap_err();
        assert!(
            bad.to_string()
                .contains("`tomorrow` is not an RFC 3339 time"),
            "{bad}"
        );
    }
}
