//! The NATS JetStream findings sink: every emission goes to the disk spool
//! first (on the sink's thread, never the detection thread), and a
//! publisher sends the spool in order, at least once, each message with an
//! id the server deduplicates on, moving the spool's cursor only past what
//! the server acked.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::ContextBuilder;
use async_nats::jetstream::message::PublishMessage;
use harrier_findings::{External, ExternalSink, Rendered};
use serde::Serialize;

use crate::config::NatsConfig;
use crate::connect::{Patience, connect};
use crate::spool::{Position, Record, Spool};
use crate::subject::{expand, message_id, parse_sink};

/// What the sink did, for `/metrics` and node status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NatsStats {
    /// The sink as given.
    pub name: String,
    /// Findings written to the spool.
    pub spooled: u64,
    /// Findings the server acked (first store or duplicate).
    pub published: u64,
    /// Acks that said the message was a duplicate (a retry of something
    /// already stored).
    pub duplicates: u64,
    /// Findings refused because the spool was full.
    pub overflowed: u64,
    /// Findings in the spool waiting for an ack.
    pub pending: u64,
    /// Bytes of those findings.
    pub pending_bytes: u64,
    /// Batches that failed (server away, timeout, refused) and were retried.
    pub publish_errors: u64,
    /// The latest failure.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Counters {
    spooled: AtomicU64,
    published: AtomicU64,
    duplicates: AtomicU64,
    publish_errors: AtomicU64,
}

/// State shared by the sink's thread, the publisher and the handle.
#[derive(Debug)]
struct Shared {
    spool: Mutex<Spool>,
    wake: tokio::sync::Notify,
    counters: Counters,
    last_error: Mutex<Option<String>>,
    stop: AtomicBool,
}

impl Shared {
    fn set_error(&self, error: String) {
        *self.last_error.lock().expect("error lock") = Some(error);
    }
}

/// Receives findings from the findings crate's sink thread.
struct SpoolWriter {
    shared: Arc<Shared>,
    node: String,
    subject: String,
    name: String,
}

impl ExternalSink for SpoolWriter {
    fn deliver(&mut self, finding: &Rendered) -> Result<(), String> {
        let record = Record {
            id: message_id(&self.node, &finding.id, finding.revision),
            subject: self.subject.clone(),
            body: finding.native_line().as_bytes().to_vec(),
        };
        let mut spool = self.shared.spool.lock().expect("spool lock");
        match spool.push(&record) {
            Ok(true) => {
                drop(spool);
                self.shared.counters.spooled.fetch_add(1, Ordering::Relaxed);
                self.shared.wake.notify_one();
                Ok(())
            }
            Ok(false) => {
                let overflowed = spool.stats().overflowed;
                Err(format!(
                    "{}: spool full, finding {} not kept ({overflowed} overflowed so far)",
                    self.name, finding.id
                ))
            }
            Err(e) => Err(format!("{}: writing the spool: {e}", self.name)),
        }
    }
}

/// The running sink: its publisher thread and counters.
#[derive(Debug)]
pub struct NatsSink {
    name: String,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    drain_timeout: Duration,
}

