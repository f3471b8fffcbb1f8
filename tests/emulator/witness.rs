//! The witness line on the events the emulator really builds: an HTTPS publish with the attempt header, an MQTT
//! CONNECT over TLS with a `ts-<id>` username, and MQTT over WebSocket with the header on the upgrade. For each
//! ledger entry, `witness_line::from_event` names the same attempt as the ledger, and the Python and Node
//! helpers (run as `python3 tokenstorm_witness.py` / `node tokenstorm-witness.js` on the same event JSON) print
//! exactly that line.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use tokenstorm::contract::authorizer::FunctionBehaviour;
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::contract::witness_line::{self, WitnessLine};

use super::mqtt::username;
use super::websocket::{connect_over, open};
use super::{refs, seed_headers};
use crate::support::client::Conn;
use crate::support::emulator::{config, seed_authorizer, start};
use crate::support::keys::{SEED_TOKEN, sign, signing_key};
use crate::support::mqtt::{CONNACK_OK_V4, Raw, Read, connect};

fn helper(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// What `tool helper` prints for `event` (stdin) with the same response, request id and time; fails naming the
/// tool when it cannot run (scripts/test installs python3 and node).
fn helper_line(
    tool: &str,
    script: &str,
    event: &serde_json::Value,
    response: Option<&serde_json::Value>,
    request_id: &str,
    unix_ms: u64,
) -> WitnessLine {
    let mut cmd = Command::new(tool);
    cmd.arg(helper(script)).args([
        "--request-id",
        request_id,
        "--unix-ms",
        &unix_ms.to_string(),
    ]);
    if let Some(r) = response {
        cmd.args(["--response", &r.to_string()]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{tool}` ({e}): scripts/test installs it"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{tool} {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    witness_line::parse(&stdout)
        .unwrap_or_else(|| panic!("{tool} {script} printed no witness line: {stdout}"))
}

#[tokio::test]
async fn from_event_on_real_emulator_events_matches_the_python_and_node_helpers() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;
    let ca = emu.ca_cert_path().to_path_buf();
    let sig = sign(signing_key(), SEED_TOKEN);
    let headers = seed_headers(&sig);

    let mut conn = Conn::https(emu.addrs().https.unwrap(), &ca, "localhost").await;
    let with_id = [
        refs(&headers),
        vec![("X-Tokenstorm-Attempt", "w1-valid-0-0")],
    ]
    .concat();
    conn.post("/topics/t?qos=1", &with_id)
        .await
        .assert_message(200, "OK");

    let mut mqtt = Raw::tls(
        emu.addrs().mqtt_tls.unwrap(),
        &ca,
        DEFAULT_ENDPOINT,
        &[b"mqtt"],
    )
    .await
    .expect("handshake");
    let user = username(&sig, Some("w1-valid-1-0"));
    mqtt.send(&connect(4, "witness-dev", Some(&user), None, 60))
        .await;
    assert_eq!(mqtt.read().await, Read::Packet(CONNACK_OK_V4.to_vec()));

    let ws_headers = [
        headers.clone(),
        vec![("x-tokenstorm-attempt", "w1-valid-2-0".to_string())],
    ]
    .concat();
    let mut ws = open(&emu, "", &ws_headers).await;
    assert_eq!(
        connect_over(&mut ws, connect(4, "witness-ws", None, None, 60)).await,
        Some(CONNACK_OK_V4.to_vec())
    );

    let entries = emu.ledger().entries();
    let labels: Vec<&str> = entries.iter().map(|e| e.transport.label()).collect();
    assert_eq!(labels, ["https", "mqtt_tls", "wss"]);
    for (i, e) in entries.iter().enumerate() {
        let request_id = format!("req-{i}");
        let (event, response) = (e.event.value(), e.response.as_ref().map(|r| r.value()));
        let line = witness_line::from_event(&event, response.as_ref(), &request_id, e.unix_ms);
        assert_eq!(line.attempt, e.attempt_id, "{}", e.event);
        assert_eq!(line.run.as_deref(), Some("w1"));
        assert_eq!(line.authenticated, Some(true));
        assert_eq!(
            line.token_sha256.as_deref(),
            Some(witness_line::token_sha256(SEED_TOKEN).as_str())
        );
        assert!(!line.to_line().contains(SEED_TOKEN));
        for (tool, script) in [
            ("python3", "witness/python/tokenstorm_witness.py"),
            ("node", "witness/node/tokenstorm-witness.js"),
        ] {
            let printed = helper_line(
                tool,
                script,
                &event,
                response.as_ref(),
                &request_id,
                e.unix_ms,
            );
            assert_eq!(printed, line, "{tool} on {}", e.event);
        }
    }
    emu.stop().await;
}
