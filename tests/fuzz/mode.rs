//! `tokenstorm fuzz`: a bounded run over every transport ends with no finding, a reproducer replays, and the
//! oracle does flag a case that carries a valid signature nobody declared.

use std::time::Duration;

use tokenstorm::contract::{Route, Transport};
use tokenstorm::fuzz::oracle::FindingKind;
use tokenstorm::fuzz::reproducer::Reproducer;
use tokenstorm::fuzz::runner::{self, Options};
use tokenstorm::shutdown::Shutdown;

fn options(dir: &std::path::Path, seed: u64, cases: u64) -> Options {
    let mut o = Options::new(seed, cases, dir.join("run"));
    o.probe_every = 250;
    o.minimize_budget = Duration::from_secs(5);
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_fuzz_run_over_every_transport_ends_with_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), 20261124, 2_000);
    let s = runner::run(&opts, &Shutdown::new()).await.unwrap();
    assert_eq!(s.cases_run, 2_000);
    assert!(s.findings.is_empty(), "findings: {:#?}", s.findings);
    assert_eq!(s.verdict, "pass");
    for t in &s.transports {
        assert!(t.cases > 0 && t.with_valid_prefix > 0, "{t:?}");
        assert_eq!(t.not_connected, 0, "{t:?}");
    }
    // The valid prefixes and probes did reach the authorizer: the valid paths were exercised, not refused.
    let prefixed: u64 = s.transports.iter().map(|t| t.with_valid_prefix).sum();
    assert!(
        s.invocations >= s.probes * 2 + prefixed / 2,
        "{} invocations",
        s.invocations
    );
}

fn valid_request_bytes_without_a_declared_prefix(dir: &std::path::Path) -> Reproducer {
    // The HTTPS valid prefix as the case's own bytes: a valid signature the oracle was not told about.
    let f = tokenstorm::fuzz::targets::fixture();
    let token = "undeclared";
    let sig = tokenstorm::token::encode_signature(&tokenstorm::token::sign_token(
        f.key,
        token.as_bytes(),
    ));
    let bytes = format!(
        "POST /topics/t?qos=0 HTTP/1.1\r\nhost: {}\r\nx-token: {token}\r\nx-amz-customauthorizer-signature: {sig}\r\n\
         content-length: 0\r\n\r\n",
        f.target.host
    );
    let rep = Reproducer::new(
        9,
        9,
        Route::of(Transport::Https),
        false,
        FindingKind::ReachedAuthorizer,
        "synthetic".into(),
        bytes.as_bytes(),
        None,
    );
    rep.write(dir).unwrap();
    rep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_reproducer_reports_whether_it_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path(), 1, 1);
    // A generated case (seed 1, case 3) written as a reproducer: it does not fail.
    let case = tokenstorm::fuzz::case::generate(1, 3);
    let bytes =
        tokenstorm::fuzz::render::render(&case, &tokenstorm::fuzz::targets::fixture().target);
    let quiet = Reproducer::new(
        1,
        3,
        case.transport(),
        case.valid_prefix(),
        FindingKind::Hang,
        "x".into(),
        &bytes,
        None,
    );
    assert_eq!(runner::replay(&quiet, &opts).await.unwrap(), None);
    // Undeclared valid credentials do reach the authorizer: the oracle must say so.
    let loud = valid_request_bytes_without_a_declared_prefix(dir.path());
    let got = runner::replay(&loud, &options(&dir.path().join("second"), 1, 1))
        .await
        .unwrap();
    assert!(
        matches!(got, Some((FindingKind::ReachedAuthorizer, _))),
        "{got:?}"
    );
}

#[test]
fn the_fuzz_command_replays_a_file_and_exits_1_when_it_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    valid_request_bytes_without_a_declared_prefix(dir.path());
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = std::process::Command::new(crate::run::bin())
        .args(["fuzz", "--replay"])
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("still reproduces: reached_authorizer"),
        "{stdout}"
    );
}

