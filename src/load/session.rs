//! MQTT 3.1.1 or 5 over an open [`Link`], with rumqttc's `mqttbytes` codecs ([`super::codec`]): CONNECT →
//! CONNACK, then the kept session (SUBSCRIBE to the device's own topic, PUBLISH at the configured interval, PUBACK and delivery
//! timing, PINGREQ, DISCONNECT at the end). Results are values: a CONNACK verdict, and what the session saw.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::codec::{DecodeError, In, Out, decode, encode};
use super::link::Link;
use super::username::Login;
use crate::contract::MqttVersion;
use crate::metrics::{Outcome, Phase, PubEvent};

/// QoS 1 publishes awaiting a PUBACK at once; the device skips a tick when this many are unanswered.
const MAX_INFLIGHT: usize = 32;

/// What the server answered to CONNECT, as the attempt's outcome.
pub fn connack_outcome(read: Result<In, ReadError>) -> (Outcome, Option<String>) {
    match read {
        Ok(In::ConnAck { code: 0 }) => (Outcome::Allowed, None),
        Ok(In::ConnAck { code }) => (
            Outcome::Refused,
            Some(format!("CONNACK return/reason code {code:#04x}")),
        ),
        Ok(other) => (
            Outcome::TransportError,
            Some(format!("expected CONNACK, got {other:?}")),
        ),
        // An MQTT 5 server may send DISCONNECT instead; the connection then closes without CONNACK.
        Err(ReadError::Closed) => (Outcome::ClosedWithoutConnack, None),
        Err(ReadError::Codec(e)) => (Outcome::TransportError, Some(format!("bad packet: {e}"))),
        Err(ReadError::Timeout) => (Outcome::Timeout, None),
    }
}

/// Why no packet could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or reset) the connection.
    Closed,
    Codec(String),
    Timeout,
}

/// One connection's packet reader and writer.
pub struct Session {
    pub link: Link,
    version: MqttVersion,
    rbuf: BytesMut,
    wbuf: BytesMut,
}

impl Session {
    pub fn new(link: Link, version: MqttVersion) -> Self {
        Self {
            link,
            version,
            rbuf: BytesMut::with_capacity(256),
            wbuf: BytesMut::with_capacity(256),
        }
    }

    async fn write(&mut self, p: Out<'_>) -> std::io::Result<()> {
        encode(self.version, p, &mut self.wbuf).map_err(std::io::Error::other)?;
        self.link.send(&self.wbuf).await
    }

    /// The next packet (cancel-safe: bytes read stay in the buffer).
    pub async fn read(&mut self) -> Result<In, ReadError> {
        loop {
            match decode(self.version, &mut self.rbuf) {
                Ok(In::Disconnect) => return Err(ReadError::Closed),
                Ok(p) => return Ok(p),
                Err(DecodeError::Incomplete) => {}
                Err(DecodeError::Bad(e)) => return Err(ReadError::Codec(e)),
            }
            match self.link.recv(&mut self.rbuf).await {
                Ok(0) | Err(_) => return Err(ReadError::Closed),
                Ok(_) => {}
            }
        }
    }

    /// Sends CONNECT and waits up to `timeout` for the answer.
    pub async fn connect(
        &mut self,
        client_id: &str,
        login: &Login,
        keep_alive_s: u16,
        timeout: Duration,
    ) -> (Outcome, Option<String>) {
        let out = Out::Connect {
            client_id,
            username: &login.username,
            password: login.password.as_deref().unwrap_or(""),
            keep_alive_s,
        };
        if let Err(e) = self.write(out).await {
            return (
                Outcome::TransportError,
                Some(format!("writing CONNECT: {e}")),
            );
        }
        let read = match tokio::time::timeout(timeout, self.read()).await {
            Ok(r) => r,
            Err(_) => Err(ReadError::Timeout),
        };
        connack_outcome(read)
    }
}

/// What a kept session does.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub topic: String,
    pub qos: u8,
    pub publish_interval: Option<Duration>,
    pub payload_bytes: usize,
    pub subscribe: bool,
    pub keep_alive: Option<Duration>,
    /// PUBACK / SUBACK wait.
    pub timeout: Duration,
    /// Payload timestamps count from here.
    pub t0: Instant,
}

