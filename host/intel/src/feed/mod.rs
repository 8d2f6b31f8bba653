//! Indicator feeds: plain lists, CSV with a header, STIX 2.1 bundles. The
//! format follows the file name (`.csv`, `.json`/`.stix`, anything else a
//! plain list); a feed named after a category (`phishing.txt`) gives that
//! category to entries that name none.

mod csv;
mod plain;
mod stix;

use std::path::Path;
use std::sync::Arc;

use crate::category::Category;
use crate::indicator::Indicator;

/// Most examples of unsupported entries a feed keeps for its report.
const MAX_EXAMPLES: usize = 5;

/// A parsed feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// Its name (the file name), also the indicators' source.
    pub name: Arc<str>,
    /// What it holds.
    pub indicators: Vec<Indicator>,
    /// Entries it holds that Harrier does not use (STIX objects or patterns
    /// outside the supported subset), counted, never a failure.
    pub unsupported: usize,
    /// The first few of them, for the report.
    pub unsupported_examples: Vec<String>,
}

impl Feed {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            indicators: Vec::new(),
            unsupported: 0,
            unsupported_examples: Vec::new(),
        }
    }

    fn skip(&mut self, what: String) {
        self.unsupported += 1;
        if self.unsupported_examples.len() < MAX_EXAMPLES {
            self.unsupported_examples.push(what);
        }
    }

    /// One line for the log: counts and the first unsupported entries.
    pub fn summary(&self) -> String {
        let mut s = format!("{} indicators", self.indicators.len());
        if self.unsupported > 0 {
            s.push_str(&format!(
                ", {} unsupported entries skipped (e.g. {})",
                self.unsupported,
                self.unsupported_examples.join("; ")
            ));
        }
        s
    }
}

/// Why a feed was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("intel feed `{feed}`{}: {message}", line.map(|l| format!(": line {l}")).unwrap_or_default())]
pub struct FeedError {
    /// The feed's name.
    pub feed: String,
    /// The 1-based line, where one is to blame.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl FeedError {
    fn at(feed: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            feed: feed.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// The category a feed's name gives its entries, if it is one: the stem of
/// `crypto-mining.txt`.
fn category_of_name(name: &str) -> Option<Category> {
    Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse().ok())
}

/// Parse feed `name` (its file name chooses the format) from `text`.
pub fn parse_feed(name: &str, text: &str) -> Result<Feed, FeedError> {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let default = category_of_name(name);
    match ext.as_deref() {
        Some("csv") => csv::parse(name, text, default),
        Some("json" | "stix") => stix::parse(name, text, default),
        _ => plain::parse(name, text, default),
    }
}

/// Whether a file is a feed by its name: not hidden, not a temporary or
/// signature file.
pub fn is_feed_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.')
        && !name.ends_with('~')
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("txt" | "list" | "csv" | "json" | "stix")
        )
}
