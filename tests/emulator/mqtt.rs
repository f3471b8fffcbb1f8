//! The MQTT front end spoken to with hand-written bytes: valid CONNECTs (3.1.1 and 5) over plain TCP and TLS
//! with ALPN `mqtt`, and malformed ones that must be refused without a panic and without an authorizer call.

use serde_json::json;
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::contract::{Route, Transport};
use tokenstorm::emulator::metrics::CloseReason;
use tokenstorm::wire::mqtt::{ParamOrder, UsernameParts, build_username};

use crate::support::emulator::{Handle, config, seed_authorizer, start};
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, attacker_key, sign, signing_key,
};
use crate::support::mqtt::{
    CONNACK_OK_V4, CONNACK_OK_V5, PINGREQ, PINGRESP, Raw, Read, connect, publish, subscribe, varint,
};

/// Connect, publish and subscribe on `allowed/#` only; receive everywhere.
pub(super) fn scoped() -> FunctionBehaviour {
    FunctionBehaviour::Allow {
        principal_id: "dev".into(),
        policy_documents: vec![json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:*:*:client/${iot:ClientId}"},
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:*:*:topic/allowed/*"},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:*:*:topicfilter/allowed/*"},
            {"Effect": "Allow", "Action": "iot:Receive", "Resource": "*"}
        ]})],
        disconnect_after_s: 86400,
        refresh_after_s: 300,
    }
}

pub(super) async fn emulator() -> Handle {
    start(config(vec![seed_authorizer(scoped())], None)).await
}

pub(super) fn username(signature: &str, attempt: Option<&str>) -> String {
    build_username(&UsernameParts {
        attempt_id: attempt,
        authorizer_name: Some(SEED_AUTHORIZER),
        token_key_name: SEED_TOKEN_KEY_NAME,
        token: Some(SEED_TOKEN),
        signature: Some(signature),
        order: ParamOrder::NameSignatureToken,
        extra: &[("SDK", "PythonV2"), ("Version", "1.0")],
    })
}

pub(super) fn good() -> String {
    username(&sign(signing_key(), SEED_TOKEN), None)
}

pub(super) async fn plain(emu: &Handle) -> Raw {
    Raw::tcp(emu.addrs().mqtt.expect("mqtt listener")).await
}

#[tokio::test]
async fn mqtt311_connect_publish_subscribe_receive_ping_over_tcp() {
    let emu = emulator().await;
    let mut c = plain(&emu).await;
    let user = username(&sign(signing_key(), SEED_TOKEN), Some("r1-valid-0-0"));
    c.send(&connect(4, "dev-1", Some(&user), Some(b"pw"), 60))
        .await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    c.send(&subscribe(
        4,
        1,
        &[("allowed/+", 1), ("denied/#", 0), ("bad/#/x", 0)],
    ))
    .await;
    assert_eq!(
        c.read().await,
        Read::Packet(vec![0x90, 5, 0, 1, 1, 0x80, 0x80])
    );
    c.send(&publish(4, "allowed/x", 1, 7, b"hello")).await;
    // The PUBACK and our own delivery, in either order.
    let mut got = vec![c.read().await, c.read().await];
    got.sort_by_key(|r| format!("{r:?}"));
    let delivery = publish(4, "allowed/x", 1, 1, b"hello");
    let mut want = vec![Read::Packet(vec![0x40, 2, 0, 7]), Read::Packet(delivery)];
    want.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(got, want);
    c.send(&PINGREQ).await;
    assert_eq!(c.read().await, Read::Packet(PINGRESP.to_vec()));

    let ledger = emu.ledger().entries();
    assert_eq!(
        ledger.len(),
        1,
        "one invocation per CONNECT, none per publish"
    );
    let e = &ledger[0];
    assert_eq!(
        (e.transport.label(), e.trigger.as_str()),
        ("mqtt", "connect")
    );
    assert_eq!(e.attempt_id.as_deref(), Some("r1-valid-0-0"));
    assert_eq!(e.event.value()["protocols"], json!(["mqtt"]));
    assert_eq!(e.event.value()["token"], SEED_TOKEN);
    assert_eq!(
        e.event.value()["protocolData"]["mqtt"],
        json!({"username": user, "password": "cHc=", "clientId": "dev-1"})
    );
    assert!(
        e.event.value()["connectionMetadata"]["id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(emu.metrics().sessions(Route::of(Transport::Mqtt)), 1);

    // A publish the policy denies closes a 3.1.1 connection.
    c.send(&publish(4, "denied/x", 0, 0, b"no")).await;
    c.expect_closed("denied publish (3.1.1)").await;
    emu.stop().await;
}

#[tokio::test]
async fn mqtt311_refusals_close_without_connack_and_never_invoke() {
    let emu = emulator().await;
    let sig = sign(signing_key(), SEED_TOKEN);
    let forged = sign(attacker_key(), SEED_TOKEN);
    let long_id = "c".repeat(129);
    let second_q = format!("{}?x", good());
    let games = [
        // Raw `&` and `=` inside the signature value cut it: the gate sees a broken signature.
        format!(
            "?x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={SEED_TOKEN}&x-amz-customauthorizer-signature={}&={}",
            &sig[..10],
            &sig[10..]
        ),
        // The authorizer name smuggled into the token value.
        format!(
            "?{SEED_TOKEN_KEY_NAME}={SEED_TOKEN}%26x-amz-customauthorizer-name%3D{SEED_AUTHORIZER}&x-amz-customauthorizer-signature={sig}"
        ),
        username(&forged, None),
        second_q,
        // No `?` at all: no credentials.
        format!("{SEED_TOKEN_KEY_NAME}={SEED_TOKEN}"),
    ];
    let mut cases: Vec<(String, Vec<u8>)> = games
        .iter()
        .map(|u| {
            (
                format!("username {u:.60}"),
                connect(4, "dev", Some(u), None, 60),
            )
        })
        .collect();
    cases.push((
        "client id of 129 bytes".into(),
        connect(4, &long_id, Some(&good()), None, 60),
    ));
    cases.push(("no username".into(), connect(4, "dev", None, None, 60)));
    // Offsets past the fixed header (1 type byte + the remaining-length varint).
    let base = connect(4, "dev", Some(&good()), None, 60);
    let h = 1 + varint(base.len() - 1 - varint(base.len()).len()).len();
    assert_eq!(&base[h..h + 6], b"\x00\x04MQTT");
    let mut wrong_name = base.clone();
    wrong_name[h + 2..h + 6].copy_from_slice(b"MQTX");
    cases.push(("wrong protocol name".into(), wrong_name));
    let mut level3 = base.clone();
    level3[h + 6] = 3;
    cases.push(("protocol level 3".into(), level3));
    cases.push((
        "bad remaining length".into(),
        vec![0x10, 0xff, 0xff, 0xff, 0xff, 0x01],
    ));
    cases.push((
        "oversized remaining length".into(),
        vec![0x10, 0xff, 0xff, 0xff, 0x7f],
    ));
    cases.push((
        "PUBLISH before CONNECT".into(),
        publish(4, "allowed/x", 0, 0, b"x"),
    ));
    cases.push(("PINGREQ before CONNECT".into(), PINGREQ.to_vec()));
    let mut inconsistent = base.clone();
    inconsistent[h + 10] = 0xff; // client id length (after name, level, flags, keep-alive) beyond the packet
    cases.push(("string length past the end".into(), inconsistent));
    cases.push((
        "not MQTT at all".into(),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    ));
    for (what, bytes) in &cases {
        let mut c = plain(&emu).await;
        c.send(bytes).await;
        c.expect_closed(what).await;
    }
    // Truncated: half a CONNECT, then the client closes its side.
    let full = connect(4, "dev", Some(&good()), None, 60);
    let mut c = plain(&emu).await;
    c.send(&full[..full.len() / 2]).await;
    assert_eq!(
        c.read_within(std::time::Duration::from_millis(200)).await,
        Read::Nothing
    );
    drop(c);

    assert_eq!(
        emu.ledger().len(),
        0,
        "no refused CONNECT may reach the authorizer"
    );
    assert_eq!(emu.metrics().invocations_total(), 0);
    assert!(
        emu.metrics()
            .closes(Route::of(Transport::Mqtt), CloseReason::Refused)
            >= 5
    );
    // And the emulator still serves.
    let mut c = plain(&emu).await;
    c.send(&full).await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    emu.stop().await;
}

#[tokio::test]
async fn oversized_payload_disconnects() {
    let emu = emulator().await;
    let mut c = plain(&emu).await;
    c.send(&connect(4, "big", Some(&good()), None, 60)).await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    c.send(&publish(4, "allowed/x", 0, 0, &vec![b'x'; 128 * 1024]))
        .await;
    c.send(&PINGREQ).await;
    assert_eq!(
        c.read().await,
        Read::Packet(PINGRESP.to_vec()),
        "128 KB is allowed"
    );
    c.send(&publish(4, "allowed/x", 0, 0, &vec![b'x'; 128 * 1024 + 1]))
        .await;
    c.expect_closed("payload over 128 KB").await;
    // MQTT 5: DISCONNECT 0x95, then closed.
    let mut c = plain(&emu).await;
    c.send(&connect(5, "big5", Some(&good()), None, 60)).await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V5.to_vec()));
    c.send(&publish(5, "allowed/x", 0, 0, &vec![b'x'; 128 * 1024 + 1]))
        .await;
    assert_eq!(c.read().await, Read::Packet(vec![0xE0, 2, 0x95, 0]));
    c.expect_closed("after DISCONNECT 0x95").await;
    // A packet far over the limit is refused from its fixed header, before its body is read (the client may see
    // the DISCONNECT or, with its own bytes still unread by the server, only a reset).
    let mut c = plain(&emu).await;
    c.send(&connect(5, "huge5", Some(&good()), None, 60)).await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V5.to_vec()));
    c.send(&publish(5, "allowed/x", 0, 0, &vec![b'x'; 1024 * 1024]))
        .await;
    match c.read().await {
        Read::Closed => {}
        Read::Packet(p) => {
            assert_eq!(p, [0xE0, 2, 0x95, 0]);
            c.expect_closed("after DISCONNECT 0x95").await;
        }
        Read::Nothing => panic!("a 1 MB packet left the connection open"),
    }
    assert_eq!(
        emu.metrics()
            .closes(Route::of(Transport::Mqtt), CloseReason::TooLarge),
        3
    );
    emu.stop().await;
}

#[tokio::test]
async fn same_client_id_kicks_the_older_connection() {
    let emu = emulator().await;
    let mut first = plain(&emu).await;
    first
        .send(&connect(4, "twin", Some(&good()), None, 60))
        .await;
    assert_eq!(first.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    let mut second = plain(&emu).await;
    second
        .send(&connect(5, "twin", Some(&good()), None, 60))
        .await;
    assert_eq!(second.read().await, Read::Packet(CONNACK_OK_V5.to_vec()));
    first.expect_closed("the older connection").await;
    second.send(&PINGREQ).await;
    assert_eq!(second.read().await, Read::Packet(PINGRESP.to_vec()));
    // A 5 client kicked in turn gets DISCONNECT 0x8E (session taken over).
    let mut third = plain(&emu).await;
    third
        .send(&connect(4, "twin", Some(&good()), None, 60))
        .await;
    assert_eq!(third.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    match second.read().await {
        Read::Packet(p) => assert_eq!((p[0], p[2]), (0xE0, 0x8E)),
        other => panic!("expected DISCONNECT 0x8E, got {other:?}"),
    }
    assert_eq!(
        emu.metrics()
            .closes(Route::of(Transport::Mqtt), CloseReason::Kicked),
        2
    );
    emu.stop().await;
}

#[tokio::test]
async fn tls_with_alpn_mqtt_on_both_tls_listeners_and_sni_rules() {
    let emu = emulator().await;
    let ca = emu.ca_cert_path().to_path_buf();
    for addr in [emu.addrs().mqtt_tls.unwrap(), emu.addrs().https.unwrap()] {
        let mut c = Raw::tls(addr, &ca, DEFAULT_ENDPOINT, &[b"mqtt"])
            .await
            .expect("handshake");
        c.send(&connect(4, "tls-dev", Some(&good()), None, 60))
            .await;
        assert_eq!(
            c.read().await,
            Read::Packet(CONNACK_OK_V4.to_vec()),
            "{addr}"
        );
    }
    let entries = emu.ledger().entries();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e.transport.label(), "mqtt_tls");
        assert_eq!(e.event.value()["protocols"], json!(["tls", "mqtt"]));
        assert_eq!(
            e.event.value()["protocolData"]["tls"]["serverName"],
            DEFAULT_ENDPOINT
        );
        assert_eq!(
            e.attempt_id.as_deref(),
            Some("tls-dev"),
            "falls back to the client id"
        );
    }
    // An SNI the emulator does not serve fails the handshake, on both listeners.
    for addr in [emu.addrs().mqtt_tls.unwrap(), emu.addrs().https.unwrap()] {
        let refused = Raw::tls(
            addr,
            &ca,
            "other-ats.iot.eu-west-1.amazonaws.com",
            &[b"mqtt"],
        )
        .await;
        assert!(
            refused.is_err(),
            "{addr}: unknown SNI must fail the handshake"
        );
    }
    // localhost is served (tools).
    let mut c = Raw::tls(emu.addrs().mqtt_tls.unwrap(), &ca, "localhost", &[b"mqtt"])
        .await
        .expect("localhost");
    c.send(&connect(5, "tls-5", Some(&good()), None, 60)).await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V5.to_vec()));
    emu.stop().await;
}

#[tokio::test]
async fn a_binary_password_reaches_the_authorizer_base64_encoded() {
    let emu = emulator().await;
    for level in [4, 5] {
        let mut c = plain(&emu).await;
        c.send(&connect(
            level,
            "bin",
            Some(&good()),
            Some(&[0xff, 0x00, 0x80]),
            60,
        ))
        .await;
        assert!(matches!(c.read().await, Read::Packet(p) if p[0] == 0x20));
    }
    for e in emu.ledger().entries() {
        assert_eq!(e.event.value()["protocolData"]["mqtt"]["password"], "/wCA");
    }
    assert_eq!(emu.ledger().len(), 2);
    emu.stop().await;
}
