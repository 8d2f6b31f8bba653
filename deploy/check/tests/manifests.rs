//! Every manifest in deploy/kubernetes/ and every template of the Helm chart
//! parses into its typed Kubernetes object with nothing left over (a typo in
//! a field name fails here, not on a cluster), the chart with its default
//! values renders exactly those objects, and the DaemonSet asks for what the
//! agent needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harrier_deploy_check::{Context, render};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One object of a manifest file, typed, and its JSON form after a round
/// trip through the type.
#[derive(Debug, Clone, PartialEq)]
enum Object {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    DaemonSet(Box<DaemonSet>),
}

impl Object {
    fn key(&self) -> (String, String) {
        let (kind, name) = match self {
            Object::Namespace(o) => ("Namespace", o.metadata.name.clone()),
            Object::ServiceAccount(o) => ("ServiceAccount", o.metadata.name.clone()),
            Object::ConfigMap(o) => ("ConfigMap", o.metadata.name.clone()),
            Object::DaemonSet(o) => ("DaemonSet", o.metadata.name.clone()),
        };
        (kind.to_string(), name.unwrap_or_default())
    }
}

/// Parses YAML `text` (from `origin`) into typed objects, failing on a kind
/// this check does not know and on any field the type does not have.
fn parse(origin: &str, text: &str) -> Vec<Object> {
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let yaml = serde_yaml::Value::deserialize(document)
            .unwrap_or_else(|e| panic!("{origin}: not YAML: {e}"));
        if yaml.is_null() {
            continue;
        }
        let json: Value = serde_json::to_value(&yaml).unwrap();
        let kind = json["kind"].as_str().unwrap_or_default().to_string();
        fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(
            origin: &str,
            json: &Value,
        ) -> T {
            let object: T =
                serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{origin}: {e}"));
            let back = serde_json::to_value(&object).unwrap();
            assert_same(origin, "", json, &back);
            object
        }
        let object = match kind.as_str() {
            "Namespace" => Object::Namespace(typed(origin, &json)),
            "ServiceAccount" => Object::ServiceAccount(typed(origin, &json)),
            "ConfigMap" => Object::ConfigMap(typed(origin, &json)),
            "DaemonSet" => Object::DaemonSet(Box::new(typed(origin, &json))),
            other => panic!("{origin}: kind `{other}` is not checked: add it here"),
        };
        objects.push(object);
    }
    objects
}

use serde::Deserialize;

/// Fails naming the first path where `written` has something the typed
/// round trip lost or changed (an unknown or misspelt field).
fn assert_same(origin: &str, path: &str, written: &Value, typed: &Value) {
    match (written, typed) {
        (Value::Object(w), Value::Object(t)) => {
            for (key, value) in w {
                let here = format!("{path}.{key}");
                match t.get(key) {
                    Some(tv) => assert_same(origin, &here, value, tv),
                    None => panic!("{origin}: `{here}` is not a field of the object (typo?)"),
                }
            }
        }
        (Value::Array(w), Value::Array(t)) => {
            assert_eq!(w.len(), t.len(), "{origin}: `{path}` lost items");
            for (i, (wv, tv)) in w.iter().zip(t).enumerate() {
                assert_same(origin, &format!("{path}[{i}]"), wv, tv);
            }
        }
        (w, t) => assert_eq!(w, t, "{origin}: `{path}` changed in the typed object"),
    }
}

/// Every object of the plain manifests, by (kind, name).
fn plain_objects() -> BTreeMap<(String, String), Object> {
    let dir = deploy_dir().join("kubernetes");
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    let mut listed = Vec::new();
    for line in kustomization.lines() {
        if let Some(file) = line.trim().strip_prefix("- ") {
            listed.push(file.to_string());
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk, "kustomization.yaml lists every manifest");
    let mut objects = BTreeMap::new();
    for file in listed {
        let text = std::fs::read_to_string(dir.join(&file)).unwrap();
        for object in parse(&file, &text) {
            assert!(
                objects.insert(object.key(), object).is_none(),
                "{file}: duplicate"
            );
        }
    }
    objects
}

fn chart_context(values_override: &str) -> Context {
    let chart = deploy_dir().join("helm/harrier");
    let mut values: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart.join("values.yaml")).unwrap()).unwrap();
    let overrides: serde_yaml::Value = serde_yaml::from_str(values_override).unwrap();
    if let serde_yaml::Value::Mapping(o) = overrides {
        for (k, v) in o {
            values[k.as_str().unwrap()] = v;
        }
    }
    let chart_yaml: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart.join("Chart.yaml")).unwrap()).unwrap();
    Context {
        values,
        namespace: "harrier".into(),
        app_version: chart_yaml["appVersion"].as_str().unwrap().into(),
    }
}

/// Every object the chart renders with `context`, by (kind, name).
fn chart_objects(context: &Context) -> BTreeMap<(String, String), Object> {
    let dir = deploy_dir().join("helm/harrier/templates");
    let mut objects = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let rendered = render(&text, context).unwrap_or_else(|e| panic!("{name}: {e}"));
        for object in parse(&format!("chart {name}"), &rendered) {
            objects.insert(object.key(), object);
        }
    }
    objects
}

fn daemonset(objects: &BTreeMap<(String, String), Object>) -> &DaemonSet {
    match &objects[&("DaemonSet".to_string(), "harrier".to_string())] {
        Object::DaemonSet(d) => d,
        _ => unreachable!(),
    }
}

