//! `[tls] resumption`: with it, each MQTT device resumes its own TLS session when it reconnects (the emulator
//! counts one full handshake per device and the rest resumed); without it, the default, every connect is a full
//! handshake and no device uses another's session. MQTT over TLS and over WebSocket, against an external
//! emulator (it issues stateless tickets), read from its handshake counters.

use super::mqtt::transport_row;
use super::*;

/// Runs 4 MQTT/TLS and 4 WSS devices that reconnect every second for 4.5 s with `resumption`; the emulator's
/// (full, resumed) handshakes on the MQTT/TLS and HTTPS (WSS) listeners, and the report.
async fn reconnecting(resumption: bool) -> ((u64, u64), (u64, u64), Value) {
    use crate::support::{emulator, keys};
    use tokenstorm::contract::Listener;
    use tokenstorm::contract::authorizer::FunctionBehaviour;

    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::default_allow())],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let dir = crate::support::tempdir();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let body = format!(
        "[run]\nduration_s = 4.5\n[devices]\ncount = 8\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [transports]\nhttps = 0.0\nmqtt_tls = 1.0\nwss = 1.0\n\
         [mqtt]\nconnects_per_s = 100.0\nsession_s = 1.0\npublish_interval_ms = 400\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nca_file = {:?}\nmqtt_tls_addr = \"{}\"\n\
         [tls]\nresumption = {resumption}\n\
         [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n",
        emu.https_port(),
        emu.ca_cert_path(),
        emu.addrs().mqtt_tls.expect("MQTT/TLS listener"),
    );
    let path = write_scenario(dir.path(), "resume.toml", &body);
    let out = dir.path().join("out");
    let r = run_expecting(path, out, 0).await;
    let m = emu.metrics().clone();
    emu.stop().await;
    (
        m.handshakes(Listener::MqttTls),
        m.handshakes(Listener::Https),
        r,
    )
}

/// The CONNECTs a transport's devices sent (every one a TLS connection).
fn connects(r: &Value, t: &str) -> u64 {
    transport_row(r, t)["attempts_started"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_device_resumes_its_own_session_when_it_reconnects() {
    let (mqtt_tls, wss, r) = reconnecting(true).await;
    assert_eq!(r["scenario"]["resolved"]["tls"]["resumption"], true);
    for ((full, resumed), t) in [(mqtt_tls, "mqtt_tls"), (wss, "wss")] {
        let n = connects(&r, t);
        assert!(
            n >= 8,
            "{t}: every device reconnected at least once: {n} connects"
        );
        assert_eq!(full, 4, "{t}: one full handshake per device, its first");
        assert_eq!(full + resumed, n, "{t}: every connect a handshake");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_resumption_every_connect_is_a_full_handshake() {
    let (mqtt_tls, wss, r) = reconnecting(false).await;
    assert_eq!(
        r["scenario"]["resolved"].get("tls"),
        None,
        "the default is left out"
    );
    for ((full, resumed), t) in [(mqtt_tls, "mqtt_tls"), (wss, "wss")] {
        let n = connects(&r, t);
        assert!(n >= 8, "{t}: {n} connects");
        assert_eq!((full, resumed), (n, 0), "{t}");
    }
}

/// HTTPS devices (`tokenstorm::load::connect::Connector`, as the lanes use it): with `[tls] resumption` a
/// device's reconnect resumes its own session and another device's first connect is still a full handshake;
/// without it every connect is a full handshake. Each connection answers one request (so the session ticket,
/// sent after the handshake, has arrived) and is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_devices_resume_their_own_sessions_too() {
    use crate::support::emulator;
    use std::time::Duration;
    use tokenstorm::contract::Listener;
    use tokenstorm::contract::authorizer::FunctionBehaviour;
    use tokenstorm::load::connect::Connector;
    use tokenstorm::load::exchange::exchange;
    use tokenstorm::metrics::Outcome;

    for resumption in [true, false] {
        let emu = emulator::start(emulator::config(
            vec![emulator::seed_authorizer(FunctionBehaviour::default_allow())],
            None,
        ))
        .await;
        let addr = format!("127.0.0.1:{}", emu.https_port()).parse().unwrap();
        let connector = Connector::new(addr, "localhost", Some(emu.ca_cert_path()), false, true)
            .unwrap()
            .with_resumption(resumption);
        let request =
            b"POST /topics/t HTTP/1.1\r\nHost: localhost\r\ncontent-length: 0\r\n\r\n".to_vec();
        let (a, b) = (connector.device_tls(), connector.device_tls());
        assert_eq!(a.is_some(), resumption);
        for own in [&a, &a, &a, &b] {
            let (kept, outcome, failure) = exchange(
                &connector,
                own.clone(),
                None,
                request.clone(),
                Duration::from_secs(10),
            )
            .await;
            assert!(failure.is_none(), "{failure:?}");
            assert_ne!(outcome, Outcome::TransportError);
            drop(kept);
        }
        let handshakes = emu.metrics().handshakes(Listener::Https);
        emu.stop().await;
        let want = if resumption { (2, 2) } else { (4, 0) };
        assert_eq!(
            handshakes, want,
            "resumption = {resumption}: (full, resumed)"
        );
    }
}
