//! Connecting to NATS with the configured credentials and TLS. Secrets are
//! read here and handed to the client; none is ever logged.

use std::time::Duration;

use anyhow::Context;
use async_nats::{Client, ConnectOptions};

use crate::config::NatsConfig;

/// How a connection should behave when the server is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Return at once and keep reconnecting in the background (agents,
    /// collectors: the server may come later).
    Retry,
    /// Fail if the server cannot be reached now (one-shot commands).
    Now,
}

/// Connects as [`connect`] does and returns the JetStream context.
pub async fn jetstream(
    config: &NatsConfig,
    name: &str,
    patience: Patience,
) -> anyhow::Result<async_nats::jetstream::Context> {
    Ok(async_nats::jetstream::new(
        connect(config, None, name, patience).await?,
    ))
}

/// Connects to `url` (or the configured one when `None`) as `name`.
pub async fn connect(
    config: &NatsConfig,
    url: Option<&str>,
    name: &str,
    patience: Patience,
) -> anyhow::Result<Client> {
    let url = url.unwrap_or(&config.url);
    let mut options = ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(2))
        .reconnect_delay_callback(|attempts| Duration::from_millis(100 * (attempts as u64).min(10)))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("nats: connected"),
                async_nats::Event::Disconnected => tracing::warn!("nats: disconnected"),
                other => tracing::debug!(event = %other, "nats"),
            }
        });
    if let Some(path) = &config.credentials_file {
        options = options
            .credentials_file(path)
            .await
            .with_context(|| format!("reading NATS credentials {}", path.display()))?;
    }
    if let Some(path) = &config.nkey_seed_file {
        let seed = std::fs::read_to_string(path)
            .with_context(|| format!("reading NATS nkey seed {}", path.display()))?;
        options = options.nkey(seed.trim().to_string());
    }
    match (&config.user, &config.password) {
        (Some(user), Some(password)) => {
            options = options.user_and_password(user.clone(), password.clone());
        }
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("[output.nats]: `user` and `password` go together");
        }
        (None, None) => {}
    }
    if config.tls_required || url.starts_with("tls://") {
        options = options.require_tls(true);
    }
    if let Some(ca) = &config.tls_ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        (None, None) => {}
        _ => anyhow::bail!("[output.nats]: `tls_cert_file` and `tls_key_file` go together"),
    }
    if patience == Patience::Retry {
        options = options.retry_on_initial_connect();
    }
    options
        .connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))
}
