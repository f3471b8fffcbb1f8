//! The async shell: accept loops for the HTTPS, plain HTTP, admin, MQTT/TLS and plain MQTT listeners, and one
//! hyper HTTP/1.1 connection (keep-alive) or one MQTT session per accepted socket. On the HTTPS listener the
//! negotiated ALPN picks: `mqtt` → an MQTT session (as AWS does on 443), anything else → HTTP, where
//! `GET /mqtt` upgrades to MQTT over WebSocket. HTTP requests naming a Host the emulator does not serve get
//! `421` (see [`super::host`]). Bounded ([`Limits`]): a cap on open connections per listener (refused beyond
//! it, counted), TLS handshake and header read timeouts (slowloris, half-open handshakes), a maximum header
//! size (431), MQTT's CONNECT timeout (see `mqtt::session`), and a graceful drain when shutdown fires.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::alpn::{self, TlsRefusal};
use super::connection::{ConnCtx, OpenConnections, Slot};
use super::mqtt::{Origin, session};
use super::{Shared, admin, publish, reply, websocket};
use crate::contract::{Listener, Route, Transport};
use crate::shutdown::Shutdown;

pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper runs this timer whenever it waits for a request head, including between requests on a keep-alive
/// connection: it bounds slow clients and closes keep-alive connections idle for this long.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// hyper's read buffer, which bounds the request head (hyper answers 431 beyond it). 8 KiB is hyper's minimum.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// How long open connections get to finish their current request after shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-connection bounds. [`Limits::default`] is what `emulate` and `run` use; tests and the fuzz mode may
/// tighten them (see `emulator::start_with_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections per listener, WebSocket sessions included (an upgraded connection keeps its place until
    /// its session ends); further connections are refused at accept (plain HTTP gets a 503), counted in
    /// `tokenstorm_connections_refused_total`.
    pub max_connections_per_listener: usize,
    pub tls_handshake_timeout: Duration,
    pub header_read_timeout: Duration,
}

/// Open connections per listener by default: far above a test load, far below the file descriptor limit.
pub const MAX_CONNECTIONS_PER_LISTENER: usize = 10_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections_per_listener: MAX_CONNECTIONS_PER_LISTENER,
            tls_handshake_timeout: TLS_HANDSHAKE_TIMEOUT,
            header_read_timeout: HEADER_READ_TIMEOUT,
        }
    }
}

/// The refusal a plain HTTP client reads when the listener is at its cap.
const REFUSED_HTTP: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// What a listener serves.
#[derive(Clone)]
pub(crate) enum Role {
    Https(Arc<rustls::ServerConfig>),
    Http,
    Admin,
    MqttTls(Arc<rustls::ServerConfig>),
    Mqtt,
}

impl Role {
    /// The data-plane listener (`None`: the admin listener).
    fn listener(&self) -> Option<Listener> {
        match self {
            Role::Https(_) => Some(Listener::Https),
            Role::Http => Some(Listener::Http),
            Role::Admin => None,
            Role::MqttTls(_) => Some(Listener::MqttTls),
            Role::Mqtt => Some(Listener::Mqtt),
        }
    }
}

/// Accepts until shutdown, then waits for its connections to drain.
pub(crate) async fn serve(
    listener: TcpListener,
    role: Role,
    shared: Arc<Shared>,
    shutdown: Shutdown,
    limits: Limits,
) {
    let mut connections = JoinSet::new();
    // Counted by slot, not by task: an upgraded WebSocket session runs in its own task and keeps its slot.
    let open = OpenConnections::default();
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Some(l) = role.listener() {
                        shared.peers.record(l, peer.ip());
                    }
                    while connections.try_join_next().is_some() {}
                    let Some(slot) = open.take(limits.max_connections_per_listener) else {
                        refuse(&stream, &role, &shared);
                        continue;
                    };
                    connections.spawn(connection(stream, role.clone(), shared.clone(), shutdown.clone(), limits, Arc::new(slot)));
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    tracing::debug!(open = open.open(), "listener drained");
}

/// At the cap: never waits (a flood must not stall the accept loop); plain HTTP gets a 503 if the socket takes
/// it at once, the others are closed (TLS and MQTT have nothing to say before a handshake or CONNECT).
fn refuse(stream: &TcpStream, role: &Role, shared: &Shared) {
    let listener = role.listener().unwrap_or(Listener::Http);
    if matches!(role, Role::Http | Role::Admin) {
        let _ = stream.try_write(REFUSED_HTTP);
    }
    shared.metrics.record_connection_refused(listener);
    tracing::debug!(
        listener = listener.as_str(),
        "connection cap reached: connection refused"
    );
}

