//! The NATS findings sink against a real `nats-server -js`: exactly-once
//! across a server crash, spool overflow counted exactly, a restart with a
//! full spool.

mod common;

use std::time::Duration;

use common::{finding, init, nats_config, runtime, stream_messages, wait_for};
use harrier_findings::{Format, Sinks};
use harrier_fleet::server::TestServer;
use harrier_fleet::{NatsConfig, NatsSink};

/// Starts the findings sinks with one NATS sink.
fn start(config: &NatsConfig, node: &str) -> (Sinks, NatsSink) {
    let (external, bus) = NatsSink::start(
        &format!("{}/harrier.findings.t.{node}", config.url),
        config,
        node,
        4096,
    )
    .unwrap();
    let sinks = Sinks::start_with(&[], vec![external], Format::Native).unwrap();
    (sinks, bus)
}

fn ids(messages: &[(String, String)]) -> Vec<String> {
    messages.iter().map(|(id, _)| id.clone()).collect()
}

#[test]
fn every_emission_is_stored_once_and_in_order_across_a_server_crash() {
    let mut server = TestServer::start_new(None).unwrap();
    let rt = runtime();
    let spool = tempfile::tempdir().unwrap();
    let config = nats_config(&server.url(), spool.path());
    init(&rt, &config);
    let (sinks, bus) = start(&config, "node-a");

    let expected: Vec<String> = (0..300u32)
        .map(|n| format!("node-a:{:032x}:{}", n / 3, n % 3))
        .collect();
    for n in 0..300u32 {
        if n == 100 {
            // The server dies with publishes in flight and comes back.
            server.kill();
        }
        if n == 200 {
            // Down long enough for the acks of what was published while it
            // was away (the ack timeout is 1 s) to time out.
            std::thread::sleep(Duration::from_millis(1800));
            server.start().unwrap();
        }
        sinks.emit(&finding(
            &format!("{:032x}", n / 3),
            n % 3,
            "node-a",
            "Execution:Runtime/ReverseShell",
            "c1",
        ));
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        wait_for(Duration::from_secs(20), || bus.stats().pending == 0),
        "spool not drained: {:?}",
        bus.stats()
    );
    sinks.shutdown(Duration::from_secs(2));
    let stats = bus.close();
    assert_eq!(stats.spooled, 300, "{stats:?}");
    assert_eq!(stats.overflowed, 0, "{stats:?}");
    assert!(
        stats.publish_errors > 0,
        "the outage was not noticed: {stats:?}"
    );
    let messages = stream_messages(&rt, &config);
    assert_eq!(
        ids(&messages),
        expected,
        "stream holds each emission once, in order"
    );
    let body: serde_json::Value = serde_json::from_str(&messages[0].1).unwrap();
    assert_eq!(body["node"], "node-a");
}

#[test]
fn spool_overflow_is_counted_exactly_and_a_restart_sends_what_was_kept() {
    let mut server = TestServer::start_new(None).unwrap();
    let rt = runtime();
    let spool = tempfile::tempdir().unwrap();
    let mut config = nats_config(&server.url(), spool.path());
    init(&rt, &config);
    server.kill();

    // Room for exactly 40 of these findings (all have the same size).
    let one = {
        let line = Format::Native.render_line(&finding(
            &format!("{:032x}", 0),
            0,
            "node-b",
            "Execution:Runtime/ReverseShell",
            "c1",
        ));
        let id = format!("node-b:{:032x}:0", 0);
        (4 + 2 + id.len() + 2 + "harrier.findings.t.node-b".len() + line.len()) as u64
    };
    config.spool_max_bytes = one * 40;
    config.drain_timeout = Duration::from_millis(300);
    let (sinks, bus) = start(&config, "node-b");
    for n in 0..100u32 {
        sinks.emit(&finding(
            &format!("{n:032x}"),
            0,
            "node-b",
            "Execution:Runtime/ReverseShell",
            "c1",
        ));
    }
    assert!(wait_for(Duration::from_secs(5), || {
        let s = bus.stats();
        s.spooled + s.overflowed == 100
    }));
    sinks.shutdown(Duration::from_secs(2));
    let stats = bus.close();
    assert_eq!(
        (stats.spooled, stats.overflowed, stats.pending),
        (40, 60, 40),
        "{stats:?}"
    );

    // The agent restarts with its full spool while the server is back.
    server.start().unwrap();
    let (sinks, bus) = start(&config, "node-b");
    assert_eq!(bus.stats().pending, 40);
    assert!(
        wait_for(Duration::from_secs(20), || bus.stats().pending == 0),
        "{:?}",
        bus.stats()
    );
    sinks.shutdown(Duration::from_secs(2));
    bus.close();
    let expected: Vec<String> = (0..40u32).map(|n| format!("node-b:{n:032x}:0")).collect();
    assert_eq!(ids(&stream_messages(&rt, &config)), expected);
}