#[test]
fn every_manifest_parses_into_typed_objects() {
    let objects = plain_objects();
    let kinds: Vec<&str> = objects.keys().map(|(k, _)| k.as_str()).collect();
    for kind in ["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
}

#[test]
fn a_misspelt_field_is_caught() {
    let text = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  selector: {}\n  template:\n    spec:\n      hostPid: true\n      containers: []\n";
    let caught = std::panic::catch_unwind(|| parse("typo.yaml", text));
    let message = *caught.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("spec.template.spec.hostPid"), "{message}");
}

#[test]
fn the_chart_renders_the_same_objects() {
    let plain = plain_objects();
    let chart = chart_objects(&chart_context("{}"));
    // The chart leaves the namespace to `helm install --namespace`.
    let mut expected = plain.clone();
    expected.remove(&("Namespace".to_string(), "harrier".to_string()));
    assert_eq!(
        chart.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, object) in &expected {
        assert_eq!(
            &chart[key], object,
            "{key:?} differs between chart and manifest"
        );
    }
}

#[test]
fn chart_values_are_substituted() {
    let context = chart_context(
        "clusterName: prod-eu\nimage: {repository: registry.example/harrier, tag: 9.9.9, pullPolicy: Always}\nmetricsPort: 9500\nresources: {limits: {memory: 1Gi}}\n",
    );
    let chart = chart_objects(&context);
    let ds = daemonset(&chart);
    let pod = ds.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let c = &pod.containers[0];
    assert_eq!(c.image.as_deref(), Some("registry.example/harrier:9.9.9"));
    assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
    let env: BTreeMap<_, _> = c
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.as_str(), e.value.clone()))
        .collect();
    assert_eq!(env["HARRIER_CLUSTER_NAME"].as_deref(), Some("prod-eu"));
    assert_eq!(c.ports.as_ref().unwrap()[0].container_port, 9500);
    let annotations = ds
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .as_ref()
        .unwrap();
    assert_eq!(annotations["prometheus.io/port"], "9500");
    let limits = c.resources.as_ref().unwrap().limits.as_ref().unwrap();
    assert_eq!(limits["memory"].0, "1Gi");
}

#[test]
fn the_daemonset_asks_for_what_the_agent_needs() {
    let objects = plain_objects();
    let ds = daemonset(&objects);
    let pod = ds.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(pod.host_pid, Some(true));
    let tolerations = pod.tolerations.as_ref().unwrap();
    assert!(
        tolerations
            .iter()
            .any(|t| t.operator.as_deref() == Some("Exists")
                && t.key.is_none()
                && t.effect.is_none()),
        "tolerates every taint: {tolerations:?}"
    );
    let c = &pod.containers[0];
    let security = c.security_context.as_ref().unwrap();
    let caps = security.capabilities.as_ref().unwrap();
    assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_string()][..]));
    let added = caps.add.clone().unwrap();
    for cap in ["BPF", "PERFMON", "SYS_PTRACE"] {
        assert!(added.contains(&cap.to_string()), "{cap} missing: {added:?}");
    }
    assert!(
        !added.contains(&"SYS_ADMIN".to_string()),
        "SYS_ADMIN is not needed"
    );
    assert_ne!(security.privileged, Some(true));
    let mounts: BTreeMap<String, String> = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.clone(), m.mount_path.clone()))
        .collect();
    let host_paths: BTreeMap<String, String> = pod
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| {
            v.host_path
                .as_ref()
                .map(|h| (v.name.clone(), h.path.clone()))
        })
        .collect();
    for host in [
        "/sys/kernel/btf",
        "/sys/kernel/tracing",
        "/proc",
        "/sys/fs/cgroup",
        "/run",
        "/var/cache/harrier",
    ] {
        let volume = host_paths
            .iter()
            .find(|(_, p)| p.as_str() == host)
            .map(|(v, _)| v)
            .unwrap_or_else(|| panic!("no hostPath {host}"));
        assert!(mounts.contains_key(volume), "{host} not mounted");
    }
    // The config the agent reads names the mounted paths and serves probes on the port.
    let Object::ConfigMap(config) = &objects[&("ConfigMap".into(), "harrier-config".into())] else {
        unreachable!()
    };
    let toml = &config.data.as_ref().unwrap()["harrier.toml"];
    let port = c.ports.as_ref().unwrap()[0].container_port;
    assert!(
        toml.contains(&format!("metrics_address = \"0.0.0.0:{port}\"")),
        "{toml}"
    );
    assert!(toml.contains(&format!("proc_root = \"{}\"", mounts["proc"])));
    assert!(toml.contains(&mounts["cache"]));
    for probe in [&c.liveness_probe, &c.readiness_probe] {
        let get = probe.as_ref().unwrap().http_get.as_ref().unwrap();
        assert_eq!(get.path.as_deref(), Some("/healthz"));
    }
    let annotations = ds
        .spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .annotations
        .clone()
        .unwrap();
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], port.to_string());
    let env: Vec<_> = c.env.iter().flatten().collect();
    let node = env.iter().find(|e| e.name == "HARRIER_NODE_NAME").unwrap();
    let field = node
        .value_from
        .as_ref()
        .and_then(|v| v.field_ref.as_ref())
        .map(|f| f.field_path.as_str());
    assert_eq!(field, Some("spec.nodeName"));
    let resources = c.resources.as_ref().unwrap();
    assert!(resources.requests.is_some() && resources.limits.is_some());
}
