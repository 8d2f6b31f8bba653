//! Merge windows, emission policy, determinism and bounds.

mod common;

use std::time::Duration;

use common::{SEC, T0, in_container, input};
use harrier_findings::{DetectorRef, EmissionKind, MergeConfig, Merger, SeverityLabel, rfc3339};

const MINER: &str = "Impact:Runtime/CryptoMinerExecuted";

fn merger(window_s: u64, interval_s: u64) -> Merger {
    Merger::new(MergeConfig {
        window: Duration::from_secs(window_s),
        update_interval: Duration::from_secs(interval_s),
        correlation_min_types: 0,
        max_evidence: 3,
        node: Some("node-1".into()),
        ..MergeConfig::default()
    })
    .unwrap()
}

#[test]
fn first_sight_is_emitted_at_once_with_full_context() {
    let mut merger = merger(300, 10);
    let out = merger.ingest(input(MINER, "/tmp/xmrig", 0, 7));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, EmissionKind::New);
    let f = &out[0].finding;
    assert_eq!(f.finding_type, MINER);
    assert_eq!(f.revision, 0);
    assert_eq!(f.count, 1);
    assert_eq!(f.severity, 5.0);
    assert_eq!(f.severity_label, SeverityLabel::Medium);
    assert_eq!(f.detectors, vec!["test-detector@1.0.0"]);
    assert_eq!(f.first_seen, "2026-01-01T00:00:00.000Z");
    assert_eq!(f.last_seen, f.first_seen);
    assert_eq!(f.node, "node-1");
    assert_eq!(f.process.pid, 4242);
    assert_eq!(f.process.ppid, 4241);
    assert_eq!(f.process.exe, "/tmp/xmrig");
    assert_eq!(f.process.cmdline, "/tmp/xmrig --flag");
    assert_eq!(f.process.user.as_deref(), Some("alice"));
    assert_eq!(f.process.ancestry.len(), 3);
    assert_eq!(f.process.ancestry[0].exe, "/bin/bash");
    assert!(f.container.is_none());
    assert_eq!(f.events.len(), 1);
    assert_eq!(f.events[0].seq, 7);
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["type"], MINER);
    assert!(
        json.get("container").is_none(),
        "no container section on the host"
    );
}

#[test]
fn repeats_merge_and_updates_are_rate_limited() {
    let mut merger = merger(300, 10);
    let mut emitted = Vec::new();
    for second in 0..=25u64 {
        let mut raw = input(MINER, "/tmp/xmrig", second, 100 + second);
        raw.process.pid = 5000 + second as u32; // new pid each time, same lineage
        raw.raw.evidence[0].value = format!("/tmp/file-{}", second % 5);
        if second == 12 {
            raw.detector = DetectorRef::new("other", "2.1");
            raw.raw.severity = 9.5;
        }
        for emission in merger.ingest(raw) {
            emitted.push((second, emission));
        }
    }
    let kinds: Vec<_> = emitted.iter().map(|(s, e)| (*s, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (0, EmissionKind::New),
            (10, EmissionKind::Update),
            (20, EmissionKind::Update)
        ]
    );
    let ids: Vec<_> = emitted.iter().map(|(_, e)| e.finding.id.clone()).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one id throughout: {ids:?}"
    );
    let update = &emitted[2].1.finding;
    assert_eq!(update.count, 21);
    assert_eq!(update.revision, 2);
    assert_eq!(update.severity, 9.5);
    assert_eq!(update.severity_label, SeverityLabel::Critical);
    assert_eq!(update.detectors, vec!["other@2.1", "test-detector@1.0.0"]);
    assert_eq!(update.evidence.len(), 3, "evidence bounded by max_evidence");
    assert!(update.evidence_truncated);
    assert_eq!(update.events.len(), 3, "event sample bounded too");
    assert_eq!(update.process.pid, 5000, "process of the first occurrence");

    let last = merger.finish();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].kind, EmissionKind::Final);
    assert_eq!(last[0].finding.count, 26);
    assert_eq!(last[0].finding.first_seen, rfc3339(T0));
    assert_eq!(last[0].finding.last_seen, rfc3339(T0 + 25 * SEC));
    let stats = merger.stats();
    assert_eq!(stats.ingested, 26);
    assert_eq!(stats.merged, 25);
    assert_eq!(stats.findings, 1);
    assert_eq!(stats.emitted, 4);
    assert_eq!(stats.open, 0);
}

