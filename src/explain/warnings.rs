//! Transport-level causes a client can see before sending anything, against any endpoint (spec §1): AWS serves
//! custom-auth MQTT only on port 443 with ALPN `mqtt`, the SNI must name the data endpoint, a username with a
//! second `?` is refused, and a signature in a query string must be percent-encoded. `tokenstorm explain` and
//! `run --preflight` print them; pure.

use serde::Serialize;

use crate::contract::Transport;
use crate::contract::limits::MAX_CLIENT_ID_BYTES;
use crate::wire::http::SIGNATURE;

/// What a client is about to send, as far as the transport goes.
#[derive(Debug, Clone, Default)]
pub struct Connection<'a> {
    pub host: Option<&'a str>,
    pub port: Option<u16>,
    /// The TLS server name sent (None: as the host, which is what clients do by default).
    pub sni: Option<&'a str>,
    /// The ALPN protocols offered.
    pub alpn: &'a [String],
    /// The URL's raw query string (HTTPS, WebSocket upgrade), without `?`.
    pub query: Option<&'a str>,
    /// The raw MQTT CONNECT username.
    pub username: Option<&'a str>,
    pub client_id: Option<&'a str>,
}

/// One warning: a stable rule name and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub rule: &'static str,
    pub text: String,
}

/// Whether `host` is an AWS IoT data endpoint (`*.iot.<region>.amazonaws.com`).
pub fn is_aws_endpoint(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let Some(rest) = host.strip_suffix(".amazonaws.com") else {
        return false;
    };
    let labels: Vec<&str> = rest.split('.').collect();
    labels.len() >= 3 && labels[labels.len() - 2] == "iot"
}

/// Every warning for a connection over `t`: the connection's, then the credentials'.
pub fn warnings(t: Transport, c: &Connection<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    connection(t, c, &mut |rule, text| out.push(Warning { rule, text }));
    credentials(c, &mut |rule, text| out.push(Warning { rule, text }));
    out
}

/// ALPN, port and SNI.
fn connection(t: Transport, c: &Connection<'_>, warn: &mut dyn FnMut(&'static str, String)) {
    let mqtt_offered = c.alpn.iter().any(|a| a == "mqtt");
    if t == Transport::MqttTls && !mqtt_offered {
        warn(
            "alpn_not_mqtt",
            "the MQTT/TLS connection offers no ALPN \"mqtt\": AWS serves custom-auth MQTT only on port 443 with \
             ALPN mqtt (the AWS SDKs set it; in other clients set the ALPN list to [\"mqtt\"])"
                .into(),
        );
    }
    if t == Transport::Wss && mqtt_offered {
        warn(
            "alpn_on_websocket",
            "the WebSocket connection offers ALPN \"mqtt\": MQTT over WebSocket is plain HTTPS (no ALPN, or \
             http/1.1)"
                .into(),
        );
    }
    let aws = c.host.filter(|h| is_aws_endpoint(h));
    if let (Some(host), Some(port)) = (aws, c.port)
        && port != 443
        && t != Transport::Mqtt
    {
        warn(
            "port_not_443",
            format!(
                "port {port} on the AWS endpoint {host}: custom authentication is served on port 443 only (8883 and \
                 8443 take X.509 client certificates)"
            ),
        );
    }
    // Connecting by address (a loopback emulator, a pinned IP) says nothing about the name the SNI must carry.
    let by_name = |h: &str| {
        h.trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_err()
            && !h.eq_ignore_ascii_case("localhost")
    };
    if let (Some(host), Some(sni)) = (c.host, c.sni)
        && t != Transport::Mqtt
        && by_name(host)
        && !sni.eq_ignore_ascii_case(host)
    {
        warn(
            "sni_not_endpoint",
            format!(
                "the TLS server name (SNI) {sni:?} is not the endpoint {host:?}: AWS picks the account and the \
                 authorizer's domain by SNI; send the data endpoint's name"
            ),
        );
    }
}

