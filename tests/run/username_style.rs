//! `[mqtt] username_style`: a run in each AWS IoT Device SDK's username shape against the embedded emulator, over
//! MQTT/TLS, plain MQTT and WebSocket, passes under the default gate settings: valid CONNECTs are allowed, forged
//! ones refused before the authorizer, and every authorizer call joins its attempt (the attempt id travels in the
//! free text whatever the style).

use crate::run::{invariant, run, text, write_scenario};

#[test]
fn a_run_in_every_sdk_username_style_passes() {
    for style in [
        "tokenstorm",
        "python_v2",
        "node_v2",
        "java_v2",
        "crt_metrics",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let body = format!(
            r#"
[run]
duration_s = 2.5
[devices]
count = 12
[transports]
https = 0.0
mqtt_tls = 1.0
mqtt = 1.0
wss = 1.0
[mqtt]
username_style = "{style}"
publish_interval_ms = 0
connects_per_s = 60.0
session_s = 0.5
[mix]
valid = 2.0
forged = 1.0
replayed = 0.0
"#
        );
        let path = write_scenario(dir.path(), "styled.toml", &body);
        let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
        assert_eq!(
            o.status.code(),
            Some(0),
            "{style}: {}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        let r = report.expect("report.json");
        for name in ["forged_never_invoked", "valid_allowed", "counts_conserve"] {
            assert_eq!(invariant(&r, name)["status"], "pass", "{style} {name}");
        }
        let inv = &r["invocations"];
        assert!(inv["this_run"].as_u64().unwrap() > 0, "{style}: {inv}");
        assert_eq!(
            (&inv["foreign"], &inv["missed"]),
            (&0.into(), &0.into()),
            "{style}: {inv}"
        );
        assert_eq!(
            r["scenario"]["resolved"]["mqtt"]["username_style"], style,
            "{style}"
        );
    }
}
