//! MQTT 3.1.1 and 5 framing through rumqttc's `mqttbytes` codec, reduced to the version-neutral packets the
//! session needs ([`Inbound`], [`Outbound`]). Pure: bytes in, packets out, never a panic on bad input.
//!
//! Before CONNECT the protocol level is read from the CONNECT's variable header (name `MQTT`, level 4 or 5)
//! and picks the codec; anything else is refused as [`DecodeError`].

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4;
use rumqttc::mqttbytes::{self as mb, QoS};
use rumqttc::v5::mqttbytes::{self as mb5, v5};

use super::connect_packet;
use crate::contract::MqttVersion;

/// The largest packet read: the 128 KB payload limit plus room for the topic and properties. Larger packets
/// are refused from their fixed header alone, before their body is buffered.
pub const MAX_PACKET_BYTES: usize = crate::contract::limits::MAX_PAYLOAD_BYTES + 4096;

/// A CONNECT, whichever the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectPacket {
    pub version: MqttVersion,
    pub client_id: String,
    pub keep_alive_s: u16,
    pub username: Option<String>,
    pub password: Option<Bytes>,
}

/// What a client sends, reduced to what the emulator acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Connect(ConnectPacket),
    Publish {
        topic: String,
        qos: u8,
        retain: bool,
        pkid: u16,
        payload: Bytes,
    },
    Subscribe {
        pkid: u16,
        /// (filter, requested QoS)
        filters: Vec<(String, u8)>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    PingReq,
    Disconnect,
    /// PUBACK and the QoS 2 packets from the client: nothing to do.
    Ignored,
}

/// Why bytes could not be read as a packet. Any of these closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the first packet is not a CONNECT")]
    NotConnect,
    #[error("protocol name is not MQTT")]
    WrongProtocolName,
    #[error("protocol level {0} is not 4 (3.1.1) or 5")]
    UnsupportedLevel(u8),
    #[error("packet of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("a second CONNECT")]
    SecondConnect,
    #[error("QoS 2 is not supported")]
    QoS2,
    #[error("malformed packet: {0}")]
    Malformed(String),
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// CONNACK with success (code 0) or, for MQTT 5, a reason code such as `0x87`.
    ConnAck {
        reason: u8,
    },
    PubAck {
        pkid: u16,
        reason: u8,
    },
    /// Per filter: `Ok(granted qos)` or `Err(())` (3.1.1 `0x80`, 5 `0x87`).
    SubAck {
        pkid: u16,
        codes: Vec<Result<u8, ()>>,
    },
    UnsubAck {
        pkid: u16,
        count: usize,
    },
    PingResp,
    Publish {
        topic: String,
        qos: u8,
        pkid: u16,
        payload: Bytes,
    },
    /// MQTT 5 only (3.1.1 servers just close).
    Disconnect {
        reason: u8,
    },
}

/// Reason codes used by the emulator.
pub const NOT_AUTHORIZED: u8 = 0x87;
pub const CLIENT_ID_NOT_VALID: u8 = 0x85;
pub const PACKET_TOO_LARGE: u8 = 0x95;
pub const SESSION_TAKEN_OVER: u8 = 0x8E;
pub const KEEP_ALIVE_TIMEOUT: u8 = 0x8D;
pub const PROTOCOL_ERROR: u8 = 0x82;
pub const ADMINISTRATIVE_ACTION: u8 = 0x98;
pub const SERVER_SHUTTING_DOWN: u8 = 0x8B;

fn malformed(e: impl std::fmt::Debug) -> DecodeError {
    DecodeError::Malformed(format!("{e:?}"))
}

/// The length of the fixed header at the front of `buf` (which `check` has validated).
fn header_len(buf: &[u8]) -> usize {
    1 + buf[1..]
        .iter()
        .take(4)
        .position(|b| b & 0x80 == 0)
        .map_or(4, |i| i + 1)
}

/// A CONNECT frame at the front of the buffer: its version, fixed-header length and whole length.
struct ConnectFrame {
    version: MqttVersion,
    header_len: usize,
    frame_len: usize,
}

/// Reads the protocol level of a CONNECT whose frame starts `buf`. `Ok(None)`: more bytes needed.
fn connect_frame(buf: &[u8]) -> Result<Option<ConnectFrame>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first >> 4 != 1 {
        return Err(DecodeError::NotConnect);
    }
    if first & 0x0f != 0 {
        return Err(DecodeError::Malformed(
            "CONNECT fixed-header flags are not 0".into(),
        ));
    }
    let header = match mb::check(buf.iter(), MAX_PACKET_BYTES) {
        Ok(h) => h,
        Err(mb::Error::InsufficientBytes(_)) => return Ok(None),
        Err(mb::Error::PayloadSizeLimitExceeded(n)) => return Err(DecodeError::TooLarge(n)),
        Err(e) => return Err(malformed(e)),
    };
    let frame_len = header.frame_length();
    let header_len = header_len(buf);
    let body = &buf[header_len..frame_len];
    if body.len() < 7 {
        return Err(DecodeError::Malformed(
            "CONNECT variable header is truncated".into(),
        ));
    }
    if body[..6] != [0, 4, b'M', b'Q', b'T', b'T'] {
        return Err(DecodeError::WrongProtocolName);
    }
    let Some(version) = MqttVersion::from_level(body[6]) else {
        return Err(DecodeError::UnsupportedLevel(body[6]));
    };
    Ok(Some(ConnectFrame {
        version,
        header_len,
        frame_len,
    }))
}

/// Bytes a session's read buffer makes room for when the frame at its front does not say how many it needs.
const READ_CHUNK: usize = 512;

/// A read buffer this much larger than the frame it waits for is given back (a large PUBLISH once need not
/// stay with an idle session).
const KEEP_CAPACITY: usize = 16 * 1024;

