//! Transports, and the emulator listeners that carry them. [`Transport`] is the one transport type of the crate:
//! what an attempt speaks, what report rows and ledger entries name. A [`Route`] is a transport as one
//! [`Listener`] carries it, which is how the emulator labels `/metrics` and the ledger (plain HTTP publish on the
//! tool listener is `http`) and what a fuzz case targets (MQTT by ALPN on the HTTPS port is `mqtt_alpn`).

use serde::{Deserialize, Serialize};

/// The default data endpoint name, in the AWS form: what the emulator answers for and a scenario targets.
pub const DEFAULT_ENDPOINT: &str = "example-ats.iot.eu-west-1.amazonaws.com";

/// The transport an attempt uses: HTTPS publish, MQTT over TLS (ALPN `mqtt`), plain MQTT over TCP, and MQTT
/// over WebSocket over TLS (`wss://…/mqtt`). Bounded: usable as an array index and a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Https,
    MqttTls,
    Mqtt,
    Wss,
}

impl Transport {
    pub const COUNT: usize = 4;
    pub const ALL: [Transport; Self::COUNT] = [Self::Https, Self::MqttTls, Self::Mqtt, Self::Wss];
    /// The MQTT transports, which keep connections.
    pub const MQTT: [Transport; 3] = [Self::MqttTls, Self::Mqtt, Self::Wss];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Https => "https",
            Self::MqttTls => "mqtt_tls",
            Self::Mqtt => "mqtt",
            Self::Wss => "wss",
        }
    }

    /// Every transport but HTTPS keeps an MQTT session.
    pub const fn is_mqtt(self) -> bool {
        !matches!(self, Self::Https)
    }

    /// The emulator listener dedicated to this transport (WebSocket upgrades arrive on the HTTPS listener).
    pub const fn listener(self) -> Listener {
        match self {
            Self::Https | Self::Wss => Listener::Https,
            Self::MqttTls => Listener::MqttTls,
            Self::Mqtt => Listener::Mqtt,
        }
    }
}

/// The emulator's data-plane listeners (the admin listener counts as [`Listener::Http`] in `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listener {
    /// HTTPS (AWS's port 443/8443): HTTP publish, MQTT by ALPN `mqtt`, and WebSocket upgrades.
    Https,
    /// Plain HTTP, for tools: HTTP publish and WebSocket upgrades without TLS.
    Http,
    /// MQTT over TLS (AWS's port 8883), whatever the ALPN.
    MqttTls,
    /// Plain MQTT over TCP.
    Mqtt,
}

impl Listener {
    pub const ALL: [Listener; 4] = [Self::Https, Self::Http, Self::MqttTls, Self::Mqtt];
    pub const COUNT: usize = Self::ALL.len();

    pub const fn index(self) -> usize {
        self as usize
    }

    /// The `listener` label in `/metrics`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Https => "https",
            Self::Http => "http",
            Self::MqttTls => "mqtt_tls",
            Self::Mqtt => "mqtt",
        }
    }

    /// Whether connections on this listener are TLS.
    pub const fn is_tls(self) -> bool {
        matches!(self, Self::Https | Self::MqttTls)
    }
}

/// A transport as one listener carries it. Serialized by [`Route::name`] (fuzz reproducers and reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    pub transport: Transport,
    pub listener: Listener,
}

impl Route {
    /// HTTP publish on the plain listener.
    pub const PLAIN_HTTP: Route = Route::new(Transport::Https, Listener::Http);
    /// MQTT over TLS with ALPN `mqtt` on the HTTPS listener (port 443 on AWS).
    pub const MQTT_ALPN: Route = Route::new(Transport::MqttTls, Listener::Https);
    /// The labels the emulator's `/metrics` gives listeners, in their output order.
    pub const LABELLED: [Route; 5] = [
        Route::of(Transport::Https),
        Route::PLAIN_HTTP,
        Route::of(Transport::MqttTls),
        Route::of(Transport::Mqtt),
        Route::of(Transport::Wss),
    ];

    /// The routes a client speaks to AWS-like listeners, plus plain HTTP: each a different [`Self::name`], in the
    /// order fuzz reports list them (`https`, `http`, `mqtt_tls`, `mqtt_alpn`, `mqtt`, `wss`).
    pub const SPOKEN: [Route; 6] = [
        Route::of(Transport::Https),
        Route::PLAIN_HTTP,
        Route::of(Transport::MqttTls),
        Route::MQTT_ALPN,
        Route::of(Transport::Mqtt),
        Route::of(Transport::Wss),
    ];

