//! The loop that drives a pipeline from a source until it ends or is
//! stopped, applying detector changes between batches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harrier_plugins::host::wall_clock_ns;
use serde::{Deserialize, Serialize};

use crate::detectors::{Change, DetectorStatus, Ledger, Running};
use crate::pipeline::{Pipeline, PipelineStats};
use crate::source::{EventSource, Polled};

/// Which clock drives ticks and merge windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The wall clock (live agent).
    Wall,
    /// The time of the events (replay: results do not depend on when or
    /// how fast the replay runs).
    Events,
}

/// How the loop batches and ticks.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Most events per batch (default 4096).
    pub batch_size: usize,
    /// Longest wait for a batch (default 50 ms).
    pub poll_timeout: Duration,
    /// Interval between ticks (default 1 s).
    pub tick_interval: Duration,
    /// Longest time spent draining the source after a stop (default 2 s).
    pub drain_timeout: Duration,
    /// The clock.
    pub clock: Clock,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            batch_size: 4096,
            poll_timeout: Duration::from_millis(50),
            tick_interval: Duration::from_secs(1),
            drain_timeout: Duration::from_secs(2),
            clock: Clock::Wall,
        }
    }
}

/// Counters of hot reloads (plugin files and rule packs), for status and
/// metrics.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReloadStats {
    /// Versions sent to the agent to serve (new or replacing).
    pub reloads: u64,
    /// Versions refused (compile, init, self-test, name clash, unreadable).
    pub refusals: u64,
    /// Detectors unloaded because their file went away.
    pub unloads: u64,
    /// The last refusal, naming the file and the reason.
    pub last_refusal: Option<String>,
    /// Milliseconds from the file settling to the new version being queued,
    /// for the last reload.
    pub last_load_ms: Option<u64>,
    /// Reconcile rounds run by the catalog's watcher (each after a change
    /// settled, or a rescan); an idle agent runs none.
    #[serde(default)]
    pub rounds: u64,
}

/// A snapshot of the running agent, published after every tick.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentStatus {
    /// Every loaded detector.
    pub detectors: Vec<DetectorStatus>,
    /// Counters of the event path.
    pub pipeline: PipelineStats,
    /// Events received and dropped by the source, by kind name.
    pub source_received: Vec<(String, u64)>,
    /// Events dropped before they reached the host, by kind name.
    pub source_dropped: Vec<(String, u64)>,
    /// Records the source could not decode.
    pub decode_errors: u64,
    /// The source's other counters.
    pub source_counters: Vec<crate::source::SourceCounter>,
    /// Hot reloads, refusals and unloads.
    pub reload: ReloadStats,
}

/// A change on its way to the loop, and who waits for it to be applied.
struct Queued {
    change: Change,
    applied: Option<Sender<()>>,
}

/// Controls a running [`Agent`] from other threads.
#[derive(Clone)]
pub struct AgentHandle {
    stop: Arc<AtomicBool>,
    changes: Sender<Queued>,
    status: Arc<Mutex<AgentStatus>>,
    reload: Arc<Mutex<ReloadStats>>,
    ledger: Ledger,
}

impl AgentHandle {
    /// Ask the loop to drain, flush and return.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Queue a detector change; applied before the next batch.
    pub fn change(&self, change: Change) {
        // The loop owns the receiver until it returns; after that a change
        // has nowhere to go and is dropped with the agent.
        let _ = self.changes.send(Queued {
            change,
            applied: None,
        });
    }

    /// Queue a change and wait until the loop has applied it (so that
    /// [`AgentHandle::running`] shows it), at most `timeout`. False if it
    /// was not applied in time or the loop has ended.
    pub fn apply(&self, change: Change, timeout: Duration) -> bool {
        let (tx, rx) = channel();
        let queued = Queued {
            change,
            applied: Some(tx),
        };
        self.changes.send(queued).is_ok() && rx.recv_timeout(timeout).is_ok()
    }

    /// What the detector set holds now, as the set records it.
    pub fn running(&self) -> Running {
        self.ledger.running()
    }

    /// The latest published status.
    pub fn status(&self) -> AgentStatus {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        status.reload = self.reload_stats().clone();
        status
    }

    fn reload_stats(&self) -> std::sync::MutexGuard<'_, ReloadStats> {
        self.reload.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new version was queued to serve; `load` is how long compiling,
    /// initialising and self-testing it took.
    pub fn record_reload(&self, load: Duration) {
        let mut stats = self.reload_stats();
        stats.reloads += 1;
        stats.last_load_ms = Some(load.as_millis() as u64);
    }

    /// A new version was refused; `message` names it and says why.
    pub fn record_refusal(&self, message: String) {
        let mut stats = self.reload_stats();
        stats.refusals += 1;
        stats.last_refusal = Some(message);
    }

    /// The catalog ran a reconcile round.
    pub fn record_round(&self) {
        self.reload_stats().rounds += 1;
    }

