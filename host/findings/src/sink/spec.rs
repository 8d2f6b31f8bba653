//! Sink specifications: parsing `stdout`, `file:PATH`, `webhook:URL`, each
//! optionally prefixed `shadow:` (only findings of detectors in shadow mode)
//! or `all:` (live and shadow findings).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings shared by the sinks parsed from `--output` strings (the
/// agent's TOML). Every key is optional; defaults in brackets.
///
/// ```toml
/// queue_capacity = 1024          # [1024] findings queued per sink before drops
/// file_max_bytes = 104857600     # [100 MiB] size at which a file sink rotates
/// file_keep = 5                  # [5] rotated files kept (PATH.1 .. PATH.N)
/// webhook_timeout = "5s"         # [5s] whole-request timeout of one POST
/// webhook_retries = 5            # [5] retries after a failed POST
/// webhook_backoff = "500ms"      # [500ms] first retry delay, doubled each time
/// webhook_max_backoff = "30s"    # [30s] longest retry delay
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinkSettings {
    /// Findings each sink may hold queued; beyond it new findings are
    /// dropped for that sink (counted in `dropped`).
    pub queue_capacity: usize,
    /// A file sink rotates before a write would take the file past this.
    pub file_max_bytes: u64,
    /// Rotated files kept: `PATH.1` (newest) to `PATH.<file_keep>`.
    pub file_keep: usize,
    /// Timeout of one webhook POST, connection included.
    #[serde(with = "crate::duration")]
    pub webhook_timeout: Duration,
    /// Retries after a failed POST (transport error, 408, 429 or 5xx).
    pub webhook_retries: u32,
    /// Delay before the first retry; doubled for each later one.
    #[serde(with = "crate::duration")]
    pub webhook_backoff: Duration,
    /// Longest delay between retries.
    #[serde(with = "crate::duration")]
    pub webhook_max_backoff: Duration,
}

impl Default for SinkSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 1024,
            file_max_bytes: 100 * 1024 * 1024,
            file_keep: 5,
            webhook_timeout: Duration::from_secs(5),
            webhook_retries: 5,
            webhook_backoff: Duration::from_millis(500),
            webhook_max_backoff: Duration::from_secs(30),
        }
    }
}

/// One output: where findings go and how much may queue for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSpec {
    /// The destination.
    pub target: SinkTarget,
    /// Findings that may queue for this sink before drops.
    pub queue_capacity: usize,
    /// Which findings it receives: live ones unless it asks for shadow ones.
    pub accepts: Accepts,
}

/// Which findings a sink receives (the `shadow:` and `all:` prefixes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Accepts {
    /// Live findings only (no prefix): shadow findings never reach it.
    #[default]
    Live,
    /// Findings of detectors in shadow mode only (`shadow:`).
    Shadow,
    /// Both (`all:`).
    All,
}

impl Accepts {
    /// Whether a finding with this `shadow` flag goes to the sink.
    pub fn accepts(self, shadow: bool) -> bool {
        match self {
            Accepts::Live => !shadow,
            Accepts::Shadow => shadow,
            Accepts::All => true,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Accepts::Live => "",
            Accepts::Shadow => "shadow:",
            Accepts::All => "all:",
        }
    }
}

/// A sink's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkTarget {
    /// Standard output, one JSON object per line, flushed per line.
    Stdout,
    /// A file of JSON lines with size-based rotation.
    File(FileTarget),
    /// HTTP POST of each finding as JSON.
    Webhook(WebhookTarget),
}

/// A file sink's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTarget {
    /// The file written; rotated copies are `PATH.1`, `PATH.2`, ...
    pub path: PathBuf,
    /// Rotate before a write would take the file past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (0: the file is simply truncated on rotation).
    pub keep: usize,
}

/// A webhook sink's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// `http://` or `https://` URL the findings are POSTed to.
    pub url: String,
    /// Timeout of one POST, connection included.
    pub timeout: Duration,
    /// Retries after a failed POST.
    pub retries: u32,
    /// First retry delay, doubled each time.
    pub backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

/// An `--output` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkSpecError {
    /// Not `stdout`, `file:PATH` or `webhook:URL`.
    #[error("output `{0}`: expected `stdout`, `file:PATH` or `webhook:URL`")]
    Unknown(String),
    /// `file:` without a path.
    #[error("output `{0}`: `file:` needs a path, e.g. file:/var/log/harrier/findings.json")]
    EmptyPath(String),
    /// `webhook:` without an http(s) URL.
    #[error("output `{0}`: `webhook:` needs an http:// or https:// URL")]
    BadUrl(String),
}

