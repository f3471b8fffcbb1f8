//! `[mqtt] reconnect`, `[[mqtt.storms]]` and `devices_per_client_id`: how MQTT devices come back after losing
//! their session, what drops every session at once, and client ids shared between devices (each connect kicks
//! the other). Checked and resolved by [`crate::scenario::reconnect`]. Unset, all three are left out of the
//! resolved scenario, so reports of scenarios without them are unchanged.

use serde::{Deserialize, Serialize};

/// How a device waits before it reconnects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    /// At once (within the client id's one CONNECT per second and the connect pacer).
    #[default]
    None,
    /// base · 2ⁿ⁻¹ after the n-th loss in a row, capped at max, `jitter` of it random.
    Exponential,
}

/// `[mqtt] reconnect = { backoff = "exponential", base_ms = 1000, max_ms = 120000, jitter = 1.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectSection {
    pub backoff: BackoffKind,
    /// The first wait, ms (the AWS IoT Device SDKs' MQTT 5 client: 1000).
    pub base_ms: u64,
    /// The longest wait, ms (the SDKs' MQTT 5 client: 120000; the older SDKs 128000).
    pub max_ms: u64,
    /// The part of each wait drawn at random: 1 full jitter (the SDKs' MQTT 5 client), 0 none.
    pub jitter: f64,
}

impl Default for ReconnectSection {
    fn default() -> Self {
        Self {
            backoff: BackoffKind::None,
            base_ms: 1000,
            max_ms: 120_000,
            jitter: 1.0,
        }
    }
}

impl ReconnectSection {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// `[[mqtt.storms]]`: every MQTT session dropped at once, `at_s` into the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StormSection {
    /// When, s after the load starts.
    pub at_s: f64,
    /// The storm's window, s: reconnects and authorizer invocations within it are the storm's (default 30;
    /// cut at the next storm and at the run's end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
}
