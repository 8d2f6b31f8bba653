//! Detectors over a capture as a unit test: what `harrier test` and a rule
//! pack's own test vectors run. The events go through the agent's pipeline
//! (same engine, limits, host functions, merging); the process table,
//! ancestry and recent writes are rebuilt from the capture alone and event
//! time drives every window, so two runs give the same findings.
//!
//! Expectation files hold one finding per line in the native format (the
//! final revision of each), with the fields that differ from machine to
//! machine or build to build, or that only restate compared fields
//! ([`VOLATILE`]), left out.

use std::io::BufRead;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use harrier_findings::{Merger, UnifiedFinding};
use serde_json::Value;

use crate::agent::{Agent, AgentConfig, Clock};
use crate::detectors::DetectorSet;
use crate::pipeline::Pipeline;
use crate::services::EnricherServices;
use crate::source::ReplaySource;

/// Fields of a finding not compared with an expectation, as JSON pointers:
/// its id (a digest of fields compared on their own, which changes with
/// the type's name), the node's host name, user names (resolved from the
/// machine running the test, not from the capture), the revision count
/// (how often a finding was emitted depends on batching), the component's
/// digest (every rebuild changes it) and the path it was loaded from.
pub const VOLATILE: &[&str] = &[
    "/id",
    "/node",
    "/process/user",
    "/process/ancestry/*/user",
    "/revision",
    "/provenance/*/component_sha256",
    "/provenance/*/source/path",
];

/// Run `capture` through `detectors` and return the final state of every
/// finding, in order of first emission.
pub fn run_capture(
    capture: impl BufRead + Send + 'static,
    detectors: DetectorSet,
    services: Arc<EnricherServices>,
    merger: Merger,
) -> anyhow::Result<Vec<UnifiedFinding>> {
    let source = ReplaySource::new(capture).context("capture")?;
    let findings: Arc<Mutex<Vec<UnifiedFinding>>> = Arc::default();
    let sink = findings.clone();
    let emit = Box::new(move |emission: harrier_findings::Emission| {
        let mut all = sink.lock().unwrap_or_else(|e| e.into_inner());
        match all.iter_mut().find(|f| f.id == emission.finding.id) {
            Some(earlier) => *earlier = emission.finding,
            None => all.push(emission.finding),
        }
    });
    let pipeline = Pipeline::new(services, detectors, merger, emit);
    let config = AgentConfig {
        clock: Clock::Events,
        ..AgentConfig::default()
    };
    let (agent, _handle) = Agent::new(pipeline, Box::new(source), config);
    drop(agent.run()?);
    let found = std::mem::take(&mut *findings.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(found)
}

/// A finding as compared with an expectation: its JSON without the
/// [`VOLATILE`] fields.
pub fn comparable(finding: &UnifiedFinding) -> Value {
    let mut value = serde_json::to_value(finding).expect("findings serialize to JSON");
    strip_volatile(&mut value);
    value
}

/// Remove the [`VOLATILE`] fields from a finding's JSON.
pub fn strip_volatile(value: &mut Value) {
    for pointer in VOLATILE {
        let parts: Vec<&str> = pointer.split('/').skip(1).collect();
        remove_path(value, &parts);
    }
}

fn remove_path(value: &mut Value, parts: &[&str]) {
    match parts {
        [] => {}
        [last] => {
            if let Some(object) = value.as_object_mut() {
                object.remove(*last);
            }
        }
        ["*", rest @ ..] => {
            if let Some(items) = value.as_array_mut() {
                items.iter_mut().for_each(|item| remove_path(item, rest));
            }
        }
        [first, rest @ ..] => {
            if let Some(inner) = value.get_mut(*first) {
                remove_path(inner, rest);
            }
        }
    }
}

/// Parse an expectation file (one JSON finding per line, blank lines
/// ignored); errors name the 1-based line.
pub fn parse_expected(text: &str) -> Result<Vec<Value>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let mut value: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
            strip_volatile(&mut value);
            Ok(value)
        })
        .collect()
}

