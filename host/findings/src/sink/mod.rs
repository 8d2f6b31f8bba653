//! Sinks: where findings go (stdout, rotated files, webhooks, and sinks
//! defined outside this crate such as message buses, through
//! [`ExternalSink`]), each behind its own bounded queue and thread so a slow
//! or dead sink never blocks detection or the other sinks.

mod file;
mod spec;
mod stdout;
mod webhook;
mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use spec::{
    Accepts, FileTarget, SinkSettings, SinkSpec, SinkSpecError, SinkTarget, WebhookTarget,
};

use crate::finding::UnifiedFinding;
use crate::format::Format;
use worker::{Deliver, Worker};

/// Counters of one sink.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SinkStats {
    /// The sink as given, e.g. `stdout`, `file:/var/log/harrier.json`.
    pub name: String,
    /// Findings accepted into its queue.
    pub accepted: u64,
    /// Findings written or acknowledged (HTTP 2xx).
    pub delivered: u64,
    /// Findings given up on after errors (and retries, for webhooks).
    pub failed: u64,
    /// Findings dropped because its queue was full (or its thread died).
    pub dropped: u64,
    /// Findings left undelivered because shutdown's time ran out.
    pub abandoned: u64,
    /// Webhook retries made.
    pub retries: u64,
    /// Findings still queued or in flight.
    pub pending: u64,
}

/// What `Sinks::shutdown` managed to flush.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShutdownReport {
    /// Final counters of every sink.
    pub sinks: Vec<SinkStats>,
    /// Sinks that had not finished within the timeout; what they still held
    /// shows as `pending` and is abandoned.
    pub unfinished: Vec<String>,
}

impl SinkStats {
    /// Findings this sink never delivered: dropped, failed, abandoned or
    /// still pending.
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed + self.abandoned + self.pending
    }
}

impl ShutdownReport {
    /// One line per sink that lost findings, saying how many and why.
    pub fn losses(&self) -> Vec<String> {
        self.sinks
            .iter()
            .filter(|s| s.lost() > 0)
            .map(|s| {
                format!(
                    "output `{}`: {} findings lost ({} dropped with its queue full, {} failed, {} abandoned at shutdown) of {} accepted",
                    s.name,
                    s.lost(),
                    s.dropped,
                    s.failed,
                    s.abandoned + s.pending,
                    s.accepted
                )
            })
            .collect()
    }
}

/// An error starting a sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file sink's file could not be opened.
    #[error("output `{sink}`: cannot open {path}: {source}")]
    Open {
        /// The sink as given.
        sink: String,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The sink's thread could not be started.
    #[error("output `{sink}`: cannot start its thread: {source}")]
    Thread {
        /// The sink as given.
        sink: String,
        /// Why.
        source: std::io::Error,
    },
}

/// One emission as a sink receives it: the finding rendered once, with the
/// identity a message bus needs to make redelivery idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The finding's stable id.
    pub id: String,
    /// Its revision: 0 on first emission, then one more per emission.
    pub revision: u32,
    /// The node that saw it.
    pub node: String,
    /// The finding in the sinks' format, one line without its newline.
    pub line: String,
    /// The finding in the native format when the sinks' format is another
    /// one (`None`: `line` is native).
    pub native: Option<String>,
}

impl Rendered {
    /// Renders `finding` in `format`, and natively too when `native` is
    /// asked for and the format is not native.
    pub fn new(finding: &UnifiedFinding, format: Format, native: bool) -> Self {
        Self {
            id: finding.id.clone(),
            revision: finding.revision,
            node: finding.node.clone(),
            line: format.render_line(finding),
            native: (native && format != Format::Native)
                .then(|| Format::Native.render_line(finding)),
        }
    }

    /// The finding as native JSON.
    pub fn native_line(&self) -> &str {
        self.native.as_deref().unwrap_or(&self.line)
    }
}

/// A sink implemented outside this crate (a message bus such as NATS
/// JetStream or Kafka). It runs on its own thread behind the same bounded
/// queue as the built-in sinks, so detection never waits for it.
pub trait ExternalSink: Send {
    /// Takes one finding. An error is logged and counted as `failed`; a sink
    /// that keeps what it cannot send yet (a spool) returns `Ok`.
    fn deliver(&mut self, finding: &Rendered) -> Result<(), String>;
}

/// An external sink and how it is started.
pub struct External {
    /// Its name in counters and logs, e.g. `nats://127.0.0.1:4222/findings`.
    pub name: String,
    /// Findings that may queue for it before drops.
    pub queue_capacity: usize,
    /// The sink.
    pub sink: Box<dyn ExternalSink>,
}

