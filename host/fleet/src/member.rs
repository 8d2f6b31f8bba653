//! The agent as a fleet member (`[fleet] enabled`): writes its status
//! record under its own key of the status bucket every heartbeat, and
//! follows the packs bucket: a release meant for this node is downloaded,
//! verified against the node's **own** trust store and installed
//! atomically into the local packs store by `harrier-packs` (the same path
//! as `harrier pack install`); the agent's pack watcher then hot-swaps it.
//! A pack that fails verification is refused, the version serving keeps
//! serving, and the reason goes into the status record.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use harrier_packs::{TrustStore, VerifyOptions};
use tokio::io::AsyncReadExt;

use crate::config::{FleetConfig, NatsConfig};
use crate::connect::{Patience, connect};
use crate::rollout::{Desired, Release};
use crate::status::{LocalStatus, NodeStatus, RolloutOutcome, now_ms};
use crate::subject::token;

/// Where fleet packs are installed and what verifies them.
#[derive(Debug, Clone)]
pub struct PackTarget {
    /// The local packs store (`[packs] dir`), watched by the agent.
    pub packs_dir: PathBuf,
    /// The local trust store directory.
    pub trust_dir: PathBuf,
    /// Verification options (WIT version, limits, unsigned policy).
    pub verify: VerifyOptions,
}

/// Gathers the agent's side of its status.
pub type LocalStatusFn = Box<dyn Fn() -> LocalStatus + Send + Sync>;

/// The running membership: one thread with its own runtime.
#[derive(Debug)]
pub struct Member {
    stop: Arc<tokio::sync::Notify>,
    thread: Option<JoinHandle<()>>,
}

/// Who this member is.
struct Identity {
    node: String,
    cluster: String,
    labels: BTreeMap<String, String>,
}

