//! The watcher: file notifications and rescan requests only signal that a
//! round is due; one thread runs the rounds (off the event path) and hands
//! each batch to the running agent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use harrier_pipeline::{AgentHandle, ReloadStats};
use notify::{RecursiveMode, Watcher as _};

use crate::target::InAgent;
use crate::{Catalog, Compile, Round};

/// How the watcher debounces and waits.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Quiet time after the last change before a round (100 ms).
    pub debounce: Duration,
    /// Longest wait for the agent to apply a round's batch (10 s).
    pub apply_timeout: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(100),
            apply_timeout: Duration::from_secs(10),
        }
    }
}

enum Signal {
    /// Something changed under a watched directory.
    Changed,
    /// Look at everything now (SIGHUP).
    Rescan,
}

/// Asks a [`Watcher`] for a round from another thread.
#[derive(Clone)]
pub struct Rescan(Sender<Signal>);

impl Rescan {
    /// Request a round now.
    pub fn rescan(&self) {
        let _ = self.0.send(Signal::Rescan);
    }
}

/// A running watcher; stops when dropped.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    signals: Sender<Signal>,
    agent: AgentHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    /// Watch every directory the catalog's sources name and reconcile
    /// `agent`'s detector set with them: once at start, then after every
    /// change has been quiet for the debounce interval.
    pub fn start(
        mut catalog: Catalog,
        compile: Box<Compile>,
        agent: AgentHandle,
        config: WatchConfig,
    ) -> anyhow::Result<Watcher> {
        let (tx, rx) = channel();
        let fs_tx = tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // Reading a file is not a change (and the rounds read files).
                if event.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
                    let _ = fs_tx.send(Signal::Changed);
                }
            })?;
        for watch in catalog.watched() {
            let mode = if watch.recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            watcher
                .watch(&watch.path, mode)
                .map_err(|e| anyhow::anyhow!("watching {}: {e}", watch.path.display()))?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (stop_flag, handle) = (stop.clone(), agent.clone());
        let thread = std::thread::Builder::new()
            .name("harrier-catalog".into())
            .spawn(move || {
                // The notify watcher lives as long as the thread.
                let _watcher = watcher;
                let mut target = InAgent {
                    agent: &handle,
                    timeout: config.apply_timeout,
                };
                run(&rx, &stop_flag, config.debounce, |catalog_round| {
                    let round = catalog.reconcile(&mut target, &*compile);
                    record(&handle, &round, catalog_round);
                    round.unsettled
                });
            })?;
        Ok(Watcher {
            stop,
            signals: tx,
            agent,
            thread: Some(thread),
        })
    }

    /// Look at every source again now (SIGHUP).
    pub fn rescan(&self) {
        let _ = self.signals.send(Signal::Rescan);
    }

    /// A handle that requests rounds from another thread.
    pub fn rescan_handle(&self) -> Rescan {
        Rescan(self.signals.clone())
    }

    /// Current reload counters.
    pub fn stats(&self) -> ReloadStats {
        self.agent.status().reload
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The signal loop: a round is due at start, and once the last change has
/// been quiet for `debounce` (at once on a rescan); `round` says whether
/// another is due because something was still changing.
fn run(
    signals: &Receiver<Signal>,
    stop: &AtomicBool,
    debounce: Duration,
    mut round: impl FnMut(u64) -> bool,
) {
    let tick = (debounce / 2).max(Duration::from_millis(10));
    let mut due: Option<Instant> = Some(Instant::now());
    let mut rounds = 0;
    while !stop.load(Ordering::SeqCst) {
        match signals.recv_timeout(tick) {
            Ok(Signal::Changed) => due = Some(Instant::now() + debounce),
            Ok(Signal::Rescan) => {
                tracing::info!("rescanning detector sources");
                due = Some(Instant::now());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if due.is_some_and(|at| Instant::now() >= at) {
            rounds += 1;
            due = round(rounds).then(|| Instant::now() + debounce);
        }
    }
}

/// Count a round's outcome on the agent's reload counters and log it.
fn record(agent: &AgentHandle, round: &Round, number: u64) {
    agent.record_round();
    for message in &round.refused {
        tracing::error!("{message}");
        agent.record_refusal(message.clone());
    }
    for _ in 0..round.loaded {
        agent.record_reload(round.load_time);
    }
    for _ in 0..round.removed {
        agent.record_unload();
    }
    if round.loaded + round.removed > 0 {
        let standing_by = agent.running().values().filter(|d| !d.serving).count();
        tracing::info!(
            round = number,
            loaded = round.loaded,
            removed = round.removed,
            standing_by,
            load_ms = round.load_time.as_millis() as u64,
            "detector set reconciled"
        );
    }
}
