//! Prometheus text exposition of the agent's counters.

use std::fmt::Write;

use harrier_findings::SinkStats;
use harrier_fleet::NatsStats;
use harrier_pipeline::{AgentStatus, DetectorStatus, EnricherServices, Role};
use harrier_runtime::{EndpointStats, RuntimeStats};

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
pub fn render(
    status: &AgentStatus,
    sinks: &[SinkStats],
    buses: &[NatsStats],
    runtime: Option<&RuntimeStats>,
    services: Option<&EnricherServices>,
) -> String {
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
    for counter in &status.source_counters {
        scalar(o, (counter.name, counter.help), counter.value);
    }
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
    scalar(
        o,
        (
            "harrier_catalog_rounds_total",
            "Reconcile rounds of the detector catalog (after a change or a rescan).",
        ),
        reload.rounds,
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

    // Standbys share their name with the detector serving it: their own family.
    let standing_by = Role::StandingBy.as_str();
    let (standbys, detectors): (Vec<DetectorStatus>, Vec<DetectorStatus>) = status
        .detectors
        .iter()
        .cloned()
        .partition(|d| d.state == standing_by);
    family(
        o,
        (
            "harrier_plugin_standing_by",
            "Detectors loaded but standing by for another provider of their name (1 each).",
        ),
        &standbys,
        |d| format!("plugin=\"{}\",origin=\"{}\"", d.name, d.origin),
        |_| 1,
    );
    let detectors = &detectors;
    let plugin = |d: &DetectorStatus| format!("plugin=\"{}\",version=\"{}\"", d.name, d.version);
    let per_plugin: [(&str, &str, PluginCounter); 11] = [
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
            "harrier_plugin_findings_refused_total",
            "Findings refused: a type the detector did not declare, reserved or malformed.",
            |d| d.stats.findings_refused,
        ),
        (
            "harrier_plugin_fields_truncated_total",
            "Strings and lists from a detector cut to the host's caps.",
            |d| d.stats.fields_truncated,
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
    let per_bus: [(&str, &str, BusCounter); 7] = [
        (
            "harrier_nats_spooled_total",
            "Findings written to a NATS output's disk spool.",
            |s| s.spooled,
        ),
        (
            "harrier_nats_published_total",
            "Findings the NATS server acked.",
            |s| s.published,
        ),
        (
            "harrier_nats_duplicates_total",
            "Acks saying a retried finding was already stored.",
            |s| s.duplicates,
        ),
        (
            "harrier_nats_spool_overflow_total",
            "Findings lost because a NATS output's spool was full.",
            |s| s.overflowed,
        ),
        (
            "harrier_nats_publish_errors_total",
            "Failed publish batches (retried from the spool).",
            |s| s.publish_errors,
        ),
        (
            "harrier_nats_spool_pending",
            "Findings in the spool waiting for an ack.",
            |s| s.pending,
        ),
        (
            "harrier_nats_spool_pending_bytes",
            "Bytes of findings in the spool waiting for an ack.",
            |s| s.pending_bytes,
        ),
    ];
    for (name, help, value) in per_bus {
        family(
            o,
            (name, help),
            buses,
            |s| format!("sink=\"{}\"", s.name),
            value,
        );
    }
    if let Some(runtime) = runtime {
        render_runtime(o, runtime);
    }
    if let Some(services) = services {
        render_services(o, services);
    }
    out
}

/// Families of one unlabelled sample each: `_total` names are counters,
/// the others gauges.
fn singles(o: &mut String, samples: &[(&str, &str, u64)]) {
    for (name, help, value) in samples {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(
            o,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
}

/// The enricher's and the threat-intelligence store's families: what can
/// be lost (evictions, dropped hash jobs, unresolved cgroups) or grow.
fn render_services(o: &mut String, services: &EnricherServices) {
    let e = services.enricher().stats();
    let intel = services.intel().stats();
    let (resolved, resolved_evicted) = services.resolved().stats();
    singles(
        o,
        &[
            (
                "harrier_enrich_processes_tracked",
                "Processes in the process table (exited ones lingering included).",
                e.processes_tracked,
            ),
            (
                "harrier_enrich_processes_evicted_total",
                "Live processes evicted because the process table was full.",
                e.processes_evicted,
            ),
            (
                "harrier_enrich_event_only_total",
                "Processes known from events alone (procfs entry already gone).",
                e.event_only,
            ),
            (
                "harrier_enrich_hash_done_total",
                "Executables hashed.",
                e.hash_done,
            ),
            (
                "harrier_enrich_hash_skipped_total",
                "Executables not hashed: larger than hash_max_file_bytes.",
                e.hash_skipped,
            ),
            (
                "harrier_enrich_hash_failed_total",
                "Executables that could not be read for hashing.",
                e.hash_failed,
            ),
            (
                "harrier_enrich_hash_dropped_total",
                "Hash jobs dropped because the queue was full.",
                e.hash_dropped,
            ),
            (
                "harrier_enrich_cgroups_indexed",
                "Cgroup v2 directories indexed by id.",
                e.cgroups_indexed,
            ),
            (
                "harrier_enrich_cgroups_unresolved_total",
                "Cgroup ids from events found nowhere in the hierarchy.",
                e.cgroups_unresolved,
            ),
            (
                "harrier_intel_domains",
                "Domain indicators loaded.",
                intel.counts.domains as u64,
            ),
            (
                "harrier_intel_networks",
                "Address and CIDR indicators loaded.",
                intel.counts.networks as u64,
            ),
            (
                "harrier_intel_hashes",
                "SHA-256 indicators loaded.",
                intel.counts.hashes as u64,
            ),
            (
                "harrier_intel_lookups_total",
                "Indicator look-ups answered.",
                intel.lookups,
            ),
            (
                "harrier_intel_hits_total",
                "Indicator look-ups that matched.",
                intel.hits,
            ),
            (
                "harrier_intel_resolved_addresses",
                "Addresses remembered from DNS answers.",
                resolved as u64,
            ),
            (
                "harrier_intel_resolved_evicted_total",
                "Addresses from DNS answers forgotten to stay within capacity.",
                resolved_evicted,
            ),
        ],
    );
}

/// The container-runtime metadata source's families.
fn render_runtime(o: &mut String, runtime: &RuntimeStats) {
    let totals = [
        (
            "harrier_runtime_containers_cached",
            "Containers whose runtime metadata is cached.",
            runtime.containers_cached,
        ),
        (
            "harrier_runtime_lookups_total",
            "Container look-ups queued for the runtimes.",
            runtime.lookups_queued,
        ),
        (
            "harrier_runtime_lookups_dropped_total",
            "Container look-ups dropped because the queue was full.",
            runtime.lookups_dropped,
        ),
        (
            "harrier_runtime_unnamed_total",
            "Look-ups no runtime answered: those containers carry cgroup identity only.",
            runtime.containers_unnamed,
        ),
        (
            "harrier_runtime_evicted_total",
            "Containers evicted from the full metadata cache.",
            runtime.containers_evicted,
        ),
        (
            "harrier_runtime_gone_total",
            "Containers forgotten because their cgroup was removed.",
            runtime.containers_gone,
        ),
    ];
    singles(o, &totals);
    let per_endpoint: [(&str, &str, EndpointCounter); 5] = [
        (
            "harrier_runtime_up",
            "Whether a runtime endpoint answered its last look-up (1) or not (0).",
            |e| u64::from(e.up),
        ),
        (
            "harrier_runtime_errors_total",
            "Look-ups a runtime endpoint failed (unreachable, timed out, error).",
            |e| e.errors,
        ),
        (
            "harrier_runtime_answers_total",
            "Look-ups a runtime endpoint answered.",
            |e| e.answered,
        ),
        (
            "harrier_runtime_lookup_max_micros",
            "Slowest answered look-up of an endpoint, microseconds.",
            |e| e.latency_max_us,
        ),
        (
            "harrier_runtime_lookup_mean_micros",
            "Mean answered look-up time of an endpoint, microseconds.",
            |e| e.latency_mean_us(),
        ),
    ];
    for (name, help, value) in per_endpoint {
        family(
            o,
            (name, help),
            &runtime.endpoints,
            |e| format!("socket=\"{}\",kind=\"{}\"", e.socket, e.kind),
            value,
        );
    }
}

/// Reads one counter of a runtime endpoint.
type EndpointCounter = fn(&EndpointStats) -> u64;
/// Reads one counter of a bus output.
type BusCounter = fn(&NatsStats) -> u64;

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
        let text = render(&status, &[], &[], None, None);
        assert!(text.contains(
            "# TYPE harrier_events_total counter\nharrier_events_total{kind=\"exec\"} 3\n"
        ));
        assert!(text.contains("# TYPE harrier_sink_pending gauge"));
        assert!(text.contains("harrier_batches_total 0"));
        assert!(!text.contains("harrier_runtime_up"));
    }

    #[test]
    fn runtime_families_name_each_endpoint() {
        let runtime = RuntimeStats {
            containers_unnamed: 2,
            endpoints: vec![EndpointStats {
                socket: "/run/containerd/containerd.sock".into(),
                kind: "cri".into(),
                errors: 3,
                ..EndpointStats::default()
            }],
            ..RuntimeStats::default()
        };
        let text = render(&AgentStatus::default(), &[], &[], Some(&runtime), None);
        assert!(text.contains("harrier_runtime_unnamed_total 2\n"), "{text}");
        assert!(text.contains(
            "harrier_runtime_errors_total{socket=\"/run/containerd/containerd.sock\",kind=\"cri\"} 3\n"
        ));
        assert!(text.contains(
            "harrier_runtime_up{socket=\"/run/containerd/containerd.sock\",kind=\"cri\"} 0\n"
        ));
    }

    #[test]
    fn enricher_and_intel_families_carry_their_counters() {
        use std::sync::Arc;
        let enricher = harrier_enrich::Enricher::new(harrier_enrich::EnrichConfig::default());
        let services = EnricherServices::replay(Arc::new(enricher));
        services.intel().count(true);
        services.intel().count(false);
        let text = render(&AgentStatus::default(), &[], &[], None, Some(&services));
        assert!(text.contains("harrier_intel_lookups_total 2\n"), "{text}");
        assert!(text.contains("harrier_intel_hits_total 1\n"), "{text}");
        assert!(text.contains("# TYPE harrier_enrich_processes_tracked gauge\n"));
        assert!(text.contains("# TYPE harrier_enrich_hash_dropped_total counter\n"));
    }
}
