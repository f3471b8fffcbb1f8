//! Codec unit tests: partial input, refusals, and the bytes the specification prescribes.

use super::*;

/// A 3.1.1 or 5 CONNECT with client id `id` and username `u`.
fn connect(level: u8, id: &str, u: &str) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', level, 0x82, 0, 30];
    if level == 5 {
        body.push(0);
    }
    for s in [id, u] {
        body.extend_from_slice(&(s.len() as u16).to_be_bytes());
        body.extend_from_slice(s.as_bytes());
    }
    let mut out = vec![0x10, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn connect_is_read_whole_in_both_versions_and_partial_input_waits() {
    for (level, version) in [(4, MqttVersion::V311), (5, MqttVersion::V5)] {
        let bytes = connect(level, "dev", "?a=b");
        for cut in 0..bytes.len() {
            let mut partial = BytesMut::from(&bytes[..cut]);
            assert_eq!(decode(None, &mut partial), Ok(None), "cut at {cut}");
            assert_eq!(partial.len(), cut, "nothing consumed");
        }
        let mut buf = BytesMut::from(&bytes[..]);
        buf.extend_from_slice(&[0xC0, 0]);
        let Ok(Some(Inbound::Connect(c))) = decode(None, &mut buf) else {
            panic!("no CONNECT")
        };
        assert_eq!(
            (
                c.version,
                c.client_id.as_str(),
                c.keep_alive_s,
                c.username.as_deref()
            ),
            (version, "dev", 30, Some("?a=b"))
        );
        assert_eq!(decode(Some(version), &mut buf), Ok(Some(Inbound::PingReq)));
        assert!(buf.is_empty());
    }
}

#[test]
fn refusals_before_and_after_connect() {
    let mut b = BytesMut::from(&[0xC0u8, 0][..]);
    assert_eq!(decode(None, &mut b), Err(DecodeError::NotConnect));
    let mut bad = connect(4, "d", "u");
    bad[7] = b'X';
    assert_eq!(
        decode(None, &mut BytesMut::from(&bad[..])),
        Err(DecodeError::WrongProtocolName)
    );
    let mut lvl = connect(4, "d", "u");
    lvl[8] = 3;
    assert_eq!(&lvl[2..8], b"\x00\x04MQTT");
    assert_eq!(
        decode(None, &mut BytesMut::from(&lvl[..])),
        Err(DecodeError::UnsupportedLevel(3))
    );
    let mut huge = BytesMut::from(&[0x10u8, 0xff, 0xff, 0xff, 0x7f][..]);
    assert!(matches!(
        decode(None, &mut huge),
        Err(DecodeError::TooLarge(_))
    ));
    let mut varint = BytesMut::from(&[0x10u8, 0xff, 0xff, 0xff, 0xff, 1][..]);
    assert!(matches!(
        decode(None, &mut varint),
        Err(DecodeError::Malformed(_))
    ));
    let again = connect(4, "d", "u");
    assert_eq!(
        decode(Some(MqttVersion::V311), &mut BytesMut::from(&again[..])),
        Err(DecodeError::SecondConnect)
    );
    let qos2 = [0x34u8, 5, 0, 1, b't', 0, 1];
    assert_eq!(
        decode(Some(MqttVersion::V311), &mut BytesMut::from(&qos2[..])),
        Err(DecodeError::QoS2)
    );
}

#[test]
fn encodings_match_the_specification_bytes() {
    let enc = |v, p: Outbound| {
        let mut out = BytesMut::new();
        encode(v, &p, &mut out);
        out.to_vec()
    };
    assert_eq!(
        enc(MqttVersion::V311, Outbound::ConnAck { reason: 0 }),
        [0x20, 2, 0, 0]
    );
    assert!(
        enc(
            MqttVersion::V311,
            Outbound::ConnAck {
                reason: NOT_AUTHORIZED
            }
        )
        .is_empty()
    );
    assert_eq!(
        enc(
            MqttVersion::V5,
            Outbound::ConnAck {
                reason: NOT_AUTHORIZED
            }
        ),
        [0x20, 3, 0, 0x87, 0]
    );
    let suback = || Outbound::SubAck {
        pkid: 9,
        codes: vec![Ok(1), Err(())],
    };
    assert_eq!(enc(MqttVersion::V311, suback()), [0x90, 4, 0, 9, 1, 0x80]);
    assert_eq!(enc(MqttVersion::V5, suback()), [0x90, 5, 0, 9, 0, 1, 0x87]);
    assert!(
        enc(
            MqttVersion::V311,
            Outbound::Disconnect {
                reason: SESSION_TAKEN_OVER
            }
        )
        .is_empty()
    );
    assert_eq!(
        enc(
            MqttVersion::V5,
            Outbound::Disconnect {
                reason: SESSION_TAKEN_OVER
            }
        ),
        [0xE0, 2, 0x8E, 0]
    );
    assert_eq!(
        enc(
            MqttVersion::V5,
            Outbound::PubAck {
                pkid: 3,
                reason: NOT_AUTHORIZED
            }
        ),
        [0x40, 4, 0, 3, 0x87, 0]
    );
}

/// Seeded random bytes and mutations of valid packets: decoding never panics, never consumes a partial frame,
/// and a refusal is an error value.
#[test]
fn random_and_mutated_input_never_panics() {
    use rand::{Rng as _, SeedableRng as _};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed);
    let seeds = [
        connect(4, "dev", "?a=b&c=%3F"),
        connect(5, "dev", "x?y"),
        vec![0x32, 8, 0, 3, b'a', b'/', b'b', 0, 1, b'p'],
        vec![0x82, 6, 0, 1, 0, 1, b'#', 1],
        vec![0xC0, 0],
    ];
    for round in 0..20_000 {
        let mut bytes = if round % 3 == 0 {
            let len = rng.random_range(0..64);
            (0..len).map(|_| rng.random()).collect::<Vec<u8>>()
        } else {
            let mut b = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..b.len());
                match rng.random_range(0..3) {
                    0 => b[i] = rng.random(),
                    1 => b.truncate(i),
                    _ => b.insert(i, rng.random()),
                }
                if b.is_empty() {
                    break;
                }
            }
            b
        };
        bytes.truncate(4096);
        for version in [None, Some(MqttVersion::V311), Some(MqttVersion::V5)] {
            let mut buf = BytesMut::from(&bytes[..]);
            let before = buf.len();
            if let Ok(None) = decode(version, &mut buf) {
                assert_eq!(buf.len(), before, "a partial frame must not be consumed");
            }
        }
    }
}

