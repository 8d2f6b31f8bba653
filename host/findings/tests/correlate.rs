//! Correlation of findings into attack sequences.

mod common;

use std::time::Duration;

use common::{SEC, T0, in_container, input};
use harrier_findings::{
    ATTACK_SEQUENCE_TYPE, Emission, EmissionKind, MergeConfig, Merger, SeverityLabel,
};

const NEW_BINARY: &str = "Execution:Runtime/NewBinaryExecuted";
const REVERSE_SHELL: &str = "Persistence:Runtime/SensitiveFileModified";
const MINER: &str = "Impact:Runtime/CryptoMinerExecuted";

fn merger(min_types: usize) -> Merger {
    Merger::new(MergeConfig {
        correlation_window: Duration::from_secs(600),
        correlation_min_types: min_types,
        update_interval: Duration::from_secs(10),
        ..MergeConfig::default()
    })
    .unwrap()
}

fn sequences(out: &[Emission]) -> Vec<&Emission> {
    out.iter()
        .filter(|e| e.finding.is_attack_sequence())
        .collect()
}

#[test]
fn three_tactics_in_one_pod_become_one_attack_sequence() {
    let mut merger = merger(2);
    let pod = |i| in_container(i, "c0ffee", Some("pod-1"));

    let first = merger.ingest(pod(input(NEW_BINARY, "/tmp/dropper", 0, 1)));
    assert_eq!(first.len(), 1, "one type alone is no sequence");
    let new_binary_id = first[0].finding.id.clone();

    let second = merger.ingest(pod(input(REVERSE_SHELL, "/bin/sh", 30, 2)));
    assert_eq!(second.len(), 2);
    assert_eq!(second[0].finding.finding_type, REVERSE_SHELL);
    let shell_id = second[0].finding.id.clone();
    let created = sequences(&second);
    assert_eq!(created.len(), 1);
    let seq = &created[0].finding;
    assert_eq!(created[0].kind, EmissionKind::New);
    assert_eq!(seq.finding_type, ATTACK_SEQUENCE_TYPE);
    // From the evidence: the worst member (5.0) and one more tactic.
    assert_eq!(seq.severity, 6.0);
    assert_eq!(seq.severity_label, SeverityLabel::Medium);
    let section = seq.sequence.as_ref().expect("a sequence section");
    assert_eq!(section.scope, "container");
    assert_eq!(section.scope_id, "c0ffee");
    assert_eq!(section.tactics, ["Execution", "Persistence"]);
    let signals: Vec<(&str, &str)> = section
        .signals
        .iter()
        .map(|s| (s.uid.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        signals,
        [
            (new_binary_id.as_str(), NEW_BINARY),
            (shell_id.as_str(), REVERSE_SHELL)
        ]
    );
    assert_eq!(section.actors.len(), 1, "one process behind both");
    assert_eq!(section.signals[0].actor_ids, [section.actors[0].id.clone()]);
    let tactic_indicator = section
        .indicators
        .iter()
        .find(|i| i.key == "ATTACK_TACTIC")
        .unwrap();
    assert_eq!(tactic_indicator.values, ["Execution", "Persistence"]);
    assert_eq!(seq.related, vec![new_binary_id.clone(), shell_id.clone()]);
    assert_eq!(seq.count, 2);
    assert_eq!(seq.container.as_ref().unwrap().id, "c0ffee");
    assert_eq!(
        seq.container.as_ref().unwrap().pod_uid.as_deref(),
        Some("pod-1")
    );
    assert_eq!(
        seq.process.exe, "/tmp/dropper",
        "the story starts at the first member"
    );
    assert_eq!(seq.first_seen, "2026-01-01T00:00:00.000Z");
    assert_eq!(seq.last_seen, "2026-01-01T00:00:30.000Z");
    assert!(
        seq.title.contains("Execution → Persistence"),
        "{}",
        seq.title
    );
    assert!(seq.description.contains(NEW_BINARY) && seq.description.contains(REVERSE_SHELL));
    let seq_id = seq.id.clone();

    // A repeat of a known member updates nothing immediately.
    let repeat = merger.ingest(pod(input(REVERSE_SHELL, "/bin/sh", 35, 3)));
    assert!(sequences(&repeat).is_empty());

    // A third stage joins at once, same id.
    let third = merger.ingest(pod(input(MINER, "/tmp/xmrig", 60, 4)));
    let joined = sequences(&third);
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].kind, EmissionKind::Update);
    assert_eq!(joined[0].finding.id, seq_id);
    assert_eq!(joined[0].finding.revision, 1);
    assert_eq!(joined[0].finding.count, 3);
    assert_eq!(joined[0].finding.related.len(), 3);
    assert_eq!(joined[0].finding.related[2], third[0].finding.id);
    assert!(
        joined[0]
            .finding
            .title
            .contains("Execution → Persistence → Impact")
    );
    assert_eq!(joined[0].finding.severity, 7.0, "a third tactic");

    assert_eq!(merger.stats().attack_sequences, 1);
    let finals = merger.finish();
    assert!(finals.iter().all(|e| e.kind == EmissionKind::Final));
}

