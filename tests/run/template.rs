//! `devices.token = "template"` end to end against the embedded emulator: the user's token format over HTTPS
//! and MQTT/TLS from the pre-signed pool, and templates refused at resolve.

use super::mqtt::{count, transport_row};
use super::*;

/// Every placeholder, over both transports, with every replay variant: valid attempts are allowed, forged ones
/// never reach the function, replays are sent (or counted exhausted), and the report shows the template only.
#[test]
fn a_template_scheme_runs_over_https_and_mqtt_tls() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"
[run]
duration_s = 3.0
[devices]
count = 8
token = "template"
token_template = "dev-{device}.{client_id}.{unix_s}.{unix_ms}.{nonce}.{uuid}.{seq}"
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
[mix.replayed_variants]
other_device = 1.0
reused_nonce = 1.0
expired = 1.0
"#;
    let path = write_scenario(dir.path(), "template.toml", body);
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
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
        let row = transport_row(&r, t);
        assert!(count(row, "outcomes", "allowed") > 0, "{t}: {row}");
    }
    let counts = class_counts(&r);
    assert!(counts.get("valid").copied().unwrap_or(0) > 0, "{counts:?}");
    for l in ["replayed", "replayed.reused_nonce", "replayed.expired"] {
        assert!(counts.get(l).copied().unwrap_or(0) > 0, "{l}: {counts:?}");
    }
    let tokens = r["scenario"]["tokens"][0].as_str().unwrap();
    assert!(
        tokens.starts_with("dev-{device}.{client_id}.{unix_s}.{unix_ms}.{nonce}.{uuid}.{seq}, "),
        "{tokens}"
    );
    let json = r.to_string();
    assert!(
        !json.contains("dev-000000."),
        "no rendered token in the report"
    );
}

#[test]
fn bad_templates_exit_2_naming_the_field_and_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("empty.toml", "", "devices.token_template", "empty"),
        ("unknown.toml", "dev-{id}", "devices.token_template", "{id}"),
        (
            "open.toml",
            "dev-{device",
            "devices.token_template",
            "unbalanced '{'",
        ),
        (
            "close.toml",
            "dev}-{device}",
            "devices.token_template",
            "unbalanced '}'",
        ),
        (
            "space.toml",
            "dev {device}",
            "devices.token_template",
            "printable",
        ),
    ];
    for (name, template, field, fault) in cases {
        let body = format!("[devices]\ntoken = \"template\"\ntoken_template = \"{template}\"\n");
        let path = write_scenario(dir.path(), name, &body);
        let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(fault),
            "{name}: {stderr}"
        );
        assert!(report.is_none());
    }
    // Expired replays need an issue time in the template.
    let body = "[devices]\ntoken = \"template\"\ntoken_template = \"dev-{device}.{nonce}\"\n[mix]\nreplayed = 1.0\n[mix.replayed_variants]\nexpired = 1.0\n";
    let path = write_scenario(dir.path(), "expired.toml", body);
    let (o, _) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mix.replayed_variants.expired") && stderr.contains("{unix_s}"),
        "{stderr}"
    );
}
