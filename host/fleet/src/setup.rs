//! `harrier fleet init`: creates (or checks) what the fleet needs on the
//! server: the findings stream with its duplicate window, the node status
//! and desired-packs buckets, and the pack archive object store. Run once by
//! an operator; agents need no right to create anything.

use anyhow::Context;
use async_nats::jetstream::{self, kv, object_store, stream};

use crate::config::{FleetConfig, NatsConfig};
use crate::subject::wildcard;

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
    if js.get_key_value(&fleet.status_bucket).await.is_err() {
        js.create_key_value(kv::Config {
            bucket: fleet.status_bucket.clone(),
            description: "Harrier node status, one key per node".into(),
            history: 1,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating bucket {}", fleet.status_bucket))?;
    }
    if js.get_key_value(&fleet.packs_bucket).await.is_err() {
        js.create_key_value(kv::Config {
            bucket: fleet.packs_bucket.clone(),
            description: "Harrier desired pack versions, one key per pack".into(),
            history: 16,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating bucket {}", fleet.packs_bucket))?;
    }
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
