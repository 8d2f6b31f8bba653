//! The catalog: its sources, and the reconcile round.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use harrier_pipeline::{Change, DetectorKey, Revision};
use harrier_plugins::{Plugin, PluginSpec};

use crate::{Settings, Source, Target, Wanted, Watch, plan};

/// Compiles, instantiates, initialises and self-tests one spec; the error
/// is the reason, for a message that names the detector.
pub type Compile = dyn Fn(PluginSpec) -> Result<Plugin, String> + Send;

/// What one round did.
#[derive(Debug, Default)]
pub struct Round {
    /// Detectors loaded and handed to the set (new or new versions).
    pub loaded: usize,
    /// Keys removed from the set.
    pub removed: usize,
    /// Refusals, each naming the culprit (reported once per content).
    pub refused: Vec<String>,
    /// A source saw something still changing: another round is due.
    pub unsettled: bool,
    /// Time spent loading what was new.
    pub load_time: Duration,
}

/// Desired state: every source, the operator's settings, and the content
/// refused so far (not tried again until it changes).
pub struct Catalog {
    sources: Vec<Box<dyn Source>>,
    settings: Settings,
    refused: BTreeMap<DetectorKey, Revision>,
}

impl Catalog {
    /// A catalog with no source yet.
    pub fn new(settings: Settings) -> Catalog {
        Catalog {
            sources: Vec::new(),
            settings,
            refused: BTreeMap::new(),
        }
    }

    /// Add a source.
    pub fn add(&mut self, source: impl Source + 'static) -> &mut Catalog {
        self.sources.push(Box::new(source));
        self
    }

    /// Every directory some source wants watched.
    pub fn watched(&self) -> Vec<Watch> {
        self.sources.iter().flat_map(|s| s.watched()).collect()
    }

    /// One round: ask every source what it wants, diff against what
    /// `target` holds, load what is new and hand `target` one batch.
    ///
    /// A rule pack changes as a whole: if one of its detectors fails to
    /// load, none of that pack's changes apply and its running version stays.
    pub fn reconcile(&mut self, target: &mut dyn Target, compile: &Compile) -> Round {
        let mut round = Round::default();
        let desired = self.desired(&mut round);
        self.refused
            .retain(|key, refused| desired.get(key).is_some_and(|w| w.revision() == *refused));
        let revisions = desired
            .iter()
            .map(|(key, wanted)| (key.clone(), wanted.revision()))
            .collect();
        let plan = plan(&revisions, &target.running(), &self.refused);
        if plan.is_empty() {
            return round;
        }
        let started = Instant::now();
        let mut blocked: BTreeSet<String> = self.refused.keys().filter_map(group).collect();
        let mut loaded = Vec::new();
        for key in plan.load {
            if group(&key).is_some_and(|g| blocked.contains(&g)) {
                continue;
            }
            let wanted = &desired[&key];
            match compile(wanted.spec.clone()).and_then(|plugin| agrees(&key, plugin)) {
                Ok(plugin) => loaded.push(plugin),
                Err(reason) => {
                    round.refused.push(refusal(&key, &reason));
                    blocked.extend(group(&key));
                    self.refused.insert(key, wanted.revision());
                }
            }
        }
        let in_blocked = |key: &DetectorKey| group(key).is_some_and(|g| blocked.contains(&g));
        loaded.retain(|plugin| !in_blocked(&DetectorKey::of(plugin)));
        let removals: Vec<DetectorKey> =
            plan.remove.into_iter().filter(|k| !in_blocked(k)).collect();
        round.loaded = loaded.len();
        round.removed = removals.len();
        round.load_time = started.elapsed();
        let batch: Vec<Change> = removals
            .into_iter()
            .map(Change::Remove)
            .chain(loaded.into_iter().map(|p| Change::Upsert(Box::new(p))))
            .collect();
        if !batch.is_empty() {
            target.apply(batch);
        }
        round
    }

    /// The union of every source's offer, without disabled detectors.
    fn desired(&mut self, round: &mut Round) -> BTreeMap<DetectorKey, Wanted> {
        let mut desired = BTreeMap::new();
        for source in &mut self.sources {
            let offer = source.offer(&self.settings);
            round.refused.extend(offer.refused);
            round.unsettled |= offer.unsettled;
            for wanted in offer.wanted {
                if !self.settings.disabled.contains(&wanted.key.config_name()) {
                    desired.insert(wanted.key.clone(), wanted);
                }
            }
        }
        desired
    }
}

/// The unit that changes as a whole: a rule pack.
fn group(key: &DetectorKey) -> Option<String> {
    match key {
        DetectorKey::Pack { pack, .. } => Some(pack.clone()),
        _ => None,
    }
}

/// A provider that announces a detector name (a pack's manifest, the
/// built-in list) must get a component that declares that name, or
/// overrides and precedence would apply to the wrong detector.
fn agrees(key: &DetectorKey, plugin: Plugin) -> Result<Plugin, String> {
    match key.announced_name() {
        Some(listed) if listed != plugin.name() => Err(format!(
            "listed as `{listed}` but the component calls itself `{}`",
            plugin.name()
        )),
        _ => Ok(plugin),
    }
}

fn refusal(key: &DetectorKey, reason: &str) -> String {
    match key {
        DetectorKey::Pack { pack, plugin } => format!(
            "pack {pack}: new version refused (plugin {plugin}: {reason}); the running version (if any) stays"
        ),
        _ => format!("plugin {key}: refused: {reason}"),
    }
}
