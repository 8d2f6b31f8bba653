//! Serde for durations in configuration: human strings (`"5m"`, `"500ms"`)
//! or integer seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer, de::Error};

/// Either form a duration may take in a configuration file.
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Seconds(u64),
    Text(String),
}

/// Writes a duration as a human string.
pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&humantime::format_duration(*value).to_string())
}

/// Reads a human string or integer seconds.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    match Raw::deserialize(deserializer)? {
        Raw::Seconds(secs) => Ok(Duration::from_secs(secs)),
        Raw::Text(text) => humantime::parse_duration(&text).map_err(|e| {
            D::Error::custom(format!(
                "invalid duration `{text}` ({e}); write e.g. \"500ms\", \"30s\", \"5m\" or seconds"
            ))
        }),
    }
}