/// The TLS handshake, bounded in time: the stream and the server name the client sent (SNI); `None` (the
/// connection refused, the reason counted) when it fails, or on the MQTT/TLS listener (`dedicated`) when the
/// client negotiated no ALPN `mqtt` where it is required.
async fn handshake(
    acceptor: Arc<rustls::ServerConfig>,
    stream: TcpStream,
    dedicated: bool,
    shared: &Shared,
    limits: Limits,
    shutdown: &Shutdown,
) -> Option<(Box<crate::lean_tls::ServerStream>, Option<String>)> {
    let listener = if dedicated {
        Listener::MqttTls
    } else {
        Listener::Https
    };
    let handshake = tokio::time::timeout(
        limits.tls_handshake_timeout,
        crate::lean_tls::accept(acceptor, stream),
    );
    let (mut tls, sni) = tokio::select! {
        r = handshake => match r {
            // Boxed here: the connection's task then holds a pointer, not the stream's kilobyte.
            Ok(Ok((tls, sni))) => (Box::new(tls), sni),
            Ok(Err(err)) => {
                let reason = TlsRefusal::of_handshake_error(&err);
                tracing::debug!(%err, reason = reason.as_str(), "TLS handshake failed");
                shared.metrics.record_tls_refusal(listener, reason);
                return None;
            }
            Err(_) => {
                shared.metrics.record_tls_refusal(listener, TlsRefusal::Handshake);
                return None;
            }
        },
        _ = shutdown.wait() => return None,
    };
    let resumed = tls.connection().handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    shared.metrics.record_handshake(listener, resumed);
    if dedicated
        && let Err(reason) = alpn::admit(shared.mqtt_tls_alpn, tls.connection().alpn_protocol())
    {
        tracing::debug!(reason = reason.as_str(), "{}", reason.explain());
        shared.metrics.record_tls_refusal(listener, reason);
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
        return None;
    }
    Some((tls, sni))
}

async fn connection(
    stream: TcpStream,
    role: Role,
    shared: Arc<Shared>,
    shutdown: Shutdown,
    limits: Limits,
    slot: Arc<Slot>,
) {
    let _ = stream.set_nodelay(true);
    // The dedicated MQTT/TLS listener speaks MQTT (refusing a client without ALPN `mqtt` unless
    // `mqtt_tls_alpn = "optional"`); the HTTPS listener only for ALPN `mqtt`.
    let dedicated = matches!(role, Role::MqttTls(_));
    match role {
        Role::Https(acceptor) | Role::MqttTls(acceptor) => {
            // Each stage boxed: the task of a connection holds only the stage it is in (a handshake's state
            // and an HTTP connection's are dropped when done), not the largest of them for its whole life.
            let Some((tls, sni)) = Box::pin(handshake(
                acceptor, stream, dedicated, &shared, limits, &shutdown,
            ))
            .await
            else {
                return;
            };
            let mqtt =
                dedicated || tls.connection().alpn_protocol() == Some(crate::wire::mqtt::ALPN_MQTT);
            if mqtt {
                let origin = Origin {
                    transport: if dedicated {
                        Route::of(Transport::MqttTls)
                    } else {
                        Route::MQTT_ALPN
                    },
                    server_name: sni,
                    upgrade: None,
                    connection_id: uuid::Uuid::new_v4().to_string(),
                };
                // The stream is boxed (by `handshake`): an async fn keeps a by-value argument twice in its state,
                // and a TLS stream is over a kilobyte.
                return Box::pin(session::run(tls, Box::new(origin), shared, shutdown)).await;
            }
            let ctx = Arc::new(ConnCtx::new(Route::of(Transport::Https), sni).with_slot(slot));
            Box::pin(data_plane(TokioIo::new(tls), ctx, shared, shutdown, limits)).await
        }
        Role::Mqtt => {
            let origin = Origin {
                transport: Route::of(Transport::Mqtt),
                server_name: None,
                upgrade: None,
                connection_id: uuid::Uuid::new_v4().to_string(),
            };
            Box::pin(session::run(stream, Box::new(origin), shared, shutdown)).await
        }
        Role::Http => {
            let ctx = Arc::new(ConnCtx::new(Route::PLAIN_HTTP, None).with_slot(slot));
            Box::pin(data_plane(
                TokioIo::new(stream),
                ctx,
                shared,
                shutdown,
                limits,
            ))
            .await
        }
        Role::Admin => {
            let service = service_fn(move |req: Request<Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(admin::handle(req, &shared).await) }
            });
            Box::pin(serve_connection(
                TokioIo::new(stream),
                service,
                shutdown,
                limits,
            ))
            .await
        }
    }
}

async fn data_plane<I>(
    io: I,
    ctx: Arc<ConnCtx>,
    shared: Arc<Shared>,
    shutdown: Shutdown,
    limits: Limits,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let conn_shutdown = shutdown.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let ctx = ctx.clone();
        let shutdown = conn_shutdown.clone();
        async move {
            let host = req
                .headers()
                .get(hyper::header::HOST)
                .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
            if !shared.host.allows_host_header(host.as_deref()) {
                return Ok::<_, Infallible>(reply::message(
                    hyper::StatusCode::MISDIRECTED_REQUEST,
                    "Misdirected Request",
                ));
            }
            if websocket::is_mqtt_path(&req) {
                return Ok(websocket::upgrade(req, shared, &ctx, shutdown));
            }
            Ok(publish::handle(req, &shared, &ctx).await)
        }
    });
    serve_connection(io, service, shutdown, limits).await
}

pub(crate) async fn serve_connection<I, S>(io: I, service: S, shutdown: Shutdown, limits: Limits)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::Service<
            Request<Incoming>,
            Response = Response<Full<Bytes>>,
            Error = Infallible,
        >,
    S::Future: Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        // A client that shuts down its write side after its request still gets the answer (and the request is
        // judged): without this hyper drops the in-flight request at EOF, so whether a half-closed request
        // reached the gate and the authorizer would depend on timing.
        .half_close(true)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%err, "connection ended with an error");
            }
        }
        _ = shutdown.wait() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, conn).await;
        }
    }
}
