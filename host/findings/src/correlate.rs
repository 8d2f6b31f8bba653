//! Correlation: findings that progress through several tactics on what one
//! attacker holds become one attack-sequence finding.
//!
//! A group is a [`Scope`]: a container, a login session (or the subtree one
//! network-facing process started), else a process tree. Its attack sequence
//! exists once its members span at least `min_types` types and two tactics
//! (the type's part before `:`, e.g. `Execution` then `Persistence`) and one
//! member is Medium or worse: repeated Low noise, or one tactic seen many
//! ways, is no story. Severity comes from the evidence: the worst member,
//! one point more for each further tactic, at most 10.

use std::collections::BTreeMap;

use crate::finding::{ATTACK_SEQUENCE_TYPE, Actor, Indicator, SequenceSection, Signal};
use crate::id::finding_id;
use crate::open::OpenFinding;
use crate::resource::Scope;
use crate::time::rfc3339;

/// Members one attack sequence links at most; later newcomers are left out.
pub(crate) const MAX_MEMBERS: usize = 100;

/// Distinct tactics a sequence needs.
const MIN_TACTICS: usize = 2;

/// Severity (GuardDuty's Medium) at least one member must reach.
const MIN_MEMBER_SEVERITY: f32 = 4.0;

/// Most actors (distinct processes) a sequence lists.
const MAX_ACTORS: usize = 20;

/// What happened to a group's attack sequence when a member was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceChange {
    /// Nothing to emit now (no sequence yet, or a known member recurred).
    Quiet,
    /// The group just met the conditions: a new attack sequence.
    Created,
    /// A new member joined an existing attack sequence.
    Joined,
}

/// One correlation group: findings sharing a scope.
#[derive(Debug)]
pub(crate) struct Group {
    scope: Scope,
    /// Latest snapshot of each member, in join order.
    members: Vec<OpenFinding>,
    /// Event time of the latest member activity.
    pub(crate) last_activity_ns: u64,
    /// The attack sequence, once the conditions are met.
    pub(crate) sequence: Option<OpenFinding>,
}

/// Every open correlation group, by correlation key.
#[derive(Debug, Default)]
pub(crate) struct Correlator {
    pub(crate) groups: BTreeMap<String, Group>,
}

/// The tactic of a finding type: `Execution` of `Execution:Runtime/...`.
pub(crate) fn tactic(finding_type: &str) -> &str {
    finding_type.split(':').next().unwrap_or(finding_type)
}

