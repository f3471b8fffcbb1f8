//! One MQTT connection, whatever carries it (TLS, TCP, or a WebSocket bridged to a byte stream): wait for
//! CONNECT (bounded), admit it, then serve PUBLISH / SUBSCRIBE / UNSUBSCRIBE / PINGREQ / DISCONNECT, deliver
//! routed messages the policy lets the client receive, refresh the policy after `refreshAfterInSeconds`, close
//! after `disconnectAfterInSeconds`, after 1.5 × keep-alive of silence, when kicked by a newer connection with
//! the same client id, or at shutdown. Every timer is `tokio::time`, so tests drive it with paused time.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::time::{Duration, Instant, sleep_until, timeout_at};

use super::super::Shared;
use super::super::metrics::{CloseReason, Outcome};
use super::super::response::Authorization;
use super::broker::Delivery;
use super::codec::{
    self, ADMINISTRATIVE_ACTION, ConnectPacket, DecodeError, Inbound, KEEP_ALIVE_TIMEOUT,
    NOT_AUTHORIZED, Outbound, PACKET_TOO_LARGE, PROTOCOL_ERROR, SERVER_SHUTTING_DOWN,
    SESSION_TAKEN_OVER,
};
use super::connect::{Admitted, Origin, admit, refresh};
use super::dispatch::{deliver, handle};
use crate::contract::MqttVersion;
use crate::contract::Route;
use crate::shutdown::Shutdown;

/// How long a client gets to send its CONNECT after the connection opens.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one packet may take to write before the connection is given up.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
use crate::contract::limits::{MAX_KEEP_ALIVE_S, MIN_KEEP_ALIVE_S};

/// Serves one MQTT connection to its end.
pub(crate) async fn run<S>(mut stream: S, origin: Origin, shared: Arc<Shared>, shutdown: Shutdown)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let transport = origin.transport;
    let mut buf = BytesMut::with_capacity(4096);
    let connect = tokio::select! {
        r = read_connect(&mut stream, &mut buf) => r,
        _ = shutdown.wait() => Err(CloseReason::Shutdown),
    };
    let connect = match connect {
        Ok(c) => c,
        Err(reason) => {
            if reason == CloseReason::ProtocolError {
                shared
                    .metrics
                    .record_request(transport, Outcome::BadRequest);
            }
            shared.metrics.record_close(transport, reason);
            return;
        }
    };
    let admitted = match admit(&shared, &origin, &connect).await {
        Ok(a) => a,
        Err(refusal) => {
            shared.metrics.record_request(transport, refusal.outcome);
            shared.metrics.record_close(transport, CloseReason::Refused);
            // MQTT 3.1.1: close without CONNACK (spec §6). MQTT 5: CONNACK with the reason code.
            if connect.version == MqttVersion::V5 {
                let _ = send(
                    &mut stream,
                    MqttVersion::V5,
                    &Outbound::ConnAck {
                        reason: refusal.reason,
                    },
                )
                .await;
            }
            let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.shutdown()).await;
            return;
        }
    };
    shared.metrics.record_request(transport, Outcome::Allowed);
    let reg = shared.broker.register(&connect.client_id);
    shared.metrics.session_opened(transport);
    let mut live = Live {
        version: connect.version,
        client_id: connect.client_id.clone(),
        filters: Vec::new(),
        next_pkid: 0,
        admitted,
    };
    let reason = if send(&mut stream, live.version, &Outbound::ConnAck { reason: 0 })
        .await
        .is_err()
    {
        CloseReason::Client
    } else {
        let links = Links {
            id: reg.id,
            kicked: &reg.kicked,
            shared: &shared,
            shutdown: &shutdown,
            transport,
        };
        serve(
            &mut stream,
            &mut buf,
            &connect,
            &mut live,
            reg.deliveries,
            links,
        )
        .await
    };
    shared
        .broker
        .unregister(reg.id, &live.client_id, &live.filters);
    shared.metrics.session_closed(transport);
    shared.metrics.record_close(transport, reason);
    if live.version == MqttVersion::V5 {
        let code = match reason {
            CloseReason::Kicked => Some(SESSION_TAKEN_OVER),
            CloseReason::Timeout => Some(KEEP_ALIVE_TIMEOUT),
            CloseReason::RefreshFailed | CloseReason::PublishDenied => Some(NOT_AUTHORIZED),
            CloseReason::DisconnectAfter => Some(ADMINISTRATIVE_ACTION),
            CloseReason::Shutdown => Some(SERVER_SHUTTING_DOWN),
            CloseReason::ProtocolError => Some(PROTOCOL_ERROR),
            CloseReason::TooLarge => Some(PACKET_TOO_LARGE),
            CloseReason::Client | CloseReason::Refused => None,
        };
        if let Some(reason) = code {
            let _ = send(
                &mut stream,
                MqttVersion::V5,
                &Outbound::Disconnect { reason },
            )
            .await;
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.shutdown()).await;
}