#[test]
fn different_containers_do_not_correlate() {
    let mut merger = merger(2);
    merger.ingest(in_container(input(NEW_BINARY, "/tmp/x", 0, 1), "a", None));
    let out = merger.ingest(in_container(
        input(REVERSE_SHELL, "/bin/sh", 1, 2),
        "b",
        None,
    ));
    assert!(sequences(&out).is_empty());
    assert_eq!(merger.stats().attack_sequences, 0);
}

#[test]
fn findings_further_apart_than_the_correlation_window_do_not_correlate() {
    let mut merger = merger(2);
    merger.ingest(in_container(input(NEW_BINARY, "/tmp/x", 0, 1), "a", None));
    let out = merger.ingest(in_container(
        input(REVERSE_SHELL, "/bin/sh", 601, 2),
        "a",
        None,
    ));
    assert!(sequences(&out).is_empty());
    let out = merger.ingest(in_container(input(MINER, "/tmp/m", 900, 3), "a", None));
    assert_eq!(sequences(&out).len(), 1, "shell and miner are 299 s apart");
    assert_eq!(sequences(&out)[0].finding.count, 2);
}

#[test]
fn host_processes_correlate_through_their_login_session() {
    let mut merger = merger(2);
    // Both run in one login (bash 4241) under sshd (pid 900).
    merger.ingest(input(NEW_BINARY, "/tmp/dropper", 0, 1));
    let out = merger.ingest(input(REVERSE_SHELL, "/bin/sh", 5, 2));
    let seq = sequences(&out);
    assert_eq!(seq.len(), 1);
    assert!(seq[0].finding.container.is_none());
    assert!(
        seq[0]
            .finding
            .title
            .contains("started by /usr/sbin/sshd (pid 900)"),
        "{}",
        seq[0].finding.title
    );
    assert_eq!(seq[0].finding.sequence.as_ref().unwrap().scope, "session");
    // Another login of the same sshd does not join.
    let mut other = input(MINER, "/tmp/xmrig", 6, 3);
    other.process.ancestry[0].pid = 5000;
    assert!(sequences(&merger.ingest(other)).is_empty());
    // Nor another tree (cron, pid 700).
    let mut cron = input(MINER, "/tmp/xmrig", 7, 4);
    cron.process.ancestry[0].pid = 701;
    cron.process.ancestry[1].pid = 700;
    cron.process.ancestry[1].exe = "/usr/sbin/cron".into();
    assert!(sequences(&merger.ingest(cron)).is_empty());
}