impl Correlator {
    /// Records that `member` (already merged) was seen at `now_ns` in
    /// `scope`, and reports whether an attack sequence was created or grew.
    /// The caller closes expired groups first.
    pub(crate) fn observe(
        &mut self,
        scope: &Scope,
        member: &OpenFinding,
        now_ns: u64,
        min_types: usize,
        max_evidence: usize,
    ) -> SequenceChange {
        let group = self
            .groups
            .entry(scope.key.clone())
            .or_insert_with(|| Group {
                scope: scope.clone(),
                members: Vec::new(),
                last_activity_ns: now_ns,
                sequence: None,
            });
        group.last_activity_ns = group.last_activity_ns.max(now_ns);
        let known = group.members.iter().position(|m| m.id == member.id);
        let joined = match known {
            Some(index) => {
                refresh(&mut group.members[index], member);
                false
            }
            None if group.members.len() < MAX_MEMBERS => {
                group.members.push(member.clone());
                true
            }
            None => false,
        };
        if group.sequence.is_none() && !is_sequence(&group.members, min_types) {
            return SequenceChange::Quiet;
        }
        // A known member recurred: refresh its signal and the times in
        // place (rebuilding the whole sequence per repeat is too costly).
        if !joined && let Some(sequence) = group.sequence.as_mut() {
            sequence.first_seen_ns = sequence.first_seen_ns.min(member.first_seen_ns);
            sequence.last_seen_ns = sequence.last_seen_ns.max(member.last_seen_ns);
            sequence.dirty = true;
            if let Some(signal) = sequence
                .sequence
                .as_mut()
                .and_then(|s| s.signals.iter_mut().find(|s| s.uid == member.id))
            {
                signal.count = member.count;
                signal.severity = member.severity;
                signal.last_seen = rfc3339(member.last_seen_ns);
            }
            return SequenceChange::Quiet;
        }
        let mut fresh = build_sequence(&group.scope, &group.members, max_evidence);
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

/// Brings a member's snapshot up to date with what a sequence reads of it
/// (times, count, severity, technique, detectors, events, processes),
/// without cloning the whole finding on every repeat: those lists only
/// grow, so the new tail is all that is copied. Evidence is not read by
/// sequences and is left as first seen.
fn refresh(snapshot: &mut OpenFinding, current: &OpenFinding) {
    snapshot.count = current.count;
    snapshot.severity = current.severity;
    snapshot.first_seen_ns = current.first_seen_ns;
    snapshot.last_seen_ns = current.last_seen_ns;
    if snapshot.mitre_technique.is_none() {
        snapshot
            .mitre_technique
            .clone_from(&current.mitre_technique);
    }
    if snapshot.detectors.len() != current.detectors.len() {
        snapshot.detectors.clone_from(&current.detectors);
    }
    if let Some(new) = current.events.get(snapshot.events.len()..) {
        snapshot.events.extend_from_slice(new);
    }
    if let Some(new) = current.processes.get(snapshot.processes.len()..) {
        snapshot.processes.extend_from_slice(new);
    }
    snapshot.processes_truncated = current.processes_truncated;
}

/// Whether members tell a story: enough types, several tactics, one
/// Medium-or-worse member.
fn is_sequence(members: &[OpenFinding], min_types: usize) -> bool {
    let types = distinct(members.iter().map(|m| m.finding_type.as_str()));
    let tactics = distinct(members.iter().map(|m| tactic(&m.finding_type)));
    types.len() >= min_types.max(2)
        && tactics.len() >= MIN_TACTICS
        && members.iter().any(|m| m.severity >= MIN_MEMBER_SEVERITY)
}

/// Distinct values in order of first appearance.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Builds the attack-sequence finding of a group from its members.
///
/// Its id depends only on the scope key and the first member; its process and
/// container are the first member's (where the story starts); `count` is the
/// number of members, `related` their ids, evidence one `type = id` pair per
/// member, `sequence` the signals, actors and indicators.
fn build_sequence(scope: &Scope, members: &[OpenFinding], max_evidence: usize) -> OpenFinding {
    let first = &members[0];
    let mut sequence = first.clone();
    sequence.id = finding_id(ATTACK_SEQUENCE_TYPE, &scope.key, first.first_seq);
    sequence.finding_type = ATTACK_SEQUENCE_TYPE.to_string();
    sequence.mitre_technique = None;
    sequence.detectors.clear();
    sequence.provenance.clear();
    sequence.evidence.clear();
    sequence.evidence_truncated = false;
    sequence.events.clear();
    sequence.related.clear();
    sequence.processes.clear();
    sequence.processes_truncated = false;
    sequence.count = members.len() as u64;
    sequence.emissions = 0;
    sequence.dirty = true;
    let mut worst: f32 = 1.0;
    for member in members {
        sequence.first_seen_ns = sequence.first_seen_ns.min(member.first_seen_ns);
        sequence.last_seen_ns = sequence.last_seen_ns.max(member.last_seen_ns);
        worst = worst.max(member.severity);
        sequence.detectors.extend(member.detectors.iter().cloned());
        sequence
            .provenance
            .extend(member.provenance.iter().cloned());
        sequence.related.push(member.id.clone());
        sequence.add_evidence(&member.finding_type, &member.id, max_evidence);
        for event in &member.events {
            sequence.add_event(event.clone(), max_evidence);
        }
    }
    let section = section(scope, members);
    let tactics = section.tactics.len();
    sequence.severity = (worst + (tactics.saturating_sub(1)) as f32).min(10.0);
    let types = distinct(members.iter().map(|m| m.finding_type.as_str()));
    sequence.title = format!(
        "Attack sequence: {} on {}",
        section.tactics.join(" → "),
        scope.label
    );
    sequence.description = format!(
        "Findings progressing through {tactics} tactics ({}) were seen on {} within the \
         correlation window, {} types in this order: {}. Together they suggest one attack in \
         progress; `sequence.signals` lists the member findings and `sequence.actors` the \
         processes.",
        section.tactics.join(", "),
        scope.label,
        types.len(),
        types.join(", ")
    );
    sequence.sequence = Some(section);
    sequence
}

/// GuardDuty's sequence shape: signals (members), actors (their
/// processes), indicators (tactics, techniques, process paths, container).
fn section(scope: &Scope, members: &[OpenFinding]) -> SequenceSection {
    let mut actors: Vec<Actor> = Vec::new();
    let mut signals = Vec::with_capacity(members.len());
    for member in members {
        let mut actor_ids = Vec::new();
        let processes = member
            .processes
            .iter()
            .map(|p| (p.pid, p.exe.as_str()))
            .chain(std::iter::once((
                member.process.pid,
                member.process.exe.as_str(),
            )));
        for (pid, exe) in processes {
            let id = format!("process:{pid}");
            if !actor_ids.contains(&id) {
                actor_ids.push(id.clone());
            }
            if actors.len() < MAX_ACTORS && !actors.iter().any(|a| a.id == id) {
                let (cmdline, uid, user) = if pid == member.process.pid {
                    let p = &member.process;
                    (p.cmdline.clone(), p.uid, p.user.clone())
                } else {
                    (String::new(), 0, None)
                };
                actors.push(Actor {
                    id,
                    pid,
                    exe: exe.to_string(),
                    cmdline,
                    uid,
                    user,
                });
            }
        }
        let techniques: Vec<String> = member.mitre_technique.iter().cloned().collect();
        signals.push(Signal {
            uid: member.id.clone(),
            name: member.finding_type.clone(),
            tactic: tactic(&member.finding_type).to_string(),
            severity: member.severity,
            count: member.count,
            first_seen: rfc3339(member.first_seen_ns),
            last_seen: rfc3339(member.last_seen_ns),
            actor_ids,
            indicators: vec![Indicator {
                key: "ATTACK_TECHNIQUE".to_string(),
                values: techniques,
            }],
        });
    }
    let tactics: Vec<String> = distinct(members.iter().map(|m| tactic(&m.finding_type)))
        .into_iter()
        .map(String::from)
        .collect();
    let indicator = |key: &str, values: Vec<&str>| Indicator {
        key: key.to_string(),
        values: values.into_iter().map(String::from).collect(),
    };
    let mut indicators = vec![
        indicator(
            "ATTACK_TACTIC",
            tactics.iter().map(String::as_str).collect(),
        ),
        indicator(
            "ATTACK_TECHNIQUE",
            distinct(members.iter().filter_map(|m| m.mitre_technique.as_deref())),
        ),
        indicator(
            "PROCESS_PATH",
            distinct(
                actors
                    .iter()
                    .map(|a| a.exe.as_str())
                    .filter(|e| !e.is_empty()),
            ),
        ),
    ];
    if let Some(container) = &members[0].container {
        indicators.push(indicator("CONTAINER_ID", vec![container.id.as_str()]));
    }
    SequenceSection {
        scope: scope.kind.to_string(),
        scope_id: scope
            .key
            .split_once(':')
            .map_or(scope.key.as_str(), |(_, id)| id)
            .to_string(),
        tactics,
        signals,
        actors,
        indicators,
    }
}
