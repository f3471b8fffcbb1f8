//! The MQTT/TLS listener requires ALPN `mqtt` by default, as AWS serves custom-auth MQTT only on 443 with ALPN
//! `mqtt` (issue 12 §4): a client that offers no ALPN — our raw client, and `openssl s_client` without `-alpn`
//! (a client nobody here wrote) — completes the handshake and is then closed before any CONNACK, without an
//! authorizer call, counted as `tokenstorm_tls_refusals_total{listener="mqtt_tls",reason="no_alpn"}`. With
//! `mqtt_tls_alpn = "optional"` the same clients are served. A client offering only other protocols fails the
//! handshake either way (`alpn_not_mqtt`).

use std::path::Path;
use std::process::Stdio;

use tokenstorm::contract::Listener;
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::emulator::alpn::{MqttTlsAlpn, TlsRefusal};
use tokio::io::AsyncWriteExt as _;

use super::mqtt::{good, scoped};
use crate::support::emulator::{config, seed_authorizer, start};
use crate::support::mqtt::{CONNACK_OK_V4, Raw, Read, connect};

/// MQTT 3.1.1 DISCONNECT: the session ends and the server closes, so `s_client` exits.
const DISCONNECT: [u8; 2] = [0xE0, 0];

/// `openssl s_client` without `-alpn`: sends `input` once the handshake is done, returns what the server sent
/// (the TLS session's plaintext) until it closed.
async fn s_client(addr: std::net::SocketAddr, ca: &Path, input: &[u8]) -> Vec<u8> {
    let mut child = tokio::process::Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-verify_return_error",
            "-servername",
            "localhost",
        ])
        .arg("-connect")
        .arg(addr.to_string())
        .arg("-CAfile")
        .arg(ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl is installed (Debian: openssl)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).await.expect("write to s_client");
    drop(stdin);
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("s_client ends when the server closes")
        .expect("s_client output");
    out.stdout
}

#[tokio::test]
async fn a_client_without_alpn_is_refused_by_default_and_served_when_optional() {
    for mode in [MqttTlsAlpn::Required, MqttTlsAlpn::Optional] {
        let mut cfg = config(vec![seed_authorizer(scoped())], None);
        cfg.mqtt_tls_alpn = mode;
        let emu = start(cfg).await;
        let ca = emu.ca_cert_path().to_path_buf();
        let addr = emu.addrs().mqtt_tls.expect("mqtt_tls listener");
        let required = mode == MqttTlsAlpn::Required;

        let mut c = Raw::tls(addr, &ca, DEFAULT_ENDPOINT, &[])
            .await
            .expect("the handshake itself completes");
        c.send(&connect(4, "no-alpn", Some(&good()), None, 60))
            .await;
        let got = c.read().await;
        let mut hello = connect(4, "no-alpn-2", Some(&good()), None, 60);
        hello.extend_from_slice(&DISCONNECT);
        let tool = s_client(addr, &ca, &hello).await;
        let refusals = emu
            .metrics()
            .tls_refusals(Listener::MqttTls, TlsRefusal::NoAlpn);
        if required {
            assert_eq!(got, Read::Closed, "refused before any CONNACK");
            assert!(tool.is_empty(), "s_client got {tool:02x?}");
            assert_eq!(refusals, 2);
            assert!(emu.ledger().entries().is_empty(), "never invoked");
        } else {
            assert_eq!(got, Read::Packet(CONNACK_OK_V4.to_vec()));
            assert!(tool.starts_with(&CONNACK_OK_V4), "s_client got {tool:02x?}");
            assert_eq!(refusals, 0);
            assert_eq!(emu.ledger().entries().len(), 2);
        }

        // ALPN offered, but not `mqtt`: the handshake fails in both modes.
        let other = Raw::tls(addr, &ca, DEFAULT_ENDPOINT, &[b"http/1.1"]).await;
        assert!(other.is_err());
        assert_eq!(
            emu.metrics()
                .tls_refusals(Listener::MqttTls, TlsRefusal::AlpnNotMqtt),
            1
        );
        let text = emu.metrics().render_prometheus();
        let line = format!(
            "tokenstorm_tls_refusals_total{{listener=\"mqtt_tls\",reason=\"no_alpn\"}} {refusals}\n"
        );
        assert!(text.contains(&line), "{text}");
        emu.stop().await;
    }
}
