//! Detector configuration: JSON into a serde struct, with errors naming the
//! offending field, and the policy keys every detector shares.
//!
//! A detector's configuration is one flat JSON object. The shared keys below
//! are taken out into a [`Policy`]; the rest is deserialized into the
//! detector's own struct (use `#[serde(default, deny_unknown_fields)]` so
//! typos are refused):
//!
//! | key | type | meaning |
//! | --- | --- | --- |
//! | `allow_executables` | globs | never report processes whose executable matches |
//! | `allow_parents` | globs | never report processes with an ancestor (up to 4) whose executable matches |
//! | `allow_paths` | globs | never report about a file path that matches |
//! | `containers_only` | bool | only report processes running in a container |
//! | `disabled_types` | list | finding types not to report |

use serde::de::DeserializeOwned;
use wildmatch::WildMatch;

use crate::{Process, host};

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
    }
}

/// A list of `*`/`?` glob patterns (`*` also matches `/`).
#[derive(Debug, Clone, Default)]
pub struct GlobList {
    patterns: Vec<WildMatch>,
}

impl GlobList {
    /// Compile the patterns.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        Self {
            patterns: patterns
                .iter()
                .map(|p| WildMatch::new(p.as_ref()))
                .collect(),
        }
    }

    /// Whether any pattern matches `text`.
    pub fn matches(&self, text: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(text))
    }

    /// Whether the list has no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// The allow-lists and switches every detector shares.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Executables never reported.
    pub allow_executables: GlobList,
    /// Ancestor executables whose descendants are never reported.
    pub allow_parents: GlobList,
    /// File paths never reported.
    pub allow_paths: GlobList,
    /// Only report processes in containers.
    pub containers_only: bool,
    /// Finding types not to report.
    pub disabled_types: Vec<String>,
}

/// How far up the ancestry `allow_parents` looks.
const PARENT_DEPTH: u32 = 4;

impl Policy {
    /// Whether findings of `finding_type` about `process` (and optionally a
    /// file `path`) should be reported. Checks the cheap rules first; the
    /// ancestry is only asked for when `allow_parents` is set.
    pub fn permits(&self, finding_type: &str, process: &Process, path: Option<&str>) -> bool {
        if self.containers_only && process.container_id.is_none() {
            return false;
        }
        if self.disabled_types.iter().any(|t| t == finding_type) {
            return false;
        }
        if self.allow_executables.matches(&process.exe) {
            return false;
        }
        if let Some(path) = path
            && self.allow_paths.matches(path)
        {
            return false;
        }
        if !self.allow_parents.is_empty() {
            let ancestors = host::ancestry(process.pid, PARENT_DEPTH);
            if ancestors.iter().any(|a| self.allow_parents.matches(&a.exe)) {
                return false;
            }
        }
        true
    }
}

/// The shared keys, as written in JSON.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct PolicyJson {
    allow_executables: Vec<String>,
    allow_parents: Vec<String>,
    allow_paths: Vec<String>,
    containers_only: bool,
    disabled_types: Vec<String>,
}

const POLICY_KEYS: [&str; 5] = [
    "allow_executables",
    "allow_parents",
    "allow_paths",
    "containers_only",
    "disabled_types",
];

/// Parse a configuration: the shared [`Policy`] keys, and the rest into `T`.
///
/// Errors name the field (`miner_names[2]: invalid type: ...`) and, for
/// malformed JSON, the line and column.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<(Policy, T), ConfigError> {
    let text = if json.trim().is_empty() { "{}" } else { json };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ConfigError(format!("not valid JSON: {e}")))?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(ConfigError(
            "the configuration must be a JSON object".to_string(),
        ));
    };
    let mut shared = serde_json::Map::new();
    for key in POLICY_KEYS {
        if let Some(v) = map.remove(key) {
            shared.insert(key.to_string(), v);
        }
    }
    let policy: PolicyJson = from_value(serde_json::Value::Object(shared))?;
    let own: T = from_value(serde_json::Value::Object(map))?;
    Ok((
        Policy {
            allow_executables: GlobList::new(&policy.allow_executables),
            allow_parents: GlobList::new(&policy.allow_parents),
            allow_paths: GlobList::new(&policy.allow_paths),
            containers_only: policy.containers_only,
            disabled_types: policy.disabled_types,
        },
        own,
    ))
}

fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ConfigError(e.inner().to_string())
        } else {
            ConfigError(format!("`{path}`: {}", e.inner()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Default, Debug)]
    #[serde(default, deny_unknown_fields)]
    struct Own {
        names: Vec<String>,
    }

    fn proc_with(exe: &str, container: Option<&str>) -> Process {
        Process {
            pid: 7,
            tid: 7,
            ppid: 1,
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            comm: "x".into(),
            exe: exe.into(),
            container_id: container.map(str::to_string),
            cgroup_id: None,
        }
    }

    #[test]
    fn splits_policy_from_own_keys() {
        let (policy, own): (Policy, Own) =
            parse(r#"{"names":["a"],"allow_executables":["/opt/*"],"containers_only":true}"#)
                .unwrap();
        assert_eq!(own.names, vec!["a"]);
        assert!(policy.containers_only);
        assert!(!policy.permits("T", &proc_with("/bin/x", None), None));
        assert!(!policy.permits("T", &proc_with("/opt/x", Some("c")), None));
        assert!(policy.permits("T", &proc_with("/bin/x", Some("c")), None));
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse::<Own>(r#"{"names":["a", 3]}"#).unwrap_err();
        assert!(err.0.contains("names[1]"), "{err}");
        let err = parse::<Own>(r#"{"nmes":[]}"#).unwrap_err();
        assert!(err.0.contains("unknown field `nmes`"), "{err}");
        let err = parse::<Own>(r#"{"containers_only":"yes"}"#).unwrap_err();
        assert!(err.0.contains("containers_only"), "{err}");
        let err = parse::<Own>("{\n\"names\": [").unwrap_err();
        assert!(err.0.contains("line 2"), "{err}");
        assert!(parse::<Own>("[]").is_err());
        assert!(parse::<Own>("").is_ok());
    }

    #[test]
    fn paths_and_disabled_types() {
        let (policy, _): (Policy, Own) =
            parse(r#"{"allow_paths":["/tmp/ok/*"],"disabled_types":["A"]}"#).unwrap();
        let p = proc_with("/bin/x", None);
        assert!(!policy.permits("A", &p, None));
        assert!(!policy.permits("B", &p, Some("/tmp/ok/file")));
        assert!(policy.permits("B", &p, Some("/tmp/other")));
    }
}