impl Member {
    /// Starts writing status and following rollouts. Never waits for the
    /// server: while it is away the member keeps trying.
    pub fn start(
        nats: &NatsConfig,
        fleet: &FleetConfig,
        node: &str,
        packs: Option<PackTarget>,
        local: LocalStatusFn,
    ) -> anyhow::Result<Member> {
        let mut labels = fleet.labels.clone();
        labels.insert("node".into(), node.to_string());
        labels.insert("cluster".into(), nats.cluster.clone());
        let identity = Identity {
            node: node.to_string(),
            cluster: nats.cluster.clone(),
            labels,
        };
        let stop = Arc::new(tokio::sync::Notify::new());
        let task = Task {
            nats: nats.clone(),
            fleet: fleet.clone(),
            identity,
            packs,
            local,
            rollouts: BTreeMap::new(),
            applied: BTreeMap::new(),
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("fleet member".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(task.run()),
                    Err(e) => tracing::error!(error = %e, "fleet: cannot start its runtime"),
                }
            })?;
        Ok(Member {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the member (after a last status write).
    pub fn stop(mut self) {
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Task {
    nats: NatsConfig,
    fleet: FleetConfig,
    identity: Identity,
    packs: Option<PackTarget>,
    local: LocalStatusFn,
    rollouts: BTreeMap<String, RolloutOutcome>,
    /// Archive sha256 last handled per pack (installed or refused), so one
    /// release is tried once.
    applied: BTreeMap<String, String>,
    stop: Arc<tokio::sync::Notify>,
}

impl Task {
    async fn run(mut self) {
        let client = match connect(
            &self.nats,
            None,
            &format!("harrier-fleet {}", self.identity.node),
            Patience::Retry,
        )
        .await
        {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "fleet: cannot connect; not joining");
                return;
            }
        };
        let js = jetstream::new(client);
        let mut tick = tokio::time::interval(self.fleet.heartbeat_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut status: Option<kv::Store> = None;
        let mut watch: Option<kv::Watch> = None;
        let stop = self.stop.clone();
        loop {
            tokio::select! {
                _ = stop.notified() => break,
                _ = tick.tick() => {
                    if status.is_none() {
                        status = js.get_key_value(&self.fleet.status_bucket).await.ok();
                    }
                    if watch.is_none() && self.packs.is_some() {
                        watch = self.open_watch(&js).await;
                    }
                    self.write_status(status.as_ref()).await;
                }
                entry = next_entry(&mut watch) => match entry {
                    Some(entry) => {
                        self.apply(&js, entry).await;
                        self.write_status(status.as_ref()).await;
                    }
                    None => watch = None,
                },
            }
        }
        self.write_status(status.as_ref()).await;
    }

    async fn open_watch(&self, js: &jetstream::Context) -> Option<kv::Watch> {
        let kv = js.get_key_value(&self.fleet.packs_bucket).await.ok()?;
        match kv.watch_all().await {
            Ok(watch) => Some(watch),
            Err(e) => {
                tracing::debug!(error = %e, "fleet: cannot watch the packs bucket yet");
                None
            }
        }
    }

    async fn write_status(&self, bucket: Option<&kv::Store>) {
        let Some(bucket) = bucket else { return };
        let local = (self.local)();
        let record = NodeStatus {
            node: self.identity.node.clone(),
            cluster: self.identity.cluster.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            labels: self.identity.labels.clone(),
            updated_ms: now_ms(),
            detectors: local.detectors,
            packs: local.packs,
            drops: local.drops,
            last_error: local.last_error,
            rollouts: self.rollouts.clone(),
        };
        let Ok(bytes) = serde_json::to_vec(&record) else {
            return;
        };
        if let Err(e) = bucket.put(token(&self.identity.node), bytes.into()).await {
            tracing::debug!(error = %e, "fleet: status not written (server away?)");
        }
    }

    /// Handles one record of the packs bucket.
    async fn apply(&mut self, js: &jetstream::Context, entry: kv::Entry) {
        if entry.operation != kv::Operation::Put {
            return;
        }
        let desired: Desired = match serde_json::from_slice(&entry.value) {
            Ok(desired) => desired,
            Err(e) => {
                tracing::warn!(key = %entry.key, error = %e, "fleet: unreadable pack record ignored");
                return;
            }
        };
        let Some(release) = desired.for_node(&self.identity.labels).cloned() else {
            return;
        };
        if self.applied.get(&desired.pack) == Some(&release.sha256) {
            return;
        }
        let outcome = match self.install(js, &desired.pack, &release).await {
            Ok(()) => {
                tracing::info!(pack = %desired.pack, version = %release.version, "fleet: pack installed");
                RolloutOutcome {
                    version: release.version.clone(),
                    state: "installed".into(),
                    reason: None,
                    at: harrier_findings::rfc3339(now_ms() * 1_000_000),
                }
            }
            Err(e) => {
                let reason = format!("{e:#}");
                tracing::error!(pack = %desired.pack, version = %release.version, %reason, "fleet: pack refused; the version serving keeps serving");
                RolloutOutcome {
                    version: release.version.clone(),
                    state: "refused".into(),
                    reason: Some(reason),
                    at: harrier_findings::rfc3339(now_ms() * 1_000_000),
                }
            }
        };
        self.applied
            .insert(desired.pack.clone(), release.sha256.clone());
        self.rollouts.insert(desired.pack, outcome);
    }

    /// Downloads, checks and installs one release.
    async fn install(
        &self,
        js: &jetstream::Context,
        pack: &str,
        release: &Release,
    ) -> anyhow::Result<()> {
        let target = self.packs.clone().context("no packs store configured")?;
        let store = js
            .get_object_store(&self.fleet.packs_store)
            .await
            .with_context(|| format!("object store {}", self.fleet.packs_store))?;
        let mut object = store
            .get(&release.object)
            .await
            .with_context(|| format!("downloading {}", release.object))?;
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .with_context(|| format!("downloading {}", release.object))?;
        let sha256 = harrier_packs::verify::sha256_hex(&bytes);
        anyhow::ensure!(
            sha256 == release.sha256,
            "download of {} has sha256 {sha256}, the record says {}",
            release.object,
            release.sha256
        );
        let pack = pack.to_string();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let dir = tempfile::tempdir()?;
            let archive = dir.path().join(format!("{pack}.tar.gz"));
            std::fs::write(&archive, &bytes)?;
            let trust = TrustStore::load(&target.trust_dir)?;
            harrier_packs::install(&archive, &target.packs_dir, &trust, &target.verify)?;
            Ok(())
        })
        .await
        .context("install task")?
    }
}

/// The next entry of the watch, or never when there is none.
async fn next_entry(watch: &mut Option<kv::Watch>) -> Option<kv::Entry> {
    match watch {
        Some(watch) => match watch.next().await {
            Some(Ok(entry)) => Some(entry),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "fleet: packs watch ended");
                None
            }
            None => None,
        },
        None => std::future::pending().await,
    }
}
