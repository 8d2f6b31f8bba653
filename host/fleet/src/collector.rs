//! `harrier collector`: a durable JetStream consumer of every node's
//! findings. Collectors sharing the durable name share the work.
//!
//! Per batch: each message is validated against the native finding schema
//! (rejects are counted and terminated, never redelivered); valid findings
//! go to the collector's sinks together with the cluster findings they
//! cause ([`crate::cluster`]); once every sink has taken them, each message's
//! id is recorded in the delivered bucket and the message is acked. A
//! message the server redelivers (its collector died before acking) whose
//! id is already recorded is acked without being delivered again, whichever
//! collector gets it. What is left: a collector killed after its sinks wrote
//! a finding and before that finding's id was recorded delivers it once
//! more (that window is the time of one local write and one publish).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, AckKind, consumer, kv};
use futures_util::StreamExt;
use harrier_findings::{NATIVE_SCHEMA_V1, Sinks, UnifiedFinding};
use serde::Serialize;

use crate::cluster::{ClusterMerger, ClusterStats};
use crate::config::{CollectorConfig, FleetConfig, NatsConfig};
use crate::connect::{Patience, connect};

/// What a collector did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CollectorStats {
    /// Messages received (redeliveries included).
    pub received: u64,
    /// Node findings delivered to the sinks.
    pub delivered: u64,
    /// Messages refused: not JSON or not a valid native finding.
    pub rejected: u64,
    /// Redelivered messages already delivered by some collector.
    pub redelivered_skipped: u64,
    /// Messages put back because the delivered-ids bucket did not answer.
    pub lookups_failed: u64,
    /// Cluster findings (merges and sequences) emitted.
    pub cluster_emitted: u64,
    /// Batches handed back for redelivery because a sink failed.
    pub batches_retried: u64,
    /// The cluster merger's counters.
    pub cluster: ClusterStats,
}

/// Validates messages against the native finding schema.
pub struct Validator(jsonschema::Validator);

impl Validator {
    /// Compiles the schema built into `harrier-findings`.
    pub fn new() -> anyhow::Result<Self> {
        let schema: serde_json::Value = serde_json::from_str(NATIVE_SCHEMA_V1)?;
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| anyhow::anyhow!("finding schema: {e}"))?;
        Ok(Self(validator))
    }

    /// The finding, or why the payload is not one.
    pub fn check(&self, payload: &[u8]) -> Result<(UnifiedFinding, serde_json::Value), String> {
        let json: serde_json::Value =
            serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
        if let Some(error) = self.0.iter_errors(&json).next() {
            return Err(format!("{error} at {}", error.instance_path()));
        }
        let finding = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
        Ok((finding, json))
    }
}

/// A running collector's loop.
pub struct Collector {
    js: jetstream::Context,
    consumer: consumer::PullConsumer,
    delivered: kv::Store,
    delivered_bucket: String,
    validator: Validator,
    merger: ClusterMerger,
    config: CollectorConfig,
    stats: CollectorStats,
}

/// The bucket where delivered message ids are recorded.
pub fn delivered_bucket(config: &CollectorConfig) -> String {
    format!("{}-delivered", config.durable)
}

