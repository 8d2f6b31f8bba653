//! Caps on what a detector hands the host, so host memory is bounded by the
//! host's limits and not by what a detector returns: every string and list
//! that crosses the boundary is cut to a fixed size (strings end with
//! [`TRUNCATED`]) and every cut is counted. Finding types are checked
//! against what the detector declared.

use harrier_events::{Evidence, Finding, Metadata};

/// Appended to a string that was cut.
pub const TRUNCATED: &str = "…[truncated]";

/// Longest finding title, in bytes.
pub const MAX_TITLE: usize = 512;
/// Longest finding description, in bytes.
pub const MAX_DESCRIPTION: usize = 4096;
/// Longest MITRE technique id, in bytes.
pub const MAX_MITRE: usize = 32;
/// Most evidence items on one finding.
pub const MAX_EVIDENCE: usize = 64;
/// Longest evidence key, in bytes.
pub const MAX_EVIDENCE_KEY: usize = 128;
/// Longest evidence value, in bytes.
pub const MAX_EVIDENCE_VALUE: usize = 16 * 1024;
/// Most bytes of evidence (keys and values) on one finding.
pub const MAX_EVIDENCE_BYTES: usize = 64 * 1024;
/// Most event sequence numbers one finding cites.
pub const MAX_EVENT_SEQS: usize = 1024;
/// Most bytes of findings one call may return; later findings are dropped.
pub const MAX_CALL_BYTES: usize = 4 << 20;
/// Most finding types one detector may declare.
pub const MAX_FINDING_TYPES: usize = 64;
/// Longest finding type, in bytes.
pub const MAX_FINDING_TYPE: usize = 128;
/// Longest detector version, in bytes.
pub const MAX_VERSION: usize = 64;
/// Longest detector description, in bytes.
pub const MAX_METADATA_DESCRIPTION: usize = 1024;
/// Longest error message kept from a detector, in bytes.
pub const MAX_ERROR: usize = 1024;
/// Largest `snapshot` state carried across a reload, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;

/// Prefix of the finding types only the host's correlation emits.
pub const RESERVED_TYPE_PREFIX: &str = "AttackSequence:";