#[test]
fn tick_emits_due_updates_only_when_the_count_grew() {
    let mut merger = merger(300, 10);
    merger.ingest(input(MINER, "/tmp/xmrig", 0, 1));
    assert!(
        merger.tick(T0 + 30 * SEC).is_empty(),
        "nothing new since first sight"
    );
    let grown = merger.ingest(input(MINER, "/tmp/xmrig", 31, 2));
    assert_eq!(grown.len(), 1, "interval long over: update at once");
    assert_eq!(grown[0].kind, EmissionKind::Update);
    assert!(merger.ingest(input(MINER, "/tmp/xmrig", 33, 3)).is_empty());
    assert!(merger.tick(T0 + 34 * SEC).is_empty(), "interval not over");
    let out = merger.tick(T0 + 41 * SEC);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, EmissionKind::Update);
    assert_eq!(out[0].finding.count, 3);
    assert_eq!(out[0].finding.revision, 2);
    assert!(merger.tick(T0 + 60 * SEC).is_empty());
    assert!(merger.finish().is_empty(), "final state already reported");
}

#[test]
fn a_repeat_after_the_window_starts_a_new_finding() {
    let mut merger = merger(60, 10);
    let first = merger.ingest(input(MINER, "/tmp/xmrig", 0, 1));
    merger.ingest(input(MINER, "/tmp/xmrig", 5, 2)); // merged, update not due
    let out = merger.ingest(input(MINER, "/tmp/xmrig", 200, 3));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].kind, EmissionKind::Final);
    assert_eq!(out[0].finding.id, first[0].finding.id);
    assert_eq!(out[0].finding.count, 2);
    assert_eq!(out[1].kind, EmissionKind::New);
    assert_ne!(out[1].finding.id, first[0].finding.id);
    assert_eq!(out[1].finding.count, 1);
}

#[test]
fn tick_closes_findings_whose_window_passed() {
    let mut merger = merger(60, 10);
    merger.ingest(input(MINER, "/tmp/xmrig", 0, 1));
    merger.ingest(input(MINER, "/tmp/xmrig", 1, 2));
    assert_eq!(merger.stats().open, 1);
    let out = merger.tick(T0 + 62 * SEC);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, EmissionKind::Final);
    assert_eq!(out[0].finding.count, 2);
    assert_eq!(merger.stats().open, 0);
}

#[test]
fn resources_keep_findings_apart_or_together() {
    let mut merger = merger(300, 10);
    let a = merger.ingest(input(MINER, "/tmp/xmrig", 0, 1));
    // Different executable on the host: another resource.
    let b = merger.ingest(input(MINER, "/tmp/other", 1, 2));
    assert_eq!(b[0].kind, EmissionKind::New);
    assert_ne!(a[0].finding.id, b[0].finding.id);
    // Same executable under another parent: another lineage.
    let mut other_parent = input(MINER, "/tmp/xmrig", 2, 3);
    other_parent.process.ancestry[0].exe = "/usr/bin/python3".into();
    assert_eq!(merger.ingest(other_parent)[0].kind, EmissionKind::New);
    // Different processes in one container merge.
    let c1 = merger.ingest(in_container(input(MINER, "/bin/a", 3, 4), "c1", None));
    let c2 = merger.ingest(in_container(input(MINER, "/bin/b", 4, 5), "c1", None));
    assert_eq!(c1[0].kind, EmissionKind::New);
    assert!(c2.is_empty(), "merged, no update due");
    let c1f = &c1[0].finding;
    assert_eq!(c1f.container.as_ref().unwrap().id, "c1");
    assert_eq!(merger.stats().findings, 4);
    let finals = merger.finish();
    let container_final = finals.iter().find(|e| e.finding.id == c1f.id).unwrap();
    assert_eq!(container_final.finding.count, 2);
}

#[test]
fn replay_is_deterministic() {
    let run = || {
        let mut merger = merger(60, 10);
        let mut out = Vec::new();
        for i in 0..40u64 {
            let exe = if i % 3 == 0 { "/tmp/a" } else { "/tmp/b" };
            out.extend(merger.ingest(input(MINER, exe, i * 7, i)));
            out.extend(merger.tick(T0 + i * 7 * SEC + 3 * SEC));
        }
        out.extend(merger.finish());
        out.into_iter()
            .map(|e| serde_json::to_string(&e.finding).unwrap())
            .collect::<Vec<_>>()
    };
    let first = run();
    assert!(first.len() > 5);
    assert_eq!(first, run());
}