impl SinkSpec {
    /// Parses `stdout` (or `-`), `file:PATH` or `webhook:URL`, taking sizes,
    /// queue and retry settings from `settings`.
    pub fn parse_with(full: &str, settings: &SinkSettings) -> Result<Self, SinkSpecError> {
        let (accepts, text) = if let Some(rest) = full.strip_prefix("shadow:") {
            (Accepts::Shadow, rest)
        } else if let Some(rest) = full.strip_prefix("all:") {
            (Accepts::All, rest)
        } else {
            (Accepts::Live, full)
        };
        let target = if text == "stdout" || text == "-" {
            SinkTarget::Stdout
        } else if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SinkSpecError::EmptyPath(full.to_string()));
            }
            SinkTarget::File(FileTarget {
                path: PathBuf::from(path),
                max_bytes: settings.file_max_bytes,
                keep: settings.file_keep,
            })
        } else if let Some(url) = text.strip_prefix("webhook:") {
            let valid = ["http://", "https://"]
                .iter()
                .any(|scheme| url.len() > scheme.len() && url.starts_with(scheme));
            if !valid {
                return Err(SinkSpecError::BadUrl(full.to_string()));
            }
            SinkTarget::Webhook(WebhookTarget {
                url: url.to_string(),
                timeout: settings.webhook_timeout,
                retries: settings.webhook_retries,
                backoff: settings.webhook_backoff,
                max_backoff: settings.webhook_max_backoff,
            })
        } else {
            return Err(SinkSpecError::Unknown(full.to_string()));
        };
        Ok(Self {
            target,
            queue_capacity: settings.queue_capacity.max(1),
            accepts,
        })
    }
}

impl FromStr for SinkSpec {
    type Err = SinkSpecError;

    /// Parses with the default [`SinkSettings`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_with(text, &SinkSettings::default())
    }
}

impl fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.accepts.prefix())?;
        match &self.target {
            SinkTarget::Stdout => f.write_str("stdout"),
            SinkTarget::File(file) => write!(f, "file:{}", file.path.display()),
            SinkTarget::Webhook(hook) => write!(f, "webhook:{}", hook.url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        assert_eq!(
            "stdout".parse::<SinkSpec>().unwrap().target,
            SinkTarget::Stdout
        );
        let file = "file:/tmp/f.json".parse::<SinkSpec>().unwrap();
        assert!(
            matches!(&file.target, SinkTarget::File(f) if f.path == std::path::Path::new("/tmp/f.json") && f.keep == 5)
        );
        assert_eq!(file.to_string(), "file:/tmp/f.json");
        let hook = "webhook:http://127.0.0.1:9/x".parse::<SinkSpec>().unwrap();
        assert!(matches!(&hook.target, SinkTarget::Webhook(w) if w.url == "http://127.0.0.1:9/x"));
        assert_eq!(hook.queue_capacity, 1024);
    }

    #[test]
    fn shadow_prefixes_choose_which_findings() {
        let live = "stdout".parse::<SinkSpec>().unwrap();
        assert!(live.accepts.accepts(false) && !live.accepts.accepts(true));
        let shadow = "shadow:file:/tmp/s.json".parse::<SinkSpec>().unwrap();
        assert_eq!(shadow.accepts, Accepts::Shadow);
        assert!(shadow.accepts.accepts(true) && !shadow.accepts.accepts(false));
        assert_eq!(shadow.to_string(), "shadow:file:/tmp/s.json");
        let all = "all:stdout".parse::<SinkSpec>().unwrap();
        assert!(all.accepts.accepts(true) && all.accepts.accepts(false));
        assert_eq!(
            "shadow:file:".parse::<SinkSpec>(),
            Err(SinkSpecError::EmptyPath("shadow:file:".into()))
        );
    }

    #[test]
    fn refuses_bad_specs_naming_them() {
        assert_eq!(
            "file:".parse::<SinkSpec>(),
            Err(SinkSpecError::EmptyPath("file:".into()))
        );
        assert_eq!(
            "webhook:ftp://x".parse::<SinkSpec>(),
            Err(SinkSpecError::BadUrl("webhook:ftp://x".into()))
        );
        let err = "syslog".parse::<SinkSpec>().unwrap_err();
        assert!(err.to_string().contains("`syslog`"), "{err}");
    }

    #[test]
    fn settings_defaults_and_overrides() {
        let settings: SinkSettings =
            serde_json::from_str(r#"{"file_keep": 2, "webhook_backoff": "50ms"}"#).unwrap();
        assert_eq!(settings.file_keep, 2);
        assert_eq!(settings.webhook_backoff, Duration::from_millis(50));
        assert_eq!(
            settings.queue_capacity,
            SinkSettings::default().queue_capacity
        );
        let spec = SinkSpec::parse_with("file:/x", &settings).unwrap();
        assert!(matches!(spec.target, SinkTarget::File(f) if f.keep == 2));
    }
}
