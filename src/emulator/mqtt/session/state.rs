//! The protocol state of an admitted MQTT session, without I/O (after rumqttc's `state.rs`): given the state and
//! an incoming packet, a routed message ([`super::super::dispatch`]), a refresh's result or a decode failure, what
//! to send and what changes. The shell ([`super::eventloop`]) reads and writes the socket, waits on the
//! [`Clocks`], asks the authorizer, and carries out the [`Effect`]s in order.

use bytes::Bytes;
use tokio::time::{Duration, Instant};

use super::super::super::metrics::{CloseReason, Outcome};
use super::super::super::response::Authorization;
use super::super::codec::{
    ADMINISTRATIVE_ACTION, ConnectPacket, DecodeError, Inbound, KEEP_ALIVE_TIMEOUT, NOT_AUTHORIZED,
    Outbound, PACKET_TOO_LARGE, PROTOCOL_ERROR, SERVER_SHUTTING_DOWN, SESSION_TAKEN_OVER,
};
use super::super::connect::Admitted;
use crate::contract::MqttVersion as Version;
use crate::contract::limits::{MAX_KEEP_ALIVE_S, MIN_KEEP_ALIVE_S};

/// The state of an admitted connection.
pub(in super::super) struct Live {
    pub(in super::super) version: Version,
    pub(in super::super) client_id: String,
    pub(in super::super) filters: Vec<String>,
    pub(in super::super) next_pkid: u16,
    pub(in super::super) admitted: Admitted,
}

impl Live {
    /// A session admitted with `connect`, no subscriptions yet.
    pub(in super::super) fn new(connect: &ConnectPacket, admitted: Admitted) -> Self {
        Self {
            version: connect.version,
            client_id: connect.client_id.clone(),
            filters: Vec::new(),
            next_pkid: 0,
            admitted,
        }
    }

    pub(in super::super) fn auth(&self) -> &Authorization {
        &self.admitted.authorization
    }

    /// The next packet id for a QoS 1 delivery: 1, 2, ... 65535, 1, ... (0 is not a packet id).
    pub(in super::super) fn pkid(&mut self) -> u16 {
        self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
        self.next_pkid
    }

    /// A refresh's result at `now`: the new policy (and its next refresh), or the close when the authorizer did
    /// not allow the connection again.
    pub(in super::super) fn refreshed(
        &mut self,
        clocks: &mut Clocks,
        auth: Option<Authorization>,
        now: Instant,
    ) -> Result<(), CloseReason> {
        let auth = auth.ok_or(CloseReason::RefreshFailed)?;
        clocks.refresh_at = after(now, auth.refresh_after_s);
        self.admitted.authorization = auth;
        Ok(())
    }
}

/// Something the shell must do; a packet's effects are carried out in order.
#[derive(Debug, Clone, PartialEq)]
pub(in super::super) enum Effect {
    /// Write this packet; a failed write ends the connection as [`CloseReason::Client`].
    Send(Outbound),
    /// Count one data-plane request with this outcome.
    Record(Outcome),
    /// Route a message through the broker.
    Publish {
        topic: String,
        qos: u8,
        payload: Bytes,
    },
    /// Register a subscription at the granted QoS with the broker.
    Subscribe { filter: String, qos: u8 },
    /// Drop a subscription from the broker.
    Unsubscribe(String),
    /// End the connection.
    Close(CloseReason),
}

/// When the session ends or refreshes unless something happens first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in super::super) struct Clocks {
    idle: Duration,
    /// Closed as [`CloseReason::Timeout`] when nothing arrives before this.
    pub(in super::super) silent_until: Instant,
    /// The authorizer is asked again (`refreshAfterInSeconds`).
    pub(in super::super) refresh_at: Instant,
    /// Closed as [`CloseReason::DisconnectAfter`] (`disconnectAfterInSeconds`).
    pub(in super::super) disconnect_at: Instant,
}

impl Clocks {
    /// The clocks of a session admitted at `now` with `keep_alive_s` under `auth`.
    pub(in super::super) fn start(keep_alive_s: u16, auth: &Authorization, now: Instant) -> Self {
        let idle = keep_alive_limit(keep_alive_s);
        Self {
            idle,
            silent_until: now + idle,
            refresh_at: after(now, auth.refresh_after_s),
            disconnect_at: after(now, auth.disconnect_after_s),
        }
    }

    /// A packet arrived at `now`: the silence starts again.
    pub(in super::super) fn heard(&mut self, now: Instant) {
        self.silent_until = now + self.idle;
    }
}

/// How long a session may stay silent: 1.5 × the keep-alive, clamped to AWS's 30–1200 s (0 means 1200).
pub(in super::super) fn keep_alive_limit(keep_alive_s: u16) -> Duration {
    let k = match keep_alive_s {
        0 => MAX_KEEP_ALIVE_S,
        k => k.clamp(MIN_KEEP_ALIVE_S, MAX_KEEP_ALIVE_S),
    };
    Duration::from_millis(u64::from(k) * 1500)
}

/// `s` seconds after `now`; never (a century) when `None`.
fn after(now: Instant, s: Option<u32>) -> Instant {
    let far = Duration::from_secs(100 * 365 * 86_400);
    now + s.map_or(far, |s| Duration::from_secs(u64::from(s)))
}

/// Before CONNECT: the decoder's answer on what is buffered. `Ok(None)`: read more.
pub(in super::super) fn first_packet(
    decoded: Result<Option<Inbound>, DecodeError>,
) -> Result<Option<ConnectPacket>, CloseReason> {
    match decoded {
        Ok(Some(Inbound::Connect(c))) => Ok(Some(c)),
        Ok(Some(_)) | Err(_) => Err(CloseReason::ProtocolError),
        Ok(None) => Ok(None),
    }
}

/// A refused CONNECT's answer: MQTT 3.1.1 closes without CONNACK (spec §6), MQTT 5 sends CONNACK with the reason.
pub(in super::super) fn refusal(version: Version, reason: u8) -> Option<Outbound> {
    (version == Version::V5).then_some(Outbound::ConnAck { reason })
}

/// A packet that cannot be decoded after CONNECT: what to count and why the connection ends.
pub(in super::super) fn undecodable(err: &DecodeError) -> (Option<Outcome>, CloseReason) {
    match err {
        DecodeError::TooLarge(_) => (Some(Outcome::PayloadTooLarge), CloseReason::TooLarge),
        _ => (None, CloseReason::ProtocolError),
    }
}

/// What the server sends as it closes an admitted session: MQTT 5 a DISCONNECT with the reason code, MQTT 3.1.1
/// nothing (it just closes), and nothing when the client ended it.
pub(in super::super) fn goodbye(version: Version, reason: CloseReason) -> Option<Outbound> {
    if version != Version::V5 {
        return None;
    }
    let code = match reason {
        CloseReason::Kicked => SESSION_TAKEN_OVER,
        CloseReason::Timeout => KEEP_ALIVE_TIMEOUT,
        CloseReason::RefreshFailed | CloseReason::PublishDenied => NOT_AUTHORIZED,
        CloseReason::DisconnectAfter => ADMINISTRATIVE_ACTION,
        CloseReason::Shutdown => SERVER_SHUTTING_DOWN,
        CloseReason::ProtocolError => PROTOCOL_ERROR,
        CloseReason::TooLarge => PACKET_TOO_LARGE,
        // A storm models a network or host failure: the connection just breaks.
        CloseReason::Client | CloseReason::Refused | CloseReason::Storm => return None,
    };
    Some(Outbound::Disconnect { reason: code })
}
