//! Client-id kicks and storms end to end: the real binary against its embedded emulator, judged by counts in
//! report.json (never by times). Two devices sharing each client id kick each other's session on every
//! CONNECT (MQTT 5 says so with DISCONNECT 0x8E, MQTT 3.1.1 just closes): the report counts the kicks as their
//! own session end per class, and the CONNECTs (invocations) they caused. A storm drops every session at once:
//! the report says how many, how many came back, and the invocations in its window.

use serde_json::Value;

use super::mqtt::transport_row;
use super::*;

fn session_row<'a>(r: &'a Value, transport: &str) -> &'a Value {
    r["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["transport"] == transport && s["class"] == "valid")
        .unwrap_or_else(|| panic!("no {transport} valid session row in {}", r["sessions"]))
}

fn valid_invocations(r: &Value) -> u64 {
    r["invocations"]["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["class"] == "valid")
        .map(|c| c["invocations"].as_u64().unwrap())
        .sum()
}

#[test]
fn devices_sharing_a_client_id_report_kicks_per_class() {
    for protocol in ["3.1.1", "5"] {
        let dir = crate::support::tempdir();
        let body = format!(
            "[run]\nduration_s = 4.0\n[devices]\ncount = 4\n[transports]\nhttps = 0.0\nmqtt = 1.0\n\
             [mqtt]\nprotocol = \"{protocol}\"\npublish_interval_ms = 0\ndevices_per_client_id = 2\n\
             [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n"
        );
        let path = write_scenario(dir.path(), "twins.toml", &body);
        let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
        let stdout = text(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{protocol}: {stdout}\n{}",
            text(&o.stderr)
        );
        let r = report.expect("report.json");
        let row = session_row(&r, "mqtt");
        let kicked = row["kicked"].as_u64().unwrap();
        let after = row["reconnects_after_kick"].as_u64().unwrap();
        // Each pair's second device kicks the first at once; each kicked device comes back (one CONNECT per
        // second) and kicks the other: a loop of several kicks per pair in 4 s.
        assert!(kicked >= 4, "{protocol}: {row}");
        assert_eq!(
            row["dropped"], 0,
            "{protocol}: kicks are not plain drops: {row}"
        );
        assert!(
            after >= kicked - 2,
            "{protocol}: each kicked device reconnected: {row}"
        );
        let mqtt = transport_row(&r, "mqtt");
        let allowed = mqtt["outcomes"]["allowed"].as_u64().unwrap();
        assert_eq!(mqtt["attempts_started"], mqtt["attempts_ended"], "{mqtt}");
        assert!(allowed >= 4 + after - 2, "{protocol}: {mqtt}");
        // Every CONNECT that got in was one invocation: the kicks' reconnects are billed.
        assert_eq!(
            valid_invocations(&r),
            allowed,
            "{protocol}: {}",
            r["invocations"]
        );
        assert!(stdout.contains("MQTT sessions ended:"), "{stdout}");
        assert!(stdout.contains(&format!("kicked {kicked}")), "{stdout}");
        assert!(r.get("storms").is_none(), "no storms planned");
    }
}

#[test]
fn a_storm_drops_every_session_and_reports_its_reconnects_and_invocations() {
    let dir = crate::support::tempdir();
    let body = "[run]\nduration_s = 4.0\n[devices]\ncount = 10\n[transports]\nhttps = 0.0\nmqtt = 1.0\n\
                [mqtt]\npublish_interval_ms = 0\n\
                [[mqtt.storms]]\nat_s = 1.5\nwindow_s = 2.0\n\
                [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n";
    let path = write_scenario(dir.path(), "storm.toml", body);
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", text(&o.stderr));
    let r = report.expect("report.json");
    let storms = r["storms"].as_array().expect("storms[]");
    assert_eq!(storms.len(), 1);
    let s = &storms[0];
    assert_eq!(
        (s["at_s"].as_f64(), s["window_s"].as_f64()),
        (Some(1.5), Some(2.0))
    );
    assert_eq!(s["fired"], true);
    // All 10 devices were connected when it fired (they connect within the first 100 ms).
    assert_eq!(s["target_dropped"], 10, "{s}");
    assert_eq!(s["dropped"], 10, "{s}");
    assert_eq!(s["reconnected"], 10, "every device came back: {s}");
    assert_eq!(
        s["reconnected_in_window"], 10,
        "no backoff: all at once, a herd: {s}"
    );
    assert!(s["reconnect_attempts"].as_u64().unwrap() >= 10, "{s}");
    assert_eq!(s["reconnect_us"]["count"], 10, "{s}");
    // Every reconnect was a valid CONNECT, so each was an invocation, stamped in the window.
    let invocations = s["invocations"].as_u64().unwrap();
    assert!(invocations >= 10, "{s}");
    assert!(s["cost_usd"].as_f64().unwrap() > 0.0, "{s}");
    let row = session_row(&r, "mqtt");
    assert_eq!(row["storm"], 10, "{row}");
    assert_eq!(row["kicked"], 0, "{row}");
    let mqtt = transport_row(&r, "mqtt");
    assert_eq!(
        mqtt["outcomes"]["allowed"], 20,
        "10 first connects, 10 reconnects: {mqtt}"
    );
    assert_eq!(valid_invocations(&r), 20, "{}", r["invocations"]);
    assert!(stdout.contains("storms:"), "{stdout}");
    assert!(
        stdout.contains("at 1.5 s: 10 sessions dropped (target: 10); 10 back in"),
        "{stdout}"
    );
}

/// With an exponential reconnect backoff (full jitter, 20 s base) the same storm's devices come back spread
/// over 20 s: in the 3 s left of the run only some do, and the others send nothing meanwhile. Which ones is
/// the seed's draw, not the machine's speed.
#[test]
fn a_reconnect_backoff_spreads_a_storms_reconnects() {
    let dir = crate::support::tempdir();
    let body = "[run]\nduration_s = 4.5\n[devices]\ncount = 20\n[transports]\nhttps = 0.0\nmqtt = 1.0\n\
                [mqtt]\npublish_interval_ms = 0\n\
                [mqtt.reconnect]\nbackoff = \"exponential\"\nbase_ms = 20000\n\
                [[mqtt.storms]]\nat_s = 1.5\n\
                [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n";
    let path = write_scenario(dir.path(), "spread.toml", body);
    let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = report.expect("report.json");
    let s = &r["storms"][0];
    assert_eq!(s["dropped"], 20, "{s}");
    let back = s["reconnected"].as_u64().unwrap();
    assert!(
        back > 0 && back < 20,
        "some back, the rest spread past the run's end: {s}"
    );
    assert_eq!(s["reconnect_attempts"], back, "the others waited: {s}");
    assert_eq!(s["invocations"], back, "{s}");
    assert_eq!(transport_row(&r, "mqtt")["outcomes"]["allowed"], 20 + back);
}

#[test]
fn storms_need_an_emulator_target_and_a_time_within_the_run() {
    let dir = crate::support::tempdir();
    let broker = "[run]\nduration_s = 4.0\n[transports]\nhttps = 0.0\nmqtt = 1.0\n\
                  [target]\nkind = \"external\"\nmqtt_addr = \"127.0.0.1:1883\"\n\
                  [[mqtt.storms]]\nat_s = 1.0\n";
    let late = "[run]\nduration_s = 60.0\n[transports]\nhttps = 0.0\nmqtt = 1.0\n\
                [[mqtt.storms]]\nat_s = 10.0\n";
    for (name, body, args, want) in [
        (
            "broker",
            broker,
            &[][..],
            "mqtt.storms: a storm drops every session at the emulator",
        ),
        // --duration cuts the run before the storm.
        (
            "late",
            late,
            &["--duration", "4"][..],
            "mqtt.storms[0].at_s: must be ≥ 0 and before",
        ),
    ] {
        let path = write_scenario(dir.path(), &format!("{name}.toml"), body);
        let mut all = vec![path.to_str().unwrap()];
        all.extend(args);
        let (o, report) = run(&all, &dir.path().join(format!("out-{name}")));
        assert_eq!(o.status.code(), Some(2), "{name}");
        assert!(report.is_none());
        let err = text(&o.stderr);
        assert!(err.contains(want), "{name}: {err}");
    }
}

/// Against an emulator the run did not start: the storm goes through `POST <admin_url>/storm`, and the
/// invocations in its window are read from the admin ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_reaches_an_external_emulator_through_its_admin_listener() {
    use crate::support::{emulator, keys};
    use tokenstorm::contract::authorizer::FunctionBehaviour;

    let dir = crate::support::tempdir();
    let connect_anywhere = FunctionBehaviour::Allow {
        principal_id: "device".into(),
        policy_documents: vec![serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}
        ]})],
        disconnect_after_s: 86400,
        refresh_after_s: 300,
    };
    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(connect_anywhere)],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let body = format!(
        "[run]\nduration_s = 3.5\n[devices]\ncount = 6\n[keys]\nprivate_key_files = [{private:?}]\n\
         [transports]\nhttps = 0.0\nmqtt = 1.0\n\
         [target]\nkind = \"external\"\nmqtt_addr = \"{}\"\nadmin_url = \"http://{}\"\n\
         [mqtt]\npublish_interval_ms = 0\n[[mqtt.storms]]\nat_s = 1.5\n\
         [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n",
        emu.addrs().mqtt.expect("mqtt listener"),
        emu.addrs().admin.expect("admin listener"),
    );
    let path = write_scenario(dir.path(), "external-storm.toml", &body);
    let out = dir.path().join("out");
    let r = run_expecting(path, out, 0).await;
    let s = &r["storms"][0];
    assert_eq!(
        (s["target_dropped"].as_u64(), s["dropped"].as_u64()),
        (Some(6), Some(6)),
        "{s}"
    );
    assert_eq!(s["reconnected"], 6, "{s}");
    // The window (30 s by default) runs past the end: the 6 reconnects are its invocations.
    assert_eq!(s["invocations"], 6, "{s}");
    assert_eq!(emu.metrics().storms(), 1);
    assert_eq!(emu.ledger().entries().len(), 12, "6 connects, 6 reconnects");
    emu.stop().await;
}
