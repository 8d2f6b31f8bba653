//! Finding specifications (the static facts about a finding type) and a
//! builder that fills a [`Finding`] from an event.

use crate::{Event, EventKind, Evidence, Finding, Metadata};

/// A severity on GuardDuty's 1.0–10.0 scale.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Severity(f32);

impl Severity {
    /// A severity, refused outside 1.0–10.0 (and NaN).
    pub fn new(value: f32) -> Result<Self, String> {
        if (1.0..=10.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!(
                "severity {value} is outside GuardDuty's 1.0-10.0 scale"
            ))
        }
    }

    /// The number.
    pub fn value(self) -> f32 {
        self.0
    }

    /// GuardDuty's label: Low, Medium, High or Critical.
    pub fn label(self) -> &'static str {
        match self.0 {
            v if v >= 9.0 => "Critical",
            v if v >= 7.0 => "High",
            v if v >= 4.0 => "Medium",
            _ => "Low",
        }
    }
}

/// The static facts about one finding type a detector emits.
#[derive(Debug, Clone, Copy)]
pub struct FindingSpec {
    /// `Tactic:Runtime/Name`, GuardDuty's name where one exists.
    pub finding_type: &'static str,
    /// Default severity, 1.0–10.0.
    pub severity: f32,
    /// Short title.
    pub title: &'static str,
    /// What the finding means.
    pub description: &'static str,
    /// MITRE ATT&CK technique id, e.g. `T1496`.
    pub mitre: &'static str,
}

impl FindingSpec {
    /// Check the spec: type name shape, severity range, technique id shape.
    pub fn validate(&self) -> Result<(), String> {
        let t = self.finding_type;
        let Some((tactic, rest)) = t.split_once(':') else {
            return Err(format!("finding type `{t}` has no `Tactic:` prefix"));
        };
        let Some(name) = rest.strip_prefix("Runtime/") else {
            return Err(format!("finding type `{t}` is not `{tactic}:Runtime/Name`"));
        };
        if tactic.is_empty() || name.is_empty() || !tactic.chars().all(|c| c.is_ascii_alphabetic())
        {
            return Err(format!("finding type `{t}` is not `Tactic:Runtime/Name`"));
        }
        Severity::new(self.severity).map_err(|e| format!("{t}: {e}"))?;
        let m = self.mitre.as_bytes();
        let id_ok = m.len() >= 5
            && m[0] == b'T'
            && m[1..5].iter().all(u8::is_ascii_digit)
            && (m.len() == 5
                || (m.len() == 9 && m[5] == b'.' && m[6..].iter().all(u8::is_ascii_digit)));
        if !id_ok {
            return Err(format!(
                "{t}: MITRE technique `{}` is not T1234 or T1234.001",
                self.mitre
            ));
        }
        if self.title.is_empty() || self.description.is_empty() {
            return Err(format!("{t}: title and description are required"));
        }
        Ok(())
    }
}

/// Build a detector's [`Metadata`] from its specs.
pub fn metadata(
    name: &str,
    version: &str,
    description: &str,
    subscriptions: &[EventKind],
    specs: &[FindingSpec],
) -> Metadata {
    Metadata {
        name: name.to_string(),
        version: version.to_string(),
        description: description.to_string(),
        subscriptions: subscriptions.to_vec(),
        finding_types: specs.iter().map(|s| s.finding_type.to_string()).collect(),
    }
}

/// Validate every spec, and that no finding type appears twice.
pub fn validate_specs(specs: &[FindingSpec]) -> Result<(), String> {
    for (i, s) in specs.iter().enumerate() {
        s.validate()?;
        if specs[..i].iter().any(|o| o.finding_type == s.finding_type) {
            return Err(format!("finding type `{}` is listed twice", s.finding_type));
        }
    }
    Ok(())
}

/// Fills a [`Finding`] from a spec and the event that triggered it.
#[derive(Debug, Clone)]
pub struct FindingBuilder {
    finding: Finding,
}

impl FindingBuilder {
    /// A finding of `spec`'s type about `event`'s process, citing the event,
    /// with the executable and command name as evidence, and each path the
    /// process gave with dot segments as it gave it (`path_as_given`: the
    /// event's fields show it folded).
    pub fn new(spec: &FindingSpec, event: &Event) -> Self {
        let mut b = Self::about_pid(spec, event.process.pid);
        b.finding.event_seqs.push(event.seq);
        b = b.evidence("exe", &event.process.exe);
        b = b.evidence("comm", &event.process.comm);
        for given in event.fidelity.iter().flat_map(|f| &f.folded) {
            let key = format!("{}_as_given", given.field.replace('-', "_"));
            b = b.evidence(&key, &given.escaped);
        }
        b
    }

    /// A finding of `spec`'s type about `pid`, citing no event yet (for tick).
    pub fn about_pid(spec: &FindingSpec, pid: u32) -> Self {
        Self {
            finding: Finding {
                finding_type: spec.finding_type.to_string(),
                severity: spec.severity,
                title: spec.title.to_string(),
                description: spec.description.to_string(),
                mitre_technique: Some(spec.mitre.to_string()),
                pid,
                event_seqs: Vec::new(),
                evidence: Vec::new(),
            },
        }
    }

    /// Replace the title (e.g. to name the tool).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.finding.title = title.into();
        self
    }

    /// Override the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.finding.severity = severity.value();
        self
    }

    /// Add a key/value piece of evidence (skipped when `value` is empty).
    pub fn evidence(mut self, key: &str, value: impl AsRef<str>) -> Self {
        let value = value.as_ref();
        if !value.is_empty() {
            self.finding.evidence.push(Evidence {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        self
    }

    /// Cite one more event.
    pub fn event_seq(mut self, seq: u64) -> Self {
        if !self.finding.event_seqs.contains(&seq) {
            self.finding.event_seqs.push(seq);
        }
        self
    }

    /// The finding.
    pub fn build(self) -> Finding {
        self.finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: FindingSpec = FindingSpec {
        finding_type: "Impact:Runtime/CryptoMinerExecuted",
        severity: 8.0,
        title: "t",
        description: "d",
        mitre: "T1496",
    };

    #[test]
    fn severity_scale_is_enforced() {
        assert!(Severity::new(0.5).is_err());
        assert!(Severity::new(10.5).is_err());
        assert!(Severity::new(f32::NAN).is_err());
        assert_eq!(Severity::new(9.0).unwrap().label(), "Critical");
        assert_eq!(Severity::new(4.0).unwrap().label(), "Medium");
        assert_eq!(Severity::new(3.9).unwrap().label(), "Low");
    }

    #[test]
    fn specs_are_validated() {
        assert!(GOOD.validate().is_ok());
        let bad_type = FindingSpec {
            finding_type: "CryptoMinerExecuted",
            ..GOOD
        };
        assert!(bad_type.validate().is_err());
        let bad_sev = FindingSpec {
            severity: 11.0,
            ..GOOD
        };
        assert!(bad_sev.validate().unwrap_err().contains("1.0-10.0"));
        let bad_mitre = FindingSpec {
            mitre: "1496",
            ..GOOD
        };
        assert!(bad_mitre.validate().is_err());
        assert!(
            FindingSpec {
                mitre: "T1055.008",
                ..GOOD
            }
            .validate()
            .is_ok()
        );
        assert!(validate_specs(&[GOOD, GOOD]).unwrap_err().contains("twice"));
    }
}