/// The state of an admitted connection.
pub(super) struct Live {
    pub(super) version: MqttVersion,
    pub(super) client_id: String,
    pub(super) filters: Vec<String>,
    pub(super) next_pkid: u16,
    pub(super) admitted: Admitted,
}

impl Live {
    pub(super) fn auth(&self) -> &Authorization {
        &self.admitted.authorization
    }

    pub(super) fn pkid(&mut self) -> u16 {
        self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
        self.next_pkid
    }
}

pub(super) async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    version: MqttVersion,
    packet: &Outbound,
) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    codec::encode(version, packet, &mut out);
    if out.is_empty() {
        return Ok(());
    }
    // A client that stops reading must not hold its session (and shutdown) forever.
    let write = async {
        stream.write_all(&out).await?;
        stream.flush().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

async fn read_connect<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<ConnectPacket, CloseReason> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        match codec::decode(None, buf) {
            Ok(Some(Inbound::Connect(c))) => return Ok(c),
            Ok(Some(_)) => return Err(CloseReason::ProtocolError),
            Ok(None) => {}
            Err(err) => {
                tracing::debug!(%err, "refused a connection before CONNECT");
                return Err(CloseReason::ProtocolError);
            }
        }
        match timeout_at(deadline, stream.read_buf(buf)).await {
            Err(_) => return Err(CloseReason::Timeout),
            Ok(Ok(0)) | Ok(Err(_)) => return Err(CloseReason::Client),
            Ok(Ok(_)) => {}
        }
    }
}

/// How long a session may stay silent: 1.5 × the keep-alive, clamped to AWS's 30–1200 s (0 means 1200).
fn keep_alive_limit(keep_alive_s: u16) -> Duration {
    let k = match keep_alive_s {
        0 => MAX_KEEP_ALIVE_S,
        k => k.clamp(MIN_KEEP_ALIVE_S, MAX_KEEP_ALIVE_S),
    };
    Duration::from_millis(u64::from(k) * 1500)
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 86_400)
}

fn after(s: Option<u32>) -> Instant {
    s.map_or_else(far_future, |s| {
        Instant::now() + Duration::from_secs(u64::from(s))
    })
}

/// What a live session is tied to.
struct Links<'a> {
    id: u64,
    kicked: &'a tokio::sync::Notify,
    shared: &'a Shared,
    shutdown: &'a Shutdown,
    transport: Route,
}

async fn serve<S>(
    stream: &mut S,
    buf: &mut BytesMut,
    connect: &ConnectPacket,
    live: &mut Live,
    mut deliveries: tokio::sync::mpsc::Receiver<Delivery>,
    links: Links<'_>,
) -> CloseReason
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Links {
        id,
        kicked,
        shared,
        shutdown,
        transport,
    } = links;
    let idle = keep_alive_limit(connect.keep_alive_s);
    let mut silent_until = Instant::now() + idle;
    let mut refresh_at = after(live.auth().refresh_after_s);
    let disconnect_at = after(live.auth().disconnect_after_s);
    loop {
        // Whatever is already buffered first.
        loop {
            match codec::decode(Some(live.version), buf) {
                Ok(None) => break,
                Ok(Some(packet)) => {
                    silent_until = Instant::now() + idle;
                    if let Some(reason) = handle(stream, packet, live, id, shared, transport).await
                    {
                        return reason;
                    }
                }
                Err(DecodeError::TooLarge(_)) => {
                    shared
                        .metrics
                        .record_request(transport, Outcome::PayloadTooLarge);
                    return CloseReason::TooLarge;
                }
                Err(err) => {
                    tracing::debug!(%err, "closing an MQTT connection");
                    return CloseReason::ProtocolError;
                }
            }
        }
        // Biased: ending the connection wins over a refresh due at the same instant.
        tokio::select! {
            biased;
            _ = shutdown.wait() => return CloseReason::Shutdown,
            _ = kicked.notified() => return CloseReason::Kicked,
            _ = sleep_until(disconnect_at) => return CloseReason::DisconnectAfter,
            _ = sleep_until(silent_until) => return CloseReason::Timeout,
            _ = sleep_until(refresh_at) => {
                match refresh(shared, transport, &live.client_id, &live.admitted).await {
                    Some(auth) => {
                        refresh_at = after(auth.refresh_after_s);
                        live.admitted.authorization = auth;
                    }
                    None => return CloseReason::RefreshFailed,
                }
            }
            r = stream.read_buf(buf) => match r {
                Ok(0) | Err(_) => return CloseReason::Client,
                Ok(_) => {}
            },
            Some(d) = deliveries.recv() => {
                if deliver(stream, live, shared, d).await.is_err() {
                    return CloseReason::Client;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
