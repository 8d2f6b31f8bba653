//! The fleet's configuration: `[output.nats]` (the server, credentials, the
//! findings stream and the spool), `[fleet]` (node status and pack rollout)
//! and `[collector]`. Every key has a default; `config/harrier.toml`
//! documents them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use harrier_findings::duration;

/// `[output.nats]`: how to reach NATS and where findings go on it.
///
/// The server and credentials here are used by everything that talks to
/// the bus: the findings sink, `[fleet]`, `harrier collector` and
/// `harrier fleet`. Credentials are read from files or this section and are
/// never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// Server URL, `nats://HOST:PORT` (or `tls://`), used when an `-o nats://`
    /// sink does not name one and by `[fleet]` and the collector.
    pub url: String,
    /// A `.creds` file (user JWT and nkey seed).
    pub credentials_file: Option<PathBuf>,
    /// User name (with `password`).
    pub user: Option<String>,
    /// Password of `user`.
    pub password: Option<String>,
    /// A file holding an nkey seed (`SU...`).
    pub nkey_seed_file: Option<PathBuf>,
    /// Refuse a connection without TLS.
    pub tls_required: bool,
    /// PEM file of the CA that signed the server's certificate.
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate (with `tls_key_file`) for mutual TLS.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// The JetStream stream holding findings.
    pub stream: String,
    /// Subject findings are published on; `{node}` and `{cluster}` are
    /// replaced (dots and wildcards in names become `_`).
    pub subject: String,
    /// Cluster name written in node status and usable in `subject`.
    pub cluster: String,
    /// Directory of the on-disk spool (one per agent).
    pub spool_dir: PathBuf,
    /// Most bytes the spool holds; findings that do not fit are counted as
    /// overflow and reported, never silently dropped.
    pub spool_max_bytes: u64,
    /// Publishes in flight before waiting for their acks.
    pub publish_window: usize,
    /// How long to wait for a server's ack before retrying.
    #[serde(with = "duration")]
    pub ack_timeout: Duration,
    /// How long an exiting agent keeps trying to empty its spool; what is
    /// left is sent by the next start.
    #[serde(with = "duration")]
    pub drain_timeout: Duration,
    /// Server-side duplicate window of the stream (set by `harrier fleet
    /// init`): a finding retried within it is stored once.
    #[serde(with = "duration")]
    pub duplicate_window: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
            credentials_file: None,
            user: None,
            password: None,
            nkey_seed_file: None,
            tls_required: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            stream: "HARRIER_FINDINGS".into(),
            subject: "harrier.findings.{cluster}.{node}".into(),
            cluster: "default".into(),
            spool_dir: PathBuf::from("/var/lib/harrier/spool"),
            spool_max_bytes: 64 * 1024 * 1024,
            publish_window: 256,
            ack_timeout: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(5),
            duplicate_window: Duration::from_secs(24 * 3600),
        }
    }
}

/// `[fleet]`: this agent as a member of a fleet (node status, pack
/// rollout). Uses the server and credentials of `[output.nats]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// Join the fleet: publish node status and follow pack rollouts.
    pub enabled: bool,
    /// Key-value bucket of node status records (one key per node).
    pub status_bucket: String,
    /// Key-value bucket of desired pack versions (one key per pack).
    pub packs_bucket: String,
    /// Object store of signed pack archives.
    pub packs_store: String,
    /// How often the node status is written.
    #[serde(with = "duration")]
    pub heartbeat_interval: Duration,
    /// A node whose status is older than this is flagged stale by
    /// `harrier fleet status`.
    #[serde(with = "duration")]
    pub stale_after: Duration,
    /// Labels of this node, matched by canary selectors
    /// (`harrier fleet publish --select key=value`); `node` and `cluster`
    /// are always set.
    pub labels: std::collections::BTreeMap<String, String>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            status_bucket: "harrier-status".into(),
            packs_bucket: "harrier-packs".into(),
            packs_store: "harrier-packs".into(),
            heartbeat_interval: Duration::from_secs(10),
            stale_after: Duration::from_secs(60),
            labels: Default::default(),
        }
    }
}

/// `[collector]`: `harrier collector`, the cluster-wide consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// Durable consumer name; collectors sharing it share the work.
    pub durable: String,
    /// Messages fetched per batch.
    pub batch: usize,
    /// A message not acked within this is redelivered (to any collector).
    #[serde(with = "duration")]
    pub ack_wait: Duration,
    /// Findings of one type on one workload within this window merge into
    /// one cluster finding; findings of several types on one workload or
    /// namespace within it form a cluster attack sequence.
    #[serde(with = "duration")]
    pub window: Duration,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            durable: "harrier-collector".into(),
            batch: 256,
            ack_wait: Duration::from_secs(30),
            window: Duration::from_secs(600),
        }
    }
}
