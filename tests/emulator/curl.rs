//! The seed article, exactly: keys from `openssl genrsa` / `openssl rsa -pubout`, signatures from
//! `openssl dgst -sha256 -sign`, and its `curl` command over TLS trusting the emulator's generated CA.
//!
//! The seed's token header is `"X-My-App-custom-key: MyStringThatNeedsToBeSigned "` with a trailing space.
//! curl sends that space on the wire, but HTTP field values exclude surrounding whitespace (RFC 9110 §5.5) and
//! the emulator's parser (httparse) strips it, so the token is the string that was signed and the request passes.

use std::path::{Path, PathBuf};
use std::process::Output;

use tokenstorm::contract::GateRejection;
use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::authorizer::{AuthorizerSpec, AuthorizerStatus, FunctionSpec};
use tokenstorm::token::PublicKey;

use crate::support::emulator::{Handle, config, start};
use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, SEED_TOPIC};

async fn run(program: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

async fn sh(script: &str, args: &[&str]) -> String {
    let mut all = vec!["-c", script, "sh"];
    all.extend_from_slice(args);
    let out = run("sh", &all).await;
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim_end_matches('\n')
        .to_string()
}

/// `openssl genrsa -out private_key.pem 2048` and `openssl rsa -in private_key.pem -pubout > public_key.pem`.
async fn openssl_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let private = dir.join("private_key.pem");
    let public = dir.join("public_key.pem");
    let out = run(
        "openssl",
        &["genrsa", "-out", private.to_str().unwrap(), "2048"],
    )
    .await;
    assert!(
        out.status.success(),
        "openssl genrsa: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        "openssl",
        &[
            "rsa",
            "-in",
            private.to_str().unwrap(),
            "-pubout",
            "-out",
            public.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "openssl rsa -pubout: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (private, public)
}

/// `echo -n TOKEN | openssl dgst -sha256 -sign private_key.pem | base64 -w0`.
async fn dgst_sign(private: &Path, token: &str) -> String {
    sh(
        r#"printf %s "$1" | openssl dgst -sha256 -sign "$2" | base64 -w0"#,
        &[token, private.to_str().unwrap()],
    )
    .await
}

/// The seed's other pipeline: sign the hex digest string with `pkeyutl` (`with_digest_opt` as the article
/// writes it; without, as people "fix" it when OpenSSL 3 refuses the former).
async fn hex_pkeyutl_sign(private: &Path, token: &str, with_digest_opt: bool) -> String {
    let opt = if with_digest_opt {
        "-pkeyopt digest:sha256"
    } else {
        ""
    };
    let script = format!(
        r#"printf %s "$1" | openssl dgst -sha256 -hex | sed 's/^.*= //' | tr -d '\n' | openssl pkeyutl -sign -inkey "$2" {opt} 2>/dev/null | base64 -w0"#
    );
    sh(&script, &[token, private.to_str().unwrap()]).await
}

/// The seed's curl command against the emulator; returns (status, body).
async fn seed_curl(emu: &Handle, signature: &str) -> (u16, String) {
    let name = format!("x-amz-customauthorizer-name: {SEED_AUTHORIZER}");
    let token = format!("{SEED_TOKEN_KEY_NAME}: {SEED_TOKEN} ");
    let sig = format!("x-amz-customauthorizer-signature: {signature}");
    curl_publish(emu, &[&name, &token, &sig]).await
}

/// curl publishing to the seed's topic with these header lines, sent as written (curl keeps their case and
/// repeats); returns (status, body).
async fn curl_publish(emu: &Handle, headers: &[&str]) -> (u16, String) {
    let url = format!(
        "https://localhost:{}/topics/{SEED_TOPIC}?qos=1",
        emu.https_port()
    );
    let ca = emu.ca_cert_path().to_str().unwrap().to_string();
    let mut args = vec!["-sS", "--max-time", "20", "--cacert", &ca];
    for h in headers {
        args.extend(["--header", h]);
    }
    args.extend([
        "--request",
        "POST",
        "--data",
        "Hello, world",
        "-w",
        "\n%{http_code}",
        &url,
    ]);
    let out = run("curl", &args).await;
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').expect("status line");
    (code.parse().unwrap(), body.to_string())
}

async fn admin_get(emu: &Handle, path: &str) -> String {
    let url = format!("http://{}{path}", emu.addrs().admin.unwrap());
    let out = run("curl", &["-sS", "--max-time", "20", &url]).await;
    assert!(
        out.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_aws_message(body: &str, message: &str) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["message"], message, "{body}");
    assert!(
        uuid::Uuid::parse_str(v["traceId"].as_str().unwrap()).is_ok(),
        "{body}"
    );
}

fn seed_spec(public: &Path) -> AuthorizerSpec {
    AuthorizerSpec {
        name: SEED_AUTHORIZER.into(),
        token_key_name: SEED_TOKEN_KEY_NAME.into(),
        signing_keys: vec![(
            "FIRST_KEY".into(),
            PublicKey::from_pem_file(public).unwrap(),
        )],
        status: AuthorizerStatus::Active,
        signing_disabled: false,
        enable_caching_for_http: false,
        function: FunctionSpec::in_process(
            FunctionBehaviour::seed_article(),
            std::time::Duration::ZERO,
        ),
    }
}

/// Sum of the samples of one metric family in Prometheus text.
fn metric_sum(text: &str, family: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with('{'))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_curl_valid_then_changed_signature_and_metrics_count_one_invocation() {
    let dir = crate::support::tempdir();
    let (private, public) = openssl_keys(dir.path()).await;
    let emu = start(config(vec![seed_spec(&public)], None)).await;

    let signature = dgst_sign(&private, SEED_TOKEN).await;
    assert_eq!(signature.len(), 344);
    let (status, body) = seed_curl(&emu, &signature).await;
    assert_eq!(status, 200, "{body}");
    assert_aws_message(&body, "OK");

    // One character changed, still valid base64 of the right length.
    let mut changed: Vec<char> = signature.chars().collect();
    changed[20] = if changed[20] == 'A' { 'B' } else { 'A' };
    let changed: String = changed.into_iter().collect();
    let (status, body) = seed_curl(&emu, &changed).await;
    assert_eq!(status, 403, "{body}");
    assert_aws_message(&body, "Forbidden");

    let metrics = admin_get(&emu, "/metrics").await;
    assert!(metrics.contains(&format!(
        "tokenstorm_authorizer_invocations_total{{authorizer=\"{SEED_AUTHORIZER}\"}} 1\n"
    )));
    assert_eq!(
        metric_sum(&metrics, "tokenstorm_authorizer_invocations_total"),
        1,
        "{metrics}"
    );
    assert_eq!(
        metric_sum(&metrics, "tokenstorm_gate_rejections_total"),
        1,
        "{metrics}"
    );
    assert!(
        metrics.contains("tokenstorm_gate_rejections_total{reason=\"signature_mismatch\"} 1\n")
    );
    assert!(
        metrics.contains("tokenstorm_requests_total{transport=\"https\",outcome=\"allowed\"} 1\n")
    );

    // The trailing space of the seed's header did not reach the token.
    let ledger: serde_json::Value =
        serde_json::from_str(&admin_get(&emu, "/ledger").await).unwrap();
    let entries = ledger["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["event"]["token"], SEED_TOKEN);
    assert_eq!(
        entries[0]["event"]["protocolData"]["http"]["headers"]["x-my-app-custom-key"],
        SEED_TOKEN
    );
    assert_eq!(entries[0]["verdict"], "allow");
    let later: serde_json::Value =
        serde_json::from_str(&admin_get(&emu, "/ledger?since=1").await).unwrap();
    assert_eq!(later["entries"].as_array().unwrap().len(), 0);
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_hex_digest_pipelines_are_refused_at_the_gate() {
    let dir = crate::support::tempdir();
    let (private, public) = openssl_keys(dir.path()).await;
    let emu = start(config(vec![seed_spec(&public)], None)).await;

    // As written, OpenSSL 3 refuses to sign 64 bytes as a SHA-256 digest: the pipeline yields nothing.
    let as_written = hex_pkeyutl_sign(&private, SEED_TOKEN, true).await;
    assert_eq!(as_written, "");
    let (status, body) = seed_curl(&emu, &as_written).await;
    assert_eq!(status, 403, "{body}");
    assert_aws_message(&body, "Forbidden");

    // Without the digest option it signs the hex string itself: a real signature, but not of the token.
    let hex_signed = hex_pkeyutl_sign(&private, SEED_TOKEN, false).await;
    assert_eq!(hex_signed.len(), 344);
    assert_ne!(hex_signed, dgst_sign(&private, SEED_TOKEN).await);
    let (status, body) = seed_curl(&emu, &hex_signed).await;
    assert_eq!(status, 403, "{body}");

    assert_eq!(emu.ledger().len(), 0, "neither reached the authorizer");
    assert_eq!(
        emu.metrics()
            .gate_rejections(GateRejection::MissingSignature),
        1
    );
    assert_eq!(
        emu.metrics()
            .gate_rejections(GateRejection::SignatureMismatch),
        1
    );
    emu.stop().await;
}

/// Header case games on the wire: names in any case are the same field (RFC 9110), so credentials under
/// upper-case names pass, and two signature lines that differ only in case are a duplicate, judged by
/// `gate.duplicates` (`reject`: refused at the gate, never invoked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_names_in_any_case_are_one_field_and_case_duplicates_follow_the_gate_setting() {
    let dir = crate::support::tempdir();
    let (private, public) = openssl_keys(dir.path()).await;
    let signature = dgst_sign(&private, SEED_TOKEN).await;
    let mut wrong: Vec<char> = signature.chars().collect();
    wrong[0] = if wrong[0] == 'A' { 'B' } else { 'A' };
    let wrong: String = wrong.into_iter().collect();
    let name = format!("X-AMZ-CUSTOMAUTHORIZER-NAME: {SEED_AUTHORIZER}");
    let token = format!("{}: {SEED_TOKEN}", SEED_TOKEN_KEY_NAME.to_uppercase());
    let upper = format!("X-AMZ-CUSTOMAUTHORIZER-SIGNATURE: {signature}");
    let lower_wrong = format!("x-amz-customauthorizer-signature: {wrong}");

    let emu = start(config(vec![seed_spec(&public)], None)).await;
    let (status, body) = curl_publish(&emu, &[&name, &token, &upper]).await;
    assert_eq!(status, 200, "{body}");
    // A wrong signature first, the valid one second, names differing only in case: the first counts by default.
    let (status, _) = curl_publish(&emu, &[&name, &token, &lower_wrong, &upper]).await;
    assert_eq!(status, 403);
    let metrics = admin_get(&emu, "/metrics").await;
    assert!(
        metrics.contains("tokenstorm_gate_rejections_total{reason=\"signature_mismatch\"} 1\n"),
        "{metrics}"
    );
    emu.stop().await;

    let mut strict = config(vec![seed_spec(&public)], None);
    strict.gate.duplicates = tokenstorm::wire::settings::Duplicates::Reject;
    let emu = start(strict).await;
    let (status, _) = curl_publish(&emu, &[&name, &token, &upper, &lower_wrong]).await;
    assert_eq!(status, 403);
    let metrics = admin_get(&emu, "/metrics").await;
    assert!(
        metrics.contains("tokenstorm_gate_rejections_total{reason=\"duplicated_parameter\"} 1\n"),
        "{metrics}"
    );
    assert_eq!(
        metric_sum(&metrics, "tokenstorm_authorizer_invocations_total"),
        0
    );
    emu.stop().await;
}
