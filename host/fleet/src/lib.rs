//! Harrier across a cluster, over NATS JetStream.
//!
//! - [`NatsSink`]: the agent's findings sink. Each emission is spooled to
//!   disk ([`spool`]) and published in order with a message id derived from
//!   the node, the finding id and its revision ([`subject::message_id`]), so
//!   the stream's duplicate window makes retries exactly-once. Detection never
//!   waits on the bus: the findings crate's sink thread only appends to the
//!   spool. The sink plugs into `harrier-findings` through its
//!   [`harrier_findings::ExternalSink`] trait; another bus (Kafka) would be one
//!   more implementation of it.
//! - [`member`]: the agent as a fleet member: its status record in the
//!   status bucket ([`status`]) and pack rollouts ([`rollout`]) verified with
//!   the node's own trust store and installed into its local packs store.
//! - [`collector`]: `harrier collector`, the durable consumer with
//!   cluster-wide merging and attack sequences ([`cluster`]).
//! - [`setup`]: what an operator creates once (`harrier fleet init`);
//!   [`server`]: a private `nats-server` for tests and benchmarks.
//!
//! Credentials are read from files or the configuration and never logged.

#![warn(missing_docs)]

pub mod cluster;
pub mod collector;
pub mod config;
pub mod connect;
pub mod member;
pub mod rollout;
pub mod server;
pub mod setup;
mod sink;
pub mod spool;
pub mod status;
pub mod subject;

pub use config::{CollectorConfig, FleetConfig, NatsConfig};
pub use sink::{NatsSink, NatsStats};
