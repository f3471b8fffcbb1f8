//! MQTT authorization after CONNECT, spoken in raw bytes: MQTT 5 reason codes for denied publishes and
//! subscriptions, `iot:Receive` on delivery, and the per-connection subscription quota.

use serde_json::json;
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::wire::mqtt::{UsernameParts, build_username};

use super::mqtt::{emulator, good, plain, scoped, username};
use crate::support::emulator::{config, seed_authorizer, start};
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, attacker_key, sign, signing_key,
};
use crate::support::mqtt::{
    CONNACK_NOT_AUTHORIZED_V5, CONNACK_OK_V4, CONNACK_OK_V5, PINGREQ, PINGRESP, Read, connect,
    publish, subscribe,
};

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