/// What the session reports as it goes (recorded by the caller).
pub trait Sink {
    fn event(&mut self, e: PubEvent);
    fn phase(&mut self, p: Phase, d: Duration);
}

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The run's deadline or a shutdown: DISCONNECT was sent.
    Done,
    /// The server closed the connection (or it broke).
    Dropped,
}

/// The payload: the send instant (µs since `t0`, big-endian) then filler.
fn payload(t0: Instant, len: usize) -> Bytes {
    let stamp = Instant::now().saturating_duration_since(t0).as_micros() as u64;
    let mut v = stamp.to_be_bytes().to_vec();
    v.resize(len.max(8), b'.');
    Bytes::from(v)
}

/// The send instant carried by one of our payloads.
fn stamp_of(t0: Instant, payload: &[u8]) -> Option<Instant> {
    let b: [u8; 8] = payload.get(..8)?.try_into().ok()?;
    Some(t0 + Duration::from_micros(u64::from_be_bytes(b)))
}

impl Session {
    /// Runs the kept session until `stop` resolves (then drains PUBACKs and disconnects) or the server drops it.
    /// `first_publish` offsets the first publish so a fleet does not publish in lockstep.
    pub async fn keep(
        &mut self,
        spec: &SessionSpec,
        first_publish: Duration,
        sink: &mut (dyn Sink + Send),
        stop: impl std::future::Future<Output = ()>,
    ) -> Ended {
        let qos1 = spec.qos == 1;
        let mut pkid: u16 = 0;
        let mut next_pkid = || {
            pkid = pkid.checked_add(1).unwrap_or(1);
            pkid
        };
        let mut track = Tracker::default();
        if spec.subscribe {
            let id = next_pkid();
            let sub = Out::Subscribe {
                pkid: id,
                filter: &spec.topic,
                qos1,
            };
            if self.write(sub).await.is_err() {
                return Ended::Dropped;
            }
            track.sub_pending = Some(id);
            track.subscribed = true;
        }
        let far = Duration::from_secs(86_400 * 365);
        let mut next_pub = Instant::now() + first_publish;
        let ping_every = spec.keep_alive.unwrap_or(far);
        let mut next_ping = Instant::now() + ping_every;
        tokio::pin!(stop);
        let ended = loop {
            let wake = match spec.publish_interval {
                Some(_) => next_pub.min(next_ping),
                None => next_ping,
            };
            tokio::select! {
                biased;
                _ = &mut stop => break Ended::Done,
                read = self.read() => {
                    let Ok(p) = read else { break Ended::Dropped };
                    if let Some(id) = track.absorb(p, spec, sink)
                        && self.write(Out::PubAck { pkid: id }).await.is_err()
                    {
                        break Ended::Dropped;
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    while track.inflight.front().is_some_and(|(_, t)| now - *t >= spec.timeout) {
                        track.inflight.pop_front();
                        sink.event(PubEvent::PubackTimeout);
                    }
                    if now >= next_ping {
                        next_ping = now + ping_every;
                        if self.write(Out::PingReq).await.is_err() {
                            break Ended::Dropped;
                        }
                    }
                    if let Some(every) = spec.publish_interval
                        && now >= next_pub
                    {
                        next_pub += every;
                        if next_pub < now {
                            next_pub = now + every;
                        }
                        if track.inflight.len() < MAX_INFLIGHT {
                            let id = if qos1 { next_pkid() } else { 0 };
                            if qos1 {
                                track.inflight.push_back((id, Instant::now()));
                            }
                            let p = Out::Publish {
                                topic: &spec.topic,
                                qos1,
                                pkid: id,
                                payload: payload(spec.t0, spec.payload_bytes),
                            };
                            if self.write(p).await.is_err() {
                                break Ended::Dropped;
                            }
                            sink.event(PubEvent::Sent);
                            if track.subscribed {
                                track.awaiting_rx += 1;
                            }
                        }
                    }
                }
            }
        };
        match ended {
            Ended::Dropped => {
                // MQTT 3.1.1 answers a denied publish by closing the connection.
                for _ in track.inflight.drain(..) {
                    sink.event(PubEvent::PubackDenied);
                }
            }
            Ended::Done => {
                // Wait (briefly) for the PUBACKs and own deliveries still under way, then DISCONNECT.
                let until = Instant::now() + spec.timeout.min(Duration::from_secs(2));
                // Unacknowledged at the end: the connection closed (3.1.1 denial) or the wait ran out.
                let mut lost = PubEvent::PubackTimeout;
                while !track.inflight.is_empty() || track.awaiting_rx > 0 {
                    match tokio::time::timeout_at(until, self.read()).await {
                        Ok(Ok(p)) => {
                            if let Some(id) = track.absorb(p, spec, sink)
                                && self.write(Out::PubAck { pkid: id }).await.is_err()
                            {
                                lost = PubEvent::PubackDenied;
                                break;
                            }
                        }
                        Ok(Err(_)) => {
                            lost = PubEvent::PubackDenied;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                for _ in track.inflight.drain(..) {
                    sink.event(lost);
                }
                let _ = self.write(Out::Disconnect).await;
                self.link.close().await;
            }
        }
        ended
    }
}

/// What a kept session waits for.
#[derive(Default)]
struct Tracker {
    /// QoS 1 publishes awaiting their PUBACK, oldest first.
    inflight: VecDeque<(u16, Instant)>,
    sub_pending: Option<u16>,
    /// Subscribed to the own topic (until a SUBACK says otherwise).
    subscribed: bool,
    /// Publishes sent while subscribed whose delivery has not come back yet.
    awaiting_rx: u64,
}

impl Tracker {
    /// Folds one packet from the server in; returns the packet id to PUBACK (a QoS 1 delivery).
    fn absorb(&mut self, p: In, spec: &SessionSpec, sink: &mut (dyn Sink + Send)) -> Option<u16> {
        let now = Instant::now();
        match p {
            In::PubAck { pkid, ok } => {
                if let Some(i) = self.inflight.iter().position(|(id, _)| *id == pkid) {
                    let (_, sent) = self.inflight.remove(i).unwrap_or((0, now));
                    sink.phase(Phase::PublishPuback, now - sent);
                    sink.event(if ok {
                        PubEvent::PubackOk
                    } else {
                        PubEvent::PubackDenied
                    });
                }
                None
            }
            In::Publish {
                topic,
                qos1,
                pkid,
                payload,
            } => {
                if topic == spec.topic
                    && let Some(sent) = stamp_of(spec.t0, &payload)
                {
                    sink.phase(Phase::PublishReceive, now.saturating_duration_since(sent));
                    sink.event(PubEvent::Received);
                    self.awaiting_rx = self.awaiting_rx.saturating_sub(1);
                }
                qos1.then_some(pkid)
            }
            In::SubAck { pkid, failed } => {
                if self.sub_pending == Some(pkid) {
                    self.sub_pending = None;
                    if failed {
                        sink.event(PubEvent::SubscribeDenied);
                        self.subscribed = false;
                        self.awaiting_rx = 0;
                    }
                }
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connack_answers_become_outcomes() {
        let ack = |code| Ok(In::ConnAck { code });
        assert_eq!(connack_outcome(ack(0)).0, Outcome::Allowed);
        assert_eq!(connack_outcome(ack(5)).0, Outcome::Refused);
        assert_eq!(connack_outcome(ack(0x87)).0, Outcome::Refused);
        assert_eq!(
            connack_outcome(Err(ReadError::Codec("bad".into()))).0,
            Outcome::TransportError
        );
        assert_eq!(
            connack_outcome(Err(ReadError::Closed)).0,
            Outcome::ClosedWithoutConnack
        );
        assert_eq!(connack_outcome(Err(ReadError::Timeout)).0, Outcome::Timeout);
        assert_eq!(connack_outcome(Ok(In::Other)).0, Outcome::TransportError);
    }

    #[test]
    fn payloads_carry_their_send_time() {
        let t0 = Instant::now();
        let p = payload(t0, 64);
        assert_eq!(p.len(), 64);
        let sent = stamp_of(t0, &p).unwrap();
        assert!(sent >= t0 && sent <= Instant::now());
        assert_eq!(payload(t0, 0).len(), 8);
        assert_eq!(stamp_of(t0, b"short"), None);
    }
}
