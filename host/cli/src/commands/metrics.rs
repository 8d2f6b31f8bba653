//! Prometheus text exposition of the agent's counters.

use std::fmt::Write;

use harrier_findings::SinkStats;
use harrier_pipeline::{AgentStatus, DetectorStatus};

/// Reads one counter of a detector.
type PluginCounter = fn(&DetectorStatus) -> u64;

/// Render the status (and the outputs' counters) as Prometheus metrics.
pub fn render(status: &AgentStatus, sinks: &[SinkStats]) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, kind: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        name.to_string()
    };
    let events = family(
        "harrier_events_total",
        "Events processed by the pipeline, by kind.",
        "counter",
    );
    let received = family(
        "harrier_sensor_events_total",
        "Events received from the sensor, by kind.",
        "counter",
    );
    let dropped = family(
        "harrier_sensor_dropped_total",
        "Events lost before reaching the host, by kind.",
        "counter",
    );
    let mut lines = String::new();
    for (kind, n) in &status.pipeline.events {
        let _ = writeln!(lines, "{events}{{kind=\"{kind}\"}} {n}");
    }
    for (kind, n) in &status.source_received {
        let _ = writeln!(lines, "{received}{{kind=\"{kind}\"}} {n}");
    }
    for (kind, n) in &status.source_dropped {
        let _ = writeln!(lines, "{dropped}{{kind=\"{kind}\"}} {n}");
    }
    let scalars = [
        (
            "harrier_decode_errors_total",
            "Sensor records that could not be decoded.",
            status.decode_errors,
        ),
        (
            "harrier_batches_total",
            "Batches processed.",
            status.pipeline.batches,
        ),
        (
            "harrier_raw_findings_total",
            "Findings returned by detectors.",
            status.pipeline.raw_findings,
        ),
        (
            "harrier_emissions_total",
            "Unified findings emitted to the sinks.",
            status.pipeline.emissions,
        ),
        (
            "harrier_findings_merged_total",
            "Findings merged into an open finding.",
            status.pipeline.merge.merged,
        ),
        (
            "harrier_attack_sequences_total",
            "Attack sequences created.",
            status.pipeline.merge.attack_sequences,
        ),
    ];
    for (name, help, value) in scalars {
        let _ = writeln!(
            lines,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    let _ = writeln!(
        lines,
        "# HELP harrier_findings_suppressed_total Findings muted, by rule.\n# TYPE harrier_findings_suppressed_total counter"
    );
    for (rule, n) in &status.pipeline.merge.suppressed {
        let _ = writeln!(
            lines,
            "harrier_findings_suppressed_total{{rule=\"{rule}\"}} {n}"
        );
    }
    let per_plugin: [(&str, &str, PluginCounter); 8] = [
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
    ];
    for (name, help, value) in per_plugin {
        let _ = writeln!(lines, "# HELP {name} {help}\n# TYPE {name} counter");
        for d in &status.detectors {
            let _ = writeln!(
                lines,
                "{name}{{plugin=\"{}\",version=\"{}\"}} {}",
                d.name,
                d.version,
                value(d)
            );
        }
    }
    let _ = writeln!(
        lines,
        "# HELP harrier_plugin_serving Whether a detector is serving (1) or quarantined (0).\n# TYPE harrier_plugin_serving gauge"
    );
    for d in &status.detectors {
        let _ = writeln!(
            lines,
            "harrier_plugin_serving{{plugin=\"{}\"}} {}",
            d.name,
            u8::from(d.state == "serving")
        );
    }
    let per_sink: [(&str, &str, fn(&SinkStats) -> u64); 5] = [
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
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(lines, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for sink in sinks {
            let _ = writeln!(lines, "{name}{{sink=\"{}\"}} {}", sink.name, value(sink));
        }
    }
    out + &lines
}
