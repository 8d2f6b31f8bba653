//! Hot reload of installed rule packs. When the packs directory changes (an
//! install, an upgrade, a removal), every pack is verified again once things
//! settle; a pack whose detectors changed is loaded off the event path and
//! all of its detectors are swapped in together, between two batches. A pack
//! that fails verification or loading is refused and its running version
//! stays; a pack whose directory is gone is unloaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use harrier_pipeline::{AgentHandle, Change};
use harrier_plugins::{HostServices, PluginEngine, PluginSource};
use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::loader;

/// Quiet time after the last change before packs are verified again.
const SETTLE: Duration = Duration::from_millis(500);

/// A running packs watcher; stops when dropped.
pub struct PackWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for PackWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Watch the configured packs directory.
pub fn start(
    config: Arc<Config>,
    engine: Arc<PluginEngine>,
    services: Arc<dyn HostServices>,
    agent: AgentHandle,
) -> anyhow::Result<PackWatcher> {
    let dir = config.packs.packs_dir();
    std::fs::create_dir_all(&dir)?;
    let (tx, rx) = channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    })?;
    watcher
        .watch(&dir, RecursiveMode::Recursive)
        .map_err(|e| anyhow::anyhow!("watching packs directory {}: {e}", dir.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("harrier-packs".into())
        .spawn(move || {
            let _watcher = watcher;
            let mut dirty: Option<Instant> = None;
            while !stop_flag.load(Ordering::SeqCst) {
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(()) => dirty = Some(Instant::now()),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if dirty.is_some_and(|t| t.elapsed() >= SETTLE) {
                    dirty = None;
                    sync(&config, &dir, &engine, &services, &agent);
                }
            }
        })?;
    Ok(PackWatcher {
        stop,
        thread: Some(thread),
    })
}

/// Bring the running set in line with the installed packs.
fn sync(
    config: &Config,
    dir: &std::path::Path,
    engine: &PluginEngine,
    services: &Arc<dyn HostServices>,
    agent: &AgentHandle,
) {
    let gathered = loader::pack_specs(config);
    for message in &gathered.refused {
        tracing::error!("{message}; its running version (if any) stays");
        agent.record_refusal(message.clone());
    }
    // What runs now, per pack: detector name -> sha256.
    let status = agent.status().detectors;
    let mut running: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    for d in &status {
        match &d.source {
            PluginSource::Pack { pack, .. } => {
                running
                    .entry(pack.clone())
                    .or_default()
                    .insert(d.name.clone(), d.sha256.clone());
            }
            _ => {
                others.insert(d.name.clone());
            }
        }
    }
    let mut installed: BTreeMap<String, Vec<harrier_plugins::PluginSpec>> = BTreeMap::new();
    for spec in gathered.specs {
        if let PluginSource::Pack { pack, .. } = &spec.source {
            installed.entry(pack.clone()).or_default().push(spec);
        }
    }
    for (pack, specs) in installed {
        let wanted: BTreeMap<String, String> = specs
            .iter()
            .map(|s| (plugin_name(s), hex::encode(Sha256::digest(&s.wasm))))
            .collect();
        let current = running.remove(&pack).unwrap_or_default();
        if wanted == current {
            continue;
        }
        if let Some(clash) = wanted.keys().find(|n| others.contains(*n)) {
            refuse(
                agent,
                format!(
                    "pack {pack}: refused: detector name `{clash}` is already served by a built-in or directory detector"
                ),
            );
            continue;
        }
        let started = Instant::now();
        let mut changes = Vec::new();
        let mut failed = None;
        for spec in specs {
            match engine.load(spec, services.clone()) {
                Ok(plugin) => changes.push(Change::Upsert(Box::new(plugin))),
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(reason) = failed {
            refuse(
                agent,
                format!("pack {pack}: new version refused ({reason}); the running version stays"),
            );
            continue;
        }
        changes.extend(
            current
                .keys()
                .filter(|name| !wanted.contains_key(*name))
                .map(|name| Change::Remove(name.clone())),
        );
        tracing::info!(pack = %pack, detectors = wanted.len(), "rule pack swapped in");
        agent.change(Change::Batch(changes));
        agent.record_reload(started.elapsed());
    }
    // Packs no longer installed at all: unload their detectors.
    for (pack, detectors) in running {
        if !PathBuf::from(dir).join(&pack).exists() {
            tracing::info!(pack = %pack, "rule pack removed; unloading its detectors");
            agent.change(Change::Batch(
                detectors.into_keys().map(Change::Remove).collect(),
            ));
            agent.record_unload();
        }
    }
}

fn refuse(agent: &AgentHandle, message: String) {
    tracing::error!("{message}");
    agent.record_refusal(message);
}

/// The detector name a pack spec's origin (`pack:<pack>/<plugin>`) gives.
fn plugin_name(spec: &harrier_plugins::PluginSpec) -> String {
    spec.origin
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}
