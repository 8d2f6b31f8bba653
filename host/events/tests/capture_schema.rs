//! The capture format's JSON Schema (host/events/schema/capture-v1.schema.json)
//! describes what this crate writes and what the repository's fixtures hold.

use std::path::{Path, PathBuf};

use harrier_events::capture::{CaptureReader, CaptureWriter};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(repo().join("host/events/schema/capture-v1.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("schema compiles")
}

/// Every line of `text` against the schema; errors name the line.
fn check(validator: &jsonschema::Validator, name: &str, text: &str) {
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}:{}: {errors:#?}", i + 1);
    }
}

fn fixtures(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            fixtures(&path, out);
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
}

#[test]
fn every_fixture_is_a_valid_capture() {
    let validator = validator();
    let mut files = Vec::new();
    fixtures(&repo().join("plugins/fixtures"), &mut files);
    files.push(repo().join("host/authoring/templates/common/fixtures/detect.jsonl"));
    assert!(files.len() > 10, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        check(&validator, &file.display().to_string(), &text);
    }
}

#[test]
fn what_the_writer_writes_is_valid_and_reads_back() {
    let validator = validator();
    let fixture = repo().join("plugins/fixtures/benign.jsonl");
    let events: Vec<_> = CaptureReader::new(std::fs::read(&fixture).unwrap().as_slice())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!events.is_empty());
    let mut writer = CaptureWriter::new(Vec::new()).unwrap();
    for event in &events {
        writer.write(event).unwrap();
    }
    let written = String::from_utf8(writer.into_inner()).unwrap();
    check(&validator, "written", &written);
    assert!(written.contains(r#""time_ns":""#), "times are strings");
    let back: Vec<_> = CaptureReader::new(written.as_bytes())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, events);
}