/// The username's `?`, the signature's encoding in a query, the client id's length.
fn credentials(c: &Connection<'_>, warn: &mut dyn FnMut(&'static str, String)) {
    if let Some(u) = c.username
        && u.matches('?').count() >= 2
    {
        warn(
            "second_question_mark",
            format!(
                "the MQTT username holds {} '?': AWS reads one query after the first '?' and refuses the rest (an \
                 SDK appending '?SDK=…' to a username that already has a query does this)",
                u.matches('?').count()
            ),
        );
    }
    let username_query = c.username.and_then(|u| u.split_once('?').map(|(_, q)| q));
    for (place, q) in [("URL query", c.query), ("MQTT username", username_query)] {
        let raw = q.into_iter().flat_map(|q| q.split('&')).filter_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| k.eq_ignore_ascii_case(SIGNATURE))
                .map(|(_, v)| v)
        });
        for v in raw {
            let chars: String = ['+', '/', '=']
                .into_iter()
                .filter(|ch| v.contains(*ch))
                .collect();
            // A raw '/' alone is what AWS's own Python SDK sends (`urllib.parse.quote`), and the service reads
            // it: only a raw '+' or '=' is worth a warning.
            if chars.contains(['+', '=']) {
                warn(
                    "signature_not_percent_encoded",
                    format!(
                        "the signature in the {place} holds raw {chars:?}: percent-encode it (+ %2B, / %2F, = %3D); \
                         a raw '+' may be read as a space"
                    ),
                );
            }
        }
    }
    if let Some(id) = c.client_id
        && id.len() > MAX_CLIENT_ID_BYTES
    {
        warn(
            "client_id_too_long",
            format!(
                "the client id is {} bytes; AWS refuses more than {MAX_CLIENT_ID_BYTES}",
                id.len()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS: &str = "abc123-ats.iot.eu-west-1.amazonaws.com";

    fn rules(t: Transport, c: &Connection<'_>) -> Vec<&'static str> {
        warnings(t, c).into_iter().map(|w| w.rule).collect()
    }

    #[test]
    fn aws_endpoints_are_recognised() {
        assert!(is_aws_endpoint(AWS));
        assert!(is_aws_endpoint("x.iot.us-east-1.amazonaws.com."));
        assert!(!is_aws_endpoint("iot.amazonaws.com"));
        assert!(!is_aws_endpoint("localhost"));
        assert!(!is_aws_endpoint("x.s3.eu-west-1.amazonaws.com"));
    }

    #[test]
    fn each_trap_has_its_warning_and_a_clean_connection_has_none() {
        let alpn = vec!["mqtt".to_string()];
        let clean = Connection {
            host: Some(AWS),
            port: Some(443),
            alpn: &alpn,
            username: Some("ts-x?x-amz-customauthorizer-signature=ab%2B%2F%3D"),
            ..Connection::default()
        };
        assert!(warnings(Transport::MqttTls, &clean).is_empty());
        // The Python SDK's shape: '/' raw, '+' and '=' encoded.
        let python = Connection {
            username: Some("?x-amz-customauthorizer-signature=ab%2B/c%3D"),
            ..clean.clone()
        };
        assert!(warnings(Transport::MqttTls, &python).is_empty());
        let none = Connection {
            port: Some(8883),
            ..clean.clone()
        };
        assert_eq!(rules(Transport::MqttTls, &none), ["port_not_443"]);
        let no_alpn = Connection {
            alpn: &[],
            ..clean.clone()
        };
        assert_eq!(rules(Transport::MqttTls, &no_alpn), ["alpn_not_mqtt"]);
        assert_eq!(rules(Transport::Wss, &clean), ["alpn_on_websocket"]);
        let sni = Connection {
            sni: Some("localhost"),
            ..clean.clone()
        };
        assert_eq!(rules(Transport::MqttTls, &sni), ["sni_not_endpoint"]);
        let by_ip = Connection {
            host: Some("127.0.0.1"),
            sni: Some(AWS),
            ..clean.clone()
        };
        assert!(rules(Transport::MqttTls, &by_ip).is_empty());
        let two = Connection {
            username: Some("a?b?c"),
            ..clean.clone()
        };
        assert_eq!(rules(Transport::MqttTls, &two), ["second_question_mark"]);
        let raw = Connection {
            username: None,
            query: Some("x-amz-customauthorizer-signature=ab+/c=="),
            ..clean.clone()
        };
        let w = warnings(Transport::Https, &raw);
        assert_eq!(w.len(), 1);
        assert!(w[0].text.contains("\"+/=\""), "{w:?}");
        let long = "c".repeat(129);
        let id = Connection {
            client_id: Some(&long),
            ..clean
        };
        assert_eq!(rules(Transport::MqttTls, &id), ["client_id_too_long"]);
    }
}
