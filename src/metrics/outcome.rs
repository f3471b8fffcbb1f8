//! How an attempt ended, and over which transport. Bounded enums: usable as array indices and metric labels.

use serde::{Deserialize, Serialize};

/// Every attempt ends in exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 200.
    Allowed,
    /// 403.
    Forbidden,
    /// 429.
    Throttled,
    /// Any other HTTP status.
    OtherStatus,
    /// Connecting, TLS or the HTTP exchange failed.
    TransportError,
    /// No response within the request timeout.
    Timeout,
}

impl Outcome {
    pub const COUNT: usize = 6;
    pub const ALL: [Outcome; Self::COUNT] = [
        Self::Allowed,
        Self::Forbidden,
        Self::Throttled,
        Self::OtherStatus,
        Self::TransportError,
        Self::Timeout,
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
            Self::TransportError => "transport_error",
            Self::Timeout => "timeout",
        }
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

/// The transport an attempt used (MQTT and WebSocket come later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Https,
}

impl Transport {
    pub const COUNT: usize = 1;
    pub const ALL: [Transport; Self::COUNT] = [Self::Https];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Https => "https",
        }
    }
}
