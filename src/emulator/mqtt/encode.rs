//! Encoding [`Outbound`] packets with rumqttc's `mqttbytes` v4 or v5 codec. Pure.

use bytes::BytesMut;
use rumqttc::mqttbytes::v4;
use rumqttc::mqttbytes::{self as mb, QoS};
use rumqttc::v5::mqttbytes::{self as mb5, v5};

use super::codec::{
    ADMINISTRATIVE_ACTION, CLIENT_ID_NOT_VALID, KEEP_ALIVE_TIMEOUT, NOT_AUTHORIZED, Outbound,
    PACKET_TOO_LARGE, PROTOCOL_ERROR, SERVER_SHUTTING_DOWN, SESSION_TAKEN_OVER,
};
use crate::contract::MqttVersion;

fn to_qos(q: u8) -> QoS {
    if q == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

fn to_qos5(q: u8) -> mb5::QoS {
    if q == 0 {
        mb5::QoS::AtMostOnce
    } else {
        mb5::QoS::AtLeastOnce
    }
}

/// Appends `packet` to `out` in `version`'s encoding. Packets a version has no form for (a 3.1.1 DISCONNECT
/// from the server, a failing 3.1.1 CONNACK or PUBACK) write nothing: the caller closes instead.
pub fn encode(version: MqttVersion, packet: &Outbound, out: &mut BytesMut) {
    let failed = match version {
        MqttVersion::V311 => encode_v4(packet, out).err().map(|e| format!("{e:?}")),
        MqttVersion::V5 => encode_v5(packet, out).err().map(|e| format!("{e:?}")),
    };
    if let Some(err) = failed {
        tracing::warn!(err, "cannot encode an MQTT packet");
    }
}

fn encode_v4(packet: &Outbound, out: &mut BytesMut) -> Result<usize, mb::Error> {
    let p = match packet {
        Outbound::ConnAck { reason: 0 } => {
            v4::Packet::ConnAck(v4::ConnAck::new(v4::ConnectReturnCode::Success, false))
        }
        Outbound::PubAck { pkid, reason: 0 } => v4::Packet::PubAck(v4::PubAck::new(*pkid)),
        Outbound::SubAck { pkid, codes } => v4::Packet::SubAck(v4::SubAck::new(
            *pkid,
            codes
                .iter()
                .map(|c| match c {
                    Ok(q) => v4::SubscribeReasonCode::Success(to_qos(*q)),
                    Err(()) => v4::SubscribeReasonCode::Failure,
                })
                .collect(),
        )),
        Outbound::UnsubAck { pkid, .. } => v4::Packet::UnsubAck(v4::UnsubAck::new(*pkid)),
        Outbound::PingResp => v4::Packet::PingResp,
        Outbound::Publish {
            topic,
            qos,
            pkid,
            payload,
        } => {
            let mut p = v4::Publish::new(topic.clone(), to_qos(*qos), payload.to_vec());
            p.pkid = *pkid;
            v4::Packet::Publish(p)
        }
        Outbound::ConnAck { .. } | Outbound::PubAck { .. } | Outbound::Disconnect { .. } => {
            return Ok(0);
        }
    };
    p.write(out, usize::MAX)
}

fn encode_v5(packet: &Outbound, out: &mut BytesMut) -> Result<usize, mb5::Error> {
    let p = match packet {
        Outbound::ConnAck { reason } => v5::Packet::ConnAck(v5::ConnAck {
            session_present: false,
            code: connack_code(*reason),
            properties: None,
        }),
        Outbound::PubAck { pkid, reason } => v5::Packet::PubAck(v5::PubAck {
            pkid: *pkid,
            reason: if *reason == 0 {
                v5::PubAckReason::Success
            } else {
                v5::PubAckReason::NotAuthorized
            },
            properties: None,
        }),
        Outbound::SubAck { pkid, codes } => v5::Packet::SubAck(v5::SubAck {
            pkid: *pkid,
            return_codes: codes
                .iter()
                .map(|c| match c {
                    Ok(q) => v5::SubscribeReasonCode::Success(to_qos5(*q)),
                    Err(()) => v5::SubscribeReasonCode::NotAuthorized,
                })
                .collect(),
            properties: None,
        }),
        Outbound::UnsubAck { pkid, count } => v5::Packet::UnsubAck(v5::UnsubAck {
            pkid: *pkid,
            reasons: vec![v5::UnsubAckReason::Success; *count],
            properties: None,
        }),
        Outbound::PingResp => v5::Packet::PingResp(v5::PingResp),
        Outbound::Publish {
            topic,
            qos,
            pkid,
            payload,
        } => {
            let mut p = v5::Publish::new(topic.as_str(), to_qos5(*qos), payload.to_vec(), None);
            p.pkid = *pkid;
            v5::Packet::Publish(p)
        }
        Outbound::Disconnect { reason } => {
            // rumqttc 0.25 writes a property length its remaining length does not count; write it by hand:
            // reason code plus an empty property list.
            let code = disconnect_code(*reason) as u8;
            out.extend_from_slice(&[0xE0, 2, code, 0]);
            return Ok(4);
        }
    };
    p.write(out, None)
}

fn connack_code(reason: u8) -> v5::ConnectReturnCode {
    use v5::ConnectReturnCode as C;
    match reason {
        0 => C::Success,
        CLIENT_ID_NOT_VALID => C::ClientIdentifierNotValid,
        PACKET_TOO_LARGE => C::PacketTooLarge,
        0x81 => C::MalformedPacket,
        PROTOCOL_ERROR => C::ProtocolError,
        0x84 => C::UnsupportedProtocolVersion,
        _ => C::NotAuthorized,
    }
}

fn disconnect_code(reason: u8) -> v5::DisconnectReasonCode {
    use v5::DisconnectReasonCode as D;
    match reason {
        0 => D::NormalDisconnection,
        NOT_AUTHORIZED => D::NotAuthorized,
        SESSION_TAKEN_OVER => D::SessionTakenOver,
        KEEP_ALIVE_TIMEOUT => D::KeepAliveTimeout,
        PACKET_TOO_LARGE => D::PacketTooLarge,
        PROTOCOL_ERROR => D::ProtocolError,
        SERVER_SHUTTING_DOWN => D::ServerShuttingDown,
        ADMINISTRATIVE_ACTION => D::AdministrativeAction,
        0x81 => D::MalformedPacket,
        _ => D::UnspecifiedError,
    }
}
