//! Helpers shared by the fleet's integration tests: findings to send and a
//! reader of what the stream holds.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use harrier_findings::UnifiedFinding;
use harrier_fleet::{FleetConfig, NatsConfig};

/// A finding of `finding_type` with id `id`, revision `revision`, seen on
/// `node`, in container `container`.
pub fn finding(
    id: &str,
    revision: u32,
    node: &str,
    finding_type: &str,
    container: &str,
) -> UnifiedFinding {
    serde_json::from_value(serde_json::json!({
        "schema_version": "1.0",
        "id": id,
        "revision": revision,
        "type": finding_type,
        "severity": 8.0,
        "severity_label": "High",
        "title": "t",
        "description": "d",
        "mitre_technique": "T1059",
        "detectors": ["test@1.0.0"],
        "count": 1,
        "first_seen": "2026-01-01T00:00:00Z",
        "last_seen": "2026-01-01T00:00:00Z",
        "node": node,
        "process": {"pid": 7, "ppid": 1, "exe": "/bin/sh", "cmdline": "sh", "uid": 0, "euid": 0,
                    "user": null, "exe_sha256": null, "cwd": "/", "ancestry": []},
        "container": {"id": container, "pod_uid": null},
        "evidence": [],
        "evidence_truncated": false,
        "events": [],
        "related": []
    }))
    .expect("finding template")
}

/// The NATS settings of a test agent: the server, a spool in `spool`.
pub fn nats_config(url: &str, spool: &std::path::Path) -> NatsConfig {
    NatsConfig {
        url: url.to_string(),
        spool_dir: spool.to_path_buf(),
        cluster: "test".into(),
        ack_timeout: Duration::from_secs(1),
        drain_timeout: Duration::from_secs(2),
        duplicate_window: Duration::from_secs(600),
        ..NatsConfig::default()
    }
}

/// A runtime for the test's own client calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Creates the stream and buckets, as `harrier fleet init` does.
pub fn init(rt: &tokio::runtime::Runtime, config: &NatsConfig) {
    rt.block_on(async {
        let client = async_nats::connect(&config.url).await.unwrap();
        let js = jetstream::new(client);
        harrier_fleet::setup::ensure(&js, config, &FleetConfig::default())
            .await
            .unwrap();
    });
}

/// Every message of the findings stream: (message id, body), in stream
/// order.
pub fn stream_messages(rt: &tokio::runtime::Runtime, config: &NatsConfig) -> Vec<(String, String)> {
    rt.block_on(async {
        let client = async_nats::connect(&config.url).await.unwrap();
        let js = jetstream::new(client);
        let mut stream = js.get_stream(&config.stream).await.unwrap();
        let total = stream.info().await.unwrap().state.messages as usize;
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut messages = consumer.messages().await.unwrap();
        while out.len() < total {
            let message = tokio::time::timeout(Duration::from_secs(5), messages.next())
                .await
                .expect("stream read timed out")
                .unwrap()
                .unwrap();
            let id = message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.to_string())
                .unwrap_or_default();
            out.push((id, String::from_utf8_lossy(&message.payload).into_owned()));
        }
        out
    })
}

/// Waits until `done` holds or `limit` passes; returns whether it held.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}
