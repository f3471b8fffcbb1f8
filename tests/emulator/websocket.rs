//! MQTT over WebSocket at `GET /mqtt` (subprotocol `mqtt`) on the HTTPS listener, with credentials in the
//! upgrade headers, the upgrade query string or the CONNECT username; and the Host rule on HTTP.

use std::sync::Arc;

use futures_util::{SinkExt as _, StreamExt as _};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;
use tokenstorm::contract::transport::DEFAULT_ENDPOINT;
use tokenstorm::wire::query::encode_component;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::support::emulator::{Handle, config, seed_authorizer, start};
use crate::support::keys::{
    SEED_AUTHORIZER, SEED_TOKEN, SEED_TOKEN_KEY_NAME, attacker_key, sign, signing_key,
};
use crate::support::mqtt::{CONNACK_OK_V4, CONNACK_OK_V5, connect};
use tokenstorm::contract::authorizer::FunctionBehaviour;

type Ws = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

pub(crate) async fn open(emu: &Handle, query: &str, headers: &[(&str, String)]) -> Ws {
    let ca = emu.ca_cert_path();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).expect("CA") {
        roots.add(cert.expect("cert")).expect("add");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(emu.addrs().https.unwrap())
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(tls_config))
        .connect(ServerName::try_from(DEFAULT_ENDPOINT).unwrap(), tcp)
        .await
        .expect("TLS");
    let mut req = format!("wss://{DEFAULT_ENDPOINT}/mqtt{query}")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", "mqtt".parse().unwrap());
    for (k, v) in headers {
        req.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let (ws, response) = tokio_tungstenite::client_async(req, tls)
        .await
        .expect("WebSocket handshake");
    assert_eq!(response.status(), 101);
    assert_eq!(response.headers()["sec-websocket-protocol"], "mqtt");
    ws
}

/// Sends one CONNECT and returns the first binary message, or `None` when the server closed first.
pub(crate) async fn connect_over(ws: &mut Ws, packet: Vec<u8>) -> Option<Vec<u8>> {
    ws.send(Message::Binary(packet.into())).await.unwrap();
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("no answer in 5 s");
    match next {
        Some(Ok(Message::Binary(b))) => Some(b.to_vec()),
        _ => None,
    }
}

#[tokio::test]
async fn credentials_in_headers_query_or_username() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;
    let sig = sign(signing_key(), SEED_TOKEN);
    // 1. Upgrade headers; the CONNECT has no username.
    let headers = vec![
        ("x-amz-customauthorizer-name", SEED_AUTHORIZER.to_string()),
        (SEED_TOKEN_KEY_NAME, SEED_TOKEN.to_string()),
        ("x-amz-customauthorizer-signature", sig.clone()),
        ("x-tokenstorm-attempt", "r9-valid-1-1".to_string()),
    ];
    let mut ws = open(&emu, "", &headers).await;
    assert_eq!(
        connect_over(&mut ws, connect(4, "ws-1", None, None, 60)).await,
        Some(CONNACK_OK_V4.to_vec())
    );
    // 2. The upgrade query string.
    let query = format!(
        "?x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={SEED_TOKEN}&x-amz-customauthorizer-signature={}",
        encode_component(&sig)
    );
    let mut ws = open(&emu, &query, &[]).await;
    assert_eq!(
        connect_over(&mut ws, connect(5, "ws-2", None, None, 60)).await,
        Some(CONNACK_OK_V5.to_vec())
    );
    // 3. The CONNECT username.
    let user = format!(
        "ts-r9-valid-1-3?x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={SEED_TOKEN}&x-amz-customauthorizer-signature={}",
        encode_component(&sig)
    );
    let mut ws = open(&emu, "", &[]).await;
    assert_eq!(
        connect_over(&mut ws, connect(4, "ws-3", Some(&user), None, 60)).await,
        Some(CONNACK_OK_V4.to_vec())
    );
    // A forged signature: 101, then closed after CONNECT (3.1.1), never invoked.
    let forged = vec![
        ("x-amz-customauthorizer-name", SEED_AUTHORIZER.to_string()),
        (SEED_TOKEN_KEY_NAME, SEED_TOKEN.to_string()),
        (
            "x-amz-customauthorizer-signature",
            sign(attacker_key(), SEED_TOKEN),
        ),
    ];
    let mut ws = open(&emu, "", &forged).await;
    assert_eq!(
        connect_over(&mut ws, connect(4, "ws-4", None, None, 60)).await,
        None
    );

    let entries = emu.ledger().entries();
    assert_eq!(entries.len(), 3);
    for e in &entries {
        assert_eq!(
            (e.transport.label(), e.trigger.as_str()),
            ("wss", "connect")
        );
        assert_eq!(e.event.value()["protocols"], json!(["tls", "http", "mqtt"]));
        assert_eq!(
            e.event.value()["protocolData"]["tls"]["serverName"],
            DEFAULT_ENDPOINT
        );
        assert!(
            e.event.value()["protocolData"]["http"]["headers"]["sec-websocket-key"].is_string()
        );
    }
    assert_eq!(entries[0].attempt_id.as_deref(), Some("r9-valid-1-1"));
    assert_eq!(
        entries[0].event.value()["protocolData"]["mqtt"],
        json!({"clientId": "ws-1"})
    );
    assert_eq!(
        entries[1].event.value()["protocolData"]["http"]["queryString"],
        json!(query)
    );
    assert_eq!(entries[2].attempt_id.as_deref(), Some("r9-valid-1-3"));
    assert_eq!(
        entries[2].event.value()["protocolData"]["mqtt"]["username"],
        json!(user)
    );
    emu.stop().await;
}

