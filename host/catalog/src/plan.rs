//! The diff of one round: what the sources want against what the set holds.

use std::collections::BTreeMap;

use harrier_pipeline::{DetectorKey, Revision, Running};

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

/// Diff `desired` (key → revision) against `running`; `refused` holds
/// revisions already refused, not to be tried again.
pub fn plan(
    desired: &BTreeMap<DetectorKey, Revision>,
    running: &Running,
    refused: &BTreeMap<DetectorKey, Revision>,
) -> Plan {
    let load = desired
        .iter()
        .filter(|(key, wanted)| running.get(*key).is_none_or(|r| r.revision != **wanted))
        .filter(|(key, wanted)| refused.get(*key) != Some(*wanted))
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

    fn revision(sha: &str) -> Revision {
        Revision {
            sha256: sha.to_string(),
            source: harrier_plugins::PluginSource::Directory { path: "/d".into() },
        }
    }

    fn running(entries: &[(&str, &str)]) -> Running {
        entries
            .iter()
            .map(|(name, sha)| {
                let detector = RunningDetector {
                    name: "det".into(),
                    revision: revision(sha),
                    serving: true,
                };
                (file(name), detector)
            })
            .collect()
    }

    fn wanted(entries: &[(&str, &str)]) -> BTreeMap<DetectorKey, Revision> {
        entries
            .iter()
            .map(|(name, sha)| (file(name), revision(sha)))
            .collect()
    }

    #[test]
    fn the_same_component_in_a_new_pack_version_is_a_new_revision() {
        let in_pack = |version: &str| Revision {
            sha256: "1".into(),
            source: harrier_plugins::PluginSource::Pack {
                pack: "acme".into(),
                plugin: "miner".into(),
                version: version.into(),
                key_id: Some("k".into()),
                signer: "signed by key k".into(),
            },
        };
        let mut held = running(&[("a", "1")]);
        held.get_mut(&file("a")).unwrap().revision = in_pack("1.0.0");
        let desired = BTreeMap::from([(file("a"), in_pack("2.0.0"))]);
        assert_eq!(
            plan(&desired, &held, &BTreeMap::new()).load,
            vec![file("a")]
        );
        let same = BTreeMap::from([(file("a"), in_pack("1.0.0"))]);
        assert!(plan(&same, &held, &BTreeMap::new()).is_empty());
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
