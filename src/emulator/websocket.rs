//! MQTT over WebSocket (spec §1): `GET /mqtt` with subprotocol `mqtt` on the HTTPS (or plain HTTP) listener,
//! no ALPN needed. The upgrade request's headers and query string are kept for the gate (credentials may ride
//! there instead of in the CONNECT username) and for the event's `protocolData.http`. After `101`, binary
//! WebSocket messages are bridged to a byte stream that the ordinary MQTT session reads.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::Shared;
use super::connection::ConnCtx;
use super::mqtt::{Origin, Upgrade, codec, session};
use super::reply;
use crate::contract::{Route, Transport};
use crate::shutdown::Shutdown;
use crate::wire::mqtt::{WS_PATH, WS_SUBPROTOCOL};

/// Whether a request asks for the MQTT WebSocket (`GET /mqtt`); other paths go to the publish pipeline.
pub(crate) fn is_mqtt_path(req: &Request<Incoming>) -> bool {
    req.uri().path() == WS_PATH
}

fn header_has(req: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Answers the upgrade: `101` with subprotocol `mqtt` and spawns the session; `400`/`405` otherwise.
pub(crate) fn upgrade(
    mut req: Request<Incoming>,
    shared: Arc<Shared>,
    conn: &ConnCtx,
    shutdown: Shutdown,
) -> Response<Full<Bytes>> {
    if req.method() != hyper::Method::GET {
        return reply::method_not_allowed("GET");
    }
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let ok = header_has(&req, header::UPGRADE, "websocket")
        && header_has(&req, header::CONNECTION, "upgrade")
        && req
            .headers()
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    let Some(key) = key.filter(|_| ok) else {
        return reply::message(StatusCode::BAD_REQUEST, "Expected a WebSocket upgrade");
    };
    if !header_has(&req, header::SEC_WEBSOCKET_PROTOCOL, WS_SUBPROTOCOL) {
        return reply::message(
            StatusCode::BAD_REQUEST,
            "The WebSocket subprotocol must be mqtt",
        );
    }
    let origin = Origin {
        // Also on the plain HTTP listener (for tools); there the event has no `tls` part.
        transport: Route::new(Transport::Wss, conn.transport.listener),
        server_name: conn.server_name.clone(),
        upgrade: Some(Upgrade {
            headers: req.headers().clone(),
            query: req.uri().query().map(str::to_string),
        }),
        connection_id: conn.id.clone(),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    // The session keeps the connection's place under the listener's cap until it ends.
    let slot = conn.slot.clone();
    tokio::spawn(async move {
        let _slot = slot;
        session_over(on_upgrade, origin, shared, shutdown).await;
    });
    switching_protocols(&key)
}

/// Waits for the upgraded connection, then runs the MQTT session over it until either side ends.
async fn session_over(
    on_upgrade: hyper::upgrade::OnUpgrade,
    origin: Origin,
    shared: Arc<Shared>,
    shutdown: Shutdown,
) {
    let upgraded = match on_upgrade.await {
        Ok(u) => u,
        Err(err) => {
            tracing::debug!(%err, "WebSocket upgrade failed");
            return;
        }
    };
    // Bound what tungstenite buffers (its default is 64 MiB): one MQTT packet at most, plus framing.
    let limit = Some(codec::MAX_PACKET_BYTES + 1024);
    let config = WebSocketConfig::default()
        .max_message_size(limit)
        .max_frame_size(limit);
    let ws =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
    let (near, far) = tokio::io::duplex(64 * 1024);
    let mut pump = tokio::spawn(bridge(ws, far));
    session::run(near, Box::new(origin), shared, shutdown).await;
    // The bridge ends once the session has; a client that stopped reading could stall its last send.
    if tokio::time::timeout(session::WRITE_TIMEOUT, &mut pump)
        .await
        .is_err()
    {
        pump.abort();
    }
}

/// The `101` answer: subprotocol `mqtt` and the accept key derived from the client's key.
fn switching_protocols(key: &header::HeaderValue) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("websocket"),
    );
    h.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("Upgrade"),
    );
    h.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        header::HeaderValue::from_static("mqtt"),
    );
    if let Ok(accept) = header::HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Copies binary WebSocket messages into the byte stream and the stream's bytes back out as binary messages,
/// until either side ends.
async fn bridge<S>(ws: WebSocketStream<S>, far: tokio::io::DuplexStream)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut source) = ws.split();
    let (mut rd, mut wr) = tokio::io::split(far);
    let inbound = async {
        while let Some(msg) = source.next().await {
            match msg {
                Ok(Message::Binary(data)) => {
                    if wr.write_all(&data).await.is_err() {
                        break;
                    }
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = wr.shutdown().await;
    };
    let outbound = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink
                        .send(Message::Binary(Bytes::copy_from_slice(&buf[..n])))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    };
    // Either side ending ends the bridge: the session sees EOF, or the client sees the close.
    tokio::select! {
        _ = inbound => {}
        _ = outbound => {}
    }
}
