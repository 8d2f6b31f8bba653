//! File sink: JSON lines, size-based rotation keeping N files.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::sample_finding;
use harrier_findings::{Format, SinkSettings, SinkSpec, Sinks, UnifiedFinding};

fn numbered(count: u64) -> Vec<UnifiedFinding> {
    (1..=count)
        .map(|i| {
            let mut f = sample_finding(true);
            f.count = i;
            f
        })
        .collect()
}

fn rotated(path: &Path, index: usize) -> PathBuf {
    PathBuf::from(format!("{}.{index}", path.display()))
}

/// The `count` field of every line of a file.
fn counts(path: &Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).expect("one JSON per line");
            json["count"].as_u64().unwrap()
        })
        .collect()
}

#[test]
fn rotates_by_size_and_keeps_n_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out").join("findings.json");
    let findings = numbered(9);
    let line_len = Format::Native.render_line(&findings[8]).len() as u64 + 1;
    let settings = SinkSettings {
        file_max_bytes: line_len * 2 + line_len / 2, // two lines per file
        file_keep: 2,
        ..SinkSettings::default()
    };
    let spec = SinkSpec::parse_with(&format!("file:{}", path.display()), &settings).unwrap();
    let sinks = Sinks::start(&[spec], Format::Native).unwrap();
    for finding in &findings {
        sinks.emit(finding);
    }
    let report = sinks.shutdown(Duration::from_secs(5));
    assert_eq!(report.sinks[0].delivered, 9);

    // 9 lines, 2 per file: [1,2] [3,4] [5,6] [7,8] [9]; only 2 rotated kept.
    assert_eq!(counts(&path), vec![9]);
    assert_eq!(counts(&rotated(&path, 1)), vec![7, 8]);
    assert_eq!(counts(&rotated(&path, 2)), vec![5, 6]);
    assert!(!rotated(&path, 3).exists());
    for file in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(
            size <= settings.file_max_bytes,
            "{} is {size} bytes",
            file.display()
        );
    }
}

#[test]
fn appends_to_an_existing_file_counting_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.json");
    let findings = numbered(3);
    let line_len = Format::Native.render_line(&findings[2]).len() as u64 + 1;
    let settings = SinkSettings {
        file_max_bytes: line_len * 2 + line_len / 2,
        file_keep: 1,
        ..SinkSettings::default()
    };
    let spec = SinkSpec::parse_with(&format!("file:{}", path.display()), &settings).unwrap();
    for finding in &findings[..2] {
        let sinks = Sinks::start(std::slice::from_ref(&spec), Format::Native).unwrap();
        sinks.emit(finding);
        sinks.shutdown(Duration::from_secs(5));
    }
    assert_eq!(counts(&path), vec![1, 2], "a restart appends");
    let sinks = Sinks::start(&[spec], Format::Native).unwrap();
    sinks.emit(&findings[2]);
    sinks.shutdown(Duration::from_secs(5));
    assert_eq!(counts(&path), vec![3], "the existing size was counted");
    assert_eq!(counts(&rotated(&path, 1)), vec![1, 2]);
}

#[test]
fn an_unusable_path_is_reported_at_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let spec: SinkSpec = format!("file:{}/findings.json", blocker.display())
        .parse()
        .unwrap();
    let err = Sinks::start(&[spec], Format::Native).unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}
