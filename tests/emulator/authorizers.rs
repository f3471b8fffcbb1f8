//! Authorizers from files: a `--config` TOML that takes its authorizer from describe-authorizer JSON and
//! defines the function as a table; and a user-supplied TLS certificate.

use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::emulator::config::TlsFiles;
use tokenstorm::emulator::file::EmulatorFile;
use tokenstorm::emulator::start;
use tokenstorm::shutdown::Shutdown;

use super::process::describe_json;
use crate::support::client::Conn;
use crate::support::emulator::{config, seed_authorizer};
use crate::support::keys::{SEED_AUTHORIZER, SEED_TOKEN_KEY_NAME, rotated_key, sign};

#[tokio::test]
async fn config_file_with_describe_json_and_a_function_table() {
    let dir = crate::support::tempdir();
    std::fs::write(dir.path().join("authorizer.json"), describe_json("ACTIVE")).unwrap();
    let toml = format!(
        r#"
default_authorizer = "{SEED_AUTHORIZER}"
bind_https = "off"
bind_http = ":0"
bind_admin = ":0"
state_dir = "state"

[[authorizer]]
describe_json = "authorizer.json"

[authorizer.function]
mode = "table"
table = [
  {{ token = "device-1", response = '{{"isAuthenticated": true, "principalId": "device1", "policyDocuments": [{{"Statement": [{{"Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:eu-west-1:123456789012:topic/device-1/*"}}]}}]}}' }},
]
"#
    );
    let path = dir.path().join("emulator.toml");
    std::fs::write(&path, toml).unwrap();
    let config = EmulatorFile::resolve(&path).unwrap();
    assert_eq!(config.state_dir, dir.path().join("state"));
    let shutdown = Shutdown::new();
    let emu = start(config, shutdown.clone()).await.unwrap();
    assert!(emu.addrs().https.is_none());
    assert!(emu.ca_cert_path().starts_with(dir.path().join("state")));

    let mut conn = Conn::http(emu.addrs().http.unwrap()).await;
    let send = |token: &'static str| {
        let sig = sign(rotated_key(), token);
        vec![
            (SEED_TOKEN_KEY_NAME, token.to_string()),
            ("x-amz-customauthorizer-signature", sig),
        ]
    };
    for (token, topic, status) in [
        ("device-1", "device-1/up", 200),
        ("device-1", "device-2/up", 403),
        ("device-2", "device-2/up", 403),
    ] {
        let h = send(token);
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = conn.post(&format!("/topics/{topic}"), &h).await;
        assert_eq!(reply.status, status, "{token} on {topic}: {}", reply.body);
    }
    let reasons: Vec<_> = emu
        .ledger()
        .entries()
        .into_iter()
        .map(|e| e.deny_text())
        .collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("policy_implicit_deny".into()),
            Some("not_authenticated".into())
        ]
    );
    shutdown.trigger();
    emu.join().await;
}

#[tokio::test]
async fn a_user_supplied_certificate_is_served_and_reported() {
    let dir = crate::support::tempdir();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["my.endpoint.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let mut c = config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    );
    c.state_dir = dir.path().join("state");
    // The certificate's name must also be a served endpoint name (Host/SNI rule).
    c.endpoint_names = vec!["my.endpoint.test".to_string()];
    c.tls = Some(TlsFiles {
        cert: cert_path.clone(),
        key: key_path.clone(),
    });
    let shutdown = Shutdown::new();
    let emu = start(c, shutdown.clone()).await.unwrap();
    assert_eq!(emu.ca_cert_path(), cert_path);
    let mut conn = Conn::https(emu.addrs().https.unwrap(), &cert_path, "my.endpoint.test").await;
    let reply = conn.post("/topics/t", &[]).await;
    reply.assert_message(403, "Forbidden");
    shutdown.trigger();
    emu.join().await;

    // A key that is not a key is a start error naming the file.
    let mut c = config(vec![], None);
    c.state_dir = dir.path().join("state");
    std::fs::write(&key_path, "not a key").unwrap();
    c.tls = Some(TlsFiles {
        cert: cert_path,
        key: key_path,
    });
    let err = start(c, Shutdown::new()).await.err().expect("must fail");
    assert!(format!("{err:#}").contains("key.pem"), "{err:#}");
}

/// `mode = "replay_resistant"` in an emulator config: a fresh `v1` token is allowed as its device, the same token
/// again is `replayed`, an old one `expired`, a malformed one `malformed`; the ledger names each rule.
#[tokio::test]
async fn replay_resistant_function_from_a_config_file() {
    let dir = crate::support::tempdir();
    let toml = r#"
bind_https = "off"
bind_http = ":0"
state_dir = "state"

[[authorizer]]
name = "Fresh"
token_key_name = "tok"
signing_keys = { K = "pub.pem" }

[authorizer.function]
mode = "replay_resistant"
max_token_age_s = 60
"#;
    let (_, public) =
        crate::support::keys::write_pems(crate::support::keys::signing_key(), dir.path(), "k");
    std::fs::rename(public, dir.path().join("pub.pem")).unwrap();
    let path = dir.path().join("emulator.toml");
    std::fs::write(&path, toml).unwrap();
    let config = EmulatorFile::resolve(&path).unwrap();
    let running = start(config, Shutdown::new()).await.unwrap();
    let mut conn = Conn::http(running.addrs().http.unwrap()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let fresh = format!("v1.dev7.{now}.nonce0001");
    let old = format!("v1.dev7.{}.nonce0002", now - 120);
    let malformed = "v2.x".to_string();
    for (token, status) in [(&fresh, 200), (&fresh, 403), (&old, 403), (&malformed, 403)] {
        let sig = sign(crate::support::keys::signing_key(), token);
        let r = conn
            .post(
                "/topics/t",
                &[
                    ("x-amz-customauthorizer-name", "Fresh"),
                    ("tok", token),
                    ("x-amz-customauthorizer-signature", &sig),
                ],
            )
            .await;
        assert_eq!(r.status, status, "{token}: {}", r.body);
    }
    let entries = running.ledger().entries();
    let reasons: Vec<Option<String>> = entries.iter().map(|e| e.deny_text()).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("not_authenticated: replayed".into()),
            Some("not_authenticated: expired".into()),
            Some("not_authenticated: malformed".into())
        ]
    );
    assert_eq!(
        entries[0].response.as_ref().unwrap().value()["principalId"],
        "dev7"
    );
}
