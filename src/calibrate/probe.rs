//! Sending probes: the credential each probe carries (signed once, at setup), the request that carries it (the
//! load's own request builder, so a probe is byte for byte what a run sends for that shape), and the pacing
//! between probes. The thin async shell of calibration.

use std::time::Duration;

use bytes::Bytes;

use super::table::{Answer, Probe};
use crate::attempt::Credential;
use crate::attempt::forge::{forged_token, raw_plus_pair, wire_of};
use crate::contract::{Class, Transport, attempt_id};
use crate::load::connect::{Connector, Sender};
use crate::load::exchange::exchange;
use crate::load::request::{Placement, PrepareError, RequestBook, RequestShape};
use crate::metrics::Outcome;
use crate::safety::Caps;
use crate::token::{PrivateKey, sign_token};

/// The valid pair every probe carries: a token and its base64 signature, which holds a `+` (so the raw-`+` probe
/// has one to send raw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub token: String,
    pub signature: String,
}

impl Pair {
    /// `token` signed with `key`, or the first `<token>.plus<n>` whose signature holds a `+` (the signing
    /// happens here, at setup; a 2048-bit signature has one with probability ≈ 1 − (63/64)^342).
    pub fn with_plus(token: &str, key: &PrivateKey) -> Self {
        let (token, signature) = raw_plus_pair(token, key, &sign_token(key, token.as_bytes()));
        Self { token, signature }
    }

    /// The credential a probe sends: the pair, put on the wire in the probe's shape.
    pub fn credential(&self, probe: &Probe) -> Credential {
        match probe.class {
            Class::Forged(f) => Credential {
                token: forged_token(f, &self.token),
                signature: Some(self.signature.clone()),
                wire: wire_of(f),
            },
            _ => Credential {
                token: self.token.clone(),
                signature: Some(self.signature.clone()),
                wire: Default::default(),
            },
        }
    }
}

/// How far apart probes go: at most one per second against a remote target (slower when `[safety]
/// max_rate_per_s` says so); against loopback as fast as `max_rate_per_s` allows (uncapped by default).
pub fn probe_gap(remote: bool, caps: &Caps) -> Duration {
    let by_rate = caps
        .max_rate_per_s
        .filter(|r| r.is_finite() && *r > 0.0)
        .map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r));
    if remote {
        by_rate.max(Duration::from_secs(1))
    } else {
        by_rate
    }
}

/// One probe sent and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub probe: Probe,
    pub answer: Answer,
    /// What came back: `HTTP 200`, `HTTP 403`, `HTTP 429`, or the outcome as a run reports it (`other_status`,
    /// `timeout`, ...) and why it went unanswered.
    pub detail: String,
    /// The attempt id it carried (`<run>-<class>-0-<n>`), which the witness's lines name.
    pub attempt: String,
    /// What the witness saw of it ([`Seen::NotRead`] until one is read).
    pub seen: Seen,
}

/// What a witness saw of one probe's attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seen {
    /// No witness was read (none configured, or `--no-witness`).
    #[default]
    NotRead,
    /// The logs witness has a line for this attempt: the authorizer was invoked; `allowed` is the line's
    /// `authenticated` (false or null: the function denied it).
    Invoked { allowed: bool },
    /// The logs witness settled without a line for this attempt: the authorizer was not invoked.
    NotInvoked,
    /// Only the metrics witness was read: a count over every probe, nothing per probe.
    Counted,
}

/// A probe that could not be sent; nothing was sent for it.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// A probe's transport has no address in the scenario.
    #[error("the {0} probes need the target's {0} address (target.{1})")]
    NoTarget(&'static str, &'static str),
}

/// Sends probes to one target (HTTPS, and MQTT when given), one at a time, `gap` apart.
pub struct Prober {
    connector: Connector,
    mqtt: Option<super::mqtt::MqttProbe>,
    book: RequestBook,
    pair: Pair,
    timeout: Duration,
    gap: Duration,
    /// Attempt ids `<run>-<class>-0-<n>`, so a witness (ledger, logs) can tell the probes apart.
    run: String,
    conn: Option<Sender>,
    sent: u64,
    last: Option<tokio::time::Instant>,
}

impl Prober {
    /// `shape`: the requests' topic, Host and parameter names; `run`: the attempt ids' run part (no `-`).
    pub fn new(
        connector: Connector,
        shape: &RequestShape,
        pair: Pair,
        timeout: Duration,
        gap: Duration,
        run: &str,
    ) -> Self {
        Self {
            connector,
            mqtt: None,
            book: RequestBook::single(shape),
            pair,
            timeout,
            gap,
            run: run.replace('-', ""),
            conn: None,
            sent: 0,
            last: None,
        }
    }

    /// Probes over MQTT (MQTT/TLS or plain MQTT, as `mqtt.link` says) too.
    pub fn with_mqtt(mut self, mqtt: super::mqtt::MqttProbe) -> Self {
        self.mqtt = Some(mqtt);
        self
    }

