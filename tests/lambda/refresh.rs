//! MQTT refresh with a real function: after `refreshAfterInSeconds` the session invokes the function again
//! (trigger `refresh`). The clock is paused only to jump over the 300 s and resumed at once, so the real runtime
//! process answers the refresh in real time (the 5 s timeout stays a real 5 s).

use std::time::Duration;

use super::fixtures::{python, python_authorizer, records, repo, test_functions, wait_until};
use crate::support::emulator::{Handle, config, start};
use crate::support::keys::{sign, signing_key};
use crate::support::mqtt::{CONNACK_OK_V4, Raw, Read, connect};

fn username(token: &str) -> String {
    use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN_KEY_NAME};
    use tokenstorm::wire::mqtt::{ParamOrder, UsernameParts, build_username};
    build_username(&UsernameParts {
        attempt_id: None,
        authorizer_name: Some(SEED_AUTHORIZER),
        token_key_name: SEED_TOKEN_KEY_NAME,
        token: Some(token),
        signature: Some(&sign(signing_key(), token)),
        order: ParamOrder::NameSignatureToken,
        extra: &[],
    })
}

/// CONNECTs (keep-alive 1200 s, so 1.5 × keep-alive is past the refresh), then jumps the clock over the refresh.
async fn connect_and_pass_the_refresh(emu: &Handle, token: &str) -> Raw {
    let mut c = Raw::tcp(emu.addrs().mqtt.unwrap()).await;
    c.send(&connect(4, "refresher", Some(&username(token)), None, 1200))
        .await;
    assert_eq!(c.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(301)).await;
    tokio::time::resume();
    c
}

#[tokio::test]
async fn a_refresh_invokes_the_real_function_again() {
    let py = python();
    let dir = crate::support::tempdir();
    let record = dir.path().join("record.jsonl");
    let auth = python_authorizer(
        &py,
        &test_functions(),
        "lambda_function.allow_handler",
        1,
        &record,
        vec![],
    );
    let emu = start(config(vec![auth], None)).await;
    let mut c = connect_and_pass_the_refresh(&emu, "refresh-me").await;
    wait_until("the refresh invocation", || emu.ledger().len() == 2).await;
    let ledger = emu.ledger().entries();
    assert_eq!(
        ledger
            .iter()
            .map(|e| (e.trigger.as_str(), e.verdict.as_str()))
            .collect::<Vec<_>>(),
        [("connect", "allow"), ("refresh", "allow")]
    );
    assert_eq!(records(&record).len(), 2, "the function saw the refresh");
    assert_eq!(
        c.read_within(Duration::from_millis(200)).await,
        Read::Nothing,
        "still connected"
    );
    emu.stop().await;
}

#[tokio::test]
async fn the_replay_resistant_function_allows_its_connections_refresh_but_not_a_replay_elsewhere() {
    let py = python();
    let dir = crate::support::tempdir();
    let record = dir.path().join("record.jsonl");
    let func = repo().join("scenarios/lambdas/replay_resistant_python");
    let auth = python_authorizer(
        &py,
        &func,
        "lambda_function.lambda_handler",
        1,
        &record,
        vec![],
    );
    let emu = start(config(vec![auth], None)).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = format!("v1.dev9.{now}.refreshNonce1");
    let mut c = connect_and_pass_the_refresh(&emu, &token).await;
    // The refresh re-sends the CONNECT's token with the same connection id: allowed, the session goes on.
    wait_until("the refresh invocation", || emu.ledger().len() == 2).await;
    assert_eq!(
        c.read_within(Duration::from_millis(200)).await,
        Read::Nothing,
        "still connected"
    );
    // The same token from another connection is a replay.
    let mut other = Raw::tcp(emu.addrs().mqtt.unwrap()).await;
    other
        .send(&connect(4, "thief", Some(&username(&token)), None, 60))
        .await;
    other.expect_closed("a replayed token is refused").await;
    let reasons: Vec<_> = records(&record)
        .iter()
        .map(|r| r["reason"].clone())
        .collect();
    assert_eq!(reasons, ["fresh", "refresh", "replayed"]);
    let triggers: Vec<_> = emu.ledger().entries().iter().map(|e| e.trigger).collect();
    assert_eq!(triggers, ["connect", "refresh", "connect"]);
    emu.stop().await;
}
