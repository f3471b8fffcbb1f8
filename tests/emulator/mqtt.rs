//! The MQTT front end spoken to with hand-written bytes: valid CONNECTs (3.1.1 and 5) over plain TCP and TLS
//! with ALPN `mqtt`, and malformed ones that must be refused without a panic and without an authorizer call.

use serde_json::json;
use tokenstorm::emulator::FunctionBehaviour;
use tokenstorm::emulator::config::DEFAULT_ENDPOINT;
use tokenstorm::emulator::metrics::{CloseReason, Transport};
use tokenstorm::wire::mqtt::{ParamOrder, UsernameParts, build_username};

use crate::support::emulator::{Handle, config, seed_authorizer, start};
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, attacker_key, sign, signing_key,
};
use crate::support::mqtt::{
    CONNACK_NOT_AUTHORIZED_V5, CONNACK_OK_V4, CONNACK_OK_V5, PINGREQ, PINGRESP, Raw, Read, connect,
    publish, subscribe, varint,
};

/// Connect, publish and subscribe on `allowed/#` only; receive everywhere.
fn scoped() -> FunctionBehaviour {
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

async fn emulator() -> Handle {
    start(config(vec![seed_authorizer(scoped())], None)).await
}

fn username(signature: &str, attempt: Option<&str>) -> String {
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

fn good() -> String {
    username(&sign(signing_key(), SEED_TOKEN), None)
}

async fn plain(emu: &Handle) -> Raw {
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
        (e.transport.as_str(), e.trigger.as_str()),
        ("mqtt", "connect")
    );
    assert_eq!(e.attempt_id.as_deref(), Some("r1-valid-0-0"));
    assert_eq!(e.event["protocols"], json!(["mqtt"]));
    assert_eq!(e.event["token"], SEED_TOKEN);
    assert_eq!(
        e.event["protocolData"]["mqtt"],
        json!({"username": user, "password": "cHc=", "clientId": "dev-1"})
    );
    assert!(
        e.event["connectionMetadata"]["id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(emu.metrics().sessions(Transport::Mqtt), 1);

    // A publish the policy denies closes a 3.1.1 connection.
    c.send(&publish(4, "denied/x", 0, 0, b"no")).await;
    c.expect_closed("denied publish (3.1.1)").await;
    emu.stop().await;
}

#[tokio::test]
async fn mqtt5_denials_are_reason_codes() {
    let emu = emulator().await;
    let mut c = plain(&emu).await;
    c.send(&connect(5, "dev-5", Some(&good()), None, 60)).await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V5.to_vec()));
    c.send(&publish(5, "denied/x", 1, 3, b"no")).await;
    // PUBACK pkid 3, reason 0x87.
    match c.read().await {
        Read::Packet(p) => assert_eq!(&p[..5], &[0x40, p[1], 0, 3, 0x87]),
        other => panic!("expected PUBACK 0x87, got {other:?}"),
    }
    c.send(&subscribe(5, 4, &[("denied/#", 1), ("allowed/a", 1)]))
        .await;
    assert_eq!(
        c.read().await,
        Read::Packet(vec![0x90, 5, 0, 4, 0, 0x87, 1])
    );
    // Still connected.
    c.send(&PINGREQ).await;
    assert_eq!(c.read().await, Read::Packet(PINGRESP.to_vec()));

    // A forged signature: CONNACK 0x87, no invocation.
    let before = emu.ledger().len();
    let mut f = plain(&emu).await;
    f.send(&connect(
        5,
        "dev-f",
        Some(&username(&sign(attacker_key(), SEED_TOKEN), None)),
        None,
        60,
    ))
    .await;
    assert_eq!(
        f.read().await,
        Read::Packet(CONNACK_NOT_AUTHORIZED_V5.to_vec())
    );
    f.expect_closed("after CONNACK 0x87").await;
    assert_eq!(emu.ledger().len(), before);
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
    assert!(emu.metrics().closes(Transport::Mqtt, CloseReason::Refused) >= 5);
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
        emu.metrics().closes(Transport::Mqtt, CloseReason::Kicked),
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
        assert_eq!(e.transport, "mqtt_tls");
        assert_eq!(e.event["protocols"], json!(["tls", "mqtt"]));
        assert_eq!(
            e.event["protocolData"]["tls"]["serverName"],
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
async fn delivery_needs_iot_receive_on_the_topic() {
    // The receiver's token maps to a policy that may receive only `allowed/open`.
    let limited = json!({"isAuthenticated": true, "principalId": "receiver", "disconnectAfterInSeconds": 86400,
    "refreshAfterInSeconds": 300, "policyDocuments": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iot:Connect", "iot:Subscribe"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iot:Receive", "Resource": "arn:aws:iot:*:*:topic/allowed/open"}
    ]}]});
    let behaviour = FunctionBehaviour::Table {
        entries: vec![("receiver-token".to_string(), limited)],
        fallback: Box::new(scoped()),
    };
    let emu = start(config(vec![seed_authorizer(behaviour)], None)).await;
    let receiver_user = build_username(&UsernameParts {
        authorizer_name: Some(SEED_AUTHORIZER),
        token_key_name: SEED_TOKEN_KEY_NAME,
        token: Some("receiver-token"),
        signature: Some(&sign(signing_key(), "receiver-token")),
        ..Default::default()
    });
    let mut rx = plain(&emu).await;
    rx.send(&connect(4, "rx", Some(&receiver_user), None, 60))
        .await;
    assert_eq!(rx.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    rx.send(&subscribe(4, 1, &[("allowed/#", 0)])).await;
    assert_eq!(rx.read().await, Read::Packet(vec![0x90, 3, 0, 1, 0]));

    let mut tx = plain(&emu).await;
    tx.send(&connect(4, "tx", Some(&good()), None, 60)).await;
    assert_eq!(tx.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    tx.send(&publish(4, "allowed/secret", 0, 0, b"s")).await;
    tx.send(&publish(4, "allowed/open", 0, 0, b"o")).await;
    assert_eq!(
        rx.read().await,
        Read::Packet(publish(4, "allowed/open", 0, 0, b"o")),
        "only the topic iot:Receive allows is delivered"
    );
    assert_eq!(
        rx.read_within(std::time::Duration::from_millis(300)).await,
        Read::Nothing
    );
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
        assert_eq!(e.event["protocolData"]["mqtt"]["password"], "/wCA");
    }
    assert_eq!(emu.ledger().len(), 2);
    emu.stop().await;
}

#[tokio::test]
async fn at_most_fifty_subscriptions_per_connection() {
    let emu = emulator().await;
    let mut c = plain(&emu).await;
    c.send(&connect(4, "subs", Some(&good()), None, 60)).await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    let names: Vec<String> = (0..51).map(|i| format!("allowed/{i}")).collect();
    let filters: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 0)).collect();
    c.send(&subscribe(4, 1, &filters)).await;
    let Read::Packet(suback) = c.read().await else {
        panic!("no SUBACK")
    };
    assert_eq!(&suback[4..], [[0u8; 50].as_slice(), &[0x80]].concat());
    // Re-subscribing to a held filter still succeeds.
    c.send(&subscribe(4, 2, &[("allowed/0", 1)])).await;
    assert_eq!(c.read().await, Read::Packet(vec![0x90, 3, 0, 2, 1]));
    emu.stop().await;
}
