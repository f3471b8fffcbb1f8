//! A Runtime API function towards CloudWatch: the seed Python function under awslambdaric, wrapped by the witness
//! helper, with the emulator publishing to moto. Each runtime process is one execution environment with its own
//! log stream; what the process writes (the helper's witness line) lands between its invocation's `START` and
//! `END`, and names the same request id.

use std::time::{SystemTime, UNIX_EPOCH};

use tokenstorm::aws::{Logs, Settings};
use tokenstorm::contract::authorizer::Backend;
use tokenstorm::contract::witness_line;

use super::fixtures::{python, python_authorizer, refs, repo, seed_headers_for};
use crate::support::client::Conn;
use crate::support::emulator::{config, start};
use crate::support::keys::{SEED_TOKEN, SEED_TOPIC, attacker_key, sign, signing_key};
use crate::support::moto::{self, Moto};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

#[tokio::test]
async fn runtime_output_lands_between_start_and_end_in_the_process_stream() {
    let moto = Moto::start();
    let py = python();
    let dir = crate::support::tempdir();
    let seed = repo().join("scenarios/lambdas/seed_python");
    let record = dir.path().join("seed.jsonl");
    let mut auth = python_authorizer(
        &py,
        &seed,
        "lambda_function.lambda_handler",
        1,
        &record,
        vec![],
    );
    if let Backend::RuntimeApi(f) = &mut auth.function.backend {
        f.function_name = Some("MyAuthorizerFunction".into());
    }
    let mut c = config(vec![auth], None);
    c.cloudwatch_url = Some(moto.url());
    let start_ms = now_ms();
    let emu = start(c).await;
    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    let good = seed_headers_for(SEED_TOKEN, &sign(signing_key(), SEED_TOKEN));
    let forged = seed_headers_for(SEED_TOKEN, &sign(attacker_key(), SEED_TOKEN));
    let mut valid = Vec::new();
    for i in 0..3 {
        let attempt = format!("run2-valid-{i}-0");
        let mut h = refs(&good);
        h.push(("x-tokenstorm-attempt", &attempt));
        conn.post(&format!("/topics/{SEED_TOPIC}"), &h)
            .await
            .assert_message(200, "OK");
        let forged_id = format!("run2-forged-{i}-0");
        let mut h = refs(&forged);
        h.push(("x-tokenstorm-attempt", &forged_id));
        conn.post(&format!("/topics/{SEED_TOPIC}"), &h)
            .await
            .assert_message(403, "Forbidden");
        valid.push(attempt);
    }
    emu.stop().await;

    let settings = Settings {
        region: moto::REGION.into(),
        endpoint_url: Some(moto.url()),
    };
    let logs = Logs::connect(&settings).await.unwrap();
    let events = logs
        .filter(
            "/aws/lambda/MyAuthorizerFunction",
            None,
            start_ms - 1000,
            now_ms() + 1000,
        )
        .await
        .unwrap();
    let messages: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    let lines: Vec<_> = events
        .iter()
        .filter_map(|e| witness_line::parse(&e.message))
        .collect();
    let attempts: Vec<_> = lines.iter().filter_map(|l| l.attempt.clone()).collect();
    assert_eq!(attempts, valid, "{messages:#?}");
    for line in &lines {
        let at = |m: String| {
            messages
                .iter()
                .position(|x| *x == m)
                .unwrap_or_else(|| panic!("{m}: {messages:#?}"))
        };
        let start = at(format!(
            "START RequestId: {} Version: $LATEST",
            line.request_id
        ));
        let end = at(format!("END RequestId: {}", line.request_id));
        let witness = messages
            .iter()
            .position(|m| witness_line::parse(m).is_some_and(|w| w.request_id == line.request_id))
            .unwrap();
        assert!(start < witness && witness < end, "{messages:#?}");
        assert!(messages[end + 1].starts_with(&format!("REPORT RequestId: {}\t", line.request_id)));
    }
    assert!(
        messages.iter().all(|m| !m.contains("run2-forged")),
        "{messages:#?}"
    );
    // One process, one execution environment: every line in its stream.
    assert!(events.iter().all(|e| e.stream == events[0].stream));
}
