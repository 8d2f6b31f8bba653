//! Correlation: findings of several types on one container or process tree
//! become one Critical attack-sequence finding.

use std::collections::{BTreeMap, BTreeSet};

use crate::finding::ATTACK_SEQUENCE_TYPE;
use crate::id::finding_id;
use crate::open::OpenFinding;

/// Attack-sequence severity floor: Critical on GuardDuty's scale.
const SEQUENCE_SEVERITY: f32 = 9.0;

/// Members one attack sequence links at most; later newcomers are left out.
pub(crate) const MAX_MEMBERS: usize = 100;

/// What happened to a group's attack sequence when a member was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceChange {
    /// Nothing to emit now (no sequence yet, or a known member recurred).
    Quiet,
    /// The group just reached the type threshold: a new attack sequence.
    Created,
    /// A new member joined an existing attack sequence.
    Joined,
}

/// One correlation group: findings sharing a correlation key.
#[derive(Debug)]
pub(crate) struct Group {
    /// Latest snapshot of each member, in join order.
    members: Vec<OpenFinding>,
    /// Event time of the latest member activity.
    pub(crate) last_activity_ns: u64,
    /// The attack sequence, once enough types joined.
    pub(crate) sequence: Option<OpenFinding>,
}

/// Every open correlation group, by correlation key.
#[derive(Debug, Default)]
pub(crate) struct Correlator {
    pub(crate) groups: BTreeMap<String, Group>,
}

impl Correlator {
    /// Records that `member` (already merged) was seen at `now_ns` under
    /// `key`, and reports whether an attack sequence was created or grew.
    /// The caller closes expired groups first.
    pub(crate) fn observe(
        &mut self,
        key: &str,
        member: &OpenFinding,
        now_ns: u64,
        min_types: usize,
        max_evidence: usize,
    ) -> SequenceChange {
        let group = self.groups.entry(key.to_string()).or_insert_with(|| Group {
            members: Vec::new(),
            last_activity_ns: now_ns,
            sequence: None,
        });
        group.last_activity_ns = group.last_activity_ns.max(now_ns);
        let known = group.members.iter().position(|m| m.id == member.id);
        let joined = match known {
            Some(index) => {
                group.members[index] = member.clone();
                false
            }
            None if group.members.len() < MAX_MEMBERS => {
                group.members.push(member.clone());
                true
            }
            None => false,
        };
        let types: BTreeSet<&str> = group
            .members
            .iter()
            .map(|m| m.finding_type.as_str())
            .collect();
        if group.sequence.is_none() && types.len() < min_types.max(2) {
            return SequenceChange::Quiet;
        }
        let mut fresh = build_sequence(key, &group.members, max_evidence);
        let change = match group.sequence.take() {
            None => SequenceChange::Created,
            Some(previous) => {
                fresh.emissions = previous.emissions;
                fresh.last_emit_ns = previous.last_emit_ns;
                if joined {
                    SequenceChange::Joined
                } else {
                    SequenceChange::Quiet
                }
            }
        };
        group.sequence = Some(fresh);
        change
    }
}

/// Builds the attack-sequence finding of a group from its members.
///
/// Its id depends only on the key and the first member; its process and
/// container are the first member's (where the story starts); `count` is the
/// number of members, `related` their ids, evidence one `type = id` pair per
/// member; severity is Critical (or the highest member's, if above).
fn build_sequence(key: &str, members: &[OpenFinding], max_evidence: usize) -> OpenFinding {
    let first = &members[0];
    let mut sequence = first.clone();
    sequence.id = finding_id(ATTACK_SEQUENCE_TYPE, key, first.first_seq);
    sequence.finding_type = ATTACK_SEQUENCE_TYPE.to_string();
    sequence.mitre_technique = None;
    sequence.severity = SEQUENCE_SEVERITY;
    sequence.detectors.clear();
    sequence.provenance.clear();
    sequence.evidence.clear();
    sequence.evidence_truncated = false;
    sequence.events.clear();
    sequence.related.clear();
    sequence.count = members.len() as u64;
    sequence.emissions = 0;
    sequence.dirty = true;
    let mut types = Vec::new();
    for member in members {
        sequence.first_seen_ns = sequence.first_seen_ns.min(member.first_seen_ns);
        sequence.last_seen_ns = sequence.last_seen_ns.max(member.last_seen_ns);
        sequence.severity = sequence.severity.max(member.severity);
        sequence.detectors.extend(member.detectors.iter().cloned());
        sequence
            .provenance
            .extend(member.provenance.iter().cloned());
        sequence.related.push(member.id.clone());
        sequence.add_evidence(&member.finding_type, &member.id, max_evidence);
        for event in &member.events {
            sequence.add_event(event.clone(), max_evidence);
        }
        if !types.contains(&member.finding_type.as_str()) {
            types.push(member.finding_type.as_str());
        }
    }
    let place = match key.split_once(':') {
        Some(("container", id)) => format!("container {id}"),
        Some(("lineage", root)) => match root.split_once(':') {
            Some((pid, exe)) => format!("the process tree rooted at {exe} (pid {pid})"),
            None => format!("the process tree rooted at {root}"),
        },
        _ => key.to_string(),
    };
    sequence.title = format!(
        "Multi-stage attack: {} finding types on {place}",
        types.len()
    );
    sequence.description = format!(
        "Findings of {} types were seen on {place} within the correlation window, in this order: \
         {}. Together they suggest one attack in progress; `related` lists the member findings.",
        types.len(),
        types.join(", ")
    );
    sequence
}