/// Readies `buf` for the next read: room for the rest of the frame at its front (the length its fixed header
/// gives, checked against [`MAX_PACKET_BYTES`] by the decoder), else [`READ_CHUNK`]; an empty buffer grown past
/// [`KEEP_CAPACITY`] is dropped first. An idle session so holds a small buffer, not a 4 KiB one.
pub fn make_room(buf: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() > KEEP_CAPACITY {
        *buf = BytesMut::new();
    }
    let frame_rest = match mb::check(buf.iter(), MAX_PACKET_BYTES) {
        Err(mb::Error::InsufficientBytes(n)) => n,
        _ => 0,
    };
    buf.reserve(frame_rest.max(READ_CHUNK));
}

/// Takes one packet off the front of `buf`. `version` is `None` until CONNECT: then the packet must be a
/// CONNECT (read by [`connect_packet::parse`], which keeps binary passwords) and its level picks the codec for
/// the rest. `Ok(None)`: more bytes needed (nothing consumed).
pub fn decode(
    version: Option<MqttVersion>,
    buf: &mut BytesMut,
) -> Result<Option<Inbound>, DecodeError> {
    let Some(version) = version else {
        let Some(frame) = connect_frame(buf)? else {
            return Ok(None);
        };
        let packet = buf.split_to(frame.frame_len).freeze();
        let body = packet.slice(frame.header_len..);
        return connect_packet::parse(frame.version, body).map(|c| Some(Inbound::Connect(c)));
    };
    decode_with(version, buf)
}

fn qos(q: QoS) -> u8 {
    q as u8
}

fn qos5(q: mb5::QoS) -> u8 {
    q as u8
}

fn decode_with(version: MqttVersion, buf: &mut BytesMut) -> Result<Option<Inbound>, DecodeError> {
    // Frame first: rumqttc's `read` splits the frame off before parsing it, and a field cut short inside a
    // whole frame also reports `InsufficientBytes`; only a frame that is not all here yet means "wait".
    if buf.is_empty() {
        return Ok(None);
    }
    match mb::check(buf.iter(), MAX_PACKET_BYTES) {
        Ok(_) => {}
        Err(mb::Error::InsufficientBytes(_)) => return Ok(None),
        Err(mb::Error::PayloadSizeLimitExceeded(n)) => return Err(DecodeError::TooLarge(n)),
        Err(e) => return Err(malformed(e)),
    }
    match version {
        MqttVersion::V311 => match v4::Packet::read(buf, MAX_PACKET_BYTES) {
            Ok(p) => from_v4(p).map(Some),
            Err(e) => Err(malformed(e)),
        },
        MqttVersion::V5 => match v5::Packet::read(buf, Some(MAX_PACKET_BYTES as u32)) {
            Ok(p) => from_v5(p).map(Some),
            Err(e) => Err(malformed(e)),
        },
    }
}

fn from_v4(p: v4::Packet) -> Result<Inbound, DecodeError> {
    Ok(match p {
        v4::Packet::Connect(..) => return Err(DecodeError::SecondConnect),
        v4::Packet::Publish(p) => {
            if p.qos == QoS::ExactlyOnce {
                return Err(DecodeError::QoS2);
            }
            Inbound::Publish {
                topic: p.topic,
                qos: qos(p.qos),
                retain: p.retain,
                pkid: p.pkid,
                payload: p.payload,
            }
        }
        v4::Packet::Subscribe(s) => Inbound::Subscribe {
            pkid: s.pkid,
            filters: s
                .filters
                .into_iter()
                .map(|f| (f.path, qos(f.qos)))
                .collect(),
        },
        v4::Packet::Unsubscribe(u) => Inbound::Unsubscribe {
            pkid: u.pkid,
            filters: u.topics,
        },
        v4::Packet::PingReq => Inbound::PingReq,
        v4::Packet::Disconnect => Inbound::Disconnect,
        v4::Packet::PubAck(_)
        | v4::Packet::PubRec(_)
        | v4::Packet::PubRel(_)
        | v4::Packet::PubComp(_) => Inbound::Ignored,
        other => return Err(DecodeError::Malformed(format!("{other:?} from a client"))),
    })
}

fn from_v5(p: v5::Packet) -> Result<Inbound, DecodeError> {
    Ok(match p {
        v5::Packet::Connect(..) => return Err(DecodeError::SecondConnect),
        v5::Packet::Publish(p) => {
            if p.qos == mb5::QoS::ExactlyOnce {
                return Err(DecodeError::QoS2);
            }
            Inbound::Publish {
                topic: String::from_utf8(p.topic.to_vec())
                    .map_err(|_| DecodeError::Malformed("topic is not UTF-8".into()))?,
                qos: qos5(p.qos),
                retain: p.retain,
                pkid: p.pkid,
                payload: p.payload,
            }
        }
        v5::Packet::Subscribe(s) => Inbound::Subscribe {
            pkid: s.pkid,
            filters: s
                .filters
                .into_iter()
                .map(|f| (f.path, qos5(f.qos)))
                .collect(),
        },
        v5::Packet::Unsubscribe(u) => Inbound::Unsubscribe {
            pkid: u.pkid,
            filters: u.filters,
        },
        v5::Packet::PingReq(_) => Inbound::PingReq,
        v5::Packet::Disconnect(_) => Inbound::Disconnect,
        v5::Packet::PubAck(_)
        | v5::Packet::PubRec(_)
        | v5::Packet::PubRel(_)
        | v5::Packet::PubComp(_) => Inbound::Ignored,
        other => return Err(DecodeError::Malformed(format!("{other:?} from a client"))),
    })
}

pub use super::encode::encode;

#[cfg(test)]
mod tests;
