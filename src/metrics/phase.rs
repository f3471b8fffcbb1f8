//! The phases of a kept connection, timed separately (µs), and what happened to each MQTT publish. Bounded
//! enums, usable as array indices next to [`crate::contract::Transport`] and [`crate::contract::Class`].

use serde::{Deserialize, Serialize};

/// A timed step of a connection or a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// `connect()` on the TCP socket.
    TcpConnect,
    /// The TLS handshake (ClientHello to Finished).
    TlsHandshake,
    /// WebSocket only: the HTTP upgrade request to its `101` answer.
    WsUpgrade,
    /// CONNECT sent to CONNACK (or the close that replaced it): the authorization latency.
    ConnectConnack,
    /// QoS 1 PUBLISH sent to its PUBACK.
    PublishPuback,
    /// PUBLISH sent to the same message coming back on the device's own subscription.
    PublishReceive,
}

impl Phase {
    pub const COUNT: usize = 6;
    pub const ALL: [Phase; Self::COUNT] = [
        Self::TcpConnect,
        Self::TlsHandshake,
        Self::WsUpgrade,
        Self::ConnectConnack,
        Self::PublishPuback,
        Self::PublishReceive,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    /// The metric name, with its unit.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TcpConnect => "tcp_connect_us",
            Self::TlsHandshake => "tls_handshake_us",
            Self::WsUpgrade => "ws_upgrade_us",
            Self::ConnectConnack => "connect_connack_us",
            Self::PublishPuback => "publish_puback_us",
            Self::PublishReceive => "publish_receive_us",
        }
    }
}

/// What happened to MQTT publishes (and deliveries) on accepted connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PubEvent {
    /// A PUBLISH was written (QoS 0 or 1).
    Sent,
    /// QoS 1: PUBACK with success.
    PubackOk,
    /// QoS 1 refused: MQTT 5 PUBACK with a failure reason code, or (3.1.1) the connection closed with the
    /// publish unacknowledged.
    PubackDenied,
    /// QoS 1: no PUBACK within the request timeout.
    PubackTimeout,
    /// A message came back on the device's own subscription.
    Received,
    /// SUBSCRIBE answered with a failure code.
    SubscribeDenied,
}

impl PubEvent {
    pub const COUNT: usize = 6;
    pub const ALL: [PubEvent; Self::COUNT] = [
        Self::Sent,
        Self::PubackOk,
        Self::PubackDenied,
        Self::PubackTimeout,
        Self::Received,
        Self::SubscribeDenied,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "published",
            Self::PubackOk => "puback_ok",
            Self::PubackDenied => "puback_denied",
            Self::PubackTimeout => "puback_timeout",
            Self::Received => "received",
            Self::SubscribeDenied => "subscribe_denied",
        }
    }
}
