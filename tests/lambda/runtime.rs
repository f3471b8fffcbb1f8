//! The seed article's Python function and the replay-resistant one under awslambdaric, through the Runtime API.

use std::time::{SystemTime, UNIX_EPOCH};

use super::fixtures::{mqtt_username, refs, seed_headers_for};
use super::fixtures::{python, python_authorizer, records, repo, token_hash};
use crate::support::client::Conn;
use crate::support::emulator::{config, start};
use crate::support::keys::{SEED_TOKEN, SEED_TOPIC, attacker_key, sign, signing_key};
use crate::support::mqtt::{Raw, connect};

#[tokio::test]
async fn seed_function_gets_https_and_mqtt_events_and_never_sees_forged_attempts() {
    let py = python();
    let dir = crate::support::tempdir();
    let record = dir.path().join("seed.jsonl");
    let seed = repo().join("scenarios/lambdas/seed_python");
    let auth = python_authorizer(
        &py,
        &seed,
        "lambda_function.lambda_handler",
        1,
        &record,
        vec![],
    );
    let emu = start(config(vec![auth], None)).await;

    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    let good = seed_headers_for(SEED_TOKEN, &sign(signing_key(), SEED_TOKEN));
    conn.post(&format!("/topics/{SEED_TOPIC}"), &refs(&good))
        .await
        .assert_message(200, "OK");
    conn.post("/topics/otherTopic", &refs(&good))
        .await
        .assert_message(403, "Forbidden");
    let forged = seed_headers_for(SEED_TOKEN, &sign(attacker_key(), SEED_TOKEN));
    for _ in 0..5 {
        conn.post(&format!("/topics/{SEED_TOPIC}"), &refs(&forged))
            .await
            .assert_message(403, "Forbidden");
    }
    assert_eq!(
        records(&record).len(),
        2,
        "forged attempts never reach the function"
    );

    // MQTT over TLS (ALPN mqtt): the seed policy has no iot:Connect, so the CONNECT is refused after invoking.
    let mut mqtt = Raw::tls(
        emu.addrs().mqtt_tls.unwrap(),
        emu.ca_cert_path(),
        "localhost",
        &[b"mqtt"],
    )
    .await
    .expect("tls");
    let username = mqtt_username(&sign(signing_key(), SEED_TOKEN));
    mqtt.send(&connect(4, "device1", Some(&username), None, 60))
        .await;
    mqtt.expect_closed("CONNECT refused by the seed policy")
        .await;

    let seen = records(&record);
    assert_eq!(seen.len(), 3);
    for r in &seen {
        assert_eq!(r["token"], token_hash(SEED_TOKEN));
        assert_eq!(r["signatureVerified"], true);
        assert_eq!(r["shape"]["connectionId"], true);
    }
    assert_eq!(seen[0]["protocols"], serde_json::json!(["tls", "http"]));
    assert_eq!(seen[0]["shape"]["serverName"], "localhost");
    assert_eq!(seen[2]["protocols"], serde_json::json!(["tls", "mqtt"]));
    assert_eq!(seen[2]["shape"]["clientId"], "device1");
    assert_eq!(
        seen[2]["shape"]["protocolData"]["mqtt"],
        serde_json::json!(["clientId", "username"])
    );

    let ledger = emu.ledger().entries();
    assert_eq!(ledger.len(), 3, "one ledger entry per function invocation");
    assert_eq!(
        ledger
            .iter()
            .map(|e| e.verdict.as_str())
            .collect::<Vec<_>>(),
        ["allow", "deny", "deny"]
    );
    assert_eq!(
        ledger[1].deny_text().as_deref(),
        Some("policy_implicit_deny")
    );
    assert_eq!(ledger[2].trigger, "connect");
    assert_eq!(ledger[0].trigger, "publish");
    for e in &ledger {
        assert_eq!(e.backend, "runtime_api");
        assert_eq!(e.memory_mb, 128);
        assert!(!e.throttled);
        assert!(e.billed_ms >= 1 && e.billed_ms * 1000 >= e.duration_us);
    }
    assert_eq!(
        ledger.iter().map(|e| e.cold_start).collect::<Vec<_>>(),
        [true, false, false],
        "one process: only its first invocation is cold"
    );
    assert_eq!(
        emu.function_metrics()
            .results("MyCustomAuthorizer", "allow"),
        1
    );
    assert_eq!(emu.function_metrics().cold_starts("MyCustomAuthorizer"), 1);
    let (inits, init_us) = emu.function_metrics().inits("MyCustomAuthorizer");
    assert_eq!(inits, 1, "one process, one init measured");
    assert!(init_us > 0);
    emu.stop().await;
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn replay_resistant_function_denies_replays_and_expired_tokens_and_both_are_billed() {
    let py = python();
    let dir = crate::support::tempdir();
    let record = dir.path().join("replay.jsonl");
    let func = repo().join("scenarios/lambdas/replay_resistant_python");
    let env = vec![("TOKENSTORM_MAX_TOKEN_AGE_S".to_string(), "60".to_string())];
    let auth = python_authorizer(
        &py,
        &func,
        "lambda_function.lambda_handler",
        1,
        &record,
        env,
    );
    let emu = start(config(vec![auth], None)).await;
    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let post = |token: String| seed_headers_for(&token, &sign(signing_key(), &token));
    let fresh = format!("v1.device7.{}.n0nce0001", now_s());
    let expired = format!("v1.device7.{}.n0nce0002", now_s() - 120);
    let malformed = "device7-static-token".to_string();
    for (token, status) in [
        (fresh.clone(), 200),
        (fresh.clone(), 403),
        (fresh.clone(), 403),
        (expired, 403),
        (malformed, 403),
        (format!("v1.device7.{}.n0nce0003", now_s()), 200),
    ] {
        let h = post(token);
        let reply = conn.post("/topics/devices/device7/t", &refs(&h)).await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
    let reasons: Vec<String> = records(&record)
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        reasons,
        [
            "fresh",
            "replayed",
            "replayed",
            "expired",
            "malformed",
            "fresh"
        ]
    );
    let ledger = emu.ledger().entries();
    assert_eq!(
        ledger.len(),
        6,
        "replays reach the function: AWS only checks the signature"
    );
    assert!(
        ledger[1..5]
            .iter()
            .all(|e| e.deny_text().as_deref() == Some("not_authenticated"))
    );
    assert!(
        ledger.iter().all(|e| e.billed_ms >= 1),
        "denied replays are still billed"
    );
    emu.stop().await;
}

#[tokio::test]
async fn caching_for_http_reuses_the_real_functions_answer_per_connection() {
    let py = python();
    let dir = crate::support::tempdir();
    let record = dir.path().join("seed.jsonl");
    let seed = repo().join("scenarios/lambdas/seed_python");
    let mut auth = python_authorizer(
        &py,
        &seed,
        "lambda_function.lambda_handler",
        1,
        &record,
        vec![],
    );
    auth.enable_caching_for_http = true;
    let emu = start(config(vec![auth], None)).await;
    let good = seed_headers_for(SEED_TOKEN, &sign(signing_key(), SEED_TOKEN));
    for connection in 0..2 {
        let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
        for _ in 0..3 {
            conn.post(&format!("/topics/{SEED_TOPIC}"), &refs(&good))
                .await
                .assert_message(200, "OK");
        }
        assert_eq!(
            records(&record).len(),
            connection + 1,
            "one invocation per keep-alive connection"
        );
    }
    assert_eq!(emu.ledger().len(), 2);
    emu.stop().await;
}

#[tokio::test]
async fn seed_function_gets_the_mqtt_over_websocket_event() {
    let py = python();
    let dir = crate::support::tempdir();
    let record = dir.path().join("seed.jsonl");
    let seed = repo().join("scenarios/lambdas/seed_python");
    let auth = python_authorizer(
        &py,
        &seed,
        "lambda_function.lambda_handler",
        1,
        &record,
        vec![],
    );
    let emu = start(config(vec![auth], None)).await;
    let headers = seed_headers_for(SEED_TOKEN, &sign(signing_key(), SEED_TOKEN));
    let mut ws = crate::emulator::websocket::open(&emu, "", &headers).await;
    // The seed policy has no iot:Connect: the CONNECT is refused, after the function ran.
    let answer =
        crate::emulator::websocket::connect_over(&mut ws, connect(4, "wsdev", None, None, 60))
            .await;
    assert_eq!(answer, None, "refused without CONNACK");
    let seen = records(&record);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0]["protocols"],
        serde_json::json!(["tls", "http", "mqtt"])
    );
    assert_eq!(seen[0]["shape"]["clientId"], "wsdev");
    assert_eq!(seen[0]["token"], token_hash(SEED_TOKEN));
    let ledger = emu.ledger().entries();
    assert_eq!(
        (ledger[0].transport.label(), ledger[0].trigger.as_str()),
        ("wss", "connect")
    );
    assert_eq!(
        ledger[0].deny_text().as_deref(),
        Some("policy_implicit_deny")
    );
    emu.stop().await;
}