#[test]
fn low_noise_or_one_tactic_is_no_attack_sequence() {
    // Two Low findings of two tactics in one session: no Medium member.
    let mut merger = merger(2);
    let low = |t: &str, secs, seq| {
        let mut i = input(t, "/usr/bin/tool", secs, seq);
        i.raw.severity = 3.0;
        i
    };
    merger.ingest(low("DefenseEvasion:Runtime/PtraceAntiDebugging", 0, 1));
    let out = merger.ingest(low("UnauthorizedAccess:Runtime/SshNonStandardPort", 1, 2));
    assert!(sequences(&out).is_empty(), "{out:#?}");
    // Many types of one tactic: no progression.
    let mut merger = self::merger(2);
    merger.ingest(input("Execution:Runtime/NewBinaryExecuted", "/tmp/a", 0, 1));
    merger.ingest(input("Execution:Runtime/SuspiciousTool", "/tmp/a", 1, 2));
    let out = merger.ingest(input("Execution:Runtime/ReverseShell", "/tmp/a", 2, 3));
    assert!(sequences(&out).is_empty(), "{out:#?}");
    assert_eq!(merger.stats().attack_sequences, 0);
}

#[test]
fn min_types_is_configurable_and_zero_disables() {
    let mut strict = merger(3);
    strict.ingest(in_container(input(NEW_BINARY, "/tmp/x", 0, 1), "a", None));
    let out = strict.ingest(in_container(
        input(REVERSE_SHELL, "/bin/sh", 1, 2),
        "a",
        None,
    ));
    assert!(sequences(&out).is_empty());
    let out = strict.ingest(in_container(input(MINER, "/tmp/m", 2, 3), "a", None));
    assert_eq!(sequences(&out).len(), 1);

    let mut off = merger(0);
    for (i, t) in [NEW_BINARY, REVERSE_SHELL, MINER].iter().enumerate() {
        let out = off.ingest(in_container(input(t, "/x", i as u64, i as u64), "a", None));
        assert!(sequences(&out).is_empty());
    }
}

#[test]
fn sequence_updates_follow_the_interval_and_close_after_the_window() {
    let mut merger = merger(2);
    merger.ingest(in_container(input(NEW_BINARY, "/tmp/x", 0, 1), "a", None));
    merger.ingest(in_container(
        input(REVERSE_SHELL, "/bin/sh", 1, 2),
        "a",
        None,
    ));
    // A member recurs later: the sequence's last_seen moves, reported by tick.
    merger.ingest(in_container(
        input(REVERSE_SHELL, "/bin/sh", 20, 3),
        "a",
        None,
    ));
    let out = merger.tick(T0 + 25 * SEC);
    let seq = sequences(&out);
    assert_eq!(seq.len(), 1, "{out:#?}");
    assert_eq!(seq[0].kind, EmissionKind::Update);
    assert_eq!(seq[0].finding.last_seen, "2026-01-01T00:00:20.000Z");
    // Past the correlation window the group closes; nothing unreported left.
    let out = merger.tick(T0 + 700 * SEC);
    assert!(sequences(&out).is_empty());
    let out = merger.ingest(in_container(input(MINER, "/tmp/m", 701, 4), "a", None));
    assert!(
        sequences(&out).is_empty(),
        "a closed group does not come back"
    );
}

#[test]
fn a_sequence_shows_what_its_members_absorbed_before_it_formed() {
    let mut merger = merger(2);
    let pod = |i| in_container(i, "c0ffee", Some("pod-1"));
    merger.ingest(pod(input(NEW_BINARY, "/tmp/dropper", 0, 1)));
    // The same finding again, from a second process of the same binary.
    let mut again = pod(input(NEW_BINARY, "/tmp/dropper", 10, 2));
    again.process.pid = 5151;
    again.raw.pid = 5151;
    merger.ingest(again);

    let out = merger.ingest(pod(input(REVERSE_SHELL, "/bin/sh", 30, 3)));
    let created = sequences(&out);
    assert_eq!(created.len(), 1);
    let seq = &created[0].finding;
    let section = seq.sequence.as_ref().unwrap();
    assert_eq!(section.signals[0].count, 2, "the repeat is counted");
    assert_eq!(section.signals[0].last_seen, "2026-01-01T00:00:10.000Z");
    assert!(
        section.signals[0]
            .actor_ids
            .contains(&"process:5151".to_string()),
        "{:?}",
        section.signals[0].actor_ids
    );
    let seqs: Vec<u64> = seq.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3], "every member event, the repeat's included");
}
