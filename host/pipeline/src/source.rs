//! Where events come from. The live sensor and capture replays implement
//! the same trait, so everything downstream is tested without a kernel.

use std::io::BufRead;
use std::time::Duration;

use harrier_events::capture::{CaptureError, CaptureReader};
use harrier_events::{Event, EventKind};

/// Counters a source keeps about what it delivered and lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Events delivered, by kind (indexed by [`EventKind::index`]).
    pub received: Vec<u64>,
    /// Events lost before delivery (e.g. ring buffer full), by kind.
    pub dropped: Vec<u64>,
    /// Records that could not be decoded.
    pub decode_errors: u64,
    /// Other counters the source keeps (e.g. the sensor's missed program runs),
    /// exported as they are.
    pub counters: Vec<SourceCounter>,
}

/// One named counter of a source, exported to `/metrics` as `name`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceCounter {
    /// Prometheus metric name (ends in `_total`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// The count.
    pub value: u64,
}

/// What a poll found.
#[derive(Debug, PartialEq, Eq)]
pub enum Polled {
    /// This many events were appended (possibly zero on a timeout).
    Events(usize),
    /// The source has nothing more, ever (end of a capture).
    End,
}

/// A stream of events in sequence order.
pub trait EventSource: Send {
    /// Append up to `max` events to `out`, waiting at most `timeout`.
    fn poll(
        &mut self,
        out: &mut Vec<Event>,
        max: usize,
        timeout: Duration,
    ) -> anyhow::Result<Polled>;

    /// Deliver only what the detectors want from now on. Sources that
    /// cannot filter ignore some of it: the detector set routes exactly.
    fn set_interest(&mut self, interest: &Interest) -> anyhow::Result<()>;

    /// Counters of delivered and lost events.
    fn stats(&self) -> SourceStats;
}

/// What the loaded detectors want from a source, all of them together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    /// The kinds some detector subscribes to.
    pub kinds: Vec<EventKind>,
    /// Path prefixes of the read-only file opens some detector wants
    /// (`None`: every open); see the WIT's `read-path-prefixes`.
    pub read_prefixes: Option<Vec<String>>,
}

/// Replays a capture file written by `harrier record`. A line that is not
/// a readable event is refused with its number (logged and counted in
/// `decode_errors`) and replay goes on with the next; read errors end it.
pub struct ReplaySource<R: BufRead> {
    reader: CaptureReader<R>,
    enabled: Option<Vec<bool>>,
    received: Vec<u64>,
    refused: u64,
}

impl<R: BufRead + Send> ReplaySource<R> {
    /// Open a capture; fails on a missing or incompatible header.
    pub fn new(input: R) -> Result<Self, CaptureError> {
        Ok(Self {
            reader: CaptureReader::new(input)?,
            enabled: None,
            received: vec![0; EventKind::ALL.len()],
            refused: 0,
        })
    }
}

impl<R: BufRead + Send> EventSource for ReplaySource<R> {
    fn poll(
        &mut self,
        out: &mut Vec<Event>,
        max: usize,
        _timeout: Duration,
    ) -> anyhow::Result<Polled> {
        let mut added = 0;
        while added < max {
            let Some(event) = self.reader.next() else {
                return Ok(if added == 0 {
                    Polled::End
                } else {
                    Polled::Events(added)
                });
            };
            let event = match event {
                Ok(event) => event,
                Err(e @ CaptureError::BadLine { .. }) => {
                    self.refused += 1;
                    tracing::error!("capture {e}: refused");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let kind = event.detail.kind().index();
            if self.enabled.as_ref().is_some_and(|on| !on[kind]) {
                continue;
            }
            self.received[kind] += 1;
            out.push(event);
            added += 1;
        }
        Ok(Polled::Events(added))
    }

    fn set_interest(&mut self, interest: &Interest) -> anyhow::Result<()> {
        let mut on = vec![false; EventKind::ALL.len()];
        for kind in &interest.kinds {
            on[kind.index()] = true;
        }
        self.enabled = Some(on);
        Ok(())
    }

    fn stats(&self) -> SourceStats {
        SourceStats {
            received: self.received.clone(),
            dropped: vec![0; EventKind::ALL.len()],
            decode_errors: self.refused,
            counters: Vec::new(),
        }
    }
}
