//! How an attempt ended, and over which transport. Bounded enums: usable as array indices and metric labels.

use serde::{Deserialize, Serialize};

/// Every attempt ends in exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// HTTPS 200, or MQTT CONNACK 0 (connection accepted).
    Allowed,
    /// 403.
    Forbidden,
    /// HTTPS 429, or an MQTT 5 CONNACK `0x97` (quota exceeded) / `0x9F` (connection rate exceeded).
    Throttled,
    /// Any other HTTP status.
    OtherStatus,
    /// MQTT: a CONNACK with any other non-zero return / reason code (MQTT 5 `0x87`, a broker's 3.1.1 code 4 or 5).
    Refused,
    /// MQTT: the connection closed after CONNECT without a CONNACK (how AWS refuses MQTT 3.1.1).
    ClosedWithoutConnack,
    /// Connecting, TLS, the WebSocket upgrade, or the HTTP / MQTT exchange failed.
    TransportError,
    /// No response within the request timeout.
    Timeout,
    /// Nothing was sent: no credential was available (replay-resistant tokens: the device's pre-signed pool
    /// ran out, or no valid token had been used yet that a replay could capture). Never signs on the hot path.
    Exhausted,
}

impl Outcome {
    pub const COUNT: usize = 9;
    pub const ALL: [Outcome; Self::COUNT] = [
        Self::Allowed,
        Self::Forbidden,
        Self::Throttled,
        Self::OtherStatus,
        Self::Refused,
        Self::ClosedWithoutConnack,
        Self::TransportError,
        Self::Timeout,
        Self::Exhausted,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Forbidden => "forbidden",
            Self::Throttled => "throttled",
            Self::OtherStatus => "other_status",
            Self::Refused => "refused",
            Self::ClosedWithoutConnack => "closed_without_connack",
            Self::TransportError => "transport_error",
            Self::Timeout => "timeout",
            Self::Exhausted => "exhausted",
        }
    }

    /// The authorization refused the attempt (403, a refusing CONNACK, or a close without CONNACK).
    pub const fn is_refusal(self) -> bool {
        matches!(
            self,
            Self::Forbidden | Self::Refused | Self::ClosedWithoutConnack
        )
    }

    /// The outcome of an HTTP status.
    pub fn from_status(status: u16) -> Self {
        match status {
            200 => Self::Allowed,
            403 => Self::Forbidden,
            429 => Self::Throttled,
            _ => Self::OtherStatus,
        }
    }
}
