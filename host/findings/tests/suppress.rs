//! Suppression rules: each field, combinations, stats and bad rules.

mod common;

use common::{in_container, in_pod, input};
use harrier_findings::{ConfigError, MergeConfig, Merger, Suppression};

const MINER: &str = "Impact:Runtime/CryptoMinerExecuted";
const SHELL: &str = "Execution:Runtime/ReverseShell";

fn merger(rules: Vec<Suppression>) -> Merger {
    Merger::new(MergeConfig {
        suppressions: rules,
        ..MergeConfig::default()
    })
    .unwrap()
}

fn rule(name: &str) -> Suppression {
    Suppression {
        name: Some(name.to_string()),
        ..Suppression::default()
    }
}

/// Ingests each input and returns which were muted.
fn muted(merger: &mut Merger, inputs: Vec<harrier_findings::FindingInput>) -> Vec<bool> {
    inputs
        .into_iter()
        .map(|i| merger.ingest(i).is_empty())
        .collect()
}

#[test]
fn by_type_glob() {
    let mut m = merger(vec![Suppression {
        finding_type: Some("Impact:Runtime/*".into()),
        ..rule("no impact")
    }]);
    assert_eq!(
        muted(
            &mut m,
            vec![input(MINER, "/a", 0, 1), input(SHELL, "/a", 0, 2)]
        ),
        vec![true, false]
    );
    assert_eq!(m.stats().suppressed["no impact"], 1);
}

#[test]
fn by_executable_glob() {
    let mut m = merger(vec![Suppression {
        exe: Some("/opt/ci/**".into()),
        ..rule("ci")
    }]);
    assert_eq!(
        muted(
            &mut m,
            vec![
                input(MINER, "/opt/ci/bin/miner-test", 0, 1),
                input(MINER, "/opt/cider", 0, 2),
                input(MINER, "/tmp/xmrig", 0, 3),
            ]
        ),
        vec![true, false, false]
    );
    // `*` stays within one path component for executables.
    let mut m = merger(vec![Suppression {
        exe: Some("/opt/*".into()),
        ..rule("one level")
    }]);
    assert_eq!(
        muted(
            &mut m,
            vec![input(MINER, "/opt/x", 0, 1), input(MINER, "/opt/a/x", 0, 2)]
        ),
        vec![true, false]
    );
}

#[test]
fn by_evidence_path_glob() {
    let mut m = merger(vec![Suppression {
        path: Some("/var/lib/backup/**".into()),
        ..rule("backups")
    }]);
    let mut hit = input(SHELL, "/bin/sh", 0, 1);
    hit.raw.evidence.push(harrier_events::Evidence {
        key: "file".into(),
        value: "/var/lib/backup/2026/db.tar".into(),
    });
    let miss = input(SHELL, "/bin/sh", 0, 2);
    assert_eq!(muted(&mut m, vec![hit, miss]), vec![true, false]);
}

#[test]
fn by_container_glob() {
    let mut m = merger(vec![Suppression {
        container: Some("abc*".into()),
        ..rule("build containers")
    }]);
    assert_eq!(
        muted(
            &mut m,
            vec![
                in_container(input(MINER, "/x", 0, 1), "abc123", None),
                in_container(input(MINER, "/x", 0, 2), "def456", None),
                input(MINER, "/x", 0, 3),
            ]
        ),
        vec![true, false, false]
    );
}

#[test]
fn by_pod_glob() {
    let mut m = merger(vec![Suppression {
        pod: Some("7f3e*".into()),
        ..rule("benchmark pod")
    }]);
    assert_eq!(
        muted(
            &mut m,
            vec![
                in_container(input(MINER, "/x", 0, 1), "c1", Some("7f3e-11")),
                in_container(input(MINER, "/x", 0, 2), "c2", Some("0000-11")),
                in_container(input(MINER, "/x", 0, 3), "c3", None),
            ]
        ),
        vec![true, false, false]
    );
}

