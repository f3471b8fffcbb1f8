//! MQTT device transports end to end against the embedded emulator: mixed-transport runs (MQTT/TLS, HTTPS,
//! WSS) passing and, with a gate-bypassing authorizer, failing; MQTT 3.1.1 and 5 refusals and denied publishes;
//! a bounded MQTT/TLS fleet. The mosquitto interop is in `mosquitto.rs`.

use serde_json::Value;

use super::*;

pub fn transport_row<'a>(r: &'a Value, t: &str) -> &'a Value {
    r["transports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["transport"] == t)
        .unwrap_or_else(|| panic!("no {t} row in {}", r["transports"]))
}

pub fn count(row: &Value, section: &str, key: &str) -> u64 {
    row[section][key].as_u64().unwrap_or(0)
}

const MIXED_SHORT: [&str; 4] = ["--duration", "6", "--rate", "100"];

#[test]
fn a_mixed_transport_run_passes_end_to_end() {
    let out = tempfile::tempdir().unwrap();
    let scenario = repo("scenarios/mixed-transports.toml");
    let mut args = vec![scenario.to_str().unwrap()];
    args.extend(MIXED_SHORT);
    let (o, report) = run(&args, out.path());
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", text(&o.stderr));
    let r = report.expect("report.json");
    assert_eq!(r["verdict"], "pass");
    let (https, tls, wss) = (
        transport_row(&r, "https"),
        transport_row(&r, "mqtt_tls"),
        transport_row(&r, "wss"),
    );
    assert_eq!(
        (
            https["devices"].as_u64(),
            tls["devices"].as_u64(),
            wss["devices"].as_u64()
        ),
        (Some(90), Some(180), Some(30))
    );
    for row in [https, tls, wss] {
        assert!(count(row, "outcomes", "allowed") > 0, "{row}");
        assert_eq!(row["attempts_started"], row["attempts_ended"], "{row}");
    }
    // Every MQTT device made its first CONNECT (how many reconnects after a refusal fit in the run depends on
    // the machine's speed, so the count of connected devices is not pinned); none failed in transport.
    for (row, n) in [(tls, 180), (wss, 30)] {
        assert!(row["attempts_started"].as_u64().unwrap() >= n, "{row}");
        assert_eq!(count(row, "outcomes", "transport_error"), 0, "{row}");
        let published = count(row, "messages", "published");
        assert!(
            published > 0 && count(row, "messages", "puback_ok") == published,
            "{row}"
        );
        assert_eq!(count(row, "messages", "received"), published, "{row}");
    }
    // Valid and replayed attempts were allowed on every transport; forged ones refused: 403 over HTTPS, closed
    // without CONNACK over MQTT 3.1.1 (TLS and WebSocket).
    for row in r["results"].as_array().unwrap() {
        let want = match (refused_row(row), row["transport"].as_str()) {
            (true, Some("https")) => "forbidden",
            (true, _) => "closed_without_connack",
            (false, _) => "allowed",
        };
        assert_eq!(row["outcome"], want, "{row}");
    }
    let wss_phases: Vec<&str> = r["phases_by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["transport"] == "wss" && p["class"] == "valid")
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    for want in [
        "tcp_connect_us",
        "tls_handshake_us",
        "ws_upgrade_us",
        "connect_connack_us",
        "publish_puback_us",
        "publish_receive_us",
    ] {
        assert!(wss_phases.contains(&want), "{want} in {wss_phases:?}");
    }
    // The ledger join attributes MQTT attempts by their ts-<attempt id> username: valid + replayed only.
    let counts = class_counts(&r);
    let inv = &r["invocations"];
    let forged_invoked: u64 = inv["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| refused_row(c))
        .map(|c| c["invocations"].as_u64().unwrap())
        .sum();
    assert_eq!(forged_invoked, 0);
    assert_eq!(
        inv["this_run"].as_u64().unwrap(),
        reaching(&counts),
        "one invocation per attempt that passes the gate, over every transport"
    );
    for name in ["forged_never_invoked", "counts_conserve", "valid_allowed"] {
        assert_eq!(invariant(&r, name)["status"], "pass", "{name}");
    }
    assert!(
        invariant(&r, "counts_conserve")["details"]["started_mqtt_tls"]
            .as_u64()
            .unwrap()
            >= 180
    );
    assert!(
        !stdout.contains("MyStringThatNeedsToBeSigned"),
        "the token leaked"
    );
}

#[test]
fn a_mixed_transport_run_with_a_gate_bypassing_authorizer_fails() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(repo("scenarios/mixed-transports.toml")).unwrap();
    let body = src.replace(
        "token_key_name = \"X-My-App-custom-key\"\n",
        "token_key_name = \"X-My-App-custom-key\"\nsigning_disabled = true\n",
    );
    assert_ne!(body, src);
    // The invariant per transport is what this judges, not the guard (tests/run/abort.rs): no early stop.
    let body = format!("{body}\n[abort]\non_forged_invocation = false\n");
    let path = write_scenario(dir.path(), "leaky-mixed.toml", &body);
    let mut args = vec![path.to_str().unwrap()];
    args.extend(MIXED_SHORT);
    let (o, report) = run(&args, &dir.path().join("out"));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    let r = report.expect("report.json");
    assert_eq!(r["verdict"], "fail");
    let forged = invariant(&r, "forged_never_invoked");
    assert_eq!(forged["status"], "fail");
    for t in ["https", "mqtt_tls", "wss"] {
        assert!(
            forged["details"][format!("forged_invocations_{t}")]
                .as_u64()
                .unwrap_or(0)
                > 0,
            "forged {t} attempts reached the authorizer: {forged}"
        );
    }
    assert!(stdout.contains("FAIL") && stdout.contains("forged_never_invoked"));
}

#[test]
fn a_bounded_mqtt_tls_fleet_connects_every_device() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"
[run]
duration_s = 6.0
[devices]
count = 400
[transports]
https = 0.0
mqtt_tls = 1.0
[mqtt]
publish_interval_ms = 2000
connects_per_s = 400.0
[mix]
valid = 1.0
forged = 0.0
replayed = 0.0
"#;
    let path = write_scenario(dir.path(), "fleet.toml", body);
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = report.expect("report.json");
    let row = transport_row(&r, "mqtt_tls");
    assert_eq!(count(row, "outcomes", "allowed"), 400, "{row}");
    assert_eq!(row["attempts_started"], 400, "no reconnects: {row}");
    assert_eq!(r["invocations"]["this_run"], 400);
}

