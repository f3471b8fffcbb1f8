//! MQTT 3.1.1 and MQTT 5 packets as the device session needs them, encoded and decoded with rumqttc's
//! `mqttbytes` codecs (v4 and v5). The session sees one small version-neutral [`In`] enum, so the session logic
//! is written once for both protocol versions.

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes as m4;
use rumqttc::mqttbytes::v4 as p4;
use rumqttc::v5::mqttbytes as m5;
use rumqttc::v5::mqttbytes::v5 as p5;

use crate::contract::MqttVersion;

/// Largest packet the generator accepts from the server (AWS: 128 KB payloads).
pub const MAX_PACKET: usize = 256 * 1024;

/// A packet from the server, reduced to what the session acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum In {
    /// `code`: 0 accepted; otherwise the 3.1.1 return code or the MQTT 5 reason code.
    ConnAck {
        code: u8,
    },
    /// `ok`: success (MQTT 5: also "no matching subscribers"); otherwise the publish was refused (`0x87`).
    PubAck {
        pkid: u16,
        ok: bool,
    },
    Publish {
        topic: String,
        qos1: bool,
        pkid: u16,
        payload: Bytes,
    },
    SubAck {
        pkid: u16,
        failed: bool,
    },
    /// MQTT 5 server DISCONNECT; `taken_over`: reason `0x8E` (Session taken over: another connection with the
    /// same client id).
    Disconnect {
        taken_over: bool,
    },
    Other,
}

/// Why no packet could be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// More bytes are needed.
    Incomplete,
    Bad(String),
}

/// The MQTT 5 reason code of a CONNACK (spec: `0x87` not authorized, …).
fn v5_connack_code(c: p5::ConnectReturnCode) -> u8 {
    use p5::ConnectReturnCode as C;
    match c {
        C::Success => 0x00,
        C::RefusedProtocolVersion | C::UnsupportedProtocolVersion => 0x84,
        C::BadClientId | C::ClientIdentifierNotValid => 0x85,
        C::ServiceUnavailable | C::ServerUnavailable => 0x88,
        C::UnspecifiedError => 0x80,
        C::MalformedPacket => 0x81,
        C::ProtocolError => 0x82,
        C::ImplementationSpecificError => 0x83,
        C::BadUserNamePassword => 0x86,
        C::NotAuthorized => 0x87,
        C::ServerBusy => 0x89,
        C::Banned => 0x8A,
        C::BadAuthenticationMethod => 0x8C,
        C::TopicNameInvalid => 0x90,
        C::PacketTooLarge => 0x95,
        C::QuotaExceeded => 0x97,
        C::PayloadFormatInvalid => 0x99,
        C::RetainNotSupported => 0x9A,
        C::QoSNotSupported => 0x9B,
        C::UseAnotherServer => 0x9C,
        C::ServerMoved => 0x9D,
        C::ConnectionRateExceeded => 0x9F,
    }
}

/// Decodes the next packet at the front of `buf` (consumed only when complete).
pub fn decode(v: MqttVersion, buf: &mut BytesMut) -> Result<In, DecodeError> {
    match v {
        MqttVersion::V311 => match p4::Packet::read(buf, MAX_PACKET) {
            Ok(p4::Packet::ConnAck(a)) => Ok(In::ConnAck { code: a.code as u8 }),
            Ok(p4::Packet::PubAck(a)) => Ok(In::PubAck {
                pkid: a.pkid,
                ok: true,
            }),
            Ok(p4::Packet::Publish(p)) => Ok(In::Publish {
                topic: p.topic,
                qos1: p.qos == m4::QoS::AtLeastOnce,
                pkid: p.pkid,
                payload: p.payload,
            }),
            Ok(p4::Packet::SubAck(a)) => Ok(In::SubAck {
                pkid: a.pkid,
                failed: a
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, p4::SubscribeReasonCode::Failure)),
            }),
            Ok(_) => Ok(In::Other),
            Err(m4::Error::InsufficientBytes(_)) => Err(DecodeError::Incomplete),
            // A 3.1.1 CONNACK with a code outside 0–5 (e.g. a server answering 0x87) is still a refusal.
            Err(m4::Error::InvalidConnectReturnCode(c)) => Ok(In::ConnAck { code: c.max(1) }),
            Err(e) => Err(DecodeError::Bad(e.to_string())),
        },
        MqttVersion::V5 => match p5::Packet::read(buf, Some(MAX_PACKET as u32)) {
            Ok(p5::Packet::ConnAck(a)) => Ok(In::ConnAck {
                code: v5_connack_code(a.code),
            }),
            Ok(p5::Packet::PubAck(a)) => Ok(In::PubAck {
                pkid: a.pkid,
                ok: matches!(
                    a.reason,
                    p5::PubAckReason::Success | p5::PubAckReason::NoMatchingSubscribers
                ),
            }),
            Ok(p5::Packet::Publish(p)) => Ok(In::Publish {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                qos1: p.qos == m5::QoS::AtLeastOnce,
                pkid: p.pkid,
                payload: p.payload,
            }),
            Ok(p5::Packet::SubAck(a)) => Ok(In::SubAck {
                pkid: a.pkid,
                failed: a
                    .return_codes
                    .iter()
                    .any(|c| !matches!(c, p5::SubscribeReasonCode::Success(_))),
            }),
            Ok(p5::Packet::Disconnect(d)) => Ok(In::Disconnect {
                taken_over: d.reason_code == p5::DisconnectReasonCode::SessionTakenOver,
            }),
            Ok(_) => Ok(In::Other),
            Err(m5::Error::InsufficientBytes(_)) => Err(DecodeError::Incomplete),
            Err(e) => Err(DecodeError::Bad(e.to_string())),
        },
    }
}