/// Sends a raw HTTP/1.1 request to the plain listener and returns the status line.
async fn status_for_host(emu: &Handle, host: &str) -> String {
    let mut s = TcpStream::connect(emu.addrs().http.unwrap()).await.unwrap();
    let req = format!(
        "POST /topics/t HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_host_the_emulator_does_not_serve_gets_421() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;
    assert!(
        status_for_host(&emu, "evil.example:443")
            .await
            .contains(" 421 ")
    );
    for ok in [DEFAULT_ENDPOINT, "localhost:8080", "127.0.0.1"] {
        // Served: the gate answers (403: no credentials), not the Host rule.
        assert!(status_for_host(&emu, ok).await.contains(" 403 "), "{ok}");
    }
    assert_eq!(emu.metrics().invocations_total(), 0);
    emu.stop().await;
}

#[tokio::test]
async fn websocket_on_the_plain_http_listener_has_no_tls_part() {
    let emu = start(config(
        vec![seed_authorizer(FunctionBehaviour::default_allow())],
        None,
    ))
    .await;
    let tcp = TcpStream::connect(emu.addrs().http.unwrap()).await.unwrap();
    let mut req = format!("ws://{DEFAULT_ENDPOINT}/mqtt")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", "mqtt".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(req, tcp)
        .await
        .expect("WebSocket handshake");
    let user = format!(
        "?x-amz-customauthorizer-name={SEED_AUTHORIZER}&{SEED_TOKEN_KEY_NAME}={SEED_TOKEN}&x-amz-customauthorizer-signature={}",
        encode_component(&sign(signing_key(), SEED_TOKEN))
    );
    ws.send(Message::Binary(
        connect(4, "plain-ws", Some(&user), None, 60).into(),
    ))
    .await
    .unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("no answer in 5 s");
    assert!(matches!(answer, Some(Ok(Message::Binary(b))) if b.as_ref() == CONNACK_OK_V4));
    let [entry] = emu.ledger().entries().try_into().expect("one invocation");
    assert_eq!(entry.transport.label(), "wss");
    assert_eq!(entry.event.value()["protocols"], json!(["http", "mqtt"]));
    assert!(entry.event.value()["protocolData"].get("tls").is_none());
    emu.stop().await;
}