/// `scenarios/lambdas/seed-runtime.toml` runs as its header says (paths relative to the file): the seed function
/// under awslambdaric answers every attempt, and its output (one witness line per invocation) goes to the run
/// folder's `emulator/functions.log`, not over the run's progress on stderr.
#[test]
fn the_seed_runtime_scenario_runs_and_keeps_the_function_output_in_the_run_folder() {
    python();
    let dir = crate::support::tempdir();
    let out = dir.path().join("out");
    let scenario = repo().join("scenarios/lambdas/seed-runtime.toml");
    let (o, r) = crate::run::run(
        &[
            scenario.to_str().unwrap(),
            "--duration",
            "2",
            "--attempts",
            "200",
        ],
        &out,
    );
    let stderr = crate::run::text(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{stderr}",
        crate::run::text(&o.stdout)
    );
    assert!(!stderr.contains("tokenstorm_witness"), "{stderr}");
    let r = r.expect("report.json");
    let run_id = r["run_id"].as_str().unwrap();
    let folder = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(folder.join("emulator/functions.log")).unwrap();
    let lines: Vec<_> = log
        .lines()
        .filter_map(tokenstorm::contract::witness_line::parse)
        .collect();
    assert_eq!(
        lines.len() as u64,
        r["invocations"]["this_run"].as_u64().unwrap()
    );
    assert!(
        lines.iter().all(|l| l.run.as_deref() == Some(run_id)),
        "{log}"
    );
}