    /// Whether a probe over `t` can be sent (checked for every probe before the first is sent). An MQTT probe
    /// goes over the MQTT link the prober has, MQTT/TLS or plain MQTT.
    pub fn check(&self, t: Transport) -> Result<(), ProbeError> {
        match (t, &self.mqtt) {
            (Transport::Https, _) | (Transport::MqttTls | Transport::Mqtt, Some(_)) => Ok(()),
            (Transport::MqttTls | Transport::Mqtt, None) => Err(ProbeError::NoTarget(
                "MQTT",
                "mqtt_tls_addr, or target.mqtt_addr",
            )),
            (Transport::Wss, _) => Err(ProbeError::NoTarget("wss", "wss_url")),
        }
    }

    /// Sends one probe (after the gap since the last one) and reads its answer.
    pub async fn send(&mut self, mut probe: Probe) -> Result<Observation, ProbeError> {
        self.check(probe.transport)?;
        if let (Transport::MqttTls | Transport::Mqtt, Some(m)) = (probe.transport, &self.mqtt) {
            probe.transport = m.link.transport;
        }
        let mut id = String::new();
        attempt_id::format_into(&mut id, &self.run, probe.class, 0, self.sent);
        let cred = self.pair.credential(&probe);
        let req = match probe.transport {
            Transport::Https => Some(self.book.wire_with(&cred, Placement::Query, &id)?),
            _ => None,
        };
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + self.gap).await;
        }
        self.last = Some(tokio::time::Instant::now());
        let n = self.sent;
        self.sent += 1;
        let (outcome, failure) = match (req, &self.mqtt) {
            (Some(req), _) => {
                let (conn, outcome, failure) =
                    exchange(&self.connector, None, self.conn.take(), req, self.timeout).await;
                self.conn = conn;
                (outcome, failure)
            }
            (None, Some(m)) => m.send(&cred, &id, n, self.timeout).await,
            (None, None) => {
                return Err(ProbeError::NoTarget(
                    "MQTT",
                    "mqtt_tls_addr, or target.mqtt_addr",
                ));
            }
        };
        let detail = match (outcome, failure) {
            (_, Some(f)) => format!("{}: {}", outcome.as_str(), f.message),
            (o, None) => answer_text(probe.transport, o),
        };
        Ok(Observation {
            probe,
            answer: Answer::of(outcome),
            detail,
            attempt: id,
            seen: Seen::NotRead,
        })
    }

    /// Probes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

/// What came back, as the transport says it: `HTTP 403`, `CONNACK 0`, `closed without CONNACK`, ...
fn answer_text(t: Transport, o: Outcome) -> String {
    match (t, o) {
        (Transport::Https, Outcome::Allowed) => "HTTP 200".into(),
        (Transport::Https, Outcome::Forbidden) => "HTTP 403".into(),
        (Transport::Https, Outcome::Throttled) => "HTTP 429".into(),
        (_, Outcome::Allowed) => "CONNACK 0".into(),
        (_, Outcome::Refused) => "a refusing CONNACK".into(),
        (_, Outcome::Throttled) => "CONNACK 0x97/0x9F".into(),
        (_, Outcome::ClosedWithoutConnack) => "closed without CONNACK".into(),
        (_, o) => o.as_str().into(),
    }
}

/// The request shape of a probe: the scenario's topic, Host, authorizer and token key names, an empty payload.
pub fn shape(
    host: &str,
    topic: &str,
    authorizer_name: Option<&str>,
    token_key_name: &str,
) -> RequestShape {
    RequestShape {
        host: host.to_string(),
        topic: topic.to_string(),
        qos: 0,
        authorizer_name: authorizer_name.map(str::to_string),
        token_key_name: token_key_name.to_string(),
        payload: Bytes::from_static(b"tokenstorm calibrate"),
        inactive_authorizer: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;

    #[test]
    fn probes_go_at_most_one_per_second_remotely_and_as_capped_on_loopback() {
        let none = Caps::default();
        let capped = Caps {
            max_rate_per_s: Some(0.25),
            ..Caps::default()
        };
        let fast = Caps {
            max_rate_per_s: Some(100.0),
            ..Caps::default()
        };
        assert_eq!(probe_gap(false, &none), Duration::ZERO);
        assert_eq!(probe_gap(false, &fast), Duration::from_millis(10));
        assert_eq!(probe_gap(true, &none), Duration::from_secs(1));
        assert_eq!(probe_gap(true, &fast), Duration::from_secs(1));
        assert_eq!(probe_gap(true, &capped), Duration::from_secs(4));
    }

    #[test]
    fn every_probe_carries_the_valid_pair_in_its_shape() {
        let key = crate::attempt::test_keys::signing();
        let pair = Pair::with_plus("tok", key);
        assert!(pair.signature.contains('+'));
        let raw = crate::token::decode_signature(&pair.signature).unwrap();
        assert!(crate::token::verify::verify_raw(
            &key.public_key(),
            pair.token.as_bytes(),
            &raw
        ));
        let c = pair.credential(&super::super::table::BASELINE);
        assert_eq!(
            (c.token.as_str(), c.wire),
            (pair.token.as_str(), Default::default())
        );
        let p = Probe {
            class: Class::Forged(Forgery::DuplicatedToken),
            transport: Transport::Https,
        };
        let c = pair.credential(&p);
        assert_eq!(c.wire, wire_of(Forgery::DuplicatedToken));
        assert_eq!(c.signature.as_deref(), Some(pair.signature.as_str()));
    }
}