#[test]
fn the_fuzz_command_ends_with_a_verdict_a_summary_and_a_report_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::run::bin())
        .args([
            "fuzz",
            "--seed",
            "5",
            "--cases",
            "300",
            "--quiet",
            "--out-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
    for t in ["https", "http", "mqtt_tls", "mqtt_alpn", "mqtt", "wss"] {
        assert!(
            stdout.contains(&format!("\n  {t} ")),
            "no {t} row: {stdout}"
        );
    }
    let run_dir = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("fuzz-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["cases_run"], 300);
}

/// Found by the fuzz mode (seed 1): hyper dropped an in-flight request when the client half-closed, so a valid
/// request followed by the client's shutdown(write) reached the authorizer only sometimes. The emulator now
/// serves half-closed requests (`half_close(true)`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_half_closed_valid_request_always_reaches_the_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let (running, ep) = tokenstorm::fuzz::setup::Setup::builtin()
        .start(dir.path(), &Shutdown::new())
        .await
        .unwrap();
    for (i, transport) in [Route::PLAIN_HTTP, Route::of(Transport::Https)]
        .into_iter()
        .cycle()
        .take(40)
        .enumerate()
    {
        let id = format!("half-close-{i}");
        let sent = ep
            .send(transport, Some(&id), b"", Duration::from_secs(20))
            .await;
        assert_eq!(sent, tokenstorm::fuzz::exec::Sent::Closed);
        assert!(
            running
                .ledger()
                .entries()
                .iter()
                .any(|e| e.attempt_id.as_deref() == Some(id.as_str())),
            "{id} over {transport:?} never reached the authorizer"
        );
    }
}

/// A scenario whose authorizer name, token key name and key differ from the built-in fixture's.
const OWN_SCENARIO: &str = r#"
name = "fuzz-own"
[run]
seed = 11
[keys]
generate = 1
bits = 2048
[authorizer]
name = "OwnAuthorizer"
token_key_name = "X-Own-Token"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_a_scenario_attacks_its_authorizer_and_signs_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("own.toml");
    std::fs::write(&path, OWN_SCENARIO).unwrap();
    let plan =
        tokenstorm::scenario::Plan::resolve(tokenstorm::scenario::load(&path).unwrap(), &path)
            .unwrap();
    let setup = tokenstorm::fuzz::setup::Setup::from_plan(plan).unwrap();
    assert_eq!(setup.target.authorizer, "OwnAuthorizer");
    assert_eq!(setup.target.token_key_name, "X-Own-Token");
    let builtin = tokenstorm::fuzz::targets::fixture();
    assert_ne!(setup.target.authorizer, builtin.target.authorizer);
    assert_ne!(setup.target.token_key_name, builtin.target.token_key_name);
    let setup = std::sync::Arc::new(setup);

    let mut opts = options(dir.path(), 11, 600);
    opts.setup = setup.clone();
    let s = runner::run(&opts, &Shutdown::new()).await.unwrap();
    // Valid prefixes signed with the scenario's key, named for its authorizer, reach it (no valid_refused);
    // nothing else does (no reached_authorizer).
    assert!(s.findings.is_empty(), "findings: {:#?}", s.findings);
    let prefixed: u64 = s.transports.iter().map(|t| t.with_valid_prefix).sum();
    assert!(prefixed > 0 && s.invocations >= s.probes * 2 + prefixed / 2);

    // The emulator trusts the scenario's key only: the built-in fixture's key is now a forgery.
    let (running, ep) = setup
        .start(&dir.path().join("check"), &Shutdown::new())
        .await
        .unwrap();
    let ledger = running.ledger().clone();
    let mut issued = tokenstorm::fuzz::oracle::Issued::default();
    let (_, verdict) = runner::judge_case(
        &ep,
        &ledger,
        &mut issued,
        Route::of(Transport::Https),
        Some("own-1"),
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(verdict, None);
    assert_eq!(ledger.entries()[0].authorizer, "OwnAuthorizer");
    let builtin_key = tokenstorm::fuzz::setup::Setup::builtin().key;
    let foreign = tokenstorm::fuzz::exec::Endpoints::new(
        *running.addrs(),
        running.ca_cert_path(),
        setup.target.clone(),
        builtin_key,
    )
    .unwrap();
    let (_, verdict) = runner::judge_case(
        &foreign,
        &ledger,
        &mut issued,
        Route::of(Transport::Https),
        Some("foreign-1"),
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        verdict.map(|(k, _)| k),
        Some(FindingKind::ValidRefused),
        "a prefix signed with an unregistered key must not reach the authorizer"
    );
    assert_eq!(ledger.entries().len(), 1);
}

#[test]
fn the_fuzz_command_takes_a_scenario_and_names_its_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("own.toml");
    std::fs::write(&path, OWN_SCENARIO).unwrap();
    let out = std::process::Command::new(crate::run::bin())
        .arg("fuzz")
        .arg(&path)
        .args(["--cases", "200", "--quiet", "--out-dir"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("seed 11,"), "{stdout}");
    assert!(stdout.contains("verdict: PASS"), "{stdout}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        OWN_SCENARIO.replace(
            "bits = 2048",
            "bits = 2048\nprivate_key_files = [\"missing.pem\"]",
        ),
    )
    .unwrap();
    let out = std::process::Command::new(crate::run::bin())
        .arg("fuzz")
        .arg(&bad)
        .args(["--cases", "10", "--quiet", "--out-dir"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("keys"),
        "{stderr}"
    );
}
