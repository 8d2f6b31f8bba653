//! OCSF 1.3 Detection Finding (class_uid 2004) rendering.

use serde_json::{Map, Value, json};

use super::{image, tactic};
use crate::finding::ContainerSection;
use crate::finding::{SeverityLabel, UnifiedFinding};
use crate::time::millis;

/// OCSF schema version the output follows.
pub(crate) const OCSF_VERSION: &str = "1.3.0";
/// Detection Finding.
const CLASS_UID: u64 = 2004;
/// The Findings category.
const CATEGORY_UID: u64 = 2;

/// Renders a finding as an OCSF Detection Finding event.
///
/// The first emission of an id is activity Create (1), later ones Update (2);
/// `time` is the emission's latest event time; Harrier-only fields (revision,
/// related ids, native schema version) go under `unmapped.harrier`.
pub(crate) fn render(finding: &UnifiedFinding) -> Value {
    let (activity_id, activity_name) = if finding.revision == 0 {
        (1, "Create")
    } else {
        (2, "Update")
    };
    let (severity_id, severity) = severity(finding.severity_label);
    let first_ms = millis(finding.first_seen_ns());
    let last_ms = millis(finding.last_seen_ns());
    json!({
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Detection Finding: {activity_name}"),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "is_alert": true,
        "time": last_ms,
        "start_time": first_ms,
        "end_time": last_ms,
        "count": finding.count,
        "message": finding.title,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": format!("{}-{}", finding.id, finding.revision),
            "product": {
                "name": "Harrier",
                "vendor_name": "Harrier",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "finding_info": finding_info(finding, first_ms, last_ms),
        "device": {
            "hostname": finding.node,
            "type_id": 0,
            "type": "Unknown",
        },
        "resources": resources(finding),
        "evidences": [evidence(finding)],
        "unmapped": {
            "harrier": {
                "schema_version": finding.schema_version,
                "revision": finding.revision,
                "related": finding.related,
                "severity_score": finding.severity,
            },
        },
    })
}

/// OCSF severity_id and caption for a GuardDuty band.
fn severity(label: SeverityLabel) -> (u64, &'static str) {
    match label {
        SeverityLabel::Low => (2, "Low"),
        SeverityLabel::Medium => (3, "Medium"),
        SeverityLabel::High => (4, "High"),
        SeverityLabel::Critical => (5, "Critical"),
    }
}

/// The `finding_info` object.
fn finding_info(finding: &UnifiedFinding, first_ms: u64, last_ms: u64) -> Value {
    let mut info = json!({
        "uid": finding.id,
        "title": finding.title,
        "desc": finding.description,
        "types": [finding.finding_type],
        "created_time": first_ms,
        "modified_time": last_ms,
        "first_seen_time": first_ms,
        "last_seen_time": last_ms,
        "analytic": {
            "name": finding.finding_type,
            "type_id": 1,
            "type": "Rule",
            "desc": finding.detectors.join(", "),
        },
        "product": {
            "name": "Harrier",
            "vendor_name": "Harrier",
        },
        "related_events": finding.events.iter().map(|e| json!({
            "uid": e.seq.to_string(),
            "type": e.kind,
        })).collect::<Vec<_>>(),
    });
    if let Some(technique) = &finding.mitre_technique {
        let mut attack = json!({
            "technique": { "uid": technique },
            "version": "14",
        });
        if let Some((uid, name)) = tactic::for_type(&finding.finding_type) {
            attack["tactic"] = json!({ "uid": uid, "name": name });
        }
        info["attacks"] = json!([attack]);
    }
    info
}

/// The affected resources: the container (if any) and the node.
fn resources(finding: &UnifiedFinding) -> Vec<Value> {
    let mut resources = Vec::new();
    if let Some(container) = &finding.container {
        let mut resource = json!({ "type": "Container", "uid": container.id });
        if let Some(name) = &container.name {
            resource["name"] = json!(name);
        }
        let mut labels = Vec::new();
        if let Some(pod) = &container.pod_uid {
            labels.push(format!("pod_uid={pod}"));
        }
        if let Some(k8s) = &finding.kubernetes {
            let w = &k8s.workload_details;
            if let Some(ns) = &w.namespace {
                labels.push(format!("namespace={ns}"));
                resource["namespace"] = json!(ns);
            }
            if let Some(pod) = &w.name {
                labels.push(format!("pod={pod}"));
            }
        }
        if !labels.is_empty() {
            resource["labels"] = json!(labels);
        }
        resources.push(resource);
    }
    resources.push(json!({ "type": "Host", "name": finding.node }));
    resources
}

/// One evidence object: the process, the container and the key/value
/// evidence.
fn evidence(finding: &UnifiedFinding) -> Value {
    let process = &finding.process;
    let name = process.exe.rsplit('/').next().unwrap_or_default();
    let mut file =
        json!({ "path": process.exe, "name": name, "type_id": 1, "type": "Regular File" });
    if let Some(sha) = &process.exe_sha256 {
        file["hashes"] = json!([{ "algorithm_id": 3, "algorithm": "SHA-256", "value": sha }]);
    }
    let mut user = json!({ "uid": process.uid.to_string() });
    if let Some(user_name) = &process.user {
        user["name"] = json!(user_name);
    }
    let mut data = Map::new();
    for item in &finding.evidence {
        data.entry(item.key.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("inserted as an array")
            .push(Value::String(item.value.clone()));
    }
    let mut evidence = json!({
        "process": {
            "pid": process.pid,
            "cmd_line": process.cmdline,
            "file": file,
            "user": user,
            "working_directory": process.cwd,
            "parent_process": { "pid": process.ppid },
            "lineage": process.ancestry.iter().map(|a| a.exe.clone()).collect::<Vec<_>>(),
        },
        "data": data,
    });
    if let Some(container) = &finding.container {
        evidence["container"] = container_object(finding, container);
    }
    evidence
}

/// OCSF's `container` object: id, name, runtime, image (name, tag, digest
/// as `uid`), the pod's uid and, in a pod, the orchestrator.
fn container_object(finding: &UnifiedFinding, container: &ContainerSection) -> Value {
    let mut object = json!({ "uid": container.id });
    if let Some(name) = &container.name {
        object["name"] = json!(name);
    }
    if let Some(runtime) = &container.runtime {
        object["runtime"] = json!(runtime);
    }
    if let Some(pod) = &container.pod_uid {
        object["pod_uuid"] = json!(pod);
    }
    if let Some(text) = &container.image {
        let parts = image::parse(text);
        let mut image = json!({ "name": parts.repository });
        if let Some(tag) = parts.tag {
            image["tag"] = json!(tag);
        }
        if let Some(digest) = &container.image_digest {
            image["uid"] = json!(digest);
        }
        object["image"] = image;
    }
    if let Some(k8s) = &finding.kubernetes {
        object["orchestrator"] = json!("Kubernetes");
        let labels: Vec<String> = k8s
            .workload_details
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !labels.is_empty() {
            object["labels"] = json!(labels);
        }
    }
    object
}
