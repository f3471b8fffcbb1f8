//! The thin async shell of one MQTT connection (after rumqttc's `eventloop.rs`): reads CONNECT (bounded), has it
//! admitted, then reads packets, waits on the session's [`Clocks`], routed messages, kicks and shutdown, asks the
//! authorizer again when a refresh is due, and carries out what the pure state ([`super::state`],
//! [`super::super::dispatch`]) decides. Every timer is `tokio::time`, so tests drive it with paused time.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::time::{Instant, sleep_until, timeout_at};

use super::super::super::Shared;
use super::super::super::metrics::{CloseReason, Outcome};
use super::super::broker::Delivery;
use super::super::codec::{self, ConnectPacket, Outbound};
use super::super::connect::{Admitted, Origin, admit, refresh};
use super::super::dispatch::{Account, deliver, handle};
use super::state::{self, Clocks, Effect, Live};
use super::{CONNECT_TIMEOUT, WRITE_TIMEOUT};
use crate::contract::MqttVersion as Version;
use crate::contract::Route;
use crate::shutdown::Shutdown;

/// Serves one MQTT connection to its end.
///
/// `origin` is boxed (an async fn keeps a by-value argument in its state for its whole life) and dropped once
/// CONNECT is admitted.
pub(crate) async fn run<S>(
    mut stream: S,
    origin: Box<Origin>,
    shared: Arc<Shared>,
    shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let transport = origin.transport;
    let mut buf = BytesMut::new();
    // Boxed: reading CONNECT and asking the authorizer is a large future a live session no longer needs.
    let opening = Box::pin(open(&mut stream, &mut buf, &origin, &shared, &shutdown));
    let Some((connect, admitted)) = opening.await else {
        return;
    };
    drop(origin);
    shared.metrics.record_request(transport, Outcome::Allowed);
    let reg = shared.broker.register(&connect.client_id);
    shared.metrics.session_opened(transport);
    let mut live = Live::new(&connect, admitted);
    // The CONNECT's username and password (the password a slice of the read buffer's first block, about
    // 1 KiB with a token and signature) are not kept for the session's life: `live` has what it needs.
    let keep_alive_s = connect.keep_alive_s;
    drop(connect);
    if buf.is_empty() {
        buf = BytesMut::new();
    }
    let reason = if send(&mut stream, live.version, &Outbound::ConnAck { reason: 0 })
        .await
        .is_err()
    {
        CloseReason::Client
    } else {
        let links = Links {
            id: reg.id,
            kicked: &reg.kicked,
            storms: reg.storms,
            shared: &shared,
            shutdown: &shutdown,
            transport,
        };
        serve(
            &mut stream,
            &mut buf,
            keep_alive_s,
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
    if let Some(bye) = state::goodbye(live.version, reason) {
        let _ = send(&mut stream, live.version, &bye).await;
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.shutdown()).await;
}

/// Reads CONNECT and has it admitted; `None` when the connection ended there (counted, answered, closed).
async fn open<S>(
    stream: &mut S,
    buf: &mut BytesMut,
    origin: &Origin,
    shared: &Shared,
    shutdown: &Shutdown,
) -> Option<(ConnectPacket, Admitted)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let transport = origin.transport;
    let connect = tokio::select! {
        r = read_connect(stream, buf) => r,
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
            return None;
        }
    };
    match admit(shared, origin, &connect).await {
        Ok(a) => Some((connect, a)),
        Err(refusal) => {
            shared.metrics.record_request(transport, refusal.outcome);
            shared.metrics.record_close(transport, CloseReason::Refused);
            if let Some(connack) = state::refusal(connect.version, refusal.reason) {
                let _ = send(stream, connect.version, &connack).await;
            }
            let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.shutdown()).await;
            None
        }
    }
}

/// Writes one packet, giving up after [`WRITE_TIMEOUT`].
pub(in super::super) async fn send<S: AsyncWrite + Unpin>(
    stream: &mut S,
    version: Version,
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
        let decoded = codec::decode(None, buf);
        if let Err(err) = &decoded {
            tracing::debug!(%err, "refused a connection before CONNECT");
        }
        if let Some(c) = state::first_packet(decoded)? {
            return Ok(c);
        }
        codec::make_room(buf);
        match timeout_at(deadline, stream.read_buf(buf)).await {
            Err(_) => return Err(CloseReason::Timeout),
            Ok(Ok(0)) | Ok(Err(_)) => return Err(CloseReason::Client),
            Ok(Ok(_)) => {}
        }
    }
}