impl Collector {
    /// Connects and binds the durable consumer (created if missing) and the
    /// delivered-ids bucket.
    pub async fn start(
        nats: &NatsConfig,
        _fleet: &FleetConfig,
        config: &CollectorConfig,
    ) -> anyhow::Result<Self> {
        let client = connect(
            nats,
            None,
            &format!("harrier-collector {}", config.durable),
            Patience::Now,
        )
        .await?;
        let js = jetstream::new(client);
        let stream = js
            .get_stream(&nats.stream)
            .await
            .with_context(|| format!("stream {} (run `harrier fleet init`)", nats.stream))?;
        let consumer = stream
            .get_or_create_consumer(
                &config.durable,
                consumer::pull::Config {
                    durable_name: Some(config.durable.clone()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: config.ack_wait,
                    max_ack_pending: (config.batch.max(1) * 4) as i64,
                    ..Default::default()
                },
            )
            .await
            .with_context(|| format!("consumer {}", config.durable))?;
        let delivered_bucket = delivered_bucket(config);
        let delivered = crate::setup::key_value(
            &js,
            &delivered_bucket,
            "message ids the collectors delivered",
            1,
            nats.duplicate_window,
        )
        .await?;
        Ok(Self {
            js,
            consumer,
            delivered,
            delivered_bucket,
            validator: Validator::new()?,
            merger: ClusterMerger::new(&nats.cluster, config.window),
            config: config.clone(),
            stats: CollectorStats::default(),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> CollectorStats {
        CollectorStats {
            cluster: self.merger.stats(),
            ..self.stats
        }
    }

    /// Consumes until `stop` is set, finishing the batch in hand.
    pub async fn run(&mut self, sinks: &Sinks, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            let batch = self
                .consumer
                .fetch()
                .max_messages(self.config.batch.max(1))
                .expires(Duration::from_millis(500))
                .messages()
                .await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "collector: fetch failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            let mut messages = Vec::new();
            while let Some(message) = batch.next().await {
                match message {
                    Ok(message) => messages.push(message),
                    Err(e) => {
                        tracing::debug!(error = %e, "collector: batch ended early");
                        break;
                    }
                }
            }
            if !messages.is_empty() {
                self.handle(sinks, messages).await;
            }
        }
        Ok(())
    }

    /// One batch: validate, skip what was delivered, deliver, record, ack.
    async fn handle(&mut self, sinks: &Sinks, messages: Vec<jetstream::Message>) {
        let before = totals(sinks);
        let mut to_ack = Vec::new();
        let mut delivered_keys = Vec::new();
        for message in messages {
            self.stats.received += 1;
            let (finding, json) = match self.validator.check(&message.payload) {
                Ok(ok) => ok,
                Err(reason) => {
                    self.stats.rejected += 1;
                    tracing::warn!(subject = %message.subject, %reason, "collector: message rejected (not a valid finding)");
                    if let Err(e) = message.ack_with(AckKind::Term).await {
                        tracing::debug!(error = %e, "collector: term failed");
                    }
                    continue;
                }
            };
            // Every message is looked up, not only those the server counts
            // as redelivered: a server killed before it saved its consumer
            // state delivers again with a delivery count of 1.
            let key = delivered_key(&message);
            match self.delivered.get(&key).await {
                Ok(Some(_)) => {
                    self.stats.redelivered_skipped += 1;
                    to_ack.push(message);
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    // Unknown: later, rather than maybe twice.
                    self.stats.lookups_failed += 1;
                    tracing::warn!(error = %e, "collector: delivered-ids lookup failed; message retried later");
                    let _ = message
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                    continue;
                }
            }
            sinks.emit(&finding);
            for cluster in self.merger.ingest(&finding, &json) {
                sinks.emit(&cluster);
                self.stats.cluster_emitted += 1;
            }
            self.stats.delivered += 1;
            delivered_keys.push(key);
            to_ack.push(message);
        }
        if !wait_taken(sinks, before).await {
            self.stats.batches_retried += 1;
            tracing::warn!("collector: a sink failed; the batch will be redelivered");
            for message in to_ack {
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
            }
            return;
        }
        let mut acks = Vec::new();
        for key in &delivered_keys {
            let subject = format!("$KV.{}.{key}", self.delivered_bucket);
            match self
                .js
                .publish(subject, bytes::Bytes::from_static(b"1"))
                .await
            {
                Ok(ack) => acks.push(ack),
                Err(e) => tracing::warn!(error = %e, "collector: recording a delivered id failed"),
            }
        }
        for ack in acks {
            if let Err(e) = ack.await {
                tracing::warn!(error = %e, "collector: recording a delivered id failed");
            }
        }
        for message in to_ack {
            if let Err(e) = message.ack().await {
                tracing::debug!(error = %e, "collector: ack failed; the message will be redelivered and skipped");
            }
        }
    }
}

/// The KV key of a message: the sha256 of its message id (ids hold
/// characters keys may not).
fn delivered_key(message: &jetstream::Message) -> String {
    let id = message
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Msg-Id"))
        .map(|v| v.to_string())
        .unwrap_or_else(|| {
            format!(
                "seq-{}",
                message.info().map(|i| i.stream_sequence).unwrap_or(0)
            )
        });
    harrier_packs::verify::sha256_hex(id.as_bytes())
}

/// (taken, lost) over every sink: taken = delivered, lost = failed +
/// dropped + abandoned.
fn totals(sinks: &Sinks) -> (u64, u64, u64) {
    sinks
        .stats()
        .iter()
        .fold((0, 0, 0), |(accepted, delivered, lost), s| {
            (
                accepted + s.accepted,
                delivered + s.delivered,
                lost + s.failed + s.dropped + s.abandoned,
            )
        })
}

/// Waits until every sink finished what it was given since `before`;
/// returns false if any of it was lost.
async fn wait_taken(sinks: &Sinks, before: (u64, u64, u64)) -> bool {
    loop {
        let now = totals(sinks);
        if now.2 > before.2 {
            return false;
        }
        if sinks.stats().iter().all(|s| s.pending == 0) && now.1 - before.1 >= now.0 - before.0 {
            return true;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}
