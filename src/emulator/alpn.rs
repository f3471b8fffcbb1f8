//! ALPN on the dedicated MQTT/TLS listener (issue 12 §4). AWS serves custom-authorizer MQTT only on port 443
//! with ALPN `mqtt` (spec §1); a client that offers no ALPN there is not served as MQTT, so the emulator refuses
//! it by default (`mqtt_tls_alpn = "required"`) rather than let a client pass here that fails on AWS.
//! `"optional"` serves it anyway, for tools that cannot set ALPN. A client that offers only other protocols
//! already fails the handshake (rustls answers `no_application_protocol`). Every TLS refusal is counted by
//! listener and [`TlsRefusal`] reason (`tokenstorm_tls_refusals_total`).

use serde::{Deserialize, Serialize};

use crate::wire::mqtt::ALPN_MQTT;

/// Whether the MQTT/TLS listener requires ALPN `mqtt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum MqttTlsAlpn {
    /// Refuse a client that offers no ALPN (AWS's behaviour on 443).
    #[default]
    Required,
    /// Serve a client that offers no ALPN as MQTT.
    Optional,
}

impl MqttTlsAlpn {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
        }
    }
}

/// Why a TLS connection was refused (a bounded set: it labels metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsRefusal {
    /// The MQTT/TLS listener, ALPN required: the client offered no ALPN.
    NoAlpn,
    /// The client offered ALPN protocols, none of them served here (`mqtt` on the MQTT/TLS listener).
    AlpnNotMqtt,
    /// Any other handshake failure (an SNI not served, no common version or cipher, a bad record...).
    Handshake,
}

impl TlsRefusal {
    pub const ALL: [TlsRefusal; 3] = [Self::NoAlpn, Self::AlpnNotMqtt, Self::Handshake];
    pub const COUNT: usize = Self::ALL.len();

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoAlpn => "no_alpn",
            Self::AlpnNotMqtt => "alpn_not_mqtt",
            Self::Handshake => "handshake_failed",
        }
    }

    /// What a failed handshake's error says.
    pub fn of_handshake_error(err: &std::io::Error) -> Self {
        match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::NoApplicationProtocol) => Self::AlpnNotMqtt,
            _ => Self::Handshake,
        }
    }

    /// What to tell the user (logs, docs).
    pub const fn explain(self) -> &'static str {
        match self {
            Self::NoAlpn => {
                "the client offered no ALPN: AWS serves custom-auth MQTT only on port 443 with ALPN `mqtt` \
                 (set mqtt_tls_alpn = \"optional\" to serve it anyway)"
            }
            Self::AlpnNotMqtt => "the client offered ALPN protocols, but not `mqtt`",
            Self::Handshake => "the TLS handshake failed",
        }
    }
}

/// Whether the MQTT/TLS listener serves a connection that negotiated `negotiated` (rustls only lets `mqtt` or
/// nothing through).
pub fn admit(setting: MqttTlsAlpn, negotiated: Option<&[u8]>) -> Result<(), TlsRefusal> {
    match (setting, negotiated) {
        (_, Some(p)) if p == ALPN_MQTT => Ok(()),
        (_, Some(_)) => Err(TlsRefusal::AlpnNotMqtt),
        (MqttTlsAlpn::Required, None) => Err(TlsRefusal::NoAlpn),
        (MqttTlsAlpn::Optional, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_mqtt_is_required_by_default_and_optional_serves_none() {
        assert_eq!(MqttTlsAlpn::default(), MqttTlsAlpn::Required);
        assert_eq!(admit(MqttTlsAlpn::Required, Some(b"mqtt")), Ok(()));
        assert_eq!(admit(MqttTlsAlpn::Required, None), Err(TlsRefusal::NoAlpn));
        assert_eq!(admit(MqttTlsAlpn::Optional, None), Ok(()));
        assert_eq!(
            admit(MqttTlsAlpn::Optional, Some(b"http/1.1")),
            Err(TlsRefusal::AlpnNotMqtt)
        );
        let err = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::NoApplicationProtocol,
        );
        assert_eq!(
            TlsRefusal::of_handshake_error(&err),
            TlsRefusal::AlpnNotMqtt
        );
        let other = std::io::Error::other("eof");
        assert_eq!(
            TlsRefusal::of_handshake_error(&other),
            TlsRefusal::Handshake
        );
    }
}