/// A policy that allows iot:Connect but no publish on the device's topic: MQTT 5 answers PUBACK 0x87 and keeps
/// the connection; MQTT 3.1.1 closes it, so the device reconnects with a fresh attempt. Forged CONNECTs are
/// refused with CONNACK 0x87 (MQTT 5) or closed without CONNACK (3.1.1).
#[test]
fn denied_publishes_and_refusals_are_counted_per_protocol() {
    for (protocol, refusal) in [("5", "refused"), ("3.1.1", "closed_without_connack")] {
        let dir = tempfile::tempdir().unwrap();
        let body = format!(
            r#"
[run]
duration_s = 3.5
[devices]
count = 6
[transports]
https = 0.0
mqtt_tls = 1.0
[mqtt]
protocol = "{protocol}"
publish_interval_ms = 300
connects_per_s = 100.0
[mix]
valid = 2.0
forged = 1.0
replayed = 0.0
[authorizer.function]
mode = "allow"
principal_id = "device"
policy_documents = ['{{"Version": "2012-10-17", "Statement": [{{"Action": "iot:Connect", "Effect": "Allow", "Resource": "*"}}, {{"Action": "iot:Publish", "Effect": "Allow", "Resource": "arn:aws:iot:*:*:topic/elsewhere"}}]}}']
"#
        );
        let path = write_scenario(dir.path(), "deny-publish.toml", &body);
        let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
        assert_eq!(
            o.status.code(),
            Some(0),
            "{protocol}: {}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        let r = report.expect("report.json");
        let row = transport_row(&r, "mqtt_tls");
        assert_eq!(count(row, "messages", "puback_ok"), 0, "{protocol}: {row}");
        assert!(
            count(row, "messages", "puback_denied") > 0,
            "{protocol}: {row}"
        );
        assert!(count(row, "outcomes", refusal) > 0, "{protocol}: {row}");
        let allowed = count(row, "outcomes", "allowed");
        if protocol == "5" {
            assert!(allowed <= 6, "MQTT 5 keeps its connections: {row}");
        } else {
            assert!(
                allowed > 6,
                "MQTT 3.1.1 is disconnected and reconnects: {row}"
            );
        }
    }
}
