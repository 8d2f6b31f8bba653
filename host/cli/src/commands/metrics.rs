//! Prometheus text exposition of the agent's counters.

use std::fmt::Write;

use harrier_findings::SinkStats;
use harrier_pipeline::{AgentStatus, DetectorStatus};

/// Appends one metric family: its header, then one sample per item.
fn family<T>(
    out: &mut String,
    (name, help): (&str, &str),
    items: &[T],
    labels: impl Fn(&T) -> String,
    value: impl Fn(&T) -> u64,
) {
    let kind = if name.ends_with("_total") {
        "counter"
    } else {
        "gauge"
    };
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for item in items {
        let _ = writeln!(out, "{name}{{{}}} {}", labels(item), value(item));
    }
}

fn by_kind(out: &mut String, metric: (&str, &str), counts: &[(String, u64)]) {
    family(
        out,
        metric,
        counts,
        |(k, _)| format!("kind=\"{k}\""),
        |(_, n)| *n,
    );
}

fn scalar(out: &mut String, (name, help): (&str, &str), value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

/// Render the status (and the outputs' counters) as Prometheus metrics.
pub fn render(status: &AgentStatus, sinks: &[SinkStats]) -> String {
    let mut out = String::new();
    let o = &mut out;
    let pipeline = &status.pipeline;
    by_kind(
        o,
        (
            "harrier_events_total",
            "Events processed by the pipeline, by kind.",
        ),
        &pipeline.events,
    );
    by_kind(
        o,
        (
            "harrier_sensor_events_total",
            "Events received from the sensor, by kind.",
        ),
        &status.source_received,
    );
    by_kind(
        o,
        (
            "harrier_sensor_dropped_total",
            "Events lost before reaching the host, by kind.",
        ),
        &status.source_dropped,
    );
    scalar(
        o,
        (
            "harrier_decode_errors_total",
            "Sensor records that could not be decoded.",
        ),
        status.decode_errors,
    );
    scalar(
        o,
        ("harrier_batches_total", "Batches processed."),
        pipeline.batches,
    );
    scalar(
        o,
        (
            "harrier_raw_findings_total",
            "Findings returned by detectors.",
        ),
        pipeline.raw_findings,
    );
    scalar(
        o,
        (
            "harrier_shadow_findings_total",
            "Findings returned by detectors in shadow mode (written only to shadow: and all: outputs).",
        ),
        pipeline.shadow_findings,
    );
    scalar(
        o,
        (
            "harrier_emissions_total",
            "Unified findings emitted to the outputs.",
        ),
        pipeline.emissions,
    );
    scalar(
        o,
        (
            "harrier_findings_merged_total",
            "Findings merged into an open finding.",
        ),
        pipeline.merge.merged,
    );
    scalar(
        o,
        (
            "harrier_attack_sequences_total",
            "Attack sequences created.",
        ),
        pipeline.merge.attack_sequences,
    );
    let reload = &status.reload;
    scalar(
        o,
        (
            "harrier_reloads_total",
            "New detector versions swapped in (files and packs).",
        ),
        reload.reloads,
    );
    scalar(
        o,
        (
            "harrier_reload_refusals_total",
            "New versions refused (verify, compile, init, self-test).",
        ),
        reload.refusals,
    );
    scalar(
        o,
        (
            "harrier_reload_unloads_total",
            "Detectors unloaded because their file or pack went away.",
        ),
        reload.unloads,
    );
    let suppressed: Vec<(&String, &u64)> = pipeline.merge.suppressed.iter().collect();
    family(
        o,
        (
            "harrier_findings_suppressed_total",
            "Findings muted, by rule.",
        ),
        &suppressed,
        |(rule, _)| format!("rule=\"{rule}\""),
        |(_, n)| **n,
    );

    let detectors = &status.detectors;
    let plugin = |d: &DetectorStatus| format!("plugin=\"{}\",version=\"{}\"", d.name, d.version);
    let per_plugin: [(&str, &str, PluginCounter); 9] = [
        (
            "harrier_plugin_events_total",
            "Events delivered to a detector.",
            |d| d.stats.events_in,
        ),
        (
            "harrier_plugin_findings_total",
            "Findings returned by a detector.",
            |d| d.stats.findings_out,
        ),
        (
            "harrier_plugin_findings_dropped_total",
            "Findings dropped over a detector's cap.",
            |d| d.stats.findings_dropped,
        ),
        (
            "harrier_plugin_busy_nanoseconds_total",
            "Time spent inside a detector.",
            |d| d.stats.busy_ns,
        ),
        (
            "harrier_plugin_errors_total",
            "Failed calls into a detector.",
            |d| d.stats.deadline_errors + d.stats.memory_errors + d.stats.trap_errors,
        ),
        (
            "harrier_plugin_events_missed_total",
            "Events a detector did not see (quarantine, failed calls).",
            |d| d.events_missed,
        ),
        (
            "harrier_plugin_quarantines_total",
            "Times a detector was quarantined.",
            |d| d.quarantines,
        ),
        (
            "harrier_plugin_reloads_total",
            "Versions swapped in.",
            |d| d.reloads,
        ),
        (
            "harrier_plugin_serving",
            "Whether a detector is serving (1) or quarantined (0).",
            |d| u64::from(d.state == "serving"),
        ),
    ];
    for (name, help, value) in per_plugin {
        family(o, (name, help), detectors, plugin, value);
    }

    let per_sink: [(&str, &str, SinkCounter); 5] = [
        (
            "harrier_sink_delivered_total",
            "Findings an output delivered.",
            |s| s.delivered,
        ),
        (
            "harrier_sink_failed_total",
            "Findings an output gave up on after retries.",
            |s| s.failed,
        ),
        (
            "harrier_sink_dropped_total",
            "Findings dropped because an output's queue was full.",
            |s| s.dropped,
        ),
        ("harrier_sink_retries_total", "Delivery retries.", |s| {
            s.retries
        }),
        (
            "harrier_sink_pending",
            "Findings queued for an output.",
            |s| s.pending,
        ),
    ];
    for (name, help, value) in per_sink {
        family(
            o,
            (name, help),
            sinks,
            |s| format!("sink=\"{}\"", s.name),
            value,
        );
    }
    out
}

/// Reads one counter of a detector.
type PluginCounter = fn(&DetectorStatus) -> u64;
/// Reads one counter of an output.
type SinkCounter = fn(&SinkStats) -> u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_a_header_and_samples_carry_labels() {
        let mut status = AgentStatus::default();
        status.pipeline.events = vec![("exec".into(), 3)];
        let text = render(&status, &[]);
        assert!(text.contains(
            "# TYPE harrier_events_total counter\nharrier_events_total{kind=\"exec\"} 3\n"
        ));
        assert!(text.contains("# TYPE harrier_sink_pending gauge"));
        assert!(text.contains("harrier_batches_total 0"));
    }
}
