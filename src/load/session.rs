//! MQTT 3.1.1 over an open [`Link`], with rumqttc's `mqttbytes` codec: CONNECT → CONNACK, then the kept
//! session (SUBSCRIBE to the device's own topic, PUBLISH at the configured interval, PUBACK and delivery
//! timing, PINGREQ, DISCONNECT at the end). Results are values: a CONNACK verdict, and what the session saw.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{Connect, Packet, PubAck, Publish, Subscribe, SubscribeReasonCode};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use tokio::time::Instant;

use super::link::Link;
use super::username::Login;
use crate::metrics::{Outcome, Phase, PubEvent};

/// Largest packet the generator accepts from the server (AWS: 128 KB payloads).
const MAX_PACKET: usize = 256 * 1024;
/// QoS 1 publishes awaiting a PUBACK at once; the device skips a tick when this many are unanswered.
const MAX_INFLIGHT: usize = 32;

/// What the server answered to CONNECT, as the attempt's outcome.
pub fn connack_outcome(read: Result<Packet, ReadError>) -> (Outcome, Option<String>) {
    match read {
        Ok(Packet::ConnAck(ack)) => match ack.code as u8 {
            0 => (Outcome::Allowed, None),
            c => (Outcome::Refused, Some(format!("CONNACK return code {c}"))),
        },
        Ok(other) => (
            Outcome::TransportError,
            Some(format!("expected CONNACK, got {other:?}")),
        ),
        Err(ReadError::Closed) => (Outcome::ClosedWithoutConnack, None),
        Err(ReadError::Codec(CodecError::InvalidConnectReturnCode(c))) => {
            (Outcome::Refused, Some(format!("CONNACK return code {c}")))
        }
        Err(ReadError::Codec(e)) => (Outcome::TransportError, Some(format!("bad packet: {e}"))),
        Err(ReadError::Timeout) => (Outcome::Timeout, None),
    }
}

/// Why no packet could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or reset) the connection.
    Closed,
    Codec(CodecError),
    Timeout,
}

/// One connection's packet reader and writer.
pub struct Session {
    pub link: Link,
    rbuf: BytesMut,
    wbuf: BytesMut,
}

impl Session {
    pub fn new(link: Link) -> Self {
        Self {
            link,
            rbuf: BytesMut::with_capacity(256),
            wbuf: BytesMut::with_capacity(256),
        }
    }

    async fn write(&mut self, p: &Packet) -> std::io::Result<()> {
        self.wbuf.clear();
        p.write(&mut self.wbuf, MAX_PACKET)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.link.send(&self.wbuf).await
    }

