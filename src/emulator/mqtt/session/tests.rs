//! The session's timers under paused time, over an in-memory stream: policy refresh after
//! `refreshAfterInSeconds`, close after `disconnectAfterInSeconds`, 1.5 × keep-alive, a failed refresh.

use std::sync::Arc;

use bytes::BytesMut;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::time::{Duration, Instant};

use super::eventloop::{Links, run, serve};
use super::state::Live;
use super::*;
use crate::contract::MqttVersion;
use crate::contract::Route;
use crate::contract::Transport;
use crate::contract::authorizer::{
    AuthorizerSpec, AuthorizerStatus, FunctionBehaviour, FunctionSpec,
};
use crate::emulator::gate::GatePass;
use crate::emulator::host::HostRule;
use crate::emulator::metrics::CloseReason;
use crate::emulator::metrics::EmulatorMetrics;
use crate::emulator::mqtt::broker::Broker;
use crate::emulator::mqtt::codec::ConnectPacket;
use crate::emulator::mqtt::connect::{Admitted, Origin};
use crate::emulator::{Ledger, Shared};
use crate::shutdown::Shutdown;

fn allow(refresh: i64, disconnect: i64) -> FunctionBehaviour {
    FunctionBehaviour::Allow {
        principal_id: "p".into(),
        policy_documents: vec![
            json!({"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}),
        ],
        disconnect_after_s: disconnect,
        refresh_after_s: refresh,
    }
}

fn authorizer(name: &str, behaviour: FunctionBehaviour) -> AuthorizerSpec {
    AuthorizerSpec {
        name: name.into(),
        token_key_name: "tok".into(),
        signing_keys: vec![],
        status: AuthorizerStatus::Active,
        signing_disabled: true,
        enable_caching_for_http: false,
        function: FunctionSpec::in_process(behaviour, Duration::ZERO),
    }
}

fn shared(authorizers: Vec<AuthorizerSpec>) -> Arc<Shared> {
    let names: Vec<String> = authorizers.iter().map(|a| a.name.clone()).collect();
    let functions = authorizers
        .iter()
        .map(|a| crate::emulator::lambda::LiveFunction::in_process(a.function.clone()))
        .collect();
    Arc::new(Shared {
        authorizers,
        functions,
        function_metrics: Arc::new(crate::emulator::lambda::metrics::FunctionMetrics::new(
            names.clone(),
        )),
        default_authorizer: Some(0),
        region: "eu-west-1".into(),
        account_id: "123456789012".into(),
        metrics: Arc::new(EmulatorMetrics::new(names)),
        ledger: Ledger::new(),
        peers: Default::default(),
        refusals: Default::default(),
        broker: Arc::new(Broker::default()),
        host: HostRule::new(&[], true),
        gate: Default::default(),
        mqtt_tls_alpn: Default::default(),
        cloudwatch: None,
        _alive: tokio::sync::mpsc::channel(1).0,
    })
}

fn origin() -> Box<Origin> {
    Box::new(Origin {
        transport: Route::of(Transport::Mqtt),
        server_name: None,
        upgrade: None,
        connection_id: "c1".into(),
    })
}

/// A 3.1.1 CONNECT with username `?tok=t` and `keep_alive` seconds.
fn connect_bytes(keep_alive: u16) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x82];
    body.extend_from_slice(&keep_alive.to_be_bytes());
    body.extend_from_slice(&[0, 2, b'i', b'd', 0, 6]);
    body.extend_from_slice(b"?tok=t");
    let mut out = vec![0x10, body.len() as u8];
    out.extend(body);
    out
}

/// Reads until EOF; returns everything read.
async fn read_to_end(client: &mut DuplexStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = client.read_to_end(&mut all).await;
    all
}

