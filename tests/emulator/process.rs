//! `tokenstorm emulate` as a real process: the ready line, serving, SIGTERM → exit 0; bad flags → exit 2.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::support::client::Conn;
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, rotated_key, sign, signing_key,
};

/// `aws iot describe-authorizer` output, as the CLI prints it, with two signing keys.
pub fn describe_json(status: &str) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "authorizerDescription": {
            "authorizerName": SEED_AUTHORIZER,
            "authorizerArn": format!("arn:aws:iot:eu-west-1:123456789012:authorizer/{SEED_AUTHORIZER}"),
            "authorizerFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:TestIotCustomAuthorizer",
            "tokenKeyName": SEED_TOKEN_KEY_NAME,
            "tokenSigningPublicKeys": {
                "FIRST_KEY": signing_key().public_key().to_spki_pem(),
                "SECOND_KEY": rotated_key().public_key().to_spki_pem()
            },
            "status": status,
            "creationDate": "2024-05-01T10:00:00.000000+00:00",
            "lastModifiedDate": "2024-05-01T10:00:00.000000+00:00",
            "signingDisabled": false,
            "enableCachingForHttp": false
        }
    }))
    .unwrap()
}

pub(crate) fn emulate(args: &[&str], dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .arg("emulate")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tokenstorm emulate")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_prints_the_ready_line_serves_and_exits_0_on_sigterm() {
    let dir = crate::support::tempdir();
    std::fs::write(dir.path().join("authorizer.json"), describe_json("ACTIVE")).unwrap();
    let mut child = emulate(
        &[
            "--authorizer-json",
            "authorizer.json",
            "--bind-https",
            ":0",
            "--bind-http",
            ":0",
            "--bind-admin",
            "127.0.0.1:0",
            "--bind-mqtt-tls",
            ":0",
            "--bind-mqtt",
            ":0",
            "--state-dir",
            "state",
            "--endpoint-name",
            "example-ats.iot.eu-west-1.amazonaws.com",
            "--ledger-capacity",
            "1",
        ],
        dir.path(),
    );
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("no ready line within 30 s")
        .unwrap()
        .expect("stdout closed before the ready line");
    let ready: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let obj = ready.as_object().unwrap();
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        [
            "admin",
            "ca_cert",
            "gate",
            "http",
            "https",
            "mqtt",
            "mqtt_tls",
            "mqtt_tls_alpn"
        ]
    );
    assert_eq!(ready["mqtt_tls_alpn"], "required");
    assert_eq!(
        ready["gate"],
        serde_json::json!({
            "query_plus": "literal", "duplicates": "first", "query_names": "exact",
            "username_query": "first_question_mark", "bare_params": "split"
        })
    );
    let addr = |k: &str| -> std::net::SocketAddr { ready[k].as_str().unwrap().parse().unwrap() };
    for k in ["https", "http", "admin", "mqtt_tls", "mqtt"] {
        assert!(addr(k).ip().is_loopback() && addr(k).port() != 0, "{line}");
    }
    let ca = Path::new(ready["ca_cert"].as_str().unwrap());
    assert!(ca.is_absolute() && ca.ends_with("state/ca.pem"), "{line}");

    // Both rotation keys of the describe-authorizer file work; the default function allows.
    let mut conn = Conn::https(addr("https"), ca, "example-ats.iot.eu-west-1.amazonaws.com").await;
    for key in [signing_key(), rotated_key()] {
        let sig = sign(key, SEED_TOKEN);
        let h = [
            ("x-amz-customauthorizer-name", SEED_AUTHORIZER),
            (SEED_TOKEN_KEY_NAME, SEED_TOKEN),
            ("x-amz-customauthorizer-signature", sig.as_str()),
        ];
        conn.post("/topics/any/topic", &h)
            .await
            .assert_message(200, "OK");
    }
    let mut admin = Conn::http(addr("admin")).await;
    let ledger = admin.get("/ledger").await.json();
    let entries = ledger["entries"].as_array().unwrap();
    // --ledger-capacity 1: the newest of the two invocations is held, the first was evicted.
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["seq"], 2);
    assert_eq!(
        (&ledger["evicted"], &ledger["last_seq"], &ledger["capacity"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(2),
            &serde_json::json!(1)
        )
    );
    assert_eq!(
        entries[0]["event"]["protocolData"]["tls"]["serverName"],
        "example-ats.iot.eu-west-1.amazonaws.com"
    );
    assert_eq!(entries[0]["response"]["principalId"], "tokenstormDevice");
    assert_eq!(admin.get("/healthz").await.json()["status"], "ok");

    let pid = Pid::from_raw(child.id().expect("running") as i32);
    kill(pid, Signal::SIGTERM).expect("SIGTERM to the emulator");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("did not exit")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        lines.next_line().await.unwrap(),
        None,
        "exactly one line on stdout"
    );
}

async fn usage_error(args: &[&str], dir: &Path) -> String {
    let child = emulate(args, dir);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("hung")
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "no ready line on failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_exits_2_naming_the_problem() {
    let dir = crate::support::tempdir();
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"authorizerDescription": {"authorizerName": "A", "status": "ON"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "bind_https = \":0\"\nunknown_field = 1\n",
    )
    .unwrap();
    let err = usage_error(&["--authorizer-json", "bad.json"], dir.path()).await;
    assert!(err.contains("bad.json") && err.contains("\"ON\""), "{err}");
    let err = usage_error(&["--authorizer-json", "missing.json"], dir.path()).await;
    assert!(err.contains("missing.json"), "{err}");
    let err = usage_error(&["--config", "bad.toml"], dir.path()).await;
    assert!(
        err.contains("bad.toml") && err.contains("unknown_field"),
        "{err}"
    );
    let err = usage_error(&["--bind-https", "localhost"], dir.path()).await;
    assert!(
        err.contains("--bind-https") && err.contains("localhost"),
        "{err}"
    );
    let err = usage_error(
        &[
            "--bind-https",
            ":0",
            "--bind-http",
            ":0",
            "--bind-admin",
            ":0",
            "--default-authorizer",
            "X",
            "--state-dir",
            "s",
        ],
        dir.path(),
    )
    .await;
    assert!(err.contains("\"X\""), "{err}");
    let err = usage_error(&["--tls-cert", "c.pem"], dir.path()).await;
    assert!(err.contains("--tls-key"), "{err}");
}
