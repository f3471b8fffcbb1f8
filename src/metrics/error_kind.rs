//! Why an attempt went unanswered: a bounded [`ErrorKind`] (usable as an array index and a report label) and a
//! [`Failure`] (the kind and one human sentence, e.g. `TLS: invalid peer certificate: UnknownIssuer`).
//!
//! Every `transport_error` and `timeout` outcome carries a [`Failure`]; the recorder counts them per kind and
//! keeps the first message of each kind, so a run that reached nothing says why. Messages name the step and
//! the peer address, never a credential: they are built from I/O, TLS and protocol errors only.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The step an unanswered attempt failed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The target's name did not resolve.
    Dns,
    /// The TCP connection could not be opened (refused, unreachable, reset while connecting).
    Connect,
    /// The TLS handshake failed (an untrusted or mismatching certificate, a protocol alert).
    Tls,
    /// The WebSocket upgrade failed (MQTT over WSS).
    Websocket,
    /// The HTTP exchange failed (a malformed response, a protocol error).
    Http,
    /// The MQTT exchange failed (a malformed packet, an unexpected packet instead of CONNACK).
    Mqtt,
    /// The peer closed the connection in the middle of the exchange.
    Closed,
    /// No answer within the request timeout.
    Timeout,
}

impl ErrorKind {
    pub const COUNT: usize = 8;
    pub const ALL: [ErrorKind; Self::COUNT] = [
        Self::Dns,
        Self::Connect,
        Self::Tls,
        Self::Websocket,
        Self::Http,
        Self::Mqtt,
        Self::Closed,
        Self::Timeout,
    ];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Websocket => "websocket",
            Self::Http => "http",
            Self::Mqtt => "mqtt",
            Self::Closed => "closed",
            Self::Timeout => "timeout",
        }
    }
}

/// One unanswered attempt's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// No answer within `timeout`.
    pub fn timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            ErrorKind::Timeout,
            format!("timeout: no answer within {}", seconds(timeout)),
        )
    }

    /// Still unanswered when the drain after a stop (SIGINT/SIGTERM, `--stop-file`) ran out: abandoned.
    pub fn abandoned(drain: std::time::Duration) -> Self {
        Self::new(
            ErrorKind::Timeout,
            format!(
                "timeout: abandoned, no answer within the {} drain after the stop",
                seconds(drain)
            ),
        )
    }

    /// Opening the TCP connection to `addr` failed: `connect: connection refused (127.0.0.1:1)`.
    pub fn connect(addr: SocketAddr, e: &std::io::Error) -> Self {
        Self::new(
            ErrorKind::Connect,
            format!("connect: {} ({addr})", io_text(e)),
        )
    }

    /// The TLS handshake failed: `TLS: invalid peer certificate: UnknownIssuer` when rustls refused it, else
    /// the peer's close (`TLS: handshake: connection closed by the peer`) or the I/O error.
    pub fn tls(e: &std::io::Error) -> Self {
        let text = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(r) => r.to_string(),
            None => format!("handshake: {}", io_text(e)),
        };
        Self::new(ErrorKind::Tls, format!("TLS: {text}"))
    }

    /// The peer closed (or reset) the connection during `what`.
    pub fn closed(what: &str) -> Self {
        Self::new(
            ErrorKind::Closed,
            format!("closed: the peer closed the connection {what}"),
        )
    }
}

/// An I/O error as a short lowercase phrase (`connection refused`), without the `(os error N)` suffix.
pub fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let fixed = match e.kind() {
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset by the peer",
        K::ConnectionAborted => "connection aborted",
        K::NotConnected => "not connected",
        K::AddrNotAvailable => "address not available",
        K::HostUnreachable => "host unreachable",
        K::NetworkUnreachable => "network unreachable",
        K::TimedOut => "timed out",
        K::UnexpectedEof => "connection closed by the peer",
        K::BrokenPipe => "broken pipe",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// `5 s`, `0.5 s`.
fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_dense_indices() {
        for (i, k) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        assert_eq!(ErrorKind::Tls.as_str(), "tls");
    }

    #[test]
    fn io_errors_read_as_short_phrases() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let f = Failure::connect("127.0.0.1:1".parse().unwrap(), &refused);
        assert_eq!(f.kind, ErrorKind::Connect);
        assert_eq!(f.message, "connect: connection refused (127.0.0.1:1)");
        let os = std::io::Error::from_raw_os_error(111);
        assert_eq!(io_text(&os), "connection refused");
        assert_eq!(
            io_text(&std::io::Error::other("weird (os error 99)")),
            "weird"
        );
    }

    #[test]
    fn tls_errors_name_rustls_reason() {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let f = Failure::tls(&e);
        assert_eq!(f.kind, ErrorKind::Tls);
        assert_eq!(f.message, "TLS: invalid peer certificate: UnknownIssuer");
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(
            Failure::tls(&eof).message,
            "TLS: handshake: connection closed by the peer"
        );
    }

    #[test]
    fn timeouts_say_how_long() {
        let f = Failure::timeout(std::time::Duration::from_secs(5));
        assert_eq!(f.message, "timeout: no answer within 5 s");
        assert_eq!(
            Failure::timeout(std::time::Duration::from_millis(500)).message,
            "timeout: no answer within 0.5 s"
        );
    }
}
