//! Suppression rules, compiled once: which rule (if any) mutes a finding.

use globset::{GlobBuilder, GlobMatcher};

use crate::config::{ConfigError, Suppression};
use crate::finding::clamp_severity;
use crate::input::FindingInput;

/// The configured suppression rules, compiled.
#[derive(Debug, Default)]
pub(crate) struct Suppressor {
    rules: Vec<Rule>,
}

/// One compiled rule; `None` fields match anything.
#[derive(Debug)]
struct Rule {
    name: String,
    finding_type: Option<GlobMatcher>,
    exe: Option<GlobMatcher>,
    path: Option<GlobMatcher>,
    container: Option<GlobMatcher>,
    pod: Option<GlobMatcher>,
    namespace: Option<GlobMatcher>,
    /// Label key and a glob on its value.
    pod_label: Option<(String, GlobMatcher)>,
    image: Option<GlobMatcher>,
    max_severity: Option<f32>,
}

impl Suppressor {
    /// Compiles the rules, refusing bad globs and rules that set no field.
    pub(crate) fn new(rules: &[Suppression]) -> Result<Self, ConfigError> {
        let rules = rules
            .iter()
            .enumerate()
            .map(|(index, rule)| Rule::compile(index, rule))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// The rules' names, in configuration order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// The name of the first rule that mutes this finding, if any.
    pub(crate) fn matching_rule(&self, input: &FindingInput) -> Option<&str> {
        self.rules
            .iter()
            .find(|rule| rule.matches(input))
            .map(|rule| rule.name.as_str())
    }
}

impl Rule {
    fn compile(index: usize, rule: &Suppression) -> Result<Self, ConfigError> {
        let name = rule
            .name
            .clone()
            .unwrap_or_else(|| format!("suppression[{index}]"));
        let glob = |field: &'static str, pattern: &Option<String>, path_like: bool| {
            pattern
                .as_deref()
                .map(|p| {
                    GlobBuilder::new(p)
                        .literal_separator(path_like)
                        .build()
                        .map(|g| g.compile_matcher())
                        .map_err(|source| ConfigError::InvalidGlob {
                            rule: name.clone(),
                            field,
                            pattern: p.to_string(),
                            source,
                        })
                })
                .transpose()
        };
        let compiled = Self {
            finding_type: glob("type", &rule.finding_type, false)?,
            exe: glob("exe", &rule.exe, true)?,
            path: glob("path", &rule.path, true)?,
            container: glob("container", &rule.container, false)?,
            pod: glob("pod", &rule.pod, false)?,
            namespace: glob("namespace", &rule.namespace, false)?,
            pod_label: match rule.pod_label.as_deref() {
                None => None,
                Some(text) => {
                    let (key, value) =
                        text.split_once('=')
                            .ok_or_else(|| ConfigError::InvalidLabel {
                                rule: name.clone(),
                                text: text.to_string(),
                            })?;
                    let value = glob("pod_label", &Some(value.to_string()), false)?
                        .expect("a pattern was given");
                    Some((key.trim().to_string(), value))
                }
            },
            image: glob("image", &rule.image, false)?,
            max_severity: rule.max_severity,
            name: name.clone(),
        };
        let sets_nothing = compiled.finding_type.is_none()
            && compiled.exe.is_none()
            && compiled.path.is_none()
            && compiled.container.is_none()
            && compiled.pod.is_none()
            && compiled.namespace.is_none()
            && compiled.pod_label.is_none()
            && compiled.image.is_none()
            && compiled.max_severity.is_none();
        if sets_nothing {
            return Err(ConfigError::EmptyRule { rule: name });
        }
        Ok(compiled)
    }

    fn matches(&self, input: &FindingInput) -> bool {
        let container = input.container.as_ref();
        let type_ok = self
            .finding_type
            .as_ref()
            .is_none_or(|g| g.is_match(&input.raw.finding_type));
        let exe_ok = self
            .exe
            .as_ref()
            .is_none_or(|g| g.is_match(&input.process.exe));
        let path_ok = self
            .path
            .as_ref()
            .is_none_or(|g| input.raw.evidence.iter().any(|e| g.is_match(&e.value)));
        let container_ok = self
            .container
            .as_ref()
            .is_none_or(|g| container.is_some_and(|c| g.is_match(&c.id)));
        let pod_ok = self.pod.as_ref().is_none_or(|g| {
            container
                .and_then(|c| c.pod_uid.as_deref())
                .is_some_and(|pod| g.is_match(pod))
        });
        let workload = input.kubernetes.as_ref();
        let namespace_ok = self.namespace.as_ref().is_none_or(|g| {
            workload
                .and_then(|w| w.namespace.as_deref())
                .is_some_and(|ns| g.is_match(ns))
        });
        let label_ok = self.pod_label.as_ref().is_none_or(|(key, g)| {
            workload
                .and_then(|w| w.labels.get(key))
                .is_some_and(|v| g.is_match(v))
        });
        let image_ok = self.image.as_ref().is_none_or(|g| {
            container.is_some_and(|c| {
                [c.image.as_deref(), c.image_digest.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|i| g.is_match(i))
            })
        });
        let severity_ok = self
            .max_severity
            .is_none_or(|max| clamp_severity(input.raw.severity) <= max);
        type_ok
            && exe_ok
            && path_ok
            && container_ok
            && pod_ok
            && namespace_ok
            && label_ok
            && image_ok
            && severity_ok
    }
}
