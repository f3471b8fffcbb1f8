//! The emulator's counters, served as Prometheus text on the admin listener (`GET /metrics`).
//!
//! Enum-indexed atomics: the hot path never builds a string key. Labels come from bounded sets (transports,
//! outcomes, gate reasons) and from the authorizer names fixed at start.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::alpn::TlsRefusal;
use crate::contract::{GateRejection, Listener, Route, Transport};
use crate::metrics::prometheus::{self, escape_label};

/// Why an MQTT connection ended (a bounded set: it labels metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client sent DISCONNECT or closed the socket.
    Client,
    /// CONNECT refused (gate, authorizer, policy, malformed, client id).
    Refused,
    /// A malformed packet or a protocol violation (QoS 2, an invalid topic, a second CONNECT).
    ProtocolError,
    /// A packet or payload over the 128 KB limit.
    TooLarge,
    /// No CONNECT in time, or nothing for 1.5 × keep-alive.
    Timeout,
    /// A PUBLISH the policy denies (MQTT 3.1.1).
    PublishDenied,
    /// Another connection with the same client id.
    Kicked,
    /// The policy refresh failed.
    RefreshFailed,
    /// `disconnectAfterInSeconds` elapsed.
    DisconnectAfter,
    /// The emulator is shutting down.
    Shutdown,
    /// A storm dropped every session at once (`POST /storm`, a scenario's `[[mqtt.storms]]`).
    Storm,
}

impl CloseReason {
    pub const ALL: [CloseReason; 11] = [
        Self::Client,
        Self::Refused,
        Self::ProtocolError,
        Self::TooLarge,
        Self::Timeout,
        Self::PublishDenied,
        Self::Kicked,
        Self::RefreshFailed,
        Self::DisconnectAfter,
        Self::Shutdown,
        Self::Storm,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Refused => "refused",
            Self::ProtocolError => "protocol_error",
            Self::TooLarge => "too_large",
            Self::Timeout => "timeout",
            Self::PublishDenied => "publish_denied",
            Self::Kicked => "kicked",
            Self::RefreshFailed => "refresh_failed",
            Self::DisconnectAfter => "disconnect_after",
            Self::Shutdown => "shutdown",
            Self::Storm => "storm",
        }
    }
}

/// How a data-plane request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// 200: signature, authorizer and policy all allowed it.
    Allowed,
    /// 403 without invoking the authorizer.
    GateRejected,
    /// 403: the authorizer said no, answered invalidly, or timed out.
    AuthorizerDenied,
    /// 403: authenticated, but the policies do not allow `iot:Publish` on the topic.
    PolicyDenied,
    /// 400: malformed request (empty topic, bad qos).
    BadRequest,
    /// 413: body over 128 KB.
    PayloadTooLarge,
    /// 404 / 405: not a publish request.
    NotFound,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Self::Allowed,
        Self::GateRejected,
        Self::AuthorizerDenied,
        Self::PolicyDenied,
        Self::BadRequest,
        Self::PayloadTooLarge,
        Self::NotFound,
    ];
    pub const COUNT: usize = Self::ALL.len();

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::GateRejected => "gate_rejected",
            Self::AuthorizerDenied => "authorizer_denied",
            Self::PolicyDenied => "policy_denied",
            Self::BadRequest => "bad_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::NotFound => "not_found",
        }
    }
}

/// Every counter the emulator keeps.
#[derive(Debug)]
pub struct EmulatorMetrics {
    authorizer_names: Vec<String>,
    invocations: Vec<AtomicU64>,
    cache_hits: Vec<AtomicU64>,
    gate: [AtomicU64; GateRejection::COUNT],
    /// Per [`Route::LABELLED`] label.
    requests: [[AtomicU64; Outcome::COUNT]; Route::LABELLED.len()],
    /// MQTT sessions past CONNACK, now (a gauge), per transport.
    sessions: [AtomicI64; Transport::COUNT],
    closes: [[AtomicU64; CloseReason::COUNT]; Transport::COUNT],
    /// Connections refused at accept because the listener was at its connection cap.
    refused: [AtomicU64; Listener::COUNT],
    /// TLS connections refused, per listener (HTTPS and MQTT/TLS only) and reason.
    tls_refused: [[AtomicU64; TlsRefusal::COUNT]; Listener::COUNT],
    /// Storms triggered (every MQTT session dropped at once).
    storms: AtomicU64,
    /// TLS handshakes completed, per listener: [full, resumed].
    handshakes: [[AtomicU64; 2]; Listener::COUNT],
}