/// Regression (found by the random test): a whole frame whose topic length runs past its end was taken as
/// "need more bytes" after rumqttc had already consumed the frame, desynchronising the stream.
#[test]
fn a_field_cut_short_inside_a_whole_frame_is_malformed_not_partial() {
    let mut buf = BytesMut::from(&[0x30u8, 3, 0, 9, b'a', 0xC0, 0][..]);
    assert!(matches!(
        decode(Some(MqttVersion::V311), &mut buf),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn make_room_reserves_the_rest_of_a_frame_and_gives_back_a_grown_buffer() {
    // Empty: a small chunk, not a 4 KiB buffer per idle session.
    let mut buf = BytesMut::new();
    make_room(&mut buf);
    assert!(
        buf.capacity() >= 512 && buf.capacity() < 4096,
        "{}",
        buf.capacity()
    );
    // The front of a 20,000-byte PUBLISH (remaining length 19,997 in two bytes): room for all of it.
    let mut buf = BytesMut::from(&[0x30u8, 0x9d, 0x9c, 0x01][..]);
    make_room(&mut buf);
    assert!(
        buf.capacity() - buf.len() >= 20_000 - 4,
        "{}",
        buf.capacity()
    );
    // Emptied after that large packet: the big allocation goes.
    buf.clear();
    make_room(&mut buf);
    assert!(buf.capacity() < 4096, "{}", buf.capacity());
}