/// What a live session is tied to.
pub(super) struct Links<'a> {
    pub(super) id: u64,
    pub(super) kicked: &'a tokio::sync::Notify,
    /// Changes when a storm drops every session ([`super::super::broker::Broker::storm`]).
    pub(super) storms: tokio::sync::watch::Receiver<u64>,
    pub(super) shared: &'a Shared,
    pub(super) shutdown: &'a Shutdown,
    pub(super) transport: Route,
}

/// Serves an admitted session until it ends; returns why.
pub(super) async fn serve<S>(
    stream: &mut S,
    buf: &mut BytesMut,
    keep_alive_s: u16,
    live: &mut Live,
    mut deliveries: tokio::sync::mpsc::Receiver<Box<Delivery>>,
    links: Links<'_>,
) -> CloseReason
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Links {
        id,
        kicked,
        mut storms,
        shared,
        shutdown,
        transport,
    } = links;
    let account = Account {
        region: &shared.region,
        account_id: &shared.account_id,
    };
    let mut clocks = Clocks::start(keep_alive_s, live.auth(), Instant::now());
    loop {
        // Whatever is already buffered first.
        let peer = Peer {
            id,
            shared,
            transport,
        };
        if let Err(reason) = drain_buffer(stream, buf, live, &mut clocks, peer).await {
            return reason;
        }
        codec::make_room(buf);
        // Biased: ending the connection wins over a refresh due at the same instant.
        tokio::select! {
            biased;
            _ = shutdown.wait() => return CloseReason::Shutdown,
            _ = kicked.notified() => return CloseReason::Kicked,
            _ = storms.changed() => return CloseReason::Storm,
            _ = sleep_until(clocks.disconnect_at) => return CloseReason::DisconnectAfter,
            _ = sleep_until(clocks.silent_until) => return CloseReason::Timeout,
            _ = sleep_until(clocks.refresh_at) => {
                let auth = refresh(shared, transport, &live.client_id, &live.admitted).await;
                if let Err(reason) = live.refreshed(&mut clocks, auth, Instant::now()) {
                    return reason;
                }
            }
            r = stream.read_buf(buf) => match r {
                Ok(0) | Err(_) => return CloseReason::Client,
                Ok(_) => {}
            },
            Some(d) = deliveries.recv() => {
                if let Some(p) = deliver(live, account, *d)
                    && send(stream, live.version, &p).await.is_err()
                {
                    return CloseReason::Client;
                }
            }
        }
    }
}

/// What the effects of a packet act on.
#[derive(Clone, Copy)]
struct Peer<'a> {
    /// The session's broker registration.
    id: u64,
    shared: &'a Shared,
    transport: Route,
}

/// Decodes and acts on every complete packet in `buf`.
async fn drain_buffer<S: AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    live: &mut Live,
    clocks: &mut Clocks,
    peer: Peer<'_>,
) -> Result<(), CloseReason> {
    let account = Account {
        region: &peer.shared.region,
        account_id: &peer.shared.account_id,
    };
    loop {
        match codec::decode(Some(live.version), buf) {
            Ok(None) => return Ok(()),
            Ok(Some(packet)) => {
                clocks.heard(Instant::now());
                let effects = handle(packet, live, account);
                carry_out(stream, live.version, effects, peer).await?;
            }
            Err(err) => {
                let (outcome, reason) = state::undecodable(&err);
                match outcome {
                    Some(o) => peer.shared.metrics.record_request(peer.transport, o),
                    None => tracing::debug!(%err, "closing an MQTT connection"),
                }
                return Err(reason);
            }
        }
    }
}

/// Carries out a packet's effects in order; `Err` ends the connection (a failed write as `Client`).
async fn carry_out<S: AsyncWrite + Unpin>(
    stream: &mut S,
    version: Version,
    effects: Vec<Effect>,
    peer: Peer<'_>,
) -> Result<(), CloseReason> {
    let Peer {
        id,
        shared,
        transport,
    } = peer;
    for e in effects {
        match e {
            Effect::Send(p) => send(stream, version, &p)
                .await
                .map_err(|_| CloseReason::Client)?,
            Effect::Record(o) => shared.metrics.record_request(transport, o),
            Effect::Publish {
                topic,
                qos,
                payload,
            } => {
                shared.broker.publish(&topic, qos, &payload);
            }
            Effect::Subscribe { filter, qos } => shared.broker.subscribe(id, &filter, qos),
            Effect::Unsubscribe(filter) => shared.broker.unsubscribe(id, &filter),
            Effect::Close(reason) => return Err(reason),
        }
    }
    Ok(())
}
