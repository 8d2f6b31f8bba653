//! Every format validated against its schema: the native JSON Schema from the
//! repository, and schemas of the OCSF and Falco shapes consumers rely on.

mod common;

use common::{assert_valid, in_container, input, sample_finding, validator};
use harrier_findings::{Format, MergeConfig, Merger, NATIVE_SCHEMA_V1, UnifiedFinding};
use serde_json::{Value, json};

fn schema(text: &str) -> Value {
    serde_json::from_str(text).expect("schema is JSON")
}

/// A host finding, a container finding, an update and an attack sequence.
fn findings() -> Vec<UnifiedFinding> {
    let mut merger = Merger::new(MergeConfig {
        node: Some("node-1".into()),
        update_interval: std::time::Duration::from_secs(1),
        ..MergeConfig::default()
    })
    .unwrap();
    let mut all = vec![sample_finding(false), sample_finding(true)];
    let pod = |i| in_container(i, "c0ffee", Some("pod-1"));
    for e in merger.ingest(pod(input(
        "Execution:Runtime/NewBinaryExecuted",
        "/tmp/d",
        0,
        1,
    ))) {
        all.push(e.finding);
    }
    for e in merger.ingest(pod(input(
        "Execution:Runtime/NewBinaryExecuted",
        "/tmp/d",
        5,
        2,
    ))) {
        all.push(e.finding);
    }
    for e in merger.ingest(pod(input(
        "Persistence:Runtime/SensitiveFileModified",
        "/bin/sh",
        6,
        3,
    ))) {
        all.push(e.finding);
    }
    assert!(all.iter().any(|f| f.is_attack_sequence()));
    assert!(all.iter().any(|f| f.revision > 0));
    all
}

#[test]
fn native_matches_the_repository_schema() {
    let on_disk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/finding-v1.schema.json"
    ))
    .unwrap();
    assert_eq!(on_disk, NATIVE_SCHEMA_V1);
    let validator = validator(&schema(NATIVE_SCHEMA_V1));
    for finding in findings() {
        let value = Format::Native.render(&finding);
        assert_valid(&validator, &value);
        let back: UnifiedFinding = serde_json::from_value(value).unwrap();
        assert_eq!(back, finding, "native JSON round-trips");
    }
}

