//! `tokenstorm test-invoke` as a real process, running the seed function under awslambdaric.

use std::process::Command;

use super::fixtures::{python, records, repo};
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, attacker_key, sign, signing_key,
};

fn describe_authorizer(dir: &std::path::Path) -> std::path::PathBuf {
    let json = serde_json::json!({"authorizerDescription": {
        "authorizerName": SEED_AUTHORIZER,
        "tokenKeyName": SEED_TOKEN_KEY_NAME,
        "tokenSigningPublicKeys": {"key0": signing_key().public_key().to_spki_pem()},
        "status": "ACTIVE", "signingDisabled": false, "enableCachingForHttp": false}});
    let path = dir.join("authorizer.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

#[test]
fn test_invoke_prints_the_aws_shape_and_refuses_a_forged_signature_without_running_the_function() {
    let py = python();
    let dir = crate::support::tempdir();
    let describe = describe_authorizer(dir.path());
    let state = dir.path().join("state");
    let cmd = format!(
        "{} -m awslambdaric lambda_function.lambda_handler",
        py.display()
    );
    let seed = repo().join("scenarios/lambdas/seed_python");
    let invoke = |signature: String| {
        Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
            .args([
                "test-invoke",
                "--authorizer",
                SEED_AUTHORIZER,
                "--token",
                SEED_TOKEN,
            ])
            .args(["--token-signature", &signature])
            .args(["--tls-context", r#"{"serverName":"example.com"}"#])
            .args(["--mqtt-context", r#"{"clientId":"dev1","username":"u"}"#])
            .arg("--authorizer-json")
            .arg(&describe)
            .args(["--lambda-cmd", &cmd, "--lambda-memory-mb", "256"])
            .arg("--lambda-dir")
            .arg(&seed)
            .arg("--state-dir")
            .arg(&state)
            .output()
            .expect("run tokenstorm")
    };
    let record = state.join(format!("functions/{SEED_AUTHORIZER}.jsonl"));

    let forged = invoke(sign(attacker_key(), SEED_TOKEN));
    assert_eq!(forged.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&forged.stderr);
    assert!(
        stderr.contains("refused") && stderr.contains("not invoked"),
        "{stderr}"
    );
    assert!(forged.stdout.is_empty());
    assert_eq!(
        records(&record).len(),
        0,
        "the function never ran for a forged signature"
    );

    let good = invoke(sign(signing_key(), SEED_TOKEN));
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&good.stdout).expect("JSON on stdout");
    let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "disconnectAfterInSeconds",
            "isAuthenticated",
            "policyDocuments",
            "principalId",
            "refreshAfterInSeconds"
        ]
    );
    assert_eq!(out["isAuthenticated"], true);
    assert_eq!(out["principalId"], "myPrincipalDevice123");
    assert_eq!(
        (
            out["refreshAfterInSeconds"].as_u64(),
            out["disconnectAfterInSeconds"].as_u64()
        ),
        (Some(300), Some(86400))
    );
    let doc: serde_json::Value =
        serde_json::from_str(out["policyDocuments"][0].as_str().expect("a JSON string")).unwrap();
    assert_eq!(
        doc["Statement"][0]["Resource"],
        "arn:aws:iot:*:*:topic/customAuhtTestTopic"
    );
    // The policy dry run on the answer, on stderr: the seed policy has no iot:Connect for the client id given.
    let stderr = String::from_utf8_lossy(&good.stderr);
    for line in [
        "policy check: 1 document(s) · devices: 1 listed",
        "iot:Connect denied for 1 request(s): no statement allows",
        "e.g. arn:aws:iot:eu-west-1:123456789012:client/dev1 (client id dev1)",
        "policy check: FAIL: 1 request(s) would be denied",
    ] {
        assert!(stderr.contains(line), "{line:?} in\n{stderr}");
    }
    let seen = records(&record);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["protocols"], serde_json::json!(["tls", "mqtt"]));
    assert_eq!(seen[0]["shape"]["serverName"], "example.com");
    assert_eq!(seen[0]["shape"]["clientId"], "dev1");
}
