//! The emulator under attack: slowloris heads, half-open TLS handshakes, pre-CONNECT stalls and a connection
//! flood are held open while valid devices keep being served; the flood is refused clearly and counted; the
//! stalled connections are closed by the emulator; oversized heads get 431.

use std::time::Duration;

use tokenstorm::contract::Listener;
use tokenstorm::contract::{Route, Transport};
use tokenstorm::emulator::server::Limits;
use tokenstorm::fuzz::exec::{Endpoints, Sent};
use tokenstorm::fuzz::setup::Setup;
use tokenstorm::fuzz::targets::fixture;
use tokenstorm::shutdown::Shutdown;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SLOWLORIS: usize = 20;
const HANDSHAKE_STALLS: usize = 20;
const CONNECT_STALLS: usize = 20;
const CAP: usize = 48;
const FLOOD: usize = 80;

async fn open(addr: std::net::SocketAddr, first: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    if !first.is_empty() {
        s.write_all(first).await.expect("write");
    }
    s
}

/// Sends valid plain HTTP publishes (`<prefix>-<i>`) until one reaches the authorizer (at most 100 tries, 50 ms
/// apart): whether the listener serves again once connections went away.
async fn served_again(
    ep: &Endpoints,
    running: &tokenstorm::emulator::RunningEmulator,
    prefix: &str,
) -> bool {
    for i in 0..100 {
        let id = format!("{prefix}-{i}");
        ep.send(Route::PLAIN_HTTP, Some(&id), b"", Duration::from_secs(20))
            .await;
        if running
            .ledger()
            .entries()
            .iter()
            .any(|e| e.attempt_id.as_deref() == Some(id.as_str()))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Reads until the emulator closes the socket (EOF or reset); returns what it said.
async fn until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_devices_are_served_while_slowloris_handshake_stalls_and_a_flood_hold_connections() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_connections_per_listener: CAP,
        tls_handshake_timeout: Duration::from_secs(2),
        header_read_timeout: Duration::from_secs(2),
    };
    let shutdown = Shutdown::new();
    let setup = Setup::builtin();
    let running = tokenstorm::emulator::start_with_limits(
        setup.emulator_config(dir.path()),
        limits,
        shutdown.clone(),
    )
    .await
    .unwrap();
    let addrs = *running.addrs();
    let f = fixture();
    let ep = Endpoints::new(
        addrs,
        running.ca_cert_path(),
        f.target.clone(),
        setup.key.clone(),
    )
    .unwrap();
    let host = &f.target.host;

    // Slowloris on plain HTTP: a request head that never ends.
    let mut slow = Vec::new();
    for _ in 0..SLOWLORIS {
        let head = format!("POST /topics/t?qos=0 HTTP/1.1\r\nhost: {host}\r\nx-slow: ");
        slow.push(open(addrs.http.unwrap(), head.as_bytes()).await);
    }
    // Half-open TLS handshakes on the HTTPS and MQTT/TLS listeners: a ClientHello's first bytes, then nothing.
    let mut stalls = Vec::new();
    for i in 0..HANDSHAKE_STALLS {
        let addr = if i % 2 == 0 {
            addrs.https
        } else {
            addrs.mqtt_tls
        };
        stalls.push(open(addr.unwrap(), b"\x16\x03\x01\x02\x00\x01").await);
    }
    // Plain MQTT connections that never finish their CONNECT.
    for _ in 0..CONNECT_STALLS {
        stalls.push(open(addrs.mqtt.unwrap(), b"\x10\x20\x00\x04MQ").await);
    }
    // A flood on the plain HTTP listener: more connections than its cap allows.
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        flood.push(open(addrs.http.unwrap(), b"").await);
    }

    // Valid devices on the attacked listeners (HTTPS, MQTT/TLS via ALPN, plain MQTT) are served all along.
    for round in 0..10 {
        ep.probe(&format!("valid-{round}"), Duration::from_secs(20))
            .await
            .unwrap_or_else(|e| panic!("round {round}: a valid device was not served: {e}"));
        let attempt = format!("valid-tls-{round}");
        let sent = ep
            .send(
                Route::of(Transport::MqttTls),
                Some(&attempt),
                b"",
                Duration::from_secs(20),
            )
            .await;
        assert_eq!(sent, Sent::Closed);
        assert!(
            running
                .ledger()
                .entries()
                .iter()
                .any(|e| e.attempt_id.as_deref() == Some(attempt.as_str())),
            "round {round}: the valid MQTT/TLS CONNECT did not reach the authorizer"
        );
    }

    // The flood beyond the cap was refused with a clear 503, and counted.
    let mut refused = 0;
    for s in flood.iter_mut() {
        let said = tokio::time::timeout(Duration::from_millis(200), until_closed(s)).await;
        if let Ok(said) = said {
            assert!(
                said.is_empty() || said.starts_with(b"HTTP/1.1 503"),
                "{:?}",
                String::from_utf8_lossy(&said)
            );
            refused += usize::from(said.starts_with(b"HTTP/1.1 503"));
        }
    }
    assert!(
        refused >= FLOOD + SLOWLORIS - CAP,
        "only {refused} flood connections refused"
    );
    assert!(running.metrics().connections_refused(Listener::Http) >= refused as u64);
    assert!(
        running
            .metrics()
            .render_prometheus()
            .contains("tokenstorm_connections_refused_total{listener=\"http\"}")
    );

    // The emulator closes every stalled connection itself (header, handshake and CONNECT deadlines).
    for s in slow.iter_mut().chain(stalls.iter_mut()) {
        tokio::time::timeout(Duration::from_secs(60), until_closed(s))
            .await
            .expect("the emulator kept a stalled connection open");
    }
    // Once the flood is gone, the HTTP listener serves again.
    drop(flood);
    drop(slow);
    assert!(
        served_again(&ep, &running, "after-flood").await,
        "the HTTP listener did not recover after the flood"
    );
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(20), running.join())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_head_is_refused_with_431() {
    let dir = tempfile::tempdir().unwrap();
    let running = tokenstorm::emulator::start(
        Setup::builtin().emulator_config(dir.path()),
        Shutdown::new(),
    )
    .await
    .unwrap();
    let mut s = open(running.addrs().http.unwrap(), b"").await;
    let head = format!(
        "POST /topics/t HTTP/1.1\r\nhost: {}\r\nx-big: {}\r\n\r\n",
        fixture().target.host,
        "a".repeat(64 * 1024)
    );
    let _ = s.write_all(head.as_bytes()).await;
    let said = tokio::time::timeout(Duration::from_secs(20), until_closed(&mut s))
        .await
        .unwrap();
    assert!(
        said.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&said)
    );
}

