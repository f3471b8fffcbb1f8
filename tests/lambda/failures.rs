//! Functions that fail: each attempt is denied (fail closed) with its reason in the ledger and the metrics.

use super::fixtures::{
    python, python_authorizer, records, refs, seed_headers_for, test_functions, wait_until,
};
use crate::support::client::Conn;
use crate::support::emulator::{Handle, config, start};
use crate::support::keys::{SEED_AUTHORIZER, sign, signing_key};

/// An emulator whose seed authorizer runs `handler` from tests/lambda/functions (fails without python).
async fn with_handler(
    handler: &str,
    concurrency: usize,
    env: Vec<(String, String)>,
) -> (Handle, tempfile::TempDir, std::path::PathBuf) {
    let py = python();
    let dir = crate::support::tempdir();
    let record = dir.path().join("record.jsonl");
    let auth = python_authorizer(&py, &test_functions(), handler, concurrency, &record, env);
    (start(config(vec![auth], None)).await, dir, record)
}

async fn publish(emu: &Handle, token: &str) -> u16 {
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let h = seed_headers_for(token, &sign(signing_key(), token));
    conn.post("/topics/t", &refs(&h)).await.status
}

fn only_reason(emu: &Handle) -> String {
    let ledger = emu.ledger().entries();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].verdict, "deny");
    ledger[0].deny_text().unwrap_or_default()
}

#[tokio::test]
async fn a_raising_function_is_a_function_error() {
    let (emu, _dir, record) = with_handler("lambda_function.raising_handler", 1, vec![]).await;
    assert_eq!(publish(&emu, "t1").await, 403);
    assert_eq!(only_reason(&emu), "function_error: ValueError");
    assert_eq!(records(&record).len(), 1);
    assert_eq!(
        emu.function_metrics()
            .results(SEED_AUTHORIZER, "function_error"),
        1
    );
    emu.stop().await;
}

#[tokio::test]
async fn an_invalid_principal_is_denied_with_the_rule() {
    let (emu, _dir, _record) =
        with_handler("lambda_function.bad_principal_handler", 1, vec![]).await;
    assert_eq!(publish(&emu, "t1").await, 403);
    assert_eq!(
        only_reason(&emu),
        "invalid_response: principalId has characters outside [a-zA-Z0-9]"
    );
    assert_eq!(
        emu.function_metrics()
            .results(SEED_AUTHORIZER, "invalid_response"),
        1
    );
    emu.stop().await;
}

#[tokio::test]
async fn a_function_past_five_seconds_times_out_and_its_process_is_recycled() {
    let (emu, _dir, record) = with_handler("lambda_function.slow_handler", 1, vec![]).await;
    assert_eq!(publish(&emu, "t1").await, 403);
    assert_eq!(only_reason(&emu), "timeout");
    assert_eq!(records(&record).len(), 1);
    wait_until("the timed-out process to be restarted", || {
        emu.function_metrics().restarts(SEED_AUTHORIZER) == 1
    })
    .await;
    assert_eq!(
        emu.function_metrics().results(SEED_AUTHORIZER, "timeout"),
        1
    );
    emu.stop().await;
}

#[tokio::test]
async fn an_init_error_denies_and_is_reported() {
    let (emu, _dir, _record) = with_handler("broken_module.handler", 1, vec![]).await;
    assert_eq!(publish(&emu, "t1").await, 403);
    let reason = only_reason(&emu);
    assert!(
        reason.starts_with("init_error: ") && reason.contains("cannot start"),
        "{reason}"
    );
    assert_eq!(
        emu.function_metrics()
            .results(SEED_AUTHORIZER, "init_error"),
        1
    );
    emu.stop().await;
}

#[tokio::test]
async fn a_crashed_process_denies_and_is_restarted_cold() {
    let (emu, _dir, record) = with_handler("lambda_function.crash_handler", 1, vec![]).await;
    assert_eq!(publish(&emu, "ok").await, 200);
    assert_eq!(publish(&emu, "crash").await, 403);
    wait_until("the crashed process to be restarted", || {
        emu.function_metrics().restarts(SEED_AUTHORIZER) == 1
    })
    .await;
    assert_eq!(publish(&emu, "ok").await, 200);
    let ledger = emu.ledger().entries();
    assert!(
        ledger[1]
            .deny_text()
            .as_deref()
            .is_some_and(|r| r.starts_with("crashed: ")),
        "{:?}",
        ledger[1].deny_reason
    );
    assert_eq!(
        ledger.iter().map(|e| e.cold_start).collect::<Vec<_>>(),
        [true, false, true],
        "the restarted process's first invocation is cold"
    );
    assert_eq!(
        emu.function_metrics().inits(SEED_AUTHORIZER).0,
        2,
        "the restarted process's init is measured"
    );
    let pids: Vec<_> = records(&record).iter().map(|r| r["pid"].clone()).collect();
    assert_eq!(pids.len(), 3);
    assert_eq!(pids[0], pids[1]);
    assert_ne!(pids[1], pids[2]);
    emu.stop().await;
}

#[tokio::test]
async fn invocations_beyond_the_concurrency_are_throttled_and_never_run() {
    let dir = crate::support::tempdir();
    let gate = dir.path().join("gate");
    let env = vec![(
        "TOKENSTORM_TEST_GATE".to_string(),
        gate.display().to_string(),
    )];
    let (emu, _dir, record) = with_handler("lambda_function.gate_handler", 1, env).await;
    let emu = std::sync::Arc::new(emu);
    let held = tokio::spawn({
        let emu = emu.clone();
        async move { publish(&emu, "first").await }
    });
    wait_until("the first invocation to start", || {
        records(&record).len() == 1
    })
    .await;
    assert_eq!(
        publish(&emu, "second").await,
        429,
        "HTTPS answers a throttle with 429"
    );
    std::fs::write(&gate, b"open").unwrap();
    assert_eq!(held.await.unwrap(), 200);
    assert_eq!(
        records(&record).len(),
        1,
        "the throttled invocation never ran"
    );
    let ledger = emu.ledger().entries();
    let throttled: Vec<_> = ledger.iter().filter(|e| e.throttled).collect();
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].deny_text().as_deref(), Some("throttled"));
    assert_eq!(throttled[0].billed_ms, 0);
    assert_eq!(
        emu.function_metrics().results(SEED_AUTHORIZER, "throttled"),
        1
    );
    assert_eq!(emu.function_metrics().results(SEED_AUTHORIZER, "allow"), 1);
}
