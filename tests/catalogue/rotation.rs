//! Replay after key rotation (issue 5, replay catalogue): a captured valid pair signed with a key that was then
//! rotated out of `tokenSigningPublicKeys` is a forgery — refused at the gate (signature_mismatch), never in the
//! ledger — over HTTPS and MQTT, while the key still listed keeps passing. Before the rotation the same pair
//! reaches the authorizer, as spec §8 says a replay does.

use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::wire::mqtt::{UsernameParts, build_username};

use crate::support::client::Conn;
use crate::support::emulator::{Handle, authorizer, config, start};
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, SEED_TOPIC, key, sign,
};
use crate::support::mqtt::{CONNACK_OK_V4, Raw, Read, connect};

async fn emulator(keys: &[usize]) -> Handle {
    start(config(
        vec![authorizer(
            SEED_AUTHORIZER,
            keys,
            FunctionBehaviour::default_allow(),
        )],
        Some(SEED_AUTHORIZER),
    ))
    .await
}

async fn https(emu: &Handle, token: &str, signature: &str) -> u16 {
    let mut c = Conn::https(
        emu.addrs().https.unwrap(),
        emu.ca_cert_path(),
        DEFAULT_ENDPOINT,
    )
    .await;
    c.post(
        &format!("/topics/{SEED_TOPIC}?qos=1"),
        &[
            ("x-amz-customauthorizer-name", SEED_AUTHORIZER),
            (SEED_TOKEN_KEY_NAME, token),
            ("x-amz-customauthorizer-signature", signature),
        ],
    )
    .await
    .status
}

/// Whether a CONNECT with these credentials got CONNACK 0.
async fn mqtt(emu: &Handle, token: &str, signature: &str) -> bool {
    let username = build_username(&UsernameParts {
        authorizer_name: Some(SEED_AUTHORIZER),
        token_key_name: SEED_TOKEN_KEY_NAME,
        token: Some(token),
        signature: Some(signature),
        ..Default::default()
    });
    let mut c = Raw::tcp(emu.addrs().mqtt.unwrap()).await;
    c.send(&connect(4, "rotation-client", Some(&username), None, 60))
        .await;
    matches!(c.read().await, Read::Packet(p) if p == CONNACK_OK_V4)
}

fn gate_rejections(metrics: &str, reason: &str) -> u64 {
    let prefix = format!("tokenstorm_gate_rejections_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

async fn metrics(emu: &Handle) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(emu.addrs().admin.unwrap())
        .await
        .unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_signed_with_a_rotated_out_key_is_refused_at_the_gate() {
    // Captured while key 1 was listed next to key 0.
    let captured = sign(key(1), SEED_TOKEN);
    let current = sign(key(0), SEED_TOKEN);
    let before = emulator(&[0, 1]).await;
    assert_eq!(https(&before, SEED_TOKEN, &captured).await, 200);
    assert!(mqtt(&before, SEED_TOKEN, &captured).await);
    assert_eq!(
        before.ledger().entries().len(),
        2,
        "the replay reached the authorizer"
    );
    before.stop().await;

    // Key 1 rotated out: the same pair is now a forgery.
    let after = emulator(&[0]).await;
    assert_eq!(https(&after, SEED_TOKEN, &captured).await, 403);
    assert!(!mqtt(&after, SEED_TOKEN, &captured).await);
    assert_eq!(
        after.ledger().entries().len(),
        0,
        "never reached the authorizer"
    );
    assert_eq!(
        gate_rejections(&metrics(&after).await, "signature_mismatch"),
        2
    );
    // The key still listed keeps passing.
    assert_eq!(https(&after, SEED_TOKEN, &current).await, 200);
    assert_eq!(after.ledger().entries().len(), 1);
    after.stop().await;
}
