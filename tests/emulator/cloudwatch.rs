//! The emulator towards CloudWatch (`cloudwatch_url`, moto as CloudWatch): valid HTTPS publishes show up as
//! `AWS/Lambda` `Invocations` per function and as Lambda's log lines with one witness line per invocation naming
//! its attempt; forged publishes show up nowhere. `tokenstorm emulate --cloudwatch-url` names the function after
//! `authorizerFunctionArn` and flushes at SIGTERM. Publishing to an unreachable CloudWatch never fails a request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokenstorm::aws::{CloudWatch, LogEvent, Logs, MetricQuery, Settings};
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::witness_line;

use super::{refs, seed_headers};
use crate::support::client::Conn;
use crate::support::emulator::{authorizer, config, seed_authorizer, start};
use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN, attacker_key, sign, signing_key};
use crate::support::moto::{self, Moto};

const SECOND: &str = "SecondAuthorizer";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

fn settings(url: &str) -> Settings {
    Settings {
        region: moto::REGION.into(),
        endpoint_url: Some(url.into()),
    }
}

/// `n` publishes through `authorizer`, signed by `key`, with the attempt ids `run1-<class>-<i>-0`.
async fn publish(conn: &mut Conn, authorizer: &str, valid: bool, n: usize) -> Vec<String> {
    let key = if valid { signing_key() } else { attacker_key() };
    let class = if valid { "valid" } else { "forged" };
    let mut headers = seed_headers(&sign(key, SEED_TOKEN));
    headers[0].1 = authorizer.to_string();
    let mut ids = Vec::new();
    for i in 0..n {
        let attempt = format!("run1-{class}-{authorizer}{i}-0");
        let mut with_id = refs(&headers);
        with_id.push(("x-tokenstorm-attempt", &attempt));
        let (status, message) = if valid {
            (200, "OK")
        } else {
            (403, "Forbidden")
        };
        conn.post("/topics/t", &with_id)
            .await
            .assert_message(status, message);
        ids.push(attempt);
    }
    ids
}

/// The `Invocations` sum of `function` over `[start, start + 180 s)`, all periods added.
async fn invocations(cw: &CloudWatch, function: &str, start_s: i64) -> f64 {
    let query = MetricQuery {
        id: "inv".into(),
        namespace: "AWS/Lambda".into(),
        metric: "Invocations".into(),
        dimensions: vec![("FunctionName".into(), function.into())],
        period_s: 60,
        stat: "Sum".into(),
    };
    let series = cw
        .get_metric_data(&[query], start_s, start_s + 180)
        .await
        .unwrap();
    series[0].points.iter().map(|(_, v)| v).sum()
}

/// Polls until `function`'s invocations reach `want` (the publisher flushes about every second).
async fn wait_for_invocations(cw: &CloudWatch, function: &str, start_s: i64, want: f64) {
    for _ in 0..150 {
        if invocations(cw, function, start_s).await >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{function}: {want} invocations never showed up in CloudWatch");
}

fn with_prefix<'a>(events: &'a [LogEvent], prefix: &str) -> Vec<&'a LogEvent> {
    events
        .iter()
        .filter(|e| e.message.starts_with(prefix))
        .collect()
}

