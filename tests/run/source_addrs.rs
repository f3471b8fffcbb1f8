//! `load.source_addrs`: connections leave from the listed addresses in turn, as the emulator sees them (its
//! `GET /peers`), over HTTPS, MQTT/TLS, MQTT and WSS; an address this host lacks is a scenario error before traffic.

use super::*;

/// A run over HTTPS, MQTT/TLS and plain MQTT from `127.0.0.0/28` (14 usable addresses): each listener
/// accepted connections from several of them, and only from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_come_from_several_source_addresses_on_every_transport() {
    use crate::support::{client::Conn, emulator, keys};
    use tokenstorm::contract::authorizer::FunctionBehaviour;

    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::Allow {
            principal_id: "device".into(),
            policy_documents: vec![serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["iot:Connect", "iot:Publish"], "Resource": "*"}
            ]})],
            disconnect_after_s: 86400,
            refresh_after_s: 300,
        })],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let dir = crate::support::tempdir();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let a = emu.addrs();
    let body = format!(
        "[run]\nduration_s = 2.0\nrate_per_s = 40.0\n[devices]\ncount = 24\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [transports]\nhttps = 1.0\nmqtt_tls = 1.0\nmqtt = 1.0\nwss = 1.0\n[mqtt]\nconnects_per_s = 100.0\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nca_file = {:?}\n\
         mqtt_tls_addr = \"{}\"\nmqtt_addr = \"{}\"\n\
         [load]\nsource_addrs = \"127.0.0.0/28\"\n\
         [mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 0.0\n",
        emu.https_port(),
        emu.ca_cert_path(),
        a.mqtt_tls.expect("MQTT/TLS listener"),
        a.mqtt.expect("MQTT listener"),
    );
    let path = write_scenario(dir.path(), "sources.toml", &body);
    let out = dir.path().join("out");
    let r = run_expecting(path, out, 0).await;
    assert_eq!(
        r["scenario"]["resolved"]["load"]["source_addrs"],
        "127.0.0.0/28"
    );
    assert_eq!(r["target"]["source_addrs"], 14);
    assert_schema_valid(&r);
    let allowed: Vec<String> = (1..=14).map(|i| format!("127.0.0.{i}")).collect();
    let mut admin = Conn::http(a.admin.expect("admin listener")).await;
    let peers = admin.get("/peers").await.json();
    for listener in ["https", "mqtt_tls", "mqtt"] {
        let seen = peers[listener]["addresses"]
            .as_object()
            .unwrap_or_else(|| panic!("{listener}: {peers}"));
        assert!(seen.len() >= 4, "{listener}: {peers}");
        assert!(
            seen.keys().all(|k| allowed.contains(k)),
            "{listener}: {peers}"
        );
    }
    emu.stop().await;
}

/// An address no interface holds, another family than the target's, a bad block: exit 2 before any traffic,
/// naming the field, the address and the fix.
#[test]
fn unusable_source_addresses_are_scenario_errors() {
    let dir = crate::support::tempdir();
    for (name, value, want) in [
        (
            "absent",
            r#"["127.0.0.5", "203.0.113.7"]"#,
            &[
                "load.source_addrs: cannot bind 203.0.113.7",
                "ip addr add 203.0.113.7/32",
            ][..],
        ),
        (
            "family",
            r#""::1""#,
            &["load.source_addrs: ::1 is IPv6 but the target 127.0.0.1:"],
        ),
        (
            "cidr",
            r#""127.0.0.0/40""#,
            &["load.source_addrs: \"127.0.0.0/40\" is not an address or a CIDR"],
        ),
    ] {
        let body = format!("[run]\nduration_s = 1.0\n[load]\nsource_addrs = {value}\n");
        let path = write_scenario(dir.path(), &format!("{name}.toml"), &body);
        let (o, report) = run(
            &[path.to_str().unwrap()],
            &dir.path().join(format!("out-{name}")),
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(report.is_none(), "{name}");
        assert!(want.iter().all(|w| err.contains(w)), "{name}: {err}");
    }
}