fn triggers(shared: &Shared) -> Vec<String> {
    shared
        .ledger
        .entries()
        .into_iter()
        .map(|e| e.trigger.as_str().to_string())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn refreshes_every_refresh_period_and_closes_at_disconnect_after() {
    let shared = shared(vec![authorizer("A", allow(300, 900))]);
    let (mut client, server) = tokio::io::duplex(4096);
    let task = tokio::spawn(run(server, origin(), shared.clone(), Shutdown::new()));
    let start = Instant::now();
    client.write_all(&connect_bytes(0)).await.unwrap();
    let got = read_to_end(&mut client).await;
    assert_eq!(
        got,
        [0x20, 2, 0, 0],
        "CONNACK, then a close with nothing more (3.1.1)"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(900));
    task.await.unwrap();
    assert_eq!(triggers(&shared), ["connect", "refresh", "refresh"]);
    assert_eq!(
        shared
            .metrics
            .closes(Route::of(Transport::Mqtt), CloseReason::DisconnectAfter),
        1
    );
    assert_eq!(shared.metrics.sessions(Route::of(Transport::Mqtt)), 0);
    assert_eq!(shared.broker.sessions(), 0);
}

#[tokio::test(start_paused = true)]
async fn silence_for_one_and_a_half_keep_alives_closes() {
    let shared = shared(vec![authorizer("A", allow(3600, 86400))]);
    let (mut client, server) = tokio::io::duplex(4096);
    let task = tokio::spawn(run(server, origin(), shared.clone(), Shutdown::new()));
    client.write_all(&connect_bytes(60)).await.unwrap();
    let mut connack = [0u8; 4];
    client.read_exact(&mut connack).await.unwrap();
    let start = Instant::now();
    // A PINGREQ at 80 s resets the clock: the close comes 90 s after it.
    tokio::time::sleep(Duration::from_secs(80)).await;
    client.write_all(&[0xC0, 0]).await.unwrap();
    let mut pong = [0u8; 2];
    client.read_exact(&mut pong).await.unwrap();
    assert_eq!(pong, [0xD0, 0]);
    assert!(read_to_end(&mut client).await.is_empty());
    assert_eq!(start.elapsed(), Duration::from_secs(170));
    task.await.unwrap();
    assert_eq!(
        shared
            .metrics
            .closes(Route::of(Transport::Mqtt), CloseReason::Timeout),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn keep_alive_is_clamped_to_30_to_1200_seconds() {
    for (asked, closes_after) in [(5, 45), (0, 1800), (4000, 1800)] {
        let shared = shared(vec![authorizer("A", allow(86400, 86400))]);
        let (mut client, server) = tokio::io::duplex(4096);
        let task = tokio::spawn(run(server, origin(), shared.clone(), Shutdown::new()));
        client.write_all(&connect_bytes(asked)).await.unwrap();
        let mut connack = [0u8; 4];
        client.read_exact(&mut connack).await.unwrap();
        let start = Instant::now();
        assert!(read_to_end(&mut client).await.is_empty());
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(closes_after),
            "keep-alive {asked}"
        );
        task.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn no_connect_within_the_connect_timeout_closes() {
    let shared = shared(vec![authorizer("A", allow(300, 900))]);
    let (mut client, server) = tokio::io::duplex(4096);
    let task = tokio::spawn(run(server, origin(), shared.clone(), Shutdown::new()));
    client.write_all(&[0x10]).await.unwrap();
    let start = Instant::now();
    assert!(read_to_end(&mut client).await.is_empty());
    assert_eq!(start.elapsed(), CONNECT_TIMEOUT);
    task.await.unwrap();
    assert!(shared.ledger.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_disconnects() {
    // Admitted under authorizer 0; its refresh is served by authorizer 1, which denies.
    let shared = shared(vec![
        authorizer("A", allow(300, 900)),
        authorizer("B", FunctionBehaviour::Deny),
    ]);
    let (mut client, mut server) = tokio::io::duplex(4096);
    let auth = crate::emulator::response::Authorization {
        principal_id: "p".into(),
        policies: vec![
            json!({"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}).into(),
        ],
        disconnect_after_s: Some(900),
        refresh_after_s: Some(300),
    };
    let connect = ConnectPacket {
        version: MqttVersion::V5,
        client_id: "id".into(),
        keep_alive_s: 0,
        username: None,
        password: None,
    };
    let mut live = Live {
        version: MqttVersion::V5,
        client_id: "id".into(),
        filters: vec![],
        next_pkid: 0,
        admitted: Admitted {
            index: 1,
            pass: GatePass {
                token: Some("t".into()),
                signature: None,
                signature_verified: false,
                key_index: None,
            },
            event: json!({"token": "t"}).into(),
            attempt_id: Some("a-1".into()),
            authorization: auth,
        },
    };
    let reg = shared.broker.register("id");
    let shutdown = Shutdown::new();
    let links = Links {
        id: reg.id,
        kicked: &reg.kicked,
        storms: reg.storms,
        shared: &shared,
        shutdown: &shutdown,
        transport: Route::of(Transport::Mqtt),
    };
    let start = Instant::now();
    let mut buf = BytesMut::new();
    let reason = serve(
        &mut server,
        &mut buf,
        connect.keep_alive_s,
        &mut live,
        reg.deliveries,
        links,
    )
    .await;
    assert_eq!(reason, CloseReason::RefreshFailed);
    assert_eq!(start.elapsed(), Duration::from_secs(300));
    let entries = shared.ledger.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0].trigger.as_str(),
            entries[0].verdict.as_str(),
            entries[0].attempt_id.as_deref()
        ),
        ("refresh", "deny", Some("a-1"))
    );
    drop(server);
    assert!(read_to_end(&mut client).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_given_up_after_the_write_timeout() {
    let shared = shared(vec![authorizer("A", allow(3600, 86400))]);
    let (mut client, server) = tokio::io::duplex(64);
    let task = tokio::spawn(run(server, origin(), shared.clone(), Shutdown::new()));
    client.write_all(&connect_bytes(0)).await.unwrap();
    let mut connack = [0u8; 4];
    client.read_exact(&mut connack).await.unwrap();
    client
        .write_all(&[0x82, 6, 0, 1, 0, 1, b't', 0])
        .await
        .unwrap();
    let mut suback = [0u8; 5];
    client.read_exact(&mut suback).await.unwrap();
    assert_eq!(suback, [0x90, 3, 0, 1, 0]);
    // A delivery far larger than the pipe, which the client never reads.
    let start = Instant::now();
    assert_eq!(
        shared
            .broker
            .publish("t", 0, &bytes::Bytes::from(vec![0u8; 4096])),
        1
    );
    task.await.unwrap();
    assert_eq!(start.elapsed(), WRITE_TIMEOUT);
    assert_eq!(
        shared
            .metrics
            .closes(Route::of(Transport::Mqtt), CloseReason::Client),
        1
    );
    assert_eq!(shared.broker.sessions(), 0);
    drop(client);
}