impl NatsSink {
    /// Opens the spool and starts publishing for the sink `spec`
    /// (`nats://HOST:PORT[/SUBJECT]`) of node `node`. Returns the sink to
    /// give to [`harrier_findings::Sinks::start_with`] and its handle.
    pub fn start(
        spec: &str,
        config: &NatsConfig,
        node: &str,
        queue_capacity: usize,
    ) -> anyhow::Result<(External, NatsSink)> {
        let parsed = parse_sink(spec).map_err(anyhow::Error::msg)?;
        let pattern = parsed.subject.as_deref().unwrap_or(&config.subject);
        let subject = expand(pattern, node, &config.cluster);
        let name = format!("{}/{subject}", parsed.url);
        let spool = Spool::open(&config.spool_dir, config.spool_max_bytes)?;
        let left = spool.stats().pending;
        if left > 0 {
            tracing::info!(sink = %name, findings = left, "spool holds findings from an earlier run; sending them first");
        }
        let shared = Arc::new(Shared {
            spool: Mutex::new(spool),
            wake: tokio::sync::Notify::new(),
            counters: Counters::default(),
            last_error: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let publisher = Publisher {
            shared: shared.clone(),
            config: config.clone(),
            url: parsed.url,
            node: node.to_string(),
        };
        let thread = std::thread::Builder::new()
            .name("nats publisher".into())
            .spawn(move || publisher.run())?;
        let external = External {
            name: name.clone(),
            queue_capacity,
            sink: Box::new(SpoolWriter {
                shared: shared.clone(),
                node: node.to_string(),
                subject,
                name: name.clone(),
            }),
        };
        Ok((
            external,
            NatsSink {
                name,
                shared,
                thread: Mutex::new(Some(thread)),
                drain_timeout: config.drain_timeout,
            },
        ))
    }

    /// The counters now.
    pub fn stats(&self) -> NatsStats {
        let c = &self.shared.counters;
        let spool = self.shared.spool.lock().expect("spool lock").stats();
        NatsStats {
            name: self.name.clone(),
            spooled: c.spooled.load(Ordering::Relaxed),
            published: c.published.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            overflowed: spool.overflowed,
            pending: spool.pending,
            pending_bytes: spool.pending_bytes,
            publish_errors: c.publish_errors.load(Ordering::Relaxed),
            last_error: self.shared.last_error.lock().expect("error lock").clone(),
        }
    }

    /// Stops publishing after trying for up to `drain_timeout` to empty the
    /// spool (call once the findings sinks are shut down); what is left
    /// stays on disk for the next start.
    pub fn close(&self) -> NatsStats {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
        let stats = self.stats();
        if stats.pending > 0 || stats.overflowed > 0 {
            tracing::warn!(
                sink = %self.name,
                pending = stats.pending,
                overflowed = stats.overflowed,
                drain_timeout = ?self.drain_timeout,
                "findings left in the spool for the next start / lost to a full spool"
            );
        }
        stats
    }
}

/// The publishing side, on its own thread and runtime.
struct Publisher {
    shared: Arc<Shared>,
    config: NatsConfig,
    url: String,
    node: String,
}

impl Publisher {
    fn run(self) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                self.shared.set_error(format!("starting the runtime: {e}"));
                return;
            }
        };
        runtime.block_on(self.publish_loop());
    }

    async fn publish_loop(self) {
        let client = match connect(
            &self.config,
            Some(&self.url),
            &format!("harrier-agent {}", self.node),
            Patience::Retry,
        )
        .await
        {
            Ok(client) => client,
            Err(e) => {
                let e = format!("{e:#}");
                tracing::error!(error = %e, "nats sink cannot start; findings stay in the spool");
                self.shared.set_error(e);
                return;
            }
        };
        let js = ContextBuilder::new()
            .timeout(self.config.ack_timeout)
            .build(client);
        let window = self.config.publish_window.max(1);
        let mut backoff = Duration::from_millis(100);
        let mut deadline: Option<Instant> = None;
        loop {
            if self.shared.stop.load(Ordering::Relaxed) && deadline.is_none() {
                deadline = Some(Instant::now() + self.config.drain_timeout);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let batch = {
                let spool = self.shared.spool.lock().expect("spool lock");
                spool.read(spool.cursor(), window)
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    self.shared.set_error(format!("reading the spool: {e}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                if deadline.is_some() {
                    break;
                }
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), self.shared.wake.notified()).await;
                continue;
            }
            let sent = send_batch(&js, &batch).await;
            if let Some(last) = sent.acked.checked_sub(1).map(|i| batch[i].0) {
                self.ack(last, sent.acked as u64, sent.duplicates);
            }
            match sent.error {
                None => backoff = Duration::from_millis(100),
                Some(error) => {
                    self.shared
                        .counters
                        .publish_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%error, "nats publish failed; retrying from the spool");
                    self.shared.set_error(error);
                    let pause = match deadline {
                        Some(d) => backoff.min(d.saturating_duration_since(Instant::now())),
                        None => backoff,
                    };
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
        if let Err(e) = self.shared.spool.lock().expect("spool lock").sync() {
            tracing::warn!(error = %e, "syncing the spool");
        }
    }

    fn ack(&self, upto: Position, records: u64, duplicates: u64) {
        let result = self
            .shared
            .spool
            .lock()
            .expect("spool lock")
            .ack(upto, records);
        if let Err(e) = result {
            self.shared
                .set_error(format!("moving the spool cursor: {e}"));
        }
        let c = &self.shared.counters;
        c.published.fetch_add(records, Ordering::Relaxed);
        c.duplicates.fetch_add(duplicates, Ordering::Relaxed);
    }
}

/// What one batch achieved: how many leading records were acked.
struct Sent {
    acked: usize,
    duplicates: u64,
    error: Option<String>,
}

/// Publishes a batch with every message in flight at once, then collects
/// the acks in order; stops at the first failure.
async fn send_batch(js: &async_nats::jetstream::Context, batch: &[(Position, Record)]) -> Sent {
    let mut futures = Vec::with_capacity(batch.len());
    let mut error = None;
    for (_, record) in batch {
        let publish = PublishMessage::build()
            .payload(record.body.clone().into())
            .message_id(&record.id);
        match js.send_publish(record.subject.clone(), publish).await {
            Ok(future) => futures.push(future),
            Err(e) => {
                error = Some(format!("publishing to {}: {e}", record.subject));
                break;
            }
        }
    }
    let mut sent = Sent {
        acked: 0,
        duplicates: 0,
        error: None,
    };
    for future in futures {
        match future.await {
            Ok(ack) => {
                sent.acked += 1;
                sent.duplicates += u64::from(ack.duplicate);
            }
            Err(e) => {
                sent.error = Some(format!("waiting for the server's ack: {e}"));
                return sent;
            }
        }
    }
    sent.error = error;
    sent
}
