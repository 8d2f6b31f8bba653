//! The agent's outputs: the findings sinks plus the message-bus sinks
//! (NATS JetStream) that need closing after them.

use std::time::Duration;

use anyhow::Context;
use harrier_findings::{
    External, Format, ShutdownReport, SinkSpec, SinkStats, Sinks, UnifiedFinding,
};
use harrier_fleet::subject::redact;
use harrier_fleet::{NatsSink, NatsStats};

use crate::config::Config;

/// Every output of one agent.
#[derive(Debug)]
pub struct Outputs {
    sinks: Sinks,
    buses: Vec<NatsSink>,
}

/// Whether an output string names a NATS server.
fn is_nats(spec: &str) -> bool {
    spec.starts_with("nats://") || spec.starts_with("tls://")
}

impl Outputs {
    /// Starts the configured outputs for node `node`, in the configured
    /// format (bus sinks always carry the native format, which collectors
    /// validate).
    pub fn start(config: &Config, format: Format, node: &str) -> anyhow::Result<Self> {
        let output = &config.output;
        let mut specs = Vec::new();
        let mut external: Vec<External> = Vec::new();
        let mut buses = Vec::new();
        for text in &output.sinks {
            if is_nats(text) {
                let (sink, bus) =
                    NatsSink::start(text, &output.nats, node, output.settings.queue_capacity)
                        .with_context(|| format!("output `{}`", redact(text)))?;
                external.push(sink);
                buses.push(bus);
            } else {
                specs.push(
                    SinkSpec::parse_with(text, &output.settings)
                        .with_context(|| format!("output `{text}`"))?,
                );
            }
        }
        let sinks = Sinks::start_with(&specs, external, format).context("starting outputs")?;
        Ok(Self { sinks, buses })
    }

    /// Hands one emitted finding to every output without waiting.
    pub fn emit(&self, finding: &UnifiedFinding) {
        self.sinks.emit(finding);
    }

    /// Counters of the findings sinks (bus sinks included: their queue).
    pub fn sink_stats(&self) -> Vec<SinkStats> {
        self.sinks.stats()
    }

    /// Counters of the bus sinks (spool, acks, overflow).
    pub fn bus_stats(&self) -> Vec<NatsStats> {
        self.buses.iter().map(NatsSink::stats).collect()
    }

    /// Flushes the findings sinks (waiting at most `timeout`), then lets
    /// the bus sinks empty their spools (up to their drain timeout); the
    /// report says what the findings sinks could not deliver.
    pub fn shutdown(self, timeout: Duration) -> ShutdownReport {
        let report = self.sinks.shutdown(timeout);
        for bus in &self.buses {
            let stats = bus.close();
            tracing::info!(
                sink = %stats.name,
                published = stats.published,
                pending = stats.pending,
                overflowed = stats.overflowed,
                "nats output closed"
            );
        }
        report
    }
}
