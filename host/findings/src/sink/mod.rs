//! Sinks: where findings go (stdout, rotated files, webhooks), each behind its
//! own bounded queue and thread so a slow or dead sink never blocks
//! detection or the other sinks.

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

/// The running sinks, all writing one format.
#[derive(Debug)]
pub struct Sinks {
    format: Format,
    workers: Vec<Worker>,
    /// Which findings each worker takes, in the same order.
    accepts: Vec<Accepts>,
}

impl Sinks {
    /// Starts one thread and bounded queue per sink. Files are opened (and
    /// their directories created) now, so a bad path is reported at start.
    pub fn start(specs: &[SinkSpec], format: Format) -> Result<Self, SinkError> {
        let workers = specs
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
        let accepts = specs.iter().map(|spec| spec.accepts).collect();
        Ok(Self {
            format,
            workers,
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
        let line: Arc<str> = self.format.render_line(finding).into();
        for (worker, accepts) in self.workers.iter().zip(&self.accepts) {
            if accepts.accepts(finding.shadow) {
                worker.offer(line.clone());
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