#[test]
fn native_schema_rejects_broken_findings() {
    let validator = validator(&schema(NATIVE_SCHEMA_V1));
    let good = Format::Native.render(&sample_finding(true));
    let broken = [
        ("severity", json!(11.0)),
        ("severity_label", json!("Severe")),
        ("id", json!("not-hex")),
        ("first_seen", json!("yesterday")),
        ("detectors", json!([])),
        ("count", json!(0)),
    ];
    for (field, value) in broken {
        let mut bad = good.clone();
        bad[field] = value;
        assert!(!validator.is_valid(&bad), "{field} should be refused");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("process");
    assert!(!validator.is_valid(&missing));
    let mut extra = good;
    extra["container"]["colour"] = json!("x");
    assert!(!validator.is_valid(&extra));
}

#[test]
fn provenance_of_every_source_validates() {
    use harrier_findings::{DetectorRef, ProvenanceSource};
    let validator = validator(&schema(NATIVE_SCHEMA_V1));
    let sources = [
        ProvenanceSource::Embedded,
        ProvenanceSource::Directory {
            path: "/opt/detectors/x.wasm".into(),
        },
        ProvenanceSource::Pack {
            pack: "acme".into(),
            pack_version: "1.2.0".into(),
            key_id: Some("ab12cd34".into()),
        },
        ProvenanceSource::Pack {
            pack: "dev".into(),
            pack_version: "0.1.0".into(),
            key_id: None,
        },
    ];
    for (i, source) in sources.into_iter().enumerate() {
        let mut finding = sample_finding(false);
        finding.provenance = vec![DetectorRef {
            source,
            shadow: i % 2 == 1,
            component_sha256: "ab".repeat(32),
            ..DetectorRef::new("test-detector", "1.0.0")
        }];
        finding.shadow = i % 2 == 1;
        let value = Format::Native.render(&finding);
        assert_valid(&validator, &value);
        let back: UnifiedFinding = serde_json::from_value(value).unwrap();
        assert_eq!(back, finding);
    }
    let good = Format::Native.render(&sample_finding(false));
    assert_eq!(good["provenance"][0]["detector"], "test-detector");
    assert_eq!(good["shadow"], false);
    for (pointer, value) in [
        ("/provenance/0/component_sha256", json!("xyz")),
        ("/provenance/0/source", json!({"kind": "pack", "pack": "p"})),
        ("/provenance/0/source", json!({"kind": "ftp"})),
        ("/shadow", json!("no")),
        ("/provenance", json!([])),
    ] {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        assert!(!validator.is_valid(&bad), "{pointer} should be refused");
    }
}

#[test]
fn ocsf_is_a_valid_detection_finding() {
    let validator = validator(&schema(include_str!(
        "schemas/ocsf-detection-finding.schema.json"
    )));
    for finding in findings() {
        let value = Format::Ocsf.render(&finding);
        assert_valid(&validator, &value);
        assert_eq!(value["finding_info"]["uid"], finding.id);
        assert_eq!(value["finding_info"]["types"][0], finding.finding_type);
        assert_eq!(value["count"], finding.count);
        let activity = if finding.revision == 0 { 1 } else { 2 };
        assert_eq!(value["activity_id"], activity);
        assert_eq!(value["type_uid"], 200400 + activity);
        let severity_id = match finding.severity_label.as_str() {
            "Low" => 2,
            "Medium" => 3,
            "High" => 4,
            _ => 5,
        };
        assert_eq!(value["severity_id"], severity_id);
        assert_eq!(value["evidences"][0]["process"]["pid"], finding.process.pid);
        assert_eq!(
            value["evidences"][0]["container"]["uid"].as_str(),
            finding.container.as_ref().map(|c| c.id.as_str())
        );
        assert_eq!(
            value["unmapped"]["harrier"]["related"],
            json!(finding.related)
        );
    }
    let miner = Format::Ocsf.render(&sample_finding(true));
    assert_eq!(
        miner["finding_info"]["attacks"][0]["technique"]["uid"],
        "T1496"
    );
    assert_eq!(
        miner["finding_info"]["attacks"][0]["tactic"]["uid"],
        "TA0040"
    );
    assert_eq!(miner["time"], 1_767_225_600_000u64);
    assert_eq!(miner["severity"], "High");
}

#[test]
fn falco_alerts_have_falco_fields() {
    let validator = validator(&schema(include_str!("schemas/falco-alert.schema.json")));
    for finding in findings() {
        let value = Format::Falco.render(&finding);
        assert_valid(&validator, &value);
        assert_eq!(value["rule"], finding.finding_type);
        assert_eq!(value["hostname"], "node-1");
        assert_eq!(value["output_fields"]["harrier.id"], finding.id);
        let expected_container = finding.container.as_ref().map_or("host", |c| c.id.as_str());
        assert_eq!(value["output_fields"]["container.id"], expected_container);
    }
    let miner = Format::Falco.render(&sample_finding(false));
    assert_eq!(miner["priority"], "Error");
    assert_eq!(miner["time"], "2026-01-01T00:00:00.000000000Z");
    assert_eq!(miner["source"], "syscall");
    let tags: Vec<&str> = miner["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tags.contains(&"mitre_impact") && tags.contains(&"T1496") && tags.contains(&"host"));
    let output = miner["output"].as_str().unwrap();
    assert!(output.starts_with("00:00:00.000000000: Error "), "{output}");
    assert!(output.contains("proc_exepath=/tmp/xmrig"), "{output}");
}

#[test]
fn format_names_parse() {
    assert_eq!("ocsf".parse::<Format>(), Ok(Format::Ocsf));
    assert_eq!("falco".parse::<Format>(), Ok(Format::Falco));
    assert_eq!("native".parse::<Format>(), Ok(Format::Native));
    assert!("cef".parse::<Format>().unwrap_err().contains("`cef`"));
    assert_eq!(Format::Falco.to_string(), "falco");
}

#[test]
fn kubernetes_workload_in_every_format() {
    let finding = sample_finding(true);
    let native = Format::Native.render(&finding);
    assert_valid(&validator(&schema(NATIVE_SCHEMA_V1)), &native);
    let k8s = &native["kubernetes"];
    assert_eq!(k8s["cluster_name"], "prod-eu");
    let workload = &k8s["workload_details"];
    assert_eq!(workload["type"], "Pod");
    assert_eq!(workload["namespace"], "shop");
    assert_eq!(workload["name"], "cart-0");
    assert_eq!(workload["uid"], "0b8a5c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_eq!(workload["labels"]["app"], "cart");
    assert_eq!(workload["containers"][0]["name"], "cart");
    assert_eq!(
        workload["containers"][0]["security_context"]["privileged"],
        false
    );
    assert_eq!(
        native["container"]["image"],
        "registry.example/shop/cart:1.4"
    );
    assert_eq!(native["container"]["runtime"], "containerd");
    // Host findings have neither section.
    let host = Format::Native.render(&sample_finding(false));
    assert!(host.get("kubernetes").is_none() && host.get("container").is_none());

    let ocsf = Format::Ocsf.render(&finding);
    let container = &ocsf["evidences"][0]["container"];
    assert_eq!(container["uid"], "c0ffee");
    assert_eq!(container["name"], "cart");
    assert_eq!(container["runtime"], "containerd");
    assert_eq!(
        container["pod_uuid"],
        "0b8a5c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b"
    );
    assert_eq!(container["orchestrator"], "Kubernetes");
    assert_eq!(container["image"]["name"], "registry.example/shop/cart");
    assert_eq!(container["image"]["tag"], "1.4");
    assert!(
        container["image"]["uid"]
            .as_str()
            .unwrap()
            .starts_with("registry.example/shop/cart@sha256:")
    );
    assert_eq!(ocsf["resources"][0]["namespace"], "shop");

    let falco = Format::Falco.render(&finding);
    let fields = &falco["output_fields"];
    assert_eq!(fields["k8s.ns.name"], "shop");
    assert_eq!(fields["k8s.pod.name"], "cart-0");
    assert_eq!(fields["k8s.pod.labels"], "app:cart");
    assert_eq!(fields["container.name"], "cart");
    assert_eq!(
        fields["container.image.repository"],
        "registry.example/shop/cart"
    );
    assert_eq!(fields["container.image.tag"], "1.4");
    assert_eq!(fields["container.privileged"], false);
    let host = Format::Falco.render(&sample_finding(false));
    assert!(host["output_fields"]["k8s.ns.name"].is_null());
}
