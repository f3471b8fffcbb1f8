//! Reading a CONNECT by hand (MQTT 3.1.1 §3.1 and MQTT 5 §3.1). rumqttc's codec reads the password as a
//! UTF-8 string, but MQTT passwords are binary data and AWS hands any bytes to the authorizer (base64-encoded),
//! so the emulator parses CONNECT itself: properties are skipped by their length, the will is read and
//! dropped, the username must be UTF-8, the password is kept as bytes. Pure; never panics.

use bytes::{Buf, Bytes};

use super::codec::{ConnectPacket, DecodeError};
use crate::contract::MqttVersion;

fn malformed(what: &str) -> DecodeError {
    DecodeError::Malformed(format!("CONNECT: {what}"))
}

fn u8_(b: &mut Bytes, what: &str) -> Result<u8, DecodeError> {
    if b.remaining() < 1 {
        return Err(malformed(what));
    }
    Ok(b.get_u8())
}

fn u16_(b: &mut Bytes, what: &str) -> Result<u16, DecodeError> {
    if b.remaining() < 2 {
        return Err(malformed(what));
    }
    Ok(b.get_u16())
}

fn binary(b: &mut Bytes, what: &str) -> Result<Bytes, DecodeError> {
    let len = usize::from(u16_(b, what)?);
    if b.remaining() < len {
        return Err(malformed(what));
    }
    Ok(b.split_to(len))
}

fn string(b: &mut Bytes, what: &str) -> Result<String, DecodeError> {
    String::from_utf8(binary(b, what)?.to_vec())
        .map_err(|_| malformed(&format!("{what} is not UTF-8")))
}

/// Skips an MQTT 5 property list (a varint length, then that many bytes).
fn skip_properties(b: &mut Bytes, what: &str) -> Result<(), DecodeError> {
    let mut len = 0usize;
    for i in 0..4 {
        let byte = u8_(b, what)?;
        len += usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if b.remaining() < len {
                return Err(malformed(what));
            }
            b.advance(len);
            return Ok(());
        }
    }
    Err(malformed(what))
}

/// Parses a CONNECT's variable header and payload (`body`: everything after the fixed header).
pub fn parse(version: MqttVersion, mut body: Bytes) -> Result<ConnectPacket, DecodeError> {
    let b = &mut body;
    if binary(b, "protocol name")?.as_ref() != b"MQTT" {
        return Err(DecodeError::WrongProtocolName);
    }
    let _level = u8_(b, "protocol level")?;
    let flags = u8_(b, "connect flags")?;
    if flags & 0x01 != 0 {
        return Err(malformed("the reserved flag is set"));
    }
    let will = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 0x03;
    if will_qos == 3 || (!will && (will_qos != 0 || flags & 0x20 != 0)) {
        return Err(malformed("will flags are inconsistent"));
    }
    let has_username = flags & 0x80 != 0;
    let has_password = flags & 0x40 != 0;
    if version == MqttVersion::V311 && has_password && !has_username {
        return Err(malformed("a password without a username (3.1.1)"));
    }
    let keep_alive_s = u16_(b, "keep alive")?;
    if version == MqttVersion::V5 {
        skip_properties(b, "properties")?;
    }
    let client_id = string(b, "client id")?;
    if will {
        if version == MqttVersion::V5 {
            skip_properties(b, "will properties")?;
        }
        string(b, "will topic")?;
        binary(b, "will payload")?;
    }
    let username = has_username.then(|| string(b, "username")).transpose()?;
    let password = has_password.then(|| binary(b, "password")).transpose()?;
    if b.has_remaining() {
        return Err(malformed("bytes after the payload"));
    }
    Ok(ConnectPacket {
        version,
        client_id,
        keep_alive_s,
        username,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(level: u8, flags: u8, tail: &[u8]) -> Bytes {
        let mut v = vec![0, 4, b'M', b'Q', b'T', b'T', level, flags, 0, 60];
        if level == 5 {
            v.extend_from_slice(&[3, 0x21, 0, 10]); // properties (receive maximum 10), skipped by their length
        }
        v.extend_from_slice(tail);
        Bytes::from(v)
    }

    #[test]
    fn binary_passwords_and_wills_in_both_versions() {
        let tail = [
            &[0, 2, b'i', b'd'][..],
            &[0, 1, b't', 0, 1, 0xff][..], // will topic, will payload
            &[0, 3, b'?', b'a', b'='][..], // username
            &[0, 3, 0xff, 0x00, 0x80][..], // a binary password
        ]
        .concat();
        let v4 = parse(MqttVersion::V311, body(4, 0xC6, &tail)).unwrap();
        assert_eq!(v4.password.as_deref(), Some(&[0xff, 0x00, 0x80][..]));
        assert_eq!(
            (
                v4.client_id.as_str(),
                v4.username.as_deref(),
                v4.keep_alive_s
            ),
            ("id", Some("?a="), 60)
        );
        let mut tail5 = tail.clone();
        tail5.splice(4..4, [2, 0x01, 0x01]); // will properties
        let v5 = parse(MqttVersion::V5, body(5, 0xC6, &tail5)).unwrap();
        assert_eq!(v5.password, v4.password);
    }

    #[test]
    fn inconsistencies_are_refused() {
        let id = [0, 1, b'x'];
        for (flags, tail, what) in [
            (0x03, &id[..], "reserved bit"),
            (0x40, &id[..], "password without username"),
            (0x18, &id[..], "will qos 3"),
            (0x20, &id[..], "will retain without will"),
            (0x80, &id[..], "username flag but no username"),
            (0x00, &[0, 5, b'x'][..], "client id past the end"),
            (0x00, &[0, 1, b'x', 9][..], "trailing bytes"),
            (0x80, &[0, 1, b'x', 0, 1, 0xff][..], "username not UTF-8"),
        ] {
            assert!(
                parse(MqttVersion::V311, body(4, flags, tail)).is_err(),
                "{what}"
            );
        }
        let mut bad_props = vec![
            0, 4, b'M', b'Q', b'T', b'T', 5, 0, 0, 60, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        bad_props.extend_from_slice(&id);
        assert!(parse(MqttVersion::V5, Bytes::from(bad_props)).is_err());
        let wrong = Bytes::from_static(&[0, 4, b'M', b'Q', b'I', b's', 4, 0, 0, 60, 0, 0]);
        assert_eq!(
            parse(MqttVersion::V311, wrong),
            Err(DecodeError::WrongProtocolName)
        );
    }
}