/// The pod of `in_pod` is `shop/cart-0` (label app=cart), image
/// `registry.example/shop/cart:1.4`.
#[test]
fn by_namespace_pod_label_and_image() {
    let cases = [
        Suppression {
            namespace: Some("sho?".into()),
            ..rule("namespace")
        },
        Suppression {
            pod_label: Some("app=ca*".into()),
            ..rule("label")
        },
        Suppression {
            image: Some("registry.example/shop/*".into()),
            ..rule("image")
        },
        Suppression {
            image: Some("*@sha256:cdcd*".into()),
            ..rule("digest")
        },
    ];
    for case in cases {
        let name = case.name.clone().unwrap();
        let mut m = merger(vec![case]);
        assert_eq!(
            muted(
                &mut m,
                vec![
                    in_pod(input(MINER, "/x", 0, 1), "c1"),
                    // The same container id without the runtime's names.
                    in_container(input(MINER, "/x", 0, 2), "c2", Some("0b8a5c1e")),
                    input(MINER, "/x", 0, 3),
                ]
            ),
            vec![true, false, false],
            "{name}"
        );
    }
    // Other values do not match.
    let mut m = merger(vec![
        Suppression {
            namespace: Some("kube-system".into()),
            ..rule("ns")
        },
        Suppression {
            pod_label: Some("app=web".into()),
            ..rule("label")
        },
        Suppression {
            pod_label: Some("tier=*".into()),
            ..rule("absent label")
        },
        Suppression {
            image: Some("nginx*".into()),
            ..rule("image")
        },
    ]);
    assert_eq!(
        muted(&mut m, vec![in_pod(input(MINER, "/x", 0, 1), "c1")]),
        vec![false]
    );
}

#[test]
fn by_max_severity() {
    let mut m = merger(vec![Suppression {
        max_severity: Some(3.9),
        ..rule("low noise")
    }]);
    let mut low = input(SHELL, "/a", 0, 1);
    low.raw.severity = 2.0;
    let mut high = input(SHELL, "/b", 0, 2);
    high.raw.severity = 8.0;
    assert_eq!(muted(&mut m, vec![low, high]), vec![true, false]);
}

#[test]
fn every_set_field_must_match_and_stats_count_per_rule() {
    let mut m = merger(vec![
        Suppression {
            finding_type: Some(MINER.into()),
            exe: Some("/usr/bin/stress-ng".into()),
            ..rule("stress test")
        },
        Suppression {
            container: Some("lab-*".into()),
            ..Suppression::default()
        },
    ]);
    let results = muted(
        &mut m,
        vec![
            input(MINER, "/usr/bin/stress-ng", 0, 1),
            input(MINER, "/usr/bin/stress-ng", 1, 2),
            input(SHELL, "/usr/bin/stress-ng", 2, 3),
            input(MINER, "/tmp/xmrig", 3, 4),
            in_container(input(SHELL, "/bin/sh", 4, 5), "lab-1", None),
        ],
    );
    assert_eq!(results, vec![true, true, false, false, true]);
    let stats = m.stats();
    assert_eq!(stats.suppressed["stress test"], 2);
    assert_eq!(stats.suppressed["suppression[1]"], 1);
    assert_eq!(stats.ingested, 5);
    assert_eq!(stats.findings, 2);
}

#[test]
fn suppressed_findings_do_not_correlate() {
    let mut m = merger(vec![Suppression {
        finding_type: Some(SHELL.into()),
        ..rule("shells")
    }]);
    m.ingest(in_container(input(MINER, "/x", 0, 1), "c", None));
    let out = m.ingest(in_container(input(SHELL, "/bin/sh", 1, 2), "c", None));
    assert!(out.is_empty());
    assert_eq!(m.stats().attack_sequences, 0);
}

#[test]
fn bad_rules_are_refused_naming_the_rule() {
    let err = Merger::new(MergeConfig {
        suppressions: vec![Suppression {
            exe: Some("/opt/[".into()),
            ..rule("broken")
        }],
        ..MergeConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, ConfigError::InvalidGlob { field: "exe", .. }));
    assert!(err.to_string().contains("`broken`"), "{err}");

    let err = Merger::new(MergeConfig {
        suppressions: vec![rule("empty")],
        ..MergeConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, ConfigError::EmptyRule { .. }));
    assert!(err.to_string().contains("`empty`"), "{err}");

    let err = Merger::new(MergeConfig {
        suppressions: vec![Suppression {
            pod_label: Some("app".into()),
            ..rule("no value")
        }],
        ..MergeConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, ConfigError::InvalidLabel { .. }));
    assert!(
        err.to_string().contains("`no value`") && err.to_string().contains("pod_label"),
        "{err}"
    );
}
