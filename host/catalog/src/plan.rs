//! The diff of one round: what the sources want against what the set holds.

use std::collections::BTreeMap;

use harrier_pipeline::{DetectorKey, Running};

/// What one round changes, by key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Keys to load: wanted, and the set holds another component for them
    /// or none (content refused before is not tried again).
    pub load: Vec<DetectorKey>,
    /// Keys the set holds that no source wants any more.
    pub remove: Vec<DetectorKey>,
}

impl Plan {
    /// Whether the round changes nothing.
    pub fn is_empty(&self) -> bool {
        self.load.is_empty() && self.remove.is_empty()
    }
}

/// Diff `desired` (key → component sha256) against `running`; `refused`
/// holds content already refused (key → sha256), not to be tried again.
pub fn plan(
    desired: &BTreeMap<DetectorKey, String>,
    running: &Running,
    refused: &BTreeMap<DetectorKey, String>,
) -> Plan {
    let load = desired
        .iter()
        .filter(|(key, sha)| running.get(*key).is_none_or(|r| r.sha256 != **sha))
        .filter(|(key, sha)| refused.get(*key) != Some(*sha))
        .map(|(key, _)| key.clone())
        .collect();
    let remove = running
        .keys()
        .filter(|key| !desired.contains_key(*key))
        .cloned()
        .collect();
    Plan { load, remove }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_pipeline::RunningDetector;

    fn file(name: &str) -> DetectorKey {
        DetectorKey::File {
            path: format!("/d/{name}.wasm").into(),
        }
    }

    fn running(entries: &[(&str, &str)]) -> Running {
        entries
            .iter()
            .map(|(name, sha)| {
                let detector = RunningDetector {
                    name: "det".into(),
                    sha256: sha.to_string(),
                    serving: true,
                };
                (file(name), detector)
            })
            .collect()
    }

    fn wanted(entries: &[(&str, &str)]) -> BTreeMap<DetectorKey, String> {
        entries
            .iter()
            .map(|(name, sha)| (file(name), sha.to_string()))
            .collect()
    }

    #[test]
    fn new_changed_and_gone_keys() {
        let plan = plan(
            &wanted(&[("a", "1"), ("b", "2"), ("c", "3")]),
            &running(&[("a", "1"), ("b", "old"), ("d", "4")]),
            &BTreeMap::new(),
        );
        assert_eq!(plan.load, vec![file("b"), file("c")]);
        assert_eq!(plan.remove, vec![file("d")]);
    }

    #[test]
    fn refused_content_is_not_tried_again_but_new_content_is() {
        let refused = wanted(&[("a", "bad")]);
        assert!(plan(&wanted(&[("a", "bad")]), &Running::new(), &refused).is_empty());
        let retry = plan(&wanted(&[("a", "good")]), &Running::new(), &refused);
        assert_eq!(retry.load, vec![file("a")]);
    }

    #[test]
    fn in_agreement_nothing_to_do() {
        let both = [("a", "1"), ("b", "2")];
        assert!(plan(&wanted(&both), &running(&both), &BTreeMap::new()).is_empty());
    }
}
