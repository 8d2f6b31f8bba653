//! Shared helpers of the live sensor tests (they need root).

#![allow(dead_code)]

use std::time::{Duration, Instant};

use harrier_events::{Event, EventDetail, EventKind};
use harrier_sensor::{LiveSensor, SensorConfig};

/// Start a sensor with `kinds` enabled, or return None (after printing SKIPPED) when not
/// root and HARRIER_SKIP_PRIVILEGED=1. Panics with "needs root" otherwise.
pub fn sensor(test: &str, kinds: &[EventKind]) -> Option<Live> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if std::env::var("HARRIER_SKIP_PRIVILEGED").as_deref() == Ok("1") {
            eprintln!("SKIPPED: {test} needs root (loads eBPF programs)");
            return None;
        }
        panic!("{test} needs root (loads eBPF programs); set HARRIER_SKIP_PRIVILEGED=1 to skip");
    }
    // The test process itself performs the syscalls: do not exclude it.
    let config = SensorConfig {
        exclude_pids: Vec::new(),
        ..SensorConfig::default()
    };
    let mut sensor = LiveSensor::start(&config).expect("sensor starts");
    sensor.set_enabled(kinds).expect("kinds enabled");
    Some(Live {
        sensor,
        backlog: Vec::new(),
    })
}

/// A started sensor plus the events polled but not yet matched.
pub struct Live {
    /// The sensor.
    pub sensor: LiveSensor,
    backlog: Vec<Event>,
}

impl Live {
    /// Poll for another 300 ms and count the events (backlog included) matching `pred`.
    pub fn drain_matching(&mut self, pred: impl Fn(&Event) -> bool) -> usize {
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline {
            self.sensor
                .poll(&mut self.backlog, 4096, Duration::from_millis(50))
                .expect("poll");
        }
        self.backlog.iter().filter(|e| pred(e)).count()
    }

    /// Poll until `pred` matches an event (returned, and removed from the backlog) or
    /// 5 s pass (panics, listing what was seen).
    pub fn wait_for(&mut self, what: &str, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(i) = self.backlog.iter().position(&mut pred) {
                return self.backlog.remove(i);
            }
            if Instant::now() >= deadline {
                break;
            }
            self.sensor
                .poll(&mut self.backlog, 4096, Duration::from_millis(100))
                .expect("poll");
        }
        let sample: Vec<String> = self
            .backlog
            .iter()
            .rev()
            .take(20)
            .map(|e| format!("{e:?}"))
            .collect();
        panic!(
            "no {what} event within 5 s; saw {} others, latest:\n{}",
            self.backlog.len(),
            sample.join("\n")
        );
    }
}

/// This process's pid.
pub fn me() -> u32 {
    std::process::id()
}

/// The detail of a kind, for matching in predicates.
pub fn kind_of(e: &Event) -> EventKind {
    EventDetail::kind(&e.detail)
}
