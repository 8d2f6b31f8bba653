//! The live eBPF sensor as a pipeline event source.

use std::time::Duration;

use harrier_events::Event;
use harrier_pipeline::source::{EventSource, Interest, Polled, SourceCounter, SourceStats};
use harrier_sensor::LiveSensor;

/// Switch on in the kernel what the detectors want: their event kinds and
/// the read-only opens they read. A refused open filter is not fatal: the
/// sensor then delivers every open, and the detector set still routes.
pub fn apply_interest(sensor: &mut LiveSensor, interest: &Interest) -> anyhow::Result<()> {
    sensor.set_enabled(&interest.kinds)?;
    if let Err(error) = sensor.set_open_prefixes(interest.read_prefixes.as_deref()) {
        tracing::warn!(%error, "kernel open filter off: every open is delivered");
    }
    Ok(())
}

/// [`LiveSensor`] behind the pipeline's [`EventSource`] trait.
pub struct LiveSource(pub LiveSensor);

impl EventSource for LiveSource {
    fn poll(
        &mut self,
        out: &mut Vec<Event>,
        max: usize,
        timeout: Duration,
    ) -> anyhow::Result<Polled> {
        Ok(Polled::Events(self.0.poll(out, max, timeout)?))
    }

    fn set_interest(&mut self, interest: &Interest) -> anyhow::Result<()> {
        apply_interest(&mut self.0, interest)
    }

    fn stats(&self) -> SourceStats {
        let stats = self.0.stats();
        SourceStats {
            received: stats.received,
            dropped: stats.dropped,
            decode_errors: stats.decode_errors,
            counters: vec![
                SourceCounter {
                    name: "harrier_sensor_missed_runs_total",
                    help: "eBPF program runs the kernel skipped (a program already running on that CPU); their records are lost.",
                    value: stats.missed,
                },
                SourceCounter {
                    name: "harrier_sensor_dns_malformed_total",
                    help: "Received port-53 datagrams that were not a DNS response (no event made).",
                    value: stats.dns_malformed,
                },
                SourceCounter {
                    name: "harrier_sensor_dns_incomplete_total",
                    help: "DNS answers whose answer section was cut or malformed (the answers before it were delivered).",
                    value: stats.dns_incomplete,
                },
            ],
        }
    }
}