#[test]
fn max_open_evicts_the_least_recently_seen() {
    let mut merger = Merger::new(MergeConfig {
        max_open: 2,
        correlation_min_types: 0,
        ..MergeConfig::default()
    })
    .unwrap();
    let a = merger.ingest(input(MINER, "/tmp/a", 0, 1));
    merger.ingest(input(MINER, "/tmp/a", 1, 2)); // a grows: dirty
    merger.ingest(input(MINER, "/tmp/b", 2, 3));
    let out = merger.ingest(input(MINER, "/tmp/c", 3, 4));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].kind, EmissionKind::New);
    assert_eq!(out[1].kind, EmissionKind::Final);
    assert_eq!(out[1].finding.id, a[0].finding.id);
    assert_eq!(out[1].finding.count, 2);
    assert_eq!(merger.stats().evicted, 1);
    assert_eq!(merger.stats().open, 2);
}

#[test]
fn config_reads_from_toml_with_defaults() {
    let config: MergeConfig = toml::from_str(
        r#"
        window = "2m"
        update_interval = 5
        [[suppressions]]
        name = "ci runners"
        exe = "/opt/runner/**"
        "#,
    )
    .unwrap();
    assert_eq!(config.window, Duration::from_secs(120));
    assert_eq!(config.update_interval, Duration::from_secs(5));
    assert_eq!(config.correlation_window, Duration::from_secs(600));
    assert_eq!(config.max_evidence, 20);
    assert_eq!(
        config.suppressions[0].exe.as_deref(),
        Some("/opt/runner/**")
    );
    let zero: MergeConfig = toml::from_str("window = 0").unwrap();
    let err = Merger::new(zero).unwrap_err();
    assert!(err.to_string().contains("`window`"), "{err}");
}

#[test]
fn merger_and_sinks_can_move_across_threads() {
    fn send<T: Send>() {}
    fn shared<T: Send + Sync>() {}
    send::<Merger>();
    shared::<harrier_findings::Sinks>();
}

#[test]
fn per_finding_cost_is_small() {
    let mut merger = Merger::new(MergeConfig {
        correlation_min_types: 2,
        ..MergeConfig::default()
    })
    .unwrap();
    let types = ["A:Runtime/One", "B:Runtime/Two", "C:Runtime/Three"];
    let count = 30_000u64;
    let started = std::time::Instant::now();
    let mut emitted = 0;
    for i in 0..count {
        let raw = in_container(
            input(types[(i % 3) as usize], "/tmp/x", i / 100, i),
            &format!("c{}", i % 50),
            None,
        );
        emitted += merger.ingest(raw).len();
    }
    emitted += merger.finish().len();
    let per_finding = started.elapsed() / count as u32;
    eprintln!("merge+correlate: {per_finding:?} per raw finding, {emitted} emissions");
    assert!(
        per_finding < std::time::Duration::from_micros(200),
        "{per_finding:?}"
    );
    assert_eq!(merger.stats().attack_sequences, 50);
}

#[test]
fn a_merged_finding_lists_each_process_with_its_own_evidence() {
    let mut merger = merger(300, 0);
    let pod = |i| in_container(i, "c1", None);
    let mut first = input(MINER, "/tmp/xmrig", 0, 1);
    first.raw.evidence[0].key = "rule".into();
    first.raw.evidence[0].value = "pool argument".into();
    merger.ingest(pod(first));
    let mut second = input(MINER, "/usr/bin/python3", 1, 2);
    second.process.pid = 5151;
    second.raw.pid = 5151;
    second.raw.evidence[0].key = "rule".into();
    second.raw.evidence[0].value = "miner name".into();
    let out = merger.ingest(pod(second));
    let f = &out.last().unwrap().finding;
    assert_eq!(f.count, 2, "one container: merged");
    type Member<'a> = (u32, &'a str, Vec<(&'a str, &'a str)>);
    let processes: Vec<Member> = f
        .processes
        .iter()
        .map(|p| {
            let evidence = p
                .evidence
                .iter()
                .map(|e| (e.key.as_str(), e.value.as_str()))
                .collect();
            (p.pid, p.exe.as_str(), evidence)
        })
        .collect();
    assert_eq!(
        processes,
        [
            (4242, "/tmp/xmrig", vec![("rule", "pool argument")]),
            (5151, "/usr/bin/python3", vec![("rule", "miner name")]),
        ]
    );
    assert!(!f.processes_truncated);
    // Bounded: past the limit processes are counted out, not listed.
    let mut last = None;
    for pid in 0..20u32 {
        let mut more = input(MINER, "/tmp/xmrig", 2, 10 + pid as u64);
        more.process.pid = 6000 + pid;
        last = merger.ingest(pod(more)).pop();
    }
    let f = last.expect("updates are due at once").finding;
    assert_eq!(f.processes.len(), harrier_findings::MAX_PROCESSES);
    assert!(f.processes_truncated);
}