/// Cut `text` in place to at most `max` bytes (marker included) on a
/// character boundary. Returns whether it was cut.
pub fn cap_string(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max.saturating_sub(TRUNCATED.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(TRUNCATED);
    text.shrink_to_fit();
    true
}

/// Bound one finding; returns how many fields were cut.
pub fn cap_finding(finding: &mut Finding) -> u64 {
    let mut cut = u64::from(cap_string(&mut finding.title, MAX_TITLE))
        + u64::from(cap_string(&mut finding.description, MAX_DESCRIPTION));
    if let Some(mitre) = &mut finding.mitre_technique {
        cut += u64::from(cap_string(mitre, MAX_MITRE));
    }
    if finding.event_seqs.len() > MAX_EVENT_SEQS {
        finding.event_seqs.truncate(MAX_EVENT_SEQS);
        finding.event_seqs.shrink_to_fit();
        cut += 1;
    }
    cut + cap_evidence(&mut finding.evidence)
}

fn cap_evidence(evidence: &mut Vec<Evidence>) -> u64 {
    let mut cut = 0;
    let mut budget = MAX_EVIDENCE_BYTES;
    let mut kept = 0;
    for item in evidence.iter_mut() {
        cut += u64::from(cap_string(&mut item.key, MAX_EVIDENCE_KEY));
        cut += u64::from(cap_string(&mut item.value, MAX_EVIDENCE_VALUE));
        let size = item.key.len() + item.value.len();
        if kept == MAX_EVIDENCE || size > budget {
            break;
        }
        budget -= size;
        kept += 1;
    }
    if kept < evidence.len() {
        let dropped = evidence.len() - kept;
        evidence.truncate(kept);
        evidence.push(Evidence {
            key: "truncated".into(),
            value: format!("{dropped} more evidence items dropped by the host"),
        });
        cut += 1;
    }
    evidence.shrink_to_fit();
    cut
}

/// Bytes a finding holds (strings and lists), for the per-call budget.
pub fn finding_bytes(finding: &Finding) -> usize {
    finding.title.len()
        + finding.description.len()
        + finding.mitre_technique.as_ref().map_or(0, String::len)
        + finding.event_seqs.len() * 8
        + finding
            .evidence
            .iter()
            .map(|e| e.key.len() + e.value.len())
            .sum::<usize>()
}

/// Why a finding type is unusable, if it is.
pub fn check_finding_type(finding_type: &str) -> Result<(), String> {
    if finding_type.len() > MAX_FINDING_TYPE {
        return Err(format!("is longer than {MAX_FINDING_TYPE} bytes"));
    }
    if finding_type.starts_with(RESERVED_TYPE_PREFIX) {
        return Err(format!(
            "uses the prefix `{RESERVED_TYPE_PREFIX}` reserved for the host's correlation"
        ));
    }
    let shaped = finding_type
        .split_once(':')
        .and_then(|(tactic, rest)| Some((tactic, rest.split_once('/')?)))
        .is_some_and(|(tactic, (resource, name))| {
            !tactic.is_empty()
                && tactic.chars().all(|c| c.is_ascii_alphabetic())
                && !resource.is_empty()
                && resource.chars().all(|c| c.is_ascii_alphanumeric())
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-&!".contains(c))
        });
    if !shaped {
        return Err("is not of the form `Tactic:Resource/Name` (ASCII letters and digits; `._-&!` in the name)".into());
    }
    Ok(())
}

/// Bound the free-text metadata of a detector (its name, finding types and
/// subscriptions are validated, not cut). Returns how many fields were cut.
pub fn cap_metadata(metadata: &mut Metadata) -> u64 {
    u64::from(cap_string(
        &mut metadata.description,
        MAX_METADATA_DESCRIPTION,
    ))
}

/// A detector's error message (a trap, a refused init), cut to [`MAX_ERROR`]
/// with control characters escaped.
pub fn error_text(text: &str) -> String {
    let mut escaped = escape_controls(text);
    cap_string(&mut escaped, MAX_ERROR);
    escaped
}

/// `text` with newlines and other control characters written as escapes,
/// so a detector's text can never start a line of its own in the log.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_on_a_character_boundary_with_a_marker() {
        let mut s = "é".repeat(1000);
        assert!(cap_string(&mut s, 101));
        assert!(s.len() <= 101 && s.ends_with(TRUNCATED), "{s}");
        let mut short = "ok".to_string();
        assert!(!cap_string(&mut short, 10));
        assert_eq!(short, "ok");
    }

    #[test]
    fn findings_are_bounded_field_by_field() {
        let mut finding = Finding {
            finding_type: "Test:Runtime/Echo".into(),
            severity: 1.0,
            title: "t".repeat(10_000),
            description: "d".repeat(1 << 20),
            mitre_technique: Some("T".repeat(100)),
            pid: 1,
            event_seqs: (0..5000).collect(),
            evidence: (0..1000)
                .map(|i| Evidence {
                    key: format!("k{i}"),
                    value: "v".repeat(20_000),
                })
                .collect(),
        };
        assert!(cap_finding(&mut finding) > 0);
        assert!(finding.title.len() <= MAX_TITLE);
        assert!(finding.description.len() <= MAX_DESCRIPTION);
        assert_eq!(finding.event_seqs.len(), MAX_EVENT_SEQS);
        let last = finding.evidence.last().unwrap();
        assert_eq!(last.key, "truncated");
        assert!(finding_bytes(&finding) < MAX_EVIDENCE_BYTES + MAX_TITLE + MAX_DESCRIPTION + 9000);
    }

    #[test]
    fn finding_types_must_be_well_formed_and_not_reserved() {
        for good in [
            "Test:Runtime/Echo",
            "Backdoor:Runtime/C&CActivity.B!DNS",
            "DefenseEvasion:Runtime/ProcessInjection.Ptrace",
        ] {
            assert_eq!(check_finding_type(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Nope",
            "A:B/",
            ":Runtime/X",
            "A:B/evil\nline",
            "AttackSequence:Runtime/MultiStageAttack",
        ] {
            assert!(check_finding_type(bad).is_err(), "{bad:?}");
        }
        assert!(check_finding_type(&format!("A:B/{}", "x".repeat(200))).is_err());
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape_controls("a\nINFO ready\r\x1b[2J"),
            "a\\nINFO ready\\r\\u{1b}[2J"
        );
        assert_eq!(escape_controls("plain"), "plain");
        assert!(error_text(&"x".repeat(5000)).len() <= MAX_ERROR);
    }
}
