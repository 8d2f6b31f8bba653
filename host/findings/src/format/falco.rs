//! Falco-compatible JSON alert rendering.

use serde_json::{Value, json};

use super::{image, tactic};
use crate::finding::{SeverityLabel, UnifiedFinding};
use crate::time::rfc3339_nanos;

/// Renders a finding as a Falco JSON alert.
///
/// `rule` is the finding type (stable, for routing), `priority` maps
/// Low/Medium/High/Critical to Notice/Warning/Error/Critical, `output` is
/// Falco's one-line text (time, priority, title, key fields) and
/// `output_fields` carries Falco's field names plus `harrier.*` extras.
/// Host processes get `container.id` = `host`, as in Falco.
pub(crate) fn render(finding: &UnifiedFinding) -> Value {
    let last_ns = finding.last_seen_ns();
    let priority = priority(finding.severity_label);
    let process = &finding.process;
    let container = finding.container.as_ref();
    let container_id = container.map_or("host", |c| c.id.as_str());
    let workload = finding.kubernetes.as_ref().map(|k| &k.workload_details);
    let image = container.and_then(|c| c.image.as_deref()).map(image::parse);
    let proc_name = process.exe.rsplit('/').next().unwrap_or_default();
    let output = format!(
        "{}: {} {} (user={} user_uid={} process={} proc_exepath={} parent_pid={} command={} pid={} container_id={} count={} id={})",
        clock(last_ns),
        priority,
        finding.title,
        process.user.as_deref().unwrap_or("<NA>"),
        process.uid,
        proc_name,
        process.exe,
        process.ppid,
        process.cmdline,
        process.pid,
        container_id,
        finding.count,
        finding.id,
    );
    let mut output_fields = json!({
        "evt.time": last_ns,
        "proc.pid": process.pid,
        "proc.ppid": process.ppid,
        "proc.name": proc_name,
        "proc.exepath": process.exe,
        "proc.cmdline": process.cmdline,
        "proc.cwd": process.cwd,
        "proc.exe_sha256": process.exe_sha256,
        "user.uid": process.uid,
        "user.name": process.user,
        "container.id": container_id,
        "k8s.pod.uid": finding.container.as_ref().and_then(|c| c.pod_uid.clone()),
        "k8s.ns.name": workload.and_then(|w| w.namespace.clone()),
        "k8s.pod.name": workload.and_then(|w| w.name.clone()),
        // Falco's output fields are scalars: labels as `key:value, ...`.
        "k8s.pod.labels": workload.filter(|w| !w.labels.is_empty()).map(|w| {
            w.labels
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        "container.name": container.and_then(|c| c.name.clone()),
        "container.image": container.and_then(|c| c.image.clone()),
        "container.image.repository": image.map(|i| i.repository),
        "container.image.tag": image.and_then(|i| i.tag),
        "container.image.digest": container.and_then(|c| c.image_digest.clone()),
        "container.privileged": workload
            .and_then(|w| w.containers.first())
            .and_then(|c| c.security_context.privileged),
        "harrier.id": finding.id,
        "harrier.revision": finding.revision,
        "harrier.type": finding.finding_type,
        "harrier.severity": finding.severity,
        "harrier.count": finding.count,
        "harrier.first_seen": finding.first_seen,
        "harrier.detectors": finding.detectors,
        "harrier.related": finding.related,
    });
    for item in &finding.evidence {
        let key = format!("harrier.evidence.{}", item.key);
        output_fields
            .as_object_mut()
            .expect("built as an object")
            .entry(key)
            .or_insert_with(|| Value::String(item.value.clone()));
    }
    json!({
        "time": rfc3339_nanos(last_ns),
        "rule": finding.finding_type,
        "priority": priority,
        "source": "syscall",
        "hostname": finding.node,
        "tags": tags(finding),
        "output": output,
        "output_fields": output_fields,
    })
}

/// Falco priority for a GuardDuty band.
fn priority(label: SeverityLabel) -> &'static str {
    match label {
        SeverityLabel::Low => "Notice",
        SeverityLabel::Medium => "Warning",
        SeverityLabel::High => "Error",
        SeverityLabel::Critical => "Critical",
    }
}

/// Falco-style tags: where it ran, MITRE tactic and technique.
fn tags(finding: &UnifiedFinding) -> Vec<String> {
    let mut tags = vec!["harrier".to_string()];
    tags.push(
        if finding.container.is_some() {
            "container"
        } else {
            "host"
        }
        .to_string(),
    );
    tags.push("process".to_string());
    if let Some((_, name)) = tactic::for_type(&finding.finding_type) {
        tags.push(format!("mitre_{}", name.to_lowercase().replace(' ', "_")));
    }
    if let Some(technique) = &finding.mitre_technique {
        tags.push(technique.clone());
    }
    if finding.is_attack_sequence() {
        tags.push("attack_sequence".to_string());
    }
    tags
}

/// Falco's default `evt.time` rendering: `HH:MM:SS.nnnnnnnnn` (UTC).
fn clock(time_ns: u64) -> String {
    let secs_of_day = (time_ns / 1_000_000_000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60,
        time_ns % 1_000_000_000
    )
}