/// What the session sends.
#[derive(Debug, Clone)]
pub enum Out<'a> {
    Connect {
        client_id: &'a str,
        username: &'a str,
        password: &'a str,
        keep_alive_s: u16,
    },
    Publish {
        topic: &'a str,
        qos1: bool,
        pkid: u16,
        payload: Bytes,
    },
    PubAck {
        pkid: u16,
    },
    Subscribe {
        pkid: u16,
        filter: &'a str,
        qos1: bool,
    },
    PingReq,
    Disconnect,
}

/// Encodes `out` into `buf` (cleared first).
pub fn encode(v: MqttVersion, out: Out<'_>, buf: &mut BytesMut) -> Result<(), String> {
    buf.clear();
    match v {
        MqttVersion::V311 => encode_v311(out, buf),
        MqttVersion::V5 => encode_v5(out, buf),
    }
}

/// MQTT 3.1.1 framing of `out`.
fn encode_v311(out: Out<'_>, buf: &mut BytesMut) -> Result<(), String> {
    let q = |qos1| {
        if qos1 {
            m4::QoS::AtLeastOnce
        } else {
            m4::QoS::AtMostOnce
        }
    };
    let p = match out {
        Out::Connect {
            client_id,
            username,
            password,
            keep_alive_s,
        } => {
            let mut c = p4::Connect::new(client_id);
            c.keep_alive = keep_alive_s;
            c.clean_session = true;
            c.set_login(username, password);
            p4::Packet::Connect(c)
        }
        Out::Publish {
            topic,
            qos1,
            pkid,
            payload,
        } => {
            let mut p = p4::Publish::from_bytes(topic, q(qos1), payload);
            p.pkid = pkid;
            p4::Packet::Publish(p)
        }
        Out::PubAck { pkid } => p4::Packet::PubAck(p4::PubAck::new(pkid)),
        Out::Subscribe { pkid, filter, qos1 } => {
            let mut s = p4::Subscribe::new(filter, q(qos1));
            s.pkid = pkid;
            p4::Packet::Subscribe(s)
        }
        Out::PingReq => p4::Packet::PingReq,
        Out::Disconnect => p4::Packet::Disconnect,
    };
    p.write(buf, MAX_PACKET)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// MQTT 5 framing of `out` (no properties).
fn encode_v5(out: Out<'_>, buf: &mut BytesMut) -> Result<(), String> {
    let q = |qos1| {
        if qos1 {
            m5::QoS::AtLeastOnce
        } else {
            m5::QoS::AtMostOnce
        }
    };
    let p = match out {
        Out::Connect {
            client_id,
            username,
            password,
            keep_alive_s,
        } => {
            let c = p5::Connect {
                keep_alive: keep_alive_s,
                client_id: client_id.to_string(),
                clean_start: true,
                properties: None,
            };
            let login = (!username.is_empty() || !password.is_empty())
                .then(|| p5::Login::new(username, password));
            p5::Packet::Connect(c, None, login)
        }
        Out::Publish {
            topic,
            qos1,
            pkid,
            payload,
        } => {
            let mut p = p5::Publish::new(topic, q(qos1), payload, None);
            p.pkid = pkid;
            p5::Packet::Publish(p)
        }
        Out::PubAck { pkid } => p5::Packet::PubAck(p5::PubAck::new(pkid, None)),
        Out::Subscribe { pkid, filter, qos1 } => {
            let mut s = p5::Subscribe::new(p5::Filter::new(filter, q(qos1)), None);
            s.pkid = pkid;
            p5::Packet::Subscribe(s)
        }
        Out::PingReq => p5::Packet::PingReq(p5::PingReq),
        Out::Disconnect => p5::Packet::Disconnect(p5::Disconnect::new(
            p5::DisconnectReasonCode::NormalDisconnection,
        )),
    };
    p.write(buf, Some(MAX_PACKET as u32))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server would send, encoded with the same codec.
    fn server(v: MqttVersion, p: Result<p4::Packet, p5::Packet>) -> BytesMut {
        let mut b = BytesMut::new();
        match (v, p) {
            (MqttVersion::V311, Ok(p)) => {
                p.write(&mut b, MAX_PACKET).unwrap();
            }
            (MqttVersion::V5, Err(p)) => {
                p.write(&mut b, Some(MAX_PACKET as u32)).unwrap();
            }
            _ => unreachable!("test setup"),
        }
        b
    }

    #[test]
    fn connacks_of_both_versions() {
        let mut b = server(
            MqttVersion::V311,
            Ok(p4::Packet::ConnAck(p4::ConnAck::new(
                p4::ConnectReturnCode::NotAuthorized,
                false,
            ))),
        );
        assert_eq!(
            decode(MqttVersion::V311, &mut b).unwrap(),
            In::ConnAck { code: 5 }
        );
        let mut b = server(
            MqttVersion::V5,
            Err(p5::Packet::ConnAck(p5::ConnAck {
                session_present: false,
                code: p5::ConnectReturnCode::NotAuthorized,
                properties: None,
            })),
        );
        assert_eq!(
            decode(MqttVersion::V5, &mut b).unwrap(),
            In::ConnAck { code: 0x87 }
        );
        let mut partial = BytesMut::from(&[0x20u8][..]);
        assert!(matches!(
            decode(MqttVersion::V311, &mut partial),
            Err(DecodeError::Incomplete)
        ));
        assert_eq!(partial.len(), 1, "nothing consumed");
    }

    #[test]
    fn a_refused_v5_publish_is_not_ok() {
        let mut ack = p5::PubAck::new(7, None);
        ack.reason = p5::PubAckReason::NotAuthorized;
        let mut b = server(MqttVersion::V5, Err(p5::Packet::PubAck(ack)));
        assert_eq!(
            decode(MqttVersion::V5, &mut b).unwrap(),
            In::PubAck { pkid: 7, ok: false }
        );
    }

    #[test]
    fn a_v5_disconnect_says_whether_the_session_was_taken_over() {
        // As AWS and the emulator send them: reason code, then an empty property length.
        for (bytes, taken_over) in [([0xE0, 2, 0x8E, 0], true), ([0xE0, 2, 0x8B, 0], false)] {
            let mut b = BytesMut::from(&bytes[..]);
            assert_eq!(
                decode(MqttVersion::V5, &mut b).unwrap(),
                In::Disconnect { taken_over }
            );
        }
    }

    #[test]
    fn connect_round_trips_in_both_versions() {
        let mut b = BytesMut::new();
        let out = || Out::Connect {
            client_id: "tokenstorm-000001",
            username: "ts-r-valid-1-0?x-amz-customauthorizer-name=A",
            password: "",
            keep_alive_s: 60,
        };
        encode(MqttVersion::V311, out(), &mut b).unwrap();
        match p4::Packet::read(&mut b, MAX_PACKET).unwrap() {
            p4::Packet::Connect(c) => {
                assert_eq!(c.client_id, "tokenstorm-000001");
                assert_eq!(
                    c.login.unwrap().username,
                    "ts-r-valid-1-0?x-amz-customauthorizer-name=A"
                );
            }
            p => panic!("{p:?}"),
        }
        encode(MqttVersion::V5, out(), &mut b).unwrap();
        match p5::Packet::read(&mut b, None).unwrap() {
            p5::Packet::Connect(c, _, login) => {
                assert_eq!(c.keep_alive, 60);
                assert!(login.unwrap().username.starts_with("ts-"));
            }
            p => panic!("{p:?}"),
        }
    }
}