#[tokio::test]
async fn valid_invocations_are_published_as_lambda_metrics_and_logs_and_forged_ones_never() {
    let moto = Moto::start();
    let mut c = config(
        vec![
            seed_authorizer(FunctionBehaviour::default_allow()),
            authorizer(SECOND, &[0], FunctionBehaviour::default_allow()),
        ],
        None,
    );
    c.cloudwatch_url = Some(moto.url());
    let start_ms = now_ms();
    let start_s = start_ms / 60_000 * 60;
    let emu = start(c).await;
    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    let mut valid = publish(&mut conn, SEED_AUTHORIZER, true, 3).await;
    let forged = publish(&mut conn, SEED_AUTHORIZER, false, 4).await;
    publish(&mut conn, SECOND, true, 2).await;
    publish(&mut conn, SECOND, false, 2).await;

    // Near-live: the counts appear while the emulator runs.
    let cw = CloudWatch::connect(&settings(&moto.url())).await.unwrap();
    wait_for_invocations(&cw, SEED_AUTHORIZER, start_s, 3.0).await;
    wait_for_invocations(&cw, SECOND, start_s, 2.0).await;
    emu.stop().await;
    assert_eq!(invocations(&cw, SEED_AUTHORIZER, start_s).await, 3.0);
    assert_eq!(invocations(&cw, SECOND, start_s).await, 2.0);

    let logs = Logs::connect(&settings(&moto.url())).await.unwrap();
    let group = format!("/aws/lambda/{SEED_AUTHORIZER}");
    let events = logs
        .filter(&group, None, start_ms - 1000, now_ms() + 1000)
        .await
        .unwrap();
    for prefix in ["START RequestId: ", "END RequestId: ", "REPORT RequestId: "] {
        assert_eq!(
            with_prefix(&events, prefix).len(),
            3,
            "{prefix}: {events:#?}"
        );
    }
    let report = &with_prefix(&events, "REPORT")[0].message;
    assert!(
        report.contains("\tBilled Duration: ") && report.contains("\tMemory Size: 128 MB\t"),
        "{report}"
    );
    let lines: Vec<_> = events
        .iter()
        .filter_map(|e| witness_line::parse(&e.message))
        .collect();
    let mut attempts: Vec<String> = lines.iter().filter_map(|l| l.attempt.clone()).collect();
    attempts.sort();
    valid.sort();
    assert_eq!(attempts, valid, "one witness line per valid invocation");
    for line in &lines {
        assert_eq!(line.run.as_deref(), Some("run1"));
        let start = format!("START RequestId: {} Version: $LATEST", line.request_id);
        assert!(events.iter().any(|e| e.message == start), "{start}");
    }
    assert!(
        events
            .iter()
            .all(|e| forged.iter().all(|f| !e.message.contains(f.as_str()))),
        "no forged attempt in the log"
    );
    // One execution environment for the in-process function: one stream named like Lambda's.
    let stream = &events[0].stream;
    assert!(events.iter().all(|e| &e.stream == stream));
    assert!(
        stream.contains("/[$LATEST]") && stream.len() == "2026/12/03/[$LATEST]".len() + 32,
        "{stream}"
    );
    assert!(events.iter().all(|e| e.unix_ms >= start_ms - 1000));
}

#[tokio::test]
async fn an_unreachable_cloudwatch_never_fails_a_request() {
    let mut c = config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    );
    c.cloudwatch_url = Some(format!("http://127.0.0.1:{}", moto::free_port()));
    moto::set_fake_credentials();
    let emu = start(c).await;
    let mut conn = Conn::https(emu.addrs().https.unwrap(), emu.ca_cert_path(), "localhost").await;
    publish(&mut conn, SEED_AUTHORIZER, true, 3).await;
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_publishes_under_the_arns_function_name_and_flushes_at_sigterm() {
    use nix::sys::signal::{Signal, kill};
    use tokio::io::AsyncBufReadExt as _;

    let moto = Moto::start();
    let dir = crate::support::tempdir();
    std::fs::write(
        dir.path().join("authorizer.json"),
        super::process::describe_json("ACTIVE"),
    )
    .unwrap();
    let start_ms = now_ms();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .args([
            "emulate",
            "--authorizer-json",
            "authorizer.json",
            "--bind-https",
            ":0",
            "--bind-http",
            "off",
        ])
        .args([
            "--bind-admin",
            "off",
            "--state-dir",
            "state",
            "--cloudwatch-url",
            &moto.url(),
        ])
        .envs(Moto::env())
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tokenstorm emulate");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("no ready line within 30 s")
        .unwrap()
        .expect("stdout closed before the ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let https: std::net::SocketAddr = ready["https"].as_str().unwrap().parse().unwrap();
    let ca = std::path::PathBuf::from(ready["ca_cert"].as_str().unwrap());
    let mut conn = Conn::https(https, &ca, "localhost").await;
    let valid = publish(&mut conn, SEED_AUTHORIZER, true, 1).await;
    publish(&mut conn, SEED_AUTHORIZER, false, 1).await;
    kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exit")
        .unwrap();
    assert_eq!(status.code(), Some(0));

    // The describe-authorizer file's authorizerFunctionArn ends in :function:TestIotCustomAuthorizer.
    let cw = CloudWatch::connect(&settings(&moto.url())).await.unwrap();
    assert_eq!(
        invocations(&cw, "TestIotCustomAuthorizer", start_ms / 60_000 * 60).await,
        1.0
    );
    let logs = Logs::connect(&settings(&moto.url())).await.unwrap();
    let events = logs
        .filter(
            "/aws/lambda/TestIotCustomAuthorizer",
            None,
            start_ms - 1000,
            now_ms() + 1000,
        )
        .await
        .unwrap();
    let attempts: Vec<_> = events
        .iter()
        .filter_map(|e| witness_line::parse(&e.message)?.attempt)
        .collect();
    assert_eq!(attempts, valid);
}
