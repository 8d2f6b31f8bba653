//! The live eBPF sensor as a pipeline event source.

use std::time::Duration;

use harrier_events::{Event, EventKind};
use harrier_pipeline::source::{EventSource, Polled, SourceStats};
use harrier_sensor::LiveSensor;

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

    fn set_enabled(&mut self, kinds: &[EventKind]) -> anyhow::Result<()> {
        Ok(self.0.set_enabled(kinds)?)
    }

    fn stats(&self) -> SourceStats {
        let stats = self.0.stats();
        SourceStats {
            received: stats.received,
            dropped: stats.dropped,
            decode_errors: stats.decode_errors,
        }
    }
}