impl std::fmt::Debug for External {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("External")
            .field("name", &self.name)
            .field("queue_capacity", &self.queue_capacity)
            .finish_non_exhaustive()
    }
}

/// Adapts an [`ExternalSink`] to the worker's delivery interface.
struct ExternalDeliver(Box<dyn ExternalSink>);

impl Deliver for ExternalDeliver {
    fn deliver(&mut self, item: &Rendered, _control: &worker::Control) -> Result<(), String> {
        self.0.deliver(item)
    }
}

/// The running sinks, all writing one format.
#[derive(Debug)]
pub struct Sinks {
    format: Format,
    workers: Vec<Worker>,
    /// Whether some external sink wants the native rendering too.
    native: bool,
    /// Which findings each worker takes, in the same order.
    accepts: Vec<Accepts>,
}

impl Sinks {
    /// Starts one thread and bounded queue per sink. Files are opened (and
    /// their directories created) now, so a bad path is reported at start.
    pub fn start(specs: &[SinkSpec], format: Format) -> Result<Self, SinkError> {
        Self::start_with(specs, Vec::new(), format)
    }

    /// Like [`Sinks::start`], plus sinks defined outside this crate, which
    /// receive every finding after the built-in ones are queued.
    pub fn start_with(
        specs: &[SinkSpec],
        external: Vec<External>,
        format: Format,
    ) -> Result<Self, SinkError> {
        let native = !external.is_empty();
        let mut workers: Vec<Worker> = specs
            .iter()
            .map(|spec| {
                let sink = spec.to_string();
                let deliver: Box<dyn Deliver> = match &spec.target {
                    SinkTarget::Stdout => Box::new(stdout::StdoutSink),
                    SinkTarget::File(target) => {
                        Box::new(file::RotatingFile::open(target).map_err(|source| {
                            SinkError::Open {
                                sink: sink.clone(),
                                path: target.path.display().to_string(),
                                source,
                            }
                        })?)
                    }
                    SinkTarget::Webhook(target) => Box::new(webhook::Webhook::new(target)),
                };
                Worker::spawn(sink.clone(), spec.queue_capacity, deliver)
                    .map_err(|source| SinkError::Thread { sink, source })
            })
            .collect::<Result<_, _>>()?;
        let mut accepts: Vec<Accepts> = specs.iter().map(|spec| spec.accepts).collect();
        for sink in external {
            let deliver = Box::new(ExternalDeliver(sink.sink));
            let worker = Worker::spawn(sink.name.clone(), sink.queue_capacity.max(1), deliver)
                .map_err(|source| SinkError::Thread {
                    sink: sink.name,
                    source,
                })?;
            workers.push(worker);
            // The bus carries live findings; shadow ones stay on the node.
            accepts.push(Accepts::Live);
        }
        Ok(Self {
            format,
            workers,
            native,
            accepts,
        })
    }

    /// The format every sink writes.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Renders the finding once and queues it on every sink without
    /// waiting: a full queue drops it for that sink only (counted).
    /// Shadow findings go only to the sinks that ask for them.
    pub fn emit(&self, finding: &UnifiedFinding) {
        if !self.accepts.iter().any(|a| a.accepts(finding.shadow)) {
            return;
        }
        let rendered = Arc::new(Rendered::new(finding, self.format, self.native));
        for (worker, accepts) in self.workers.iter().zip(&self.accepts) {
            if accepts.accepts(finding.shadow) {
                worker.offer(rendered.clone());
            }
        }
    }

    /// Current counters of every sink, in the order given.
    pub fn stats(&self) -> Vec<SinkStats> {
        self.workers.iter().map(Worker::stats).collect()
    }

    /// Stops accepting findings and waits up to `timeout` for every sink to
    /// deliver what it queued. Sinks still busy then are told to abandon the
    /// rest and are left to finish on their own.
    pub fn shutdown(self, timeout: Duration) -> ShutdownReport {
        let deadline = Instant::now() + timeout;
        let mut workers = self.workers;
        for worker in &mut workers {
            worker.close();
        }
        let mut unfinished = Vec::new();
        for worker in &mut workers {
            if !worker.join_until(deadline) {
                worker.abandon();
                unfinished.push(worker.name().to_string());
            }
        }
        ShutdownReport {
            sinks: workers.iter().map(Worker::stats).collect(),
            unfinished,
        }
    }
}
