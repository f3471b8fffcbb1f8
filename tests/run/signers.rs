//! `[keys] signer` end to end: a command around `openssl dgst -sha256 -sign` and AWS KMS (moto's, in server
//! mode on loopback) sign every token at setup; the embedded emulator registers the signer's public key, and a
//! run with valid, forged and replayed attempts passes its gate. Failing commands and an unknown KMS key stop
//! setup (exit 2) naming the command or key, the token and the cause, never key material.

use super::*;
use crate::support::keys::{signing_key, write_pems};

/// The command signer: the seed article's pipeline.
const OPENSSL_SIGNER: &str =
    r#"["sh", "-c", "openssl dgst -sha256 -sign key_private.pem | base64 -w0"]"#;

/// A template-token run (the pool and the catalogue both signed by the signer) over HTTPS and MQTT/TLS.
fn scenario(keys: &str) -> String {
    format!(
        r#"
[run]
duration_s = 2.0
rate_per_s = 40.0
[devices]
count = 6
token = "template"
token_template = "dev-{{device}}.{{unix_s}}.{{nonce}}"
token_pool = 8
[keys]
{keys}
[transports]
https = 1.0
mqtt_tls = 1.0
[mqtt]
publish_interval_ms = 300
connects_per_s = 100.0
[mix]
valid = 2.0
forged = 1.0
replayed = 1.0
"#
    )
}

/// The run passed with valid attempts allowed and no forged one invoking the function; the report names the
/// signer's key and holds no key material.
fn assert_passes_the_gate(o: &Output, report: Option<Value>, source: &str) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = report.expect("report.json");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    for t in ["https", "mqtt_tls"] {
        let row = super::mqtt::transport_row(&r, t);
        assert!(
            super::mqtt::count(row, "outcomes", "allowed") > 0,
            "{t}: {row}"
        );
    }
    let keys = r["scenario"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["source"], source);
    assert!(!r.to_string().contains("PRIVATE KEY"));
}

#[test]
fn a_command_signer_around_openssl_passes_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    write_pems(signing_key(), dir.path(), "key");
    let keys = format!(
        "public_key_files = [\"key_public.pem\"]\nsigner = {{ command = {OPENSSL_SIGNER} }}"
    );
    let path = write_scenario(dir.path(), "command.toml", &scenario(&keys));
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_passes_the_gate(&o, report, "command:sh");
}

/// Each failing command stops setup (exit 2, no report) with the command, the token index and the cause; a
/// command that prints its private key does not get it echoed.
#[test]
fn failing_commands_stop_setup_naming_the_command_the_token_and_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    write_pems(signing_key(), dir.path(), "key");
    let key_pem = std::fs::read_to_string(dir.path().join("key_private.pem")).unwrap();
    let cases = [
        (
            r#"["sh", "-c", "cat >/dev/null; echo 'no such key' >&2; exit 3"]"#,
            "",
            vec!["exit status: 3", "stderr: no such key"],
        ),
        (
            r#"["sh", "-c", "cat >/dev/null"]"#,
            "",
            vec!["printed nothing"],
        ),
        (
            r#"["sh", "-c", "cat >/dev/null; echo 'not*base64'"]"#,
            "",
            vec!["not a base64 signature"],
        ),
        (
            r#"["sh", "-c", "sleep 5"]"#,
            ", timeout_ms = 300",
            vec!["no answer within 300 ms"],
        ),
        (
            r#"["sh", "-c", "cat key_private.pem"]"#,
            "",
            vec!["printed a PEM block"],
        ),
        // `echo` without `-n`: the token plus a newline is signed, which the gate would refuse.
        (
            r#"["sh", "-c", "(cat; echo) | openssl dgst -sha256 -sign key_private.pem | base64 -w0"]"#,
            "",
            vec!["does not verify with the registered public key"],
        ),
        (
            r#"["/nonexistent/signer"]"#,
            "",
            vec!["cannot start \"/nonexistent/signer\""],
        ),
    ];
    for (i, (command, extra, want)) in cases.iter().enumerate() {
        let keys = format!(
            "public_key_files = [\"key_public.pem\"]\nsigner = {{ command = {command}{extra} }}"
        );
        let path = write_scenario(dir.path(), &format!("fail{i}.toml"), &scenario(&keys));
        let (o, report) = run(
            &[path.to_str().unwrap()],
            &dir.path().join(format!("out{i}")),
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{command}: {err}");
        assert!(report.is_none(), "{command}: no report for a setup error");
        assert!(
            err.contains("keys.signer") && err.contains("failed for token ")
                || err.contains("of token "),
            "{command}: {err}"
        );
        for w in want {
            assert!(err.contains(w), "{command}: want {w:?} in {err}");
        }
        crate::token::assert_no_key_material(&o, &key_pem, command);
    }
}