/// The expectation file's text for `findings`.
pub fn expected_text(findings: &[UnifiedFinding]) -> String {
    findings
        .iter()
        .map(|f| format!("{}\n", comparable(f)))
        .collect()
}

/// Every difference between expected and actual findings, one line each,
/// empty when they agree. Findings are matched by what their id is derived
/// from (type, resource, first event), so the message names the field that
/// differs.
pub fn differences(expected: &[Value], actual: &[Value]) -> Vec<String> {
    let id = |v: &Value| {
        format!(
            "{} {} {} {}",
            v["type"], v["container"]["id"], v["process"]["pid"], v["events"][0]["seq"]
        )
    };
    let label = |v: &Value| {
        format!(
            "{} (pid {}, first event {})",
            v["type"].as_str().unwrap_or("?"),
            v["process"]["pid"],
            v["events"][0]["seq"]
        )
    };
    let mut out = Vec::new();
    for want in expected {
        match actual.iter().find(|got| id(got) == id(want)) {
            None => out.push(format!("missing: {}", label(want))),
            Some(got) => {
                let mut fields = Vec::new();
                diff_values("", want, got, &mut fields);
                out.extend(
                    fields
                        .into_iter()
                        .map(|f| format!("differs: {}: {f}", label(want))),
                );
            }
        }
    }
    for got in actual {
        if !expected.iter().any(|want| id(want) == id(got)) {
            out.push(format!("unexpected: {}", label(got)));
        }
    }
    out
}

fn diff_values(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (key, wv) in w {
                let at = format!("{path}/{key}");
                match g.get(key) {
                    Some(gv) => diff_values(&at, wv, gv, out),
                    None => out.push(format!("{at}: expected {wv}, absent")),
                }
            }
            for (key, gv) in g {
                if !w.contains_key(key) {
                    out.push(format!("{path}/{key}: not expected, got {gv}"));
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                diff_values(&format!("{path}/{i}"), wv, gv, out);
            }
        }
        _ if numbers_equal(want, got) || want == got => {}
        _ => out.push(format!("{path}: expected {want}, got {got}")),
    }
}

/// Severities are f32: compare numbers by value, not by their text.
fn numbers_equal(a: &Value, b: &Value) -> bool {
    matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if (x - y).abs() < 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn volatile_fields_are_ignored_and_others_named() {
        let want = parse_expected(
            r#"{"id":"a","type":"T:R/N","node":"x","revision":3,"process":{"pid":1,"user":"alice","ancestry":[{"pid":2,"user":"alice"}]},"evidence":[{"key":"exe","value":"/bin/sh"}],"provenance":[{"detector":"d","component_sha256":"00"}]}"#,
        )
        .unwrap();
        let same = json!({"id":"a","type":"T:R/N","node":"y","revision":0,
            "process":{"pid":1,"user":"runner","ancestry":[{"pid":2,"user":"runner"}]},
            "evidence":[{"key":"exe","value":"/bin/sh"}],"provenance":[{"detector":"d","component_sha256":"ff"}]});
        let mut got = vec![same.clone()];
        got.iter_mut().for_each(strip_volatile);
        assert!(differences(&want, &got).is_empty());

        let mut other = same.clone();
        other["evidence"][0]["value"] = json!("/bin/bash");
        strip_volatile(&mut other);
        let diff = differences(&want, &[other]);
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert!(
            diff[0].contains("/evidence/0/value") && diff[0].contains("/bin/bash"),
            "{diff:?}"
        );
    }

    #[test]
    fn missing_and_unexpected_findings_are_reported() {
        let want = vec![json!({"id":"a","type":"T:R/A","process":{"pid":1}})];
        let got = vec![json!({"id":"b","type":"T:R/B","process":{"pid":2}})];
        let diff = differences(&want, &got);
        assert_eq!(diff.len(), 2);
        assert!(diff[0].starts_with("missing: T:R/A"), "{diff:?}");
        assert!(diff[1].starts_with("unexpected: T:R/B"), "{diff:?}");
        assert!(
            parse_expected("{}\nnot json\n")
                .unwrap_err()
                .starts_with("line 2")
        );
    }
}
