//! Builders shared by the integration tests.
#![allow(dead_code)]

use harrier_events::{Evidence, Finding};
use harrier_findings::{
    AncestorSummary, ContainerContext, DetectorRef, EventRef, FindingInput, ProcessContext,
    UnifiedFinding,
};

/// One second in nanoseconds.
pub const SEC: u64 = 1_000_000_000;
/// A fixed base event time: 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600 * SEC;

/// A raw finding input on a host process, at `T0 + secs`, with event `seq`.
pub fn input(finding_type: &str, exe: &str, secs: u64, seq: u64) -> FindingInput {
    FindingInput {
        raw: Finding {
            finding_type: finding_type.to_string(),
            severity: 5.0,
            title: format!("{finding_type} by {exe}"),
            description: format!("{exe} did something matching {finding_type}"),
            mitre_technique: Some("T1059".to_string()),
            pid: 4242,
            event_seqs: vec![seq],
            evidence: vec![Evidence {
                key: "path".to_string(),
                value: exe.to_string(),
            }],
        },
        detector: DetectorRef::new("test-detector", "1.0.0"),
        process: ProcessContext {
            pid: 4242,
            ppid: 4241,
            exe: exe.to_string(),
            cmdline: format!("{exe} --flag"),
            uid: 1000,
            euid: 1000,
            user: Some("alice".to_string()),
            exe_sha256: Some("ab".repeat(32)),
            cwd: "/home/alice".to_string(),
            ancestry: vec![
                AncestorSummary {
                    pid: 4241,
                    exe: "/bin/bash".to_string(),
                    cmdline: "bash".to_string(),
                },
                AncestorSummary {
                    pid: 900,
                    exe: "/usr/sbin/sshd".to_string(),
                    cmdline: "sshd: alice".to_string(),
                },
                AncestorSummary {
                    pid: 1,
                    exe: "/sbin/init".to_string(),
                    cmdline: "/sbin/init".to_string(),
                },
            ],
        },
        container: None,
        kubernetes: None,
        events: vec![EventRef {
            seq,
            kind: "exec".to_string(),
            time_ns: T0 + secs * SEC,
        }],
        time_ns: T0 + secs * SEC,
    }
}

/// The same input, in container `id` (pod `pod`).
pub fn in_container(mut input: FindingInput, id: &str, pod: Option<&str>) -> FindingInput {
    input.container = Some(ContainerContext {
        id: id.to_string(),
        pod_uid: pod.map(str::to_string),
        ..Default::default()
    });
    input
}

/// The same input, in container `id` of pod `shop/cart-0` as a CRI runtime names it.
pub fn in_pod(input: FindingInput, id: &str) -> FindingInput {
    use harrier_findings::{KubernetesContainer, KubernetesWorkload, SecurityContext};
    let mut input = in_container(input, id, Some("0b8a5c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b"));
    let container = input.container.as_mut().unwrap();
    container.name = Some("cart".to_string());
    container.image = Some("registry.example/shop/cart:1.4".to_string());
    container.image_digest = Some(format!(
        "registry.example/shop/cart@sha256:{}",
        "cd".repeat(32)
    ));
    container.runtime = Some("containerd".to_string());
    input.kubernetes = Some(KubernetesWorkload {
        kind: "Pod".to_string(),
        name: Some("cart-0".to_string()),
        uid: container.pod_uid.clone(),
        namespace: Some("shop".to_string()),
        labels: [("app".to_string(), "cart".to_string())].into(),
        containers: vec![KubernetesContainer {
            name: container.name.clone(),
            image: container.image.clone(),
            image_digest: container.image_digest.clone(),
            security_context: SecurityContext {
                privileged: Some(false),
            },
        }],
    });
    input
}

/// A finished unified finding for format tests.
pub fn sample_finding(container: bool) -> UnifiedFinding {
    use harrier_findings::{MergeConfig, Merger};
    let mut merger = Merger::new(MergeConfig {
        node: Some("node-1".to_string()),
        cluster: Some("prod-eu".to_string()),
        ..MergeConfig::default()
    })
    .unwrap();
    let mut raw = input("Impact:Runtime/CryptoMinerExecuted", "/tmp/xmrig", 0, 1);
    raw.raw.severity = 8.0;
    raw.raw.mitre_technique = Some("T1496".to_string());
    if container {
        raw = in_pod(raw, "c0ffee");
    }
    merger.ingest(raw).remove(0).finding
}

/// Compiles a JSON Schema (formats checked).
pub fn validator(schema: &serde_json::Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("schema compiles")
}

/// Asserts that `instance` is valid, listing every error otherwise.
pub fn assert_valid(validator: &jsonschema::Validator, instance: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid: {errors:#?}\n{instance:#}");
}