    /// A detector was unloaded because its file or pack went away.
    pub fn record_unload(&self) {
        self.reload_stats().unloads += 1;
    }
}

/// Drives a [`Pipeline`] from an [`EventSource`].
pub struct Agent {
    pipeline: Pipeline,
    source: Box<dyn EventSource>,
    config: AgentConfig,
    changes: Receiver<Queued>,
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<AgentStatus>>,
}

impl Agent {
    /// An agent and the handle that controls it.
    pub fn new(
        pipeline: Pipeline,
        source: Box<dyn EventSource>,
        config: AgentConfig,
    ) -> (Agent, AgentHandle) {
        let (tx, rx) = channel();
        let handle = AgentHandle {
            stop: Arc::new(AtomicBool::new(false)),
            changes: tx,
            status: Arc::default(),
            reload: Arc::default(),
            ledger: pipeline.detectors().ledger(),
        };
        let agent = Agent {
            pipeline,
            source,
            config,
            changes: rx,
            stop: handle.stop.clone(),
            status: handle.status.clone(),
        };
        agent.publish();
        (agent, handle)
    }

    /// Run until the source ends or [`AgentHandle::stop`]; then drain what
    /// the source still holds, close every finding and return the pipeline.
    pub fn run(mut self) -> anyhow::Result<Pipeline> {
        self.source
            .set_interest(&self.pipeline.detectors().interest())?;
        let mut batch = Vec::with_capacity(self.config.batch_size);
        let mut last_tick_wall = Instant::now();
        let mut last_tick_event_ns = 0u64;
        let mut drain_deadline: Option<Instant> = None;
        loop {
            self.apply_changes()?;
            if drain_deadline.is_none() && self.stop.load(Ordering::SeqCst) {
                drain_deadline = Some(Instant::now() + self.config.drain_timeout);
            }
            let timeout = if drain_deadline.is_some() {
                Duration::ZERO
            } else {
                self.config.poll_timeout
            };
            batch.clear();
            let polled = self
                .source
                .poll(&mut batch, self.config.batch_size, timeout)?;
            self.end_shadow_periods(&batch)?;
            self.pipeline.process(&mut batch);

            match self.config.clock {
                Clock::Wall if last_tick_wall.elapsed() >= self.config.tick_interval => {
                    last_tick_wall = Instant::now();
                    self.tick(wall_clock_ns());
                }
                Clock::Events => {
                    if let Some(last) = batch.last() {
                        let interval = self.config.tick_interval.as_nanos() as u64;
                        if last.time_ns >= last_tick_event_ns.saturating_add(interval) {
                            last_tick_event_ns = last.time_ns;
                            self.tick(last.time_ns);
                        }
                    }
                }
                Clock::Wall => {}
            }

            let drained = polled == Polled::End
                || drain_deadline
                    .is_some_and(|d| polled == Polled::Events(0) || Instant::now() >= d);
            if drained {
                break;
            }
        }
        self.pipeline.finish();
        self.publish();
        Ok(self.pipeline)
    }

    fn tick(&mut self, now_ns: u64) {
        self.pipeline.tick(now_ns);
        self.publish();
    }

    /// End shadow periods that are over before the batch is processed, so
    /// its events already see the detector live (or gone).
    fn end_shadow_periods(&mut self, batch: &[harrier_events::Event]) -> anyhow::Result<()> {
        let now_ns = match self.config.clock {
            Clock::Wall => wall_clock_ns(),
            Clock::Events => match batch.first() {
                Some(first) => first.time_ns,
                None => return Ok(()),
            },
        };
        if self.pipeline.end_shadow_periods(now_ns) {
            self.source
                .set_interest(&self.pipeline.detectors().interest())?;
            self.publish();
        }
        Ok(())
    }

    fn apply_changes(&mut self) -> anyhow::Result<()> {
        let mut changed = false;
        let mut waiting = Vec::new();
        while let Ok(queued) = self.changes.try_recv() {
            changed |= self.pipeline.detectors_mut().apply(queued.change);
            waiting.extend(queued.applied);
        }
        if changed {
            self.source
                .set_interest(&self.pipeline.detectors().interest())?;
            self.publish();
        }
        for applied in waiting {
            let _ = applied.send(());
        }
        Ok(())
    }

    fn publish(&self) {
        let source = self.source.stats();
        let by_kind = |counts: &[u64]| {
            harrier_events::EventKind::ALL
                .iter()
                .map(|k| {
                    (
                        k.name().to_string(),
                        counts.get(k.index()).copied().unwrap_or(0),
                    )
                })
                .collect()
        };
        let status = AgentStatus {
            detectors: self.pipeline.detectors().status(),
            pipeline: self.pipeline.stats(),
            source_received: by_kind(&source.received),
            source_dropped: by_kind(&source.dropped),
            decode_errors: source.decode_errors,
            source_counters: source.counters.clone(),
            reload: ReloadStats::default(),
        };
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = status;
    }
}