    /// The next packet (cancel-safe: bytes read stay in the buffer).
    pub async fn read(&mut self) -> Result<Packet, ReadError> {
        loop {
            match Packet::read(&mut self.rbuf, MAX_PACKET) {
                Ok(p) => return Ok(p),
                Err(CodecError::InsufficientBytes(_)) => {}
                Err(e) => return Err(ReadError::Codec(e)),
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
        let mut c = Connect::new(client_id);
        c.keep_alive = keep_alive_s;
        c.clean_session = true;
        c.set_login(
            login.username.as_str(),
            login.password.as_deref().unwrap_or(""),
        );
        if let Err(e) = self.write(&Packet::Connect(c)).await {
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
        let qos = if spec.qos == 1 {
            QoS::AtLeastOnce
        } else {
            QoS::AtMostOnce
        };
        let mut pkid: u16 = 0;
        let mut next_pkid = || {
            pkid = pkid.checked_add(1).unwrap_or(1);
            pkid
        };
        let mut inflight: VecDeque<(u16, Instant)> = VecDeque::new();
        let mut sub_pending: Option<(u16, Instant)> = None;
        if spec.subscribe {
            let id = next_pkid();
            let mut s = Subscribe::new(spec.topic.as_str(), qos);
            s.pkid = id;
            if self.write(&Packet::Subscribe(s)).await.is_err() {
                return Ended::Dropped;
            }
            sub_pending = Some((id, Instant::now()));
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
                    let now = Instant::now();
                    match read {
                        Ok(Packet::PubAck(ack)) => {
                            if let Some(i) = inflight.iter().position(|(id, _)| *id == ack.pkid) {
                                let (_, sent) = inflight.remove(i).unwrap_or((0, now));
                                sink.phase(Phase::PublishPuback, now - sent);
                                sink.event(PubEvent::PubackOk);
                            }
                        }
                        Ok(Packet::Publish(p)) => {
                            if p.topic == spec.topic
                                && let Some(sent) = stamp_of(spec.t0, &p.payload)
                            {
                                sink.phase(Phase::PublishReceive, now.saturating_duration_since(sent));
                                sink.event(PubEvent::Received);
                            }
                            if p.qos == QoS::AtLeastOnce
                                && self.write(&Packet::PubAck(PubAck::new(p.pkid))).await.is_err()
                            {
                                break Ended::Dropped;
                            }
                        }
                        Ok(Packet::SubAck(ack)) => {
                            if sub_pending.is_some_and(|(id, _)| id == ack.pkid) {
                                sub_pending = None;
                                if ack.return_codes.iter().any(|c| matches!(c, SubscribeReasonCode::Failure)) {
                                    sink.event(PubEvent::SubscribeDenied);
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break Ended::Dropped,
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    while inflight.front().is_some_and(|(_, t)| now - *t >= spec.timeout) {
                        inflight.pop_front();
                        sink.event(PubEvent::PubackTimeout);
                    }
                    if now >= next_ping {
                        next_ping = now + ping_every;
                        if self.write(&Packet::PingReq).await.is_err() {
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
                        if inflight.len() < MAX_INFLIGHT {
                            let mut p = Publish::from_bytes(spec.topic.as_str(), qos, payload(spec.t0, spec.payload_bytes));
                            if qos == QoS::AtLeastOnce {
                                p.pkid = next_pkid();
                                inflight.push_back((p.pkid, Instant::now()));
                            }
                            if self.write(&Packet::Publish(p)).await.is_err() {
                                break Ended::Dropped;
                            }
                            sink.event(PubEvent::Sent);
                        }
                    }
                }
            }
        };
        match ended {
            Ended::Dropped => {
                // MQTT 3.1.1 answers a denied publish by closing the connection.
                for _ in inflight.drain(..) {
                    sink.event(PubEvent::PubackDenied);
                }
            }
            Ended::Done => {
                let until = Instant::now() + spec.timeout.min(Duration::from_secs(2));
                while !inflight.is_empty() {
                    match tokio::time::timeout_at(until, self.read()).await {
                        Ok(Ok(Packet::PubAck(ack))) => {
                            if let Some(i) = inflight.iter().position(|(id, _)| *id == ack.pkid) {
                                let (_, sent) = inflight.remove(i).unwrap_or((0, until));
                                sink.phase(Phase::PublishPuback, Instant::now() - sent);
                                sink.event(PubEvent::PubackOk);
                            }
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(_)) => {
                            for _ in inflight.drain(..) {
                                sink.event(PubEvent::PubackDenied);
                            }
                        }
                        Err(_) => {
                            for _ in inflight.drain(..) {
                                sink.event(PubEvent::PubackTimeout);
                            }
                        }
                    }
                }
                let _ = self.write(&Packet::Disconnect).await;
                self.link.close().await;
            }
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::mqttbytes::v4::{ConnAck, ConnectReturnCode};

    #[test]
    fn connack_answers_become_outcomes() {
        let ack = |c| Ok(Packet::ConnAck(ConnAck::new(c, false)));
        assert_eq!(
            connack_outcome(ack(ConnectReturnCode::Success)).0,
            Outcome::Allowed
        );
        assert_eq!(
            connack_outcome(ack(ConnectReturnCode::NotAuthorized)).0,
            Outcome::Refused
        );
        assert_eq!(
            connack_outcome(ack(ConnectReturnCode::BadUserNamePassword)).0,
            Outcome::Refused
        );
        assert_eq!(
            connack_outcome(Err(ReadError::Codec(CodecError::InvalidConnectReturnCode(
                0x87
            ))))
            .0,
            Outcome::Refused
        );
        assert_eq!(
            connack_outcome(Err(ReadError::Closed)).0,
            Outcome::ClosedWithoutConnack
        );
        assert_eq!(connack_outcome(Err(ReadError::Timeout)).0, Outcome::Timeout);
        assert_eq!(
            connack_outcome(Ok(Packet::PingResp)).0,
            Outcome::TransportError
        );
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
