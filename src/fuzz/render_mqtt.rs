//! MQTT bytes of a case (pure): CONNECT packets encoded field by field (with an optionally wrong remaining
//! length), the custom-authorizer username, and the packets that follow. Part of [`super::render`].

use super::case::{Connect, ConnectFields, Level, MqttCase, Packet, Username};
use super::target::{Target, signature_text};
use crate::contract::MqttVersion;
use crate::wire::mqtt::{ParamOrder, UsernameParts, build_username};

/// MQTT's variable byte integer (at most 4 bytes; larger values are cut to the 4-byte maximum).
pub fn varint(mut n: u32, out: &mut Vec<u8>) {
    n = n.min(268_435_455);
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

fn mqtt_string(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&s[..len]);
}

/// A CONNECT packet from its fields.
pub fn connect_packet(c: &ConnectFields, target: &Target) -> Vec<u8> {
    let level = match c.level {
        Level::V311 => MqttVersion::V311.level(),
        Level::V5 => MqttVersion::V5.level(),
        Level::Other(b) => b,
    };
    let username = c.username.as_ref().map(|u| render_username(u, target));
    let mut body = Vec::new();
    mqtt_string(
        c.protocol_name.as_deref().unwrap_or("MQTT").as_bytes(),
        &mut body,
    );
    body.push(level);
    let flags = c.flags.unwrap_or(
        0x02 | if username.is_some() { 0x80 } else { 0 }
            | if c.password.is_some() { 0x40 } else { 0 },
    );
    body.push(flags);
    body.extend_from_slice(&c.keep_alive.to_be_bytes());
    if level == 5 {
        varint(c.properties.len() as u32, &mut body);
        body.extend_from_slice(&c.properties);
    }
    mqtt_string(c.client_id.as_bytes(), &mut body);
    if let Some(u) = &username {
        mqtt_string(u.as_bytes(), &mut body);
    }
    if let Some(p) = &c.password {
        mqtt_string(p, &mut body);
    }
    let mut out = vec![0x10];
    varint(c.remaining_length.unwrap_or(body.len() as u32), &mut out);
    out.extend_from_slice(&body);
    out
}

/// The CONNECT username a [`Username`] renders to.
pub fn render_username(u: &Username, target: &Target) -> String {
    match u {
        Username::Text(t) => t.clone(),
        Username::Query {
            attempt,
            credentials,
            extra,
        } => {
            let sig = credentials.signature.as_ref().map(signature_text);
            let name = match &credentials.authorizer {
                None => None,
                Some(None) => Some(target.authorizer.as_str()),
                Some(Some(n)) => Some(n.as_str()),
            };
            let extra: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            build_username(&UsernameParts {
                attempt_id: attempt.as_deref(),
                authorizer_name: name,
                token_key_name: &target.token_key_name,
                token: credentials.token.as_deref(),
                signature: sig.as_deref(),
                order: ParamOrder::default(),
                extra: &extra,
            })
        }
    }
}

pub(super) fn mqtt(m: &MqttCase, target: &Target) -> Vec<u8> {
    // After a valid prefix the connection already has its CONNECT: the fuzz bytes are what follows.
    let mut out = if m.valid_prefix {
        Vec::new()
    } else {
        match &m.connect {
            Connect::Fields(f) => connect_packet(f, target),
            Connect::Raw(r) => r.clone(),
        }
    };
    for p in &m.after {
        packet(p, &mut out);
    }
    out
}

fn packet(p: &Packet, out: &mut Vec<u8>) {
    match p {
        Packet::Raw(r) => out.extend_from_slice(r),
        Packet::Framed { first, body } => {
            out.push(*first);
            varint(body.len() as u32, out);
            out.extend_from_slice(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::mqtt::codec::{self, Inbound};
    use crate::fuzz::case::MqttTransport;

    fn target() -> Target {
        Target {
            authorizer: "A".into(),
            token_key_name: "tok".into(),
            host: "h".into(),
        }
    }

    #[test]
    fn a_connect_from_fields_is_what_the_emulator_decodes() {
        let fields = ConnectFields {
            protocol_name: None,
            level: Level::V5,
            flags: None,
            keep_alive: 60,
            properties: vec![],
            client_id: "dev1".into(),
            username: Some(Username::Text("u".into())),
            password: Some(b"pw".to_vec()),
            remaining_length: None,
        };
        let bytes = mqtt(
            &MqttCase {
                transport: MqttTransport::Plain,
                valid_prefix: false,
                connect: Connect::Fields(Box::new(fields)),
                after: vec![],
            },
            &target(),
        );
        let mut buf = bytes::BytesMut::from(&bytes[..]);
        match codec::decode(None, &mut buf) {
            Ok(Some(Inbound::Connect(c))) => assert_eq!(c.client_id, "dev1"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn varints_follow_the_spec_examples() {
        for (n, want) in [
            (0u32, &[0u8][..]),
            (127, &[0x7f]),
            (128, &[0x80, 1]),
            (16_383, &[0xff, 0x7f]),
        ] {
            let mut out = Vec::new();
            varint(n, &mut out);
            assert_eq!(out, want);
        }
    }
}
