//! MQTT 3.1.1 or 5 over an open [`Link`], with rumqttc's `mqttbytes` codecs ([`super::codec`]): CONNECT →
//! CONNACK, then the kept session (SUBSCRIBE to the device's own topic, PUBLISH at the configured interval, PUBACK and delivery
//! timing, PINGREQ, DISCONNECT at the end). Results are values: a CONNACK verdict, and what the session saw.
//!
//! This is the thin async shell (after rumqttc's `eventloop.rs`): it reads, writes and waits. What to send
//! next, what a packet means and when the timers fire live in `state` ([`SessionState`]), which does no I/O.

mod state;

use std::time::Duration;

use bytes::BytesMut;
use tokio::time::Instant;

use super::codec::{DecodeError, In, Out, decode, encode};
use super::link::Link;
use super::username::Login;
use crate::contract::MqttVersion;
use crate::metrics::{ErrorKind, Failure, Outcome, PubEvent};
use crate::shutdown::Shutdown;
pub use state::{SessionSpec, SessionState, Sink};

/// MQTT 5 CONNACK reason code 0x97.
const QUOTA_EXCEEDED: u8 = 0x97;
/// MQTT 5 CONNACK reason code 0x9F.
const CONNECTION_RATE_EXCEEDED: u8 = 0x9F;

/// What the server answered to CONNECT, as the attempt's outcome, and why it went unanswered (`timeout`: no
/// answer within `timeout`).
pub fn connack_outcome(
    read: Result<In, ReadError>,
    timeout: Duration,
) -> (Outcome, Option<Failure>) {
    let failed = |kind, m: String| (Outcome::TransportError, Some(Failure::new(kind, m)));
    match read {
        Ok(In::ConnAck { code: 0 }) => (Outcome::Allowed, None),
        // MQTT 5 "Quota exceeded" and "Connection rate exceeded" (AWS IoT's limits): throttling is an outcome,
        // not a refusal (3.1.1 return codes stop at 5, so these cannot be misread).
        Ok(In::ConnAck {
            code: QUOTA_EXCEEDED | CONNECTION_RATE_EXCEEDED,
        }) => (Outcome::Throttled, None),
        Ok(In::ConnAck { .. }) => (Outcome::Refused, None),
        Ok(other) => failed(
            ErrorKind::Mqtt,
            format!("MQTT: expected CONNACK, got {other:?}"),
        ),
        // An MQTT 5 server may send DISCONNECT instead; the connection then closes without CONNACK.
        Err(ReadError::Closed | ReadError::TakenOver) => (Outcome::ClosedWithoutConnack, None),
        Err(ReadError::Codec(e)) => failed(ErrorKind::Mqtt, format!("MQTT: bad packet: {e}")),
        Err(ReadError::Timeout) => (Outcome::Timeout, Some(Failure::timeout(timeout))),
    }
}

/// Why no packet could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or reset) the connection.
    Closed,
    /// MQTT 5: the server's DISCONNECT said another connection took the client id over (`0x8E`).
    TakenOver,
    Codec(String),
    Timeout,
}

/// The most read buffer an idle session keeps.
const RBUF_KEEP: usize = 256;

/// The write buffer's capacity for a packet (it grows for a larger one); none is kept between packets.
const WBUF_START: usize = 256;

/// One connection's packet reader and writer.
pub struct Session {
    pub link: Link,
    version: MqttVersion,
    rbuf: BytesMut,
}

impl Session {
    pub fn new(link: Link, version: MqttVersion) -> Self {
        Self {
            link,
            version,
            // Grown by the reads as they need (64 bytes at first: CONNACK, PUBACK and PINGRESP are a few bytes).
            rbuf: BytesMut::new(),
        }
    }

    async fn write(&mut self, p: Out<'_>) -> std::io::Result<()> {
        // A device writes a packet every few seconds at most (a PUBLISH, a PINGREQ): the buffer is the write's
        // own rather than kept for the session's life (a CONNECT, whose username carries the token and
        // signature, grows it to about 1 KiB).
        let mut buf = BytesMut::with_capacity(WBUF_START);
        encode(self.version, p, &mut buf).map_err(std::io::Error::other)?;
        self.link.send(&buf).await
    }

