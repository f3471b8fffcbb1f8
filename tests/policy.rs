//! `tokenstorm policy check` as a real binary: the seed article's policy against the quickstart scenario, the
//! AWS documentation's example policies (`tests/policy/aws-*.json`) against client ids given by flag, the
//! classic mistakes against a scenario's MQTT devices, a response read from stdin, `--json`, and exit 2 on bad
//! input naming the file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/policy")
        .join(name)
}

fn check(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokenstorm"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["policy", "check"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run tokenstorm");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.unwrap_or_default()).expect("stdin");
    drop(input);
    child.wait_with_output().expect("tokenstorm output")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_seed_policy_allows_every_quickstart_publish() {
    let dir = crate::support::tempdir();
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        r#"{"Version": "2012-10-17", "Statement": [{"Action": "iot:Publish", "Effect": "Allow",
            "Resource": "arn:aws:iot:*:*:topic/customAuhtTestTopic"}]}"#,
    )
    .unwrap();
    let out = check(&[seed.to_str().unwrap()], None);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("iot:Publish         300 checked      300 allowed"),
        "{t}"
    );
    assert!(
        t.contains("region eu-west-1 (the embedded emulator)"),
        "{t}"
    );
    assert!(t.contains("policy check: PASS (exit 0)"), "{t}");
}

#[test]
fn the_docs_examples_against_client_ids_given_by_flag() {
    let aws = ["--region", "us-east-1", "--account", "123456789012"];
    let six = fixture("aws-pubsub-unregistered-6.json");
    let ok = check(
        &[
            &[
                six.to_str().unwrap(),
                "--client-id",
                "client1",
                "--subscribe",
                "client1/room1",
            ][..],
            &aws,
        ]
        .concat(),
        None,
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let denied = check(
        &[
            &[
                six.to_str().unwrap(),
                "--client-id",
                "client9",
                "--subscribe",
                "client9/room1",
            ][..],
            &aws,
        ]
        .concat(),
        None,
    );
    let t = text(&denied);
    assert_eq!(denied.status.code(), Some(1), "{t}");
    assert!(
        t.contains("iot:Connect denied for 1 request(s): no statement allows"),
        "{t}"
    );
    let sample = fixture("aws-custom-auth-response.json");
    let out = check(
        &[
            &[
                sample.to_str().unwrap(),
                "--client-id",
                "d1",
                "--topic",
                "telemetry/d1",
            ][..],
            &aws,
        ]
        .concat(),
        None,
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("[malformed_arn] document 1 statement 2: arn:aws:region:accountId:topic/telemetry/${iot:ClientId} is not an AWS IoT ARN"), "{t}");
}

#[test]
fn the_classic_mistakes_against_a_scenario_s_subscribing_devices() {
    let dir = crate::support::tempdir();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "name = \"p\"\n[devices]\ncount = 4\n[transports]\nhttps = 0.0\nmqtt_tls = 1.0\n\
         [mqtt]\nsubscribe = true\npublish_interval_ms = 1000\n",
    )
    .unwrap();
    let s = scenario.to_str().unwrap();
    let sub = fixture("mistake-subscribe-on-topic.json");
    let sub = sub.to_str().unwrap();
    let out = check(
        &[sub, "--scenario", s, "--region", "us-east-1", "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["denials"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(report["denials"][0]["action"], "iot:Subscribe");
    assert_eq!(report["denials"][0]["requests"], 4);
    assert_eq!(report["findings"][0]["rule"], "subscribe_needs_topicfilter");
    // Without --region the embedded emulator's region (eu-west-1) is the one devices connect to.
    let out = check(&[sub, "--scenario", s, "--json"], None);
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["denials"][0]["action"], "iot:Connect");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "wrong_region"),
        "{report:#}"
    );
    let receive = check(
        &[
            fixture("mistake-no-receive.json").to_str().unwrap(),
            "--scenario",
            s,
            "--region",
            "us-east-1",
        ],
        None,
    );
    let t = text(&receive);
    assert_eq!(receive.status.code(), Some(1), "{t}");
    assert!(
        t.contains(
            "[missing_receive] 4 device(s) may subscribe but not receive (e.g. tokenstorm-000000)"
        ),
        "{t}"
    );
}

#[test]
fn an_aws_cli_answer_read_from_stdin() {
    let answer = std::fs::read(fixture("answer-aws-cli-test-invoke.json")).unwrap();
    let out = check(
        &[
            "-",
            "--client-id",
            "dev7",
            "--topic",
            "devices/dev7/up",
            "--subscribe",
            "devices/dev7/down",
        ],
        Some(&answer),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("region us-east-1 (not known: taken from the policy)"));
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = crate::support::tempdir();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"Version\": \"2012-10-17\"}").unwrap();
    let out = check(&[bad.to_str().unwrap()], None);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("bad.json: not a policy document (no Statement"),
        "{t}"
    );
    let missing = check(&["/nonexistent/p.json"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("cannot read /nonexistent/p.json"));
    let not_json = check(&["-"], Some(b"allow all"));
    assert_eq!(not_json.status.code(), Some(2));
    assert!(text(&not_json).contains("stdin: not JSON"));
}

#[test]
fn test_invoke_checks_its_answer_and_pipes_into_policy_check() {
    let dir = crate::support::tempdir();
    let config = dir.path().join("emulator.toml");
    std::fs::write(
        &config,
        r#"[[authorizer]]
name = "A"
token_key_name = "k"
signing_disabled = true
[authorizer.function]
mode = "allow"
principal_id = "p1"
policy_documents = ['{"Version":"2012-10-17","Statement":[{"Action":"iot:Publish","Effect":"Allow","Resource":"arn:aws:iot:*:*:topic/customAuhtTestTopic"}]}']
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["test-invoke", "--authorizer", "A", "--token", "t1"])
        .args(["--scenario", "scenarios/quickstart.toml", "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .expect("run tokenstorm");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("iot:Publish         300 checked      300 allowed"),
        "{t}"
    );
    assert!(stderr.contains("policy check: PASS: every request"), "{t}");
    // Its stdout is what `policy check -` reads.
    let piped = check(&["-"], Some(&out.stdout));
    assert_eq!(piped.status.code(), Some(0), "{}", text(&piped));
}