#[test]
fn a_command_signer_needs_the_public_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = format!("signer = {{ command = {OPENSSL_SIGNER} }}");
    let path = write_scenario(dir.path(), "nopub.toml", &scenario(&keys));
    let (o, _) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("keys.public_key_files") && err.contains("public half"),
        "{err}"
    );
}

/// `.venv/bin/python` with boto3 against moto: `CreateKey` (RSA_2048, SIGN_VERIFY), the key id on stdout and
/// its public key (from `GetPublicKey`, DER) written to `der`.
#[cfg(feature = "aws")]
fn create_kms_key(moto: &crate::support::moto::Moto, der: &Path) -> String {
    let script = "import boto3, sys\n\
        c = boto3.client('kms', region_name='eu-west-1', endpoint_url=sys.argv[1])\n\
        k = c.create_key(KeySpec='RSA_2048', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']\n\
        open(sys.argv[2], 'wb').write(c.get_public_key(KeyId=k)['PublicKey'])\n\
        print(k)\n";
    let o = Command::new(repo(".venv/bin/python"))
        .args(["-c", script, &moto.url(), der.to_str().unwrap()])
        .envs(crate::support::moto::AWS_ENV)
        .output()
        .expect(".venv/bin/python (run scripts/test to build the venv)");
    assert!(o.status.success(), "CreateKey: {}", text(&o.stderr));
    text(&o.stdout).trim().to_string()
}

#[cfg(feature = "aws")]
fn kms_keys(key_id: &str, moto: &crate::support::moto::Moto) -> String {
    format!(
        "signer = {{ kms_key_id = \"{key_id}\", region = \"eu-west-1\", endpoint_url = \"{}\" }}",
        moto.url()
    )
}

/// moto's KMS `Sign` gives PKCS#1 v1.5 SHA-256 signatures over the raw message: one from tokenstorm's KMS
/// signer verifies under `openssl dgst -sha256 -verify` with the key's public key from `GetPublicKey` (DER,
/// converted to PEM by openssl); then a run signed by KMS passes the emulator's gate.
#[cfg(feature = "aws")]
#[test]
fn a_kms_signer_signs_what_openssl_verifies_and_passes_the_gate() {
    use tokenstorm::scenario::signer::SignerPlan;
    use tokenstorm::token::TokenSigner as _;
    let moto = crate::support::moto::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let der = dir.path().join("kms_public.der");
    let key_id = create_kms_key(&moto, &der);
    let pem = dir.path().join("kms_public.pem");
    let o = Command::new("openssl")
        .args(["pkey", "-pubin", "-inform", "DER", "-in"])
        .arg(&der)
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let plan = SignerPlan::Kms {
        key_id: key_id.clone(),
        region: "eu-west-1".into(),
        endpoint_url: Some(moto.url()),
        concurrency: 4,
        timeout: Duration::from_secs(10),
    };
    let (signer, key) =
        tokenstorm::signer::KmsSigner::connect(&plan).expect("connect to moto's KMS");
    assert_eq!(
        key.public.to_spki_pem(),
        std::fs::read_to_string(&pem).unwrap()
    );
    let tokens = vec![
        "dev-000001.1800000000.abc".to_string(),
        "MyStringThatNeedsToBeSigned".into(),
    ];
    let sigs = signer.sign_all(&tokens).expect("KMS Sign");
    for (token, sig) in tokens.iter().zip(&sigs) {
        let (msg, sig_file) = (dir.path().join("msg"), dir.path().join("sig"));
        std::fs::write(&msg, token).unwrap();
        std::fs::write(&sig_file, sig).unwrap();
        let v = Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(&pem)
            .arg("-signature")
            .arg(&sig_file)
            .arg(&msg)
            .output()
            .expect("openssl");
        assert!(
            v.status.success() && text(&v.stdout).contains("Verified OK"),
            "{token}: {}{}",
            text(&v.stdout),
            text(&v.stderr)
        );
    }
    let path = write_scenario(dir.path(), "kms.toml", &scenario(&kms_keys(&key_id, &moto)));
    let (o, report) = run_with_env(
        &[path.to_str().unwrap()],
        &dir.path().join("out"),
        &crate::support::moto::AWS_ENV,
    );
    assert_passes_the_gate(&o, report, &format!("kms:{key_id}"));
}

