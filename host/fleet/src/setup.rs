//! `harrier fleet init`: creates (or checks) what the fleet needs on the
//! server: the findings stream with its duplicate window, the node status
//! and desired-packs buckets, and the pack archive object store. Run once by
//! an operator; agents need no right to create anything.

use anyhow::Context;
use std::time::Duration;

use async_nats::jetstream::{self, kv, object_store, stream};

use crate::config::{FleetConfig, NatsConfig};
use crate::subject::wildcard;

/// Creates a key-value bucket unless it exists. The bucket's stream is
/// created directly (the layout `async-nats` gives buckets): the client's
/// own `create_key_value` first asks for the account's limits, and its
/// parser refuses nats-server 2.9's answer.
pub async fn key_value(
    js: &jetstream::Context,
    bucket: &str,
    description: &str,
    history: i64,
    max_age: Duration,
) -> anyhow::Result<kv::Store> {
    if let Ok(store) = js.get_key_value(bucket).await {
        return Ok(store);
    }
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(description.to_string()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: history,
        max_age,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .with_context(|| format!("creating bucket {bucket}"))?;
    js.get_key_value(bucket)
        .await
        .with_context(|| format!("opening bucket {bucket}"))
}

/// Creates whatever is missing; existing ones are left as they are.
pub async fn ensure(
    js: &jetstream::Context,
    nats: &NatsConfig,
    fleet: &FleetConfig,
) -> anyhow::Result<()> {
    js.get_or_create_stream(stream::Config {
        name: nats.stream.clone(),
        subjects: vec![wildcard(&nats.subject)],
        duplicate_window: nats.duplicate_window,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .with_context(|| format!("creating stream {}", nats.stream))?;
    key_value(
        js,
        &fleet.status_bucket,
        "Harrier node status, one key per node",
        1,
        Duration::ZERO,
    )
    .await?;
    key_value(
        js,
        &fleet.packs_bucket,
        "Harrier desired pack versions, one key per pack",
        16,
        Duration::ZERO,
    )
    .await?;
    if js.get_object_store(&fleet.packs_store).await.is_err() {
        js.create_object_store(object_store::Config {
            bucket: fleet.packs_store.clone(),
            description: Some("Harrier signed pack archives".into()),
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating object store {}", fleet.packs_store))?;
    }
    Ok(())
}
