//! Output formats: how a unified finding is written for its consumers.

mod falco;
mod image;
mod ocsf;
mod tactic;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::finding::UnifiedFinding;

/// A JSON output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Harrier's own schema (`schema/finding-v1.schema.json`).
    #[default]
    Native,
    /// OCSF 1.3 Detection Finding (class_uid 2004), for security lakes.
    Ocsf,
    /// Falco's JSON alert (`rule`, `priority`, `output`, `output_fields`,
    /// `time`, `tags`, `source`, `hostname`), for existing Falco consumers.
    Falco,
}

impl Format {
    /// Renders a finding as a JSON value in this format.
    pub fn render(self, finding: &UnifiedFinding) -> serde_json::Value {
        match self {
            Self::Native => {
                serde_json::to_value(finding).expect("a unified finding always serializes")
            }
            Self::Ocsf => ocsf::render(finding),
            Self::Falco => falco::render(finding),
        }
    }

    /// Renders a finding as one line of JSON (no trailing newline).
    pub fn render_line(self, finding: &UnifiedFinding) -> String {
        self.render(finding).to_string()
    }

    /// The format's name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Ocsf => "ocsf",
            Self::Falco => "falco",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "native" => Ok(Self::Native),
            "ocsf" => Ok(Self::Ocsf),
            "falco" => Ok(Self::Falco),
            other => Err(format!(
                "unknown output format `{other}`; expected native, ocsf or falco"
            )),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