impl EmulatorMetrics {
    /// One invocation counter per authorizer, in configuration order.
    pub fn new(authorizer_names: Vec<String>) -> Self {
        let n = authorizer_names.len();
        Self {
            invocations: (0..n).map(|_| AtomicU64::new(0)).collect(),
            cache_hits: (0..n).map(|_| AtomicU64::new(0)).collect(),
            authorizer_names,
            gate: Default::default(),
            requests: Default::default(),
            sessions: Default::default(),
            closes: Default::default(),
            refused: Default::default(),
            tls_refused: Default::default(),
            storms: AtomicU64::new(0),
            handshakes: Default::default(),
        }
    }

    /// A TLS handshake completed on `listener`; `resumed`: by a session the client kept (no certificate sent).
    pub fn record_handshake(&self, listener: Listener, resumed: bool) {
        self.handshakes[listener.index()][usize::from(resumed)].fetch_add(1, Ordering::Relaxed);
    }

    /// TLS handshakes completed on `listener`: (full, resumed).
    pub fn handshakes(&self, listener: Listener) -> (u64, u64) {
        let [full, resumed] = &self.handshakes[listener.index()];
        (
            full.load(Ordering::Relaxed),
            resumed.load(Ordering::Relaxed),
        )
    }

    pub fn record_invocation(&self, authorizer: usize) {
        if let Some(c) = self.invocations.get(authorizer) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn record_cache_hit(&self, authorizer: usize) {
        if let Some(c) = self.cache_hits.get(authorizer) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn record_gate_rejection(&self, reason: GateRejection) {
        self.gate[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_request(&self, route: Route, outcome: Outcome) {
        self.requests[route.label_index()][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// An MQTT session was accepted (CONNACK 0 sent).
    pub fn session_opened(&self, route: Route) {
        self.sessions[route.transport.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// An MQTT session ended.
    pub fn session_closed(&self, route: Route) {
        self.sessions[route.transport.index()].fetch_sub(1, Ordering::Relaxed);
    }

    /// An MQTT connection ended (accepted or not), and why.
    pub fn record_close(&self, route: Route, reason: CloseReason) {
        self.closes[route.transport.index()][reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A storm was triggered.
    pub fn record_storm(&self) {
        self.storms.fetch_add(1, Ordering::Relaxed);
    }

    pub fn storms(&self) -> u64 {
        self.storms.load(Ordering::Relaxed)
    }

    /// A connection was refused at accept: `listener` was at its connection cap.
    pub fn record_connection_refused(&self, listener: Listener) {
        self.refused[listener.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A TLS connection was refused on `listener` (a failed handshake, or no ALPN `mqtt` where it is required).
    pub fn record_tls_refusal(&self, listener: Listener, reason: TlsRefusal) {
        self.tls_refused[listener.index()][reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn tls_refusals(&self, listener: Listener, reason: TlsRefusal) -> u64 {
        self.tls_refused[listener.index()][reason as usize].load(Ordering::Relaxed)
    }

    pub fn connections_refused(&self, listener: Listener) -> u64 {
        self.refused[listener.index()].load(Ordering::Relaxed)
    }

    /// MQTT sessions open now on `transport`.
    pub fn sessions(&self, route: Route) -> i64 {
        self.sessions[route.transport.index()].load(Ordering::Relaxed)
    }

    pub fn closes(&self, route: Route, reason: CloseReason) -> u64 {
        self.closes[route.transport.index()][reason as usize].load(Ordering::Relaxed)
    }

    /// Invocations of one authorizer (by name); 0 for unknown names.
    pub fn invocations(&self, authorizer: &str) -> u64 {
        self.authorizer_names
            .iter()
            .position(|n| n == authorizer)
            .map_or(0, |i| self.invocations[i].load(Ordering::Relaxed))
    }

    /// Invocations of every authorizer together.
    pub fn invocations_total(&self) -> u64 {
        self.invocations
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    pub fn gate_rejections(&self, reason: GateRejection) -> u64 {
        self.gate[reason.index()].load(Ordering::Relaxed)
    }

    pub fn requests(&self, route: Route, outcome: Outcome) -> u64 {
        self.requests[route.label_index()][outcome as usize].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition format (version 0.0.4). Every label combination is present, zeros too.
    pub fn render_prometheus(&self) -> String {
        // Long on purpose: the metric families in the order /metrics shows them, each HELP and TYPE beside its
        // lines; split up, the exposition's shape would no longer be readable in one place.
        let mut out = String::with_capacity(4096);
        prometheus::family(
            &mut out,
            "tokenstorm_authorizer_invocations_total",
            "counter",
            "Authorizer function invocations.",
        );
        for (name, c) in self.authorizer_names.iter().zip(&self.invocations) {
            let _ = writeln!(
                out,
                "tokenstorm_authorizer_invocations_total{{authorizer=\"{}\"}} {}",
                escape_label(name),
                c.load(Ordering::Relaxed)
            );
        }
        prometheus::family(
            &mut out,
            "tokenstorm_authorizer_cache_hits_total",
            "counter",
            "HTTPS publishes served from the per-connection authorizer cache (enableCachingForHttp).",
        );
        for (name, c) in self.authorizer_names.iter().zip(&self.cache_hits) {
            let _ = writeln!(
                out,
                "tokenstorm_authorizer_cache_hits_total{{authorizer=\"{}\"}} {}",
                escape_label(name),
                c.load(Ordering::Relaxed)
            );
        }
        prometheus::family(
            &mut out,
            "tokenstorm_gate_rejections_total",
            "counter",
            "Requests refused by the signature gate, never reaching the authorizer.",
        );
        for reason in GateRejection::ALL {
            let _ = writeln!(
                out,
                "tokenstorm_gate_rejections_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.gate_rejections(reason)
            );
        }
        prometheus::family(
            &mut out,
            "tokenstorm_requests_total",
            "counter",
            "Data-plane requests by transport and outcome: HTTPS publishes, MQTT CONNECTs and PUBLISHes.",
        );
        for route in Route::LABELLED {
            for outcome in Outcome::ALL {
                let _ = writeln!(
                    out,
                    "tokenstorm_requests_total{{transport=\"{}\",outcome=\"{}\"}} {}",
                    route.label(),
                    outcome.as_str(),
                    self.requests(route, outcome)
                );
            }
        }
        prometheus::family(
            &mut out,
            "tokenstorm_mqtt_sessions",
            "gauge",
            "MQTT sessions open now (past CONNACK 0).",
        );
        for transport in Transport::MQTT {
            let _ = writeln!(
                out,
                "tokenstorm_mqtt_sessions{{transport=\"{}\"}} {}",
                transport.as_str(),
                self.sessions(Route::of(transport))
            );
        }
        prometheus::family(
            &mut out,
            "tokenstorm_mqtt_connections_closed_total",
            "counter",
            "MQTT connections ended, by transport and reason.",
        );
        for transport in Transport::MQTT {
            for reason in CloseReason::ALL {
                let _ = writeln!(
                    out,
                    "tokenstorm_mqtt_connections_closed_total{{transport=\"{}\",reason=\"{}\"}} {}",
                    transport.as_str(),
                    reason.as_str(),
                    self.closes(Route::of(transport), reason)
                );
            }
        }
        prometheus::family(
            &mut out,
            "tokenstorm_mqtt_storms_total",
            "counter",
            "Storms triggered: every MQTT session dropped at once (POST /storm, [[mqtt.storms]]); the sessions dropped are closed_total{reason=\"storm\"}, the kicks closed_total{reason=\"kicked\"}.",
        );
        let _ = writeln!(out, "tokenstorm_mqtt_storms_total {}", self.storms());
        prometheus::family(
            &mut out,
            "tokenstorm_connections_refused_total",
            "counter",
            "Connections refused at accept because the listener was at its connection cap.",
        );
        for listener in Listener::ALL {
            let _ = writeln!(
                out,
                "tokenstorm_connections_refused_total{{listener=\"{}\"}} {}",
                listener.as_str(),
                self.connections_refused(listener)
            );
        }
        prometheus::family(
            &mut out,
            "tokenstorm_tls_refusals_total",
            "counter",
            "TLS connections refused, by listener and reason (no_alpn: the MQTT/TLS listener requires ALPN mqtt).",
        );
        for listener in [Listener::Https, Listener::MqttTls] {
            for reason in TlsRefusal::ALL {
                let _ = writeln!(
                    out,
                    "tokenstorm_tls_refusals_total{{listener=\"{}\",reason=\"{}\"}} {}",
                    listener.as_str(),
                    reason.as_str(),
                    self.tls_refusals(listener, reason)
                );
            }
        }
        prometheus::family(
            &mut out,
            "tokenstorm_tls_handshakes_total",
            "counter",
            "TLS handshakes completed, by listener and kind (resumed: by a session the client kept, no certificate sent).",
        );
        for listener in [Listener::Https, Listener::MqttTls] {
            let (full, resumed) = self.handshakes(listener);
            for (kind, n) in [("full", full), ("resumed", resumed)] {
                let _ = writeln!(
                    out,
                    "tokenstorm_tls_handshakes_total{{listener=\"{}\",kind=\"{kind}\"}} {n}",
                    listener.as_str(),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_label_with_counts() {
        let m = EmulatorMetrics::new(vec!["A".into(), "we\"ird".into()]);
        m.record_invocation(0);
        m.record_invocation(0);
        m.record_invocation(7);
        m.record_gate_rejection(GateRejection::SignatureMismatch);
        m.record_request(Route::PLAIN_HTTP, Outcome::Allowed);
        let text = m.render_prometheus();
        assert!(text.contains("tokenstorm_authorizer_invocations_total{authorizer=\"A\"} 2\n"));
        assert!(
            text.contains("tokenstorm_authorizer_invocations_total{authorizer=\"we\\\"ird\"} 0\n")
        );
        assert!(
            text.contains("tokenstorm_gate_rejections_total{reason=\"signature_mismatch\"} 1\n")
        );
        assert!(
            text.contains("tokenstorm_gate_rejections_total{reason=\"inactive_authorizer\"} 0\n")
        );
        assert!(
            text.contains("tokenstorm_requests_total{transport=\"http\",outcome=\"allowed\"} 1\n")
        );
        assert!(text.contains(
            "tokenstorm_requests_total{transport=\"https\",outcome=\"policy_denied\"} 0\n"
        ));
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(
            samples,
            2 + 2
                + GateRejection::COUNT
                + Route::LABELLED.len() * Outcome::COUNT
                + Transport::MQTT.len() * (1 + CloseReason::COUNT)
                + 4 // connections refused per listener (https, http, mqtt_tls, mqtt)
                + 2 * TlsRefusal::COUNT // TLS refusals on https and mqtt_tls
                + 1 // storms
                + 2 * 2 // TLS handshakes on https and mqtt_tls, full and resumed
        );
        m.record_handshake(Listener::MqttTls, true);
        m.record_handshake(Listener::MqttTls, false);
        m.record_handshake(Listener::MqttTls, true);
        assert_eq!(m.handshakes(Listener::MqttTls), (1, 2));
        assert!(m.render_prometheus().contains(
            "tokenstorm_tls_handshakes_total{listener=\"mqtt_tls\",kind=\"resumed\"} 2\n"
        ));
        m.record_storm();
        assert!(
            m.render_prometheus()
                .contains("tokenstorm_mqtt_storms_total 1\n")
        );
        m.session_opened(Route::of(Transport::Wss));
        m.record_close(Route::of(Transport::Mqtt), CloseReason::Kicked);
        let text = m.render_prometheus();
        assert!(text.contains("tokenstorm_mqtt_sessions{transport=\"wss\"} 1\n"));
        assert!(text.contains(
            "tokenstorm_mqtt_connections_closed_total{transport=\"mqtt\",reason=\"kicked\"} 1\n"
        ));
        assert!(
            text.contains(
                "tokenstorm_requests_total{transport=\"mqtt_tls\",outcome=\"allowed\"} 0\n"
            )
        );
        assert_eq!(m.invocations("A"), 2);
        assert_eq!(m.invocations_total(), 2);
    }
}