    pub const fn new(transport: Transport, listener: Listener) -> Self {
        Self {
            transport,
            listener,
        }
    }

    /// The transport on its own listener.
    pub const fn of(transport: Transport) -> Self {
        Self::new(transport, transport.listener())
    }

    /// Whether the connection is TLS (`protocols` in the authorizer's event).
    pub const fn is_tls(self) -> bool {
        self.listener.is_tls()
    }

    /// How the emulator labels the route (`/metrics`, the ledger's `transport`): the transport's name, except
    /// HTTP publish on the plain listener, `http`. MQTT by ALPN counts as `mqtt_tls`, and a WebSocket upgrade
    /// is `wss` on either HTTP listener.
    pub const fn label(self) -> &'static str {
        match (self.transport, self.listener) {
            (Transport::Https, Listener::Http) => "http",
            (t, _) => t.as_str(),
        }
    }

    /// Position of [`Self::label`] in [`Self::LABELLED`], for enum-indexed counters.
    pub const fn label_index(self) -> usize {
        match (self.transport, self.listener) {
            (Transport::Https, Listener::Http) => 1,
            (Transport::Https, _) => 0,
            (Transport::MqttTls, _) => 2,
            (Transport::Mqtt, _) => 3,
            (Transport::Wss, _) => 4,
        }
    }

    /// A name for every route a client can pick: [`Self::label`], except MQTT by ALPN on the HTTPS listener,
    /// `mqtt_alpn`, and a WebSocket upgrade on the plain listener, `ws`.
    pub const fn name(self) -> &'static str {
        match (self.transport, self.listener) {
            (Transport::MqttTls, Listener::Https) => "mqtt_alpn",
            (Transport::Wss, Listener::Http) => "ws",
            _ => self.label(),
        }
    }

    /// The route a [`Self::name`] names.
    pub fn from_name(name: &str) -> Option<Route> {
        Self::SPOKEN
            .into_iter()
            .chain([Route::new(Transport::Wss, Listener::Http)])
            .find(|r| r.name() == name)
    }

    /// The route a label names (the inverse of [`Self::label`] on [`Self::LABELLED`]).
    pub fn from_label(label: &str) -> Option<Route> {
        Self::LABELLED.into_iter().find(|r| r.label() == label)
    }
}

impl Serialize for Route {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Route::from_name(&name).ok_or_else(|| {
            serde::de::Error::unknown_variant(
                &name,
                &[
                    "https",
                    "http",
                    "mqtt_tls",
                    "mqtt_alpn",
                    "mqtt",
                    "wss",
                    "ws",
                ],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_names_are_the_serde_names() {
        for t in Transport::ALL {
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            let back: Transport = serde_json::from_str(&format!("\"{}\"", t.as_str())).unwrap();
            assert_eq!(back, t);
            assert_eq!(Transport::ALL[t.index()], t);
        }
        let names: Vec<_> = Transport::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["https", "mqtt_tls", "mqtt", "wss"]);
    }

    #[test]
    fn emulator_labels_keep_their_names_and_order() {
        let labels: Vec<_> = Route::LABELLED.iter().map(|r| r.label()).collect();
        assert_eq!(labels, ["https", "http", "mqtt_tls", "mqtt", "wss"]);
        for (i, r) in Route::LABELLED.into_iter().enumerate() {
            assert_eq!(r.label_index(), i);
            assert_eq!(Route::from_label(r.label()), Some(r));
        }
        assert_eq!(Route::MQTT_ALPN.label(), "mqtt_tls");
        assert_eq!(Route::new(Transport::Wss, Listener::Http).label(), "wss");
        assert!(!Route::new(Transport::Wss, Listener::Http).is_tls());
        assert!(Route::of(Transport::Wss).is_tls() && !Route::PLAIN_HTTP.is_tls());
        for r in [Route::MQTT_ALPN, Route::new(Transport::Wss, Listener::Http)]
            .into_iter()
            .chain(Route::LABELLED)
        {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.name()));
            assert_eq!(serde_json::from_str::<Route>(&json).unwrap(), r);
        }
        assert_eq!(Route::MQTT_ALPN.name(), "mqtt_alpn");
        assert!(serde_json::from_str::<Route>("\"ftp\"").is_err());
        let listeners: Vec<_> = Listener::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(listeners, ["https", "http", "mqtt_tls", "mqtt"]);
    }
}