    /// The next packet (cancel-safe: bytes read stay in the buffer).
    pub async fn read(&mut self) -> Result<In, ReadError> {
        loop {
            match decode(self.version, &mut self.rbuf) {
                Ok(In::Disconnect { taken_over: true }) => return Err(ReadError::TakenOver),
                Ok(In::Disconnect { .. }) => return Err(ReadError::Closed),
                Ok(p) => {
                    // A large packet's buffer is not kept once it is read.
                    if self.rbuf.is_empty() && self.rbuf.capacity() > RBUF_KEEP {
                        self.rbuf = BytesMut::new();
                    }
                    return Ok(p);
                }
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
    ) -> (Outcome, Option<Failure>) {
        let out = Out::Connect {
            client_id,
            username: &login.username,
            password: login.password.as_deref().unwrap_or(""),
            keep_alive_s,
        };
        if self.write(out).await.is_err() {
            return (
                Outcome::TransportError,
                Some(Failure::closed("while sending CONNECT")),
            );
        }
        let read = match tokio::time::timeout(timeout, self.read()).await {
            Ok(r) => r,
            Err(_) => Err(ReadError::Timeout),
        };
        connack_outcome(read, timeout)
    }
}

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The run's deadline or a shutdown: DISCONNECT was sent.
    Done,
    /// The server closed the connection (or it broke).
    Dropped,
    /// MQTT 5: the server said another connection took the client id over (DISCONNECT `0x8E`). MQTT 3.1.1
    /// servers just close ([`Ended::Dropped`]); the fleet tells those kicks apart itself.
    TakenOver,
}

impl Session {
    /// Runs the kept session until `until` or a shutdown (then drains PUBACKs and disconnects) or until the
    /// server drops it. `first_publish` offsets the first publish so a fleet does not publish in lockstep.
    /// One timer serves the session's own deadlines and `until` (a connected device waits on as little as it
    /// can: this future is most of an idle device's task).
    pub async fn keep(
        &mut self,
        spec: &SessionSpec,
        first_publish: Duration,
        sink: &mut (dyn Sink + Send),
        until: Instant,
        shutdown: &Shutdown,
    ) -> Ended {
        let mut st = SessionState::new(spec, first_publish, Instant::now());
        if let Some(sub) = st.subscribe()
            && self.write(sub).await.is_err()
        {
            return Ended::Dropped;
        }
        let ended = loop {
            tokio::select! {
                biased;
                _ = shutdown.wait() => break Ended::Done,
                // Before the reads: a flood of incoming messages cannot hold the deadline or a due PUBLISH off.
                _ = tokio::time::sleep_until(st.wake().min(until)) => {
                    if Instant::now() >= until {
                        break Ended::Done;
                    }
                    if self.tick(&mut st, sink).await.is_err() {
                        break Ended::Dropped;
                    }
                }
                read = self.read() => {
                    let p = match read {
                        Ok(p) => p,
                        Err(ReadError::TakenOver) => break Ended::TakenOver,
                        Err(_) => break Ended::Dropped,
                    };
                    if let Some(id) = st.absorb(p, Instant::now(), sink)
                        && self.write(Out::PubAck { pkid: id }).await.is_err()
                    {
                        break Ended::Dropped;
                    }
                }
            }
        };
        match ended {
            // MQTT 3.1.1 answers a denied publish by closing the connection.
            Ended::Dropped | Ended::TakenOver => st.abandon(PubEvent::PubackDenied, sink),
            Ended::Done => self.finish(&mut st, sink).await,
        }
        ended
    }

    /// A timer fired: expire PUBACK waits, then send the PINGREQ and the PUBLISH that are due.
    async fn tick(
        &mut self,
        st: &mut SessionState<'_>,
        sink: &mut (dyn Sink + Send),
    ) -> std::io::Result<()> {
        let now = Instant::now();
        st.expire(now, sink);
        if st.ping_due(now) {
            self.write(Out::PingReq).await?;
        }
        if let Some(p) = st.publish_due(now) {
            self.write(p).await?;
            st.published(sink);
        }
        Ok(())
    }

    /// Waits (briefly) for the PUBACKs and own deliveries still under way, then DISCONNECTs.
    async fn finish(&mut self, st: &mut SessionState<'_>, sink: &mut (dyn Sink + Send)) {
        let until = st.drain_deadline(Instant::now());
        // Unacknowledged at the end: the connection closed (3.1.1 denial) or the wait ran out.
        let mut lost = PubEvent::PubackTimeout;
        while !st.settled() {
            match tokio::time::timeout_at(until, self.read()).await {
                Ok(Ok(p)) => {
                    if let Some(id) = st.absorb(p, Instant::now(), sink)
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
        st.abandon(lost, sink);
        let _ = self.write(Out::Disconnect).await;
        self.link.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connack_answers_become_outcomes() {
        let t = Duration::from_secs(5);
        let outcome = |r| connack_outcome(r, t).0;
        let ack = |code| Ok(In::ConnAck { code });
        assert_eq!(outcome(ack(0)), Outcome::Allowed);
        assert_eq!(outcome(ack(5)), Outcome::Refused);
        assert_eq!(outcome(ack(0x87)), Outcome::Refused);
        assert_eq!(outcome(ack(0x97)), Outcome::Throttled, "quota exceeded");
        assert_eq!(
            outcome(ack(0x9F)),
            Outcome::Throttled,
            "connection rate exceeded"
        );
        assert_eq!(
            outcome(Err(ReadError::Codec("bad".into()))),
            Outcome::TransportError
        );
        assert_eq!(
            outcome(Err(ReadError::Closed)),
            Outcome::ClosedWithoutConnack
        );
        assert_eq!(outcome(Err(ReadError::Timeout)), Outcome::Timeout);
        assert_eq!(outcome(Ok(In::Other)), Outcome::TransportError);
    }

    #[test]
    fn unanswered_connects_say_why_and_answers_carry_no_failure() {
        let t = Duration::from_secs(5);
        assert_eq!(connack_outcome(Ok(In::ConnAck { code: 5 }), t).1, None);
        assert_eq!(connack_outcome(Err(ReadError::Closed), t).1, None);
        let f = connack_outcome(Err(ReadError::Codec("bad".into())), t)
            .1
            .unwrap();
        assert_eq!(
            (f.kind, f.message.as_str()),
            (ErrorKind::Mqtt, "MQTT: bad packet: bad")
        );
        let f = connack_outcome(Err(ReadError::Timeout), t).1.unwrap();
        assert_eq!(f.message, "timeout: no answer within 5 s");
        let f = connack_outcome(Ok(In::Other), t).1.unwrap();
        assert_eq!(f.kind, ErrorKind::Mqtt);
    }
}
