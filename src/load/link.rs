//! One device's MQTT byte link: plain TCP, TLS with ALPN `mqtt` and SNI, or a WebSocket (subprotocol `mqtt`)
//! over TLS without ALPN. Opening it times each step separately (TCP connect, TLS handshake, WebSocket
//! upgrade), which rumqttc 0.25's event loop cannot do: it folds TCP, TLS and CONNECT into one `poll()` and
//! takes no established stream (its `Network` type is private). So the generator opens the link itself and
//! speaks MQTT over it with rumqttc's `mqttbytes` codec (see [`super::session`]).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt as _, StreamExt as _};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::connect::TlsConfig;
use crate::contract::Transport;
use crate::lean_tls::ClientStream;
use crate::metrics::{ErrorKind, Failure, Phase};
use crate::wire::mqtt::WS_SUBPROTOCOL;

/// How to reach the MQTT endpoint of one transport.
#[derive(Clone)]
pub struct LinkSpec {
    pub transport: Transport,
    pub addr: SocketAddr,
    /// TLS and WebSocket: the server name (SNI, and the `Host` of the upgrade).
    pub server_name: ServerName<'static>,
    pub host: String,
    /// TLS and WebSocket only.
    pub tls: Option<TlsConfig>,
    /// WebSocket only: the request path (`/mqtt`).
    pub path: String,
    /// The source addresses connections bind to in turn (`load.source_addrs`; empty: the kernel's choice).
    pub sources: super::source::Sources,
    /// `[tls] resumption`: each device copies `tls` with a session store of its own ([`Self::device_tls`]);
    /// off, every connection is a full handshake through `tls`.
    pub resumption: bool,
}

type Ws = WebSocketStream<ClientStream>;

/// An open link.
pub enum Link {
    Tcp(TcpStream),
    Tls(Box<ClientStream>),
    Ws(Box<Ws>),
}

/// Which step failed, and how long the steps that succeeded took.
pub struct Opened {
    pub timings: Vec<(Phase, Duration)>,
    pub result: Result<Link, Failure>,
}

impl LinkSpec {
    /// A device's own TLS configuration under `[tls] resumption`: the shared configuration with a session store of
    /// its own (one server's sessions), so its reconnects resume its own session and never another device's.
    /// `None`: the device uses the shared configuration.
    pub fn device_tls(&self) -> Option<TlsConfig> {
        let base = self.tls.as_ref().filter(|_| self.resumption)?;
        Some(super::connect::own_session_store(base))
    }

    /// Opens the link; never fails with an error value, only with a described [`Opened::result`].
    pub async fn open(&self) -> Opened {
        self.open_with(None).await
    }

    /// [`Self::open`] through a device's own TLS configuration ([`Self::device_tls`]) when it has one.
    pub async fn open_with(&self, own_tls: Option<&TlsConfig>) -> Opened {
        let mut timings = Vec::with_capacity(3);
        let t = Instant::now();
        let tcp = match self.sources.connect(self.addr).await {
            Ok(s) => s,
            Err(e) => {
                return Opened {
                    timings,
                    result: Err(Failure::connect(self.addr, &e)),
                };
            }
        };
        timings.push((Phase::TcpConnect, t.elapsed()));
        let Some(tls) = own_tls.or(self.tls.as_ref()) else {
            return Opened {
                timings,
                result: Ok(Link::Tcp(tcp)),
            };
        };
        let t = Instant::now();
        let stream =
            match crate::lean_tls::connect(tls.clone(), self.server_name.clone(), tcp).await {
                Ok(s) => s,
                Err(e) => {
                    return Opened {
                        timings,
                        result: Err(Failure::tls(&e)),
                    };
                }
            };
        timings.push((Phase::TlsHandshake, t.elapsed()));
        if self.transport != Transport::Wss {
            return Opened {
                timings,
                result: Ok(Link::Tls(Box::new(stream))),
            };
        }
        let t = Instant::now();
        let result = match self.upgrade(stream).await {
            Ok(ws) => {
                timings.push((Phase::WsUpgrade, t.elapsed()));
                Ok(Link::Ws(Box::new(ws)))
            }
            Err(e) => Err(e),
        };
        Opened { timings, result }
    }

    async fn upgrade(&self, stream: ClientStream) -> Result<Ws, Failure> {
        let url = format!("wss://{}{}", self.host, self.path);
        // The path's query may carry credentials (AWS accepts a token there): messages name the path only.
        let shown = url.split('?').next().unwrap_or_default();
        let ws_err = |e: &dyn std::fmt::Display| {
            Failure::new(
                ErrorKind::Websocket,
                format!("WebSocket: upgrade at {shown}: {e}"),
            )
        };
        let mut req = url.as_str().into_client_request().map_err(|e| ws_err(&e))?;
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            tokio_tungstenite::tungstenite::http::HeaderValue::from_static(WS_SUBPROTOCOL),
        );
        let (ws, _resp) =
            tokio_tungstenite::client_async(req, stream)
                .await
                .map_err(|e| match e {
                    tokio_tungstenite::tungstenite::Error::ConnectionClosed
                    | tokio_tungstenite::tungstenite::Error::AlreadyClosed => {
                        Failure::closed("during the WebSocket upgrade")
                    }
                    tokio_tungstenite::tungstenite::Error::Io(io) => Failure::new(
                        ErrorKind::Closed,
                        format!(
                            "closed: during the WebSocket upgrade: {}",
                            crate::metrics::error_kind::io_text(&io)
                        ),
                    ),
                    e => ws_err(&e),
                })?;
        Ok(ws)
    }
}

impl Link {
    /// Writes all of `buf`.
    pub async fn send(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.write_all(buf).await,
            Self::Tls(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
            Self::Ws(ws) => ws
                .send(Message::binary(buf.to_vec()))
                .await
                .map_err(std::io::Error::other),
        }
    }

    /// Reads more bytes into `buf`; `Ok(0)`: the peer closed.
    pub async fn recv(&mut self, buf: &mut BytesMut) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read_buf(buf).await,
            Self::Tls(s) => s.read_buf(buf).await,
            Self::Ws(ws) => loop {
                match ws.next().await {
                    None | Some(Ok(Message::Close(_))) => return Ok(0),
                    Some(Ok(Message::Binary(b))) => {
                        buf.extend_from_slice(&b);
                        if !b.is_empty() {
                            return Ok(b.len());
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(std::io::Error::other(e)),
                }
            },
        }
    }

    /// Closes politely (TLS close_notify, WebSocket close); errors are irrelevant here.
    pub async fn close(&mut self) {
        match self {
            Self::Tcp(s) => {
                let _ = s.shutdown().await;
            }
            Self::Tls(s) => {
                let _ = s.shutdown().await;
            }
            Self::Ws(ws) => {
                let _ = ws.close().await;
            }
        }
    }
}