/// An unknown key stops setup naming the key id and AWS's error code.
#[cfg(feature = "aws")]
#[test]
fn an_unknown_kms_key_stops_setup_naming_it_and_the_error_code() {
    let moto = crate::support::moto::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let keys = kms_keys("alias/no-such-key", &moto);
    let path = write_scenario(dir.path(), "nokey.toml", &scenario(&keys));
    let (o, report) = run_with_env(
        &[path.to_str().unwrap()],
        &dir.path().join("out"),
        &crate::support::moto::AWS_ENV,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(report.is_none());
    let err = text(&o.stderr);
    assert!(
        err.contains("alias/no-such-key") && err.contains("NotFoundException"),
        "{err}"
    );
}

/// Without the `aws` feature a KMS signer stops setup saying how to rebuild.
#[cfg(not(feature = "aws"))]
#[test]
fn a_kms_signer_needs_the_aws_feature() {
    let dir = tempfile::tempdir().unwrap();
    let keys = "signer = { kms_key_id = \"alias/k\", region = \"eu-west-1\", endpoint_url = \"http://127.0.0.1:9\" }";
    let path = write_scenario(dir.path(), "kms.toml", &scenario(keys));
    let (o, _) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--features aws"),
        "{}",
        text(&o.stderr)
    );
}

/// A stand-in KMS on loopback that throttles: `GetPublicKey` gives the test key's, `Sign` answers
/// `ThrottlingException` to the first `throttled` calls, then signs with the test key. Returns its URL and the
/// count of `Sign` calls.
#[cfg(feature = "aws")]
fn throttling_kms(throttled: usize) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use rsa::pkcs8::EncodePublicKey as _;
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let (mut target, mut length) = (String::new(), 0usize);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end().to_ascii_lowercase();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("x-amz-target:") {
                            target = v.trim().to_string();
                        }
                        if let Some(v) = l.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let req: Value = serde_json::from_slice(&body).unwrap();
                    let (status, answer) = if target.ends_with("getpublickey") {
                        let der = signing_key()
                            .public_key()
                            .reference()
                            .to_public_key_der()
                            .unwrap();
                        (
                            200,
                            serde_json::json!({"PublicKey": STANDARD.encode(der.as_bytes())}),
                        )
                    } else if seen.fetch_add(1, Ordering::SeqCst) < throttled {
                        (
                            400,
                            serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
                        )
                    } else {
                        let message = STANDARD.decode(req["Message"].as_str().unwrap()).unwrap();
                        let sig = tokenstorm::token::sign_token(signing_key(), &message);
                        (200, serde_json::json!({"Signature": STANDARD.encode(sig)}))
                    };
                    let text = answer.to_string();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n",
                        text.len()
                    );
                    if stream
                        .write_all(head.as_bytes())
                        .and_then(|()| stream.write_all(text.as_bytes()))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, calls)
}

/// Throttled `Sign` calls are retried with backoff until they succeed; a key throttled past the signature's
/// time limit fails naming the key id and `ThrottlingException`.
#[cfg(feature = "aws")]
#[test]
fn kms_throttling_is_retried_then_named_when_it_outlasts_the_time_limit() {
    use std::sync::atomic::Ordering;
    use tokenstorm::scenario::signer::SignerPlan;
    use tokenstorm::token::TokenSigner as _;
    crate::support::moto::set_fake_credentials();
    let plan = |url: String, timeout_ms| SignerPlan::Kms {
        key_id: "alias/busy".into(),
        region: "eu-west-1".into(),
        endpoint_url: Some(url),
        concurrency: 2,
        timeout: Duration::from_millis(timeout_ms),
    };
    let (url, calls) = throttling_kms(5);
    let (signer, _) = tokenstorm::signer::KmsSigner::connect(&plan(url, 20_000)).unwrap();
    let tokens: Vec<String> = (0..4).map(|i| format!("t{i}")).collect();
    let sigs = signer.sign_all(&tokens).expect("retried until signed");
    assert_eq!(sigs.len(), 4);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4 + 5,
        "each throttled call retried"
    );
    let (url, _) = throttling_kms(usize::MAX);
    let (signer, _) = tokenstorm::signer::KmsSigner::connect(&plan(url, 400)).unwrap();
    let e = signer.sign_all(&tokens[..1]).unwrap_err().to_string();
    assert!(
        e.contains("alias/busy") && e.contains("ThrottlingException") && e.contains("token 0"),
        "{e}"
    );
}