/// Opens an MQTT-over-WebSocket session on the plain HTTP listener with a valid CONNECT; returns the socket once
/// the upgrade and the CONNACK came back.
async fn websocket_session(ep: &Endpoints, addr: std::net::SocketAddr, id: &str) -> TcpStream {
    let mut s = open(addr, &ep.prefix(Route::of(Transport::Wss), id)).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !tokenstorm::fuzz::exec::first_frame_complete(&got) {
        let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
            .await
            .expect("the session answers")
            .expect("read");
        assert!(n > 0, "closed before the CONNACK: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101"), "{got:?}");
    assert!(
        got.windows(4).any(|w| w == [0x20, 0x02, 0x00, 0x00]),
        "no CONNACK 0: {got:?}"
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_sessions_hold_their_place_under_the_connection_cap() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_connections_per_listener: 2,
        ..Limits::default()
    };
    let setup = Setup::builtin();
    let running = tokenstorm::emulator::start_with_limits(
        setup.emulator_config(dir.path()),
        limits,
        Shutdown::new(),
    )
    .await
    .unwrap();
    let http = running.addrs().http.unwrap();
    let ep = Endpoints::new(
        *running.addrs(),
        running.ca_cert_path(),
        setup.target.clone(),
        setup.key.clone(),
    )
    .unwrap();
    // Two upgraded sessions fill the plain HTTP listener's cap of 2.
    let first = websocket_session(&ep, http, "ws-cap-1").await;
    let _second = websocket_session(&ep, http, "ws-cap-2").await;
    // A third connection is refused with a 503 while both sessions are open.
    let mut third = open(http, &ep.prefix(Route::PLAIN_HTTP, "ws-cap-3")).await;
    let said = tokio::time::timeout(Duration::from_secs(20), until_closed(&mut third))
        .await
        .unwrap();
    assert!(
        said.starts_with(b"HTTP/1.1 503"),
        "{}",
        String::from_utf8_lossy(&said)
    );
    assert_eq!(running.metrics().connections_refused(Listener::Http), 1);
    assert!(
        !running
            .ledger()
            .entries()
            .iter()
            .any(|e| e.attempt_id.as_deref() == Some("ws-cap-3"))
    );
    // When one session ends, its place is free again: a valid publish is served.
    drop(first);
    assert!(
        served_again(&ep, &running, "ws-cap-after").await,
        "the freed place was never reused"
    );
}
