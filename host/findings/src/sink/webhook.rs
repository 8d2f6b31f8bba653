//! The webhook sink: HTTP POST of each finding as JSON, with retries.

use std::time::Duration;

use super::worker::{Control, Deliver};
use super::{Rendered, WebhookTarget};

/// POSTs findings to one URL, retrying with exponential backoff.
pub(crate) struct Webhook {
    url: String,
    agent: ureq::Agent,
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
}

/// What one POST attempt came to.
enum Attempt {
    Delivered,
    /// Worth retrying (transport error, 408, 429, 5xx).
    Retry(String),
    /// Not worth retrying (other 4xx and unexpected statuses).
    GiveUp(String),
}

impl Webhook {
    /// Prepares a client for the target (no connection is made yet).
    pub(crate) fn new(target: &WebhookTarget) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(target.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("harrier/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            url: target.url.clone(),
            agent,
            retries: target.retries,
            backoff: target.backoff,
            max_backoff: target.max_backoff,
        }
    }

    /// One POST.
    fn attempt(&self, line: &str) -> Attempt {
        let response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(line);
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                match status {
                    200..=299 => Attempt::Delivered,
                    408 | 429 | 500..=599 => Attempt::Retry(format!("HTTP {status}")),
                    _ => Attempt::GiveUp(format!("HTTP {status}")),
                }
            }
            Err(e) => Attempt::Retry(e.to_string()),
        }
    }
}

impl Deliver for Webhook {
    fn deliver(&mut self, item: &Rendered, control: &Control) -> Result<(), String> {
        let line = item.line.as_str();
        let mut delay = self.backoff;
        let mut tries = 0;
        loop {
            let reason = match self.attempt(line) {
                Attempt::Delivered => return Ok(()),
                Attempt::GiveUp(reason) => {
                    return Err(format!("POST {}: {reason}", self.url));
                }
                Attempt::Retry(reason) => reason,
            };
            if tries >= self.retries || control.abandoned() {
                return Err(format!(
                    "POST {}: {reason} (gave up after {} attempts)",
                    self.url,
                    tries + 1
                ));
            }
            tracing::debug!(url = %self.url, %reason, ?delay, "webhook POST failed; retrying");
            if !control.sleep(delay) {
                return Err(format!(
                    "POST {}: {reason} (abandoned at shutdown)",
                    self.url
                ));
            }
            control.count_retry();
            tries += 1;
            delay = (delay * 2).min(self.max_backoff);
        }
    }
}
