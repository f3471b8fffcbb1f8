//! A kept MQTT session's protocol state, apart from I/O (after rumqttc's `state.rs`): what to send next, what
//! an incoming packet means, and the timers (next publish, next PINGREQ, PUBACK deadlines) as values. It takes
//! `now` and returns packets to write; the thin async shell in [`super`] does the reading, writing and waiting.
//! What the session sees goes to a [`Sink`].

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::load::codec::{In, Out};
use crate::metrics::{Phase, PubEvent};

/// QoS 1 publishes awaiting a PUBACK at once; the device skips a tick when this many are unanswered.
const MAX_INFLIGHT: usize = 32;

/// The longest wait at the end for PUBACKs and own deliveries still under way.
const DRAIN_MAX: Duration = Duration::from_secs(2);

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

/// The payload: the send instant `now` (µs since `t0`, big-endian) then filler.
pub fn payload(t0: Instant, now: Instant, len: usize) -> Bytes {
    let stamp = now.saturating_duration_since(t0).as_micros() as u64;
    let mut v = stamp.to_be_bytes().to_vec();
    v.resize(len.max(8), b'.');
    Bytes::from(v)
}

/// The send instant carried by one of our payloads.
pub fn stamp_of(t0: Instant, payload: &[u8]) -> Option<Instant> {
    let b: [u8; 8] = payload.get(..8)?.try_into().ok()?;
    Some(t0 + Duration::from_micros(u64::from_be_bytes(b)))
}

/// The state of one kept session.
pub struct SessionState<'s> {
    spec: &'s SessionSpec,
    pkid: u16,
    /// QoS 1 publishes awaiting their PUBACK, oldest first.
    inflight: VecDeque<(u16, Instant)>,
    sub_pending: Option<u16>,
    /// Subscribed to the own topic (until a SUBACK says otherwise).
    subscribed: bool,
    /// Publishes sent while subscribed whose delivery has not come back yet.
    awaiting_rx: u64,
    next_pub: Instant,
    next_ping: Instant,
    ping_every: Duration,
}

impl<'s> SessionState<'s> {
    /// A session that starts at `now`; `first_publish` offsets its first publish (so a fleet does not publish in
    /// lockstep).
    pub fn new(spec: &'s SessionSpec, first_publish: Duration, now: Instant) -> Self {
        // Without keep-alive, no PINGREQ in any run's lifetime.
        let ping_every = spec.keep_alive.unwrap_or(Duration::from_secs(86_400 * 365));
        Self {
            spec,
            pkid: 0,
            inflight: VecDeque::new(),
            sub_pending: None,
            subscribed: false,
            awaiting_rx: 0,
            next_pub: now + first_publish,
            next_ping: now + ping_every,
            ping_every,
        }
    }

    fn qos1(&self) -> bool {
        self.spec.qos == 1
    }

    fn next_pkid(&mut self) -> u16 {
        self.pkid = self.pkid.checked_add(1).unwrap_or(1);
        self.pkid
    }

    /// The SUBSCRIBE to the device's own topic to send first, if the spec subscribes.
    pub fn subscribe(&mut self) -> Option<Out<'s>> {
        if !self.spec.subscribe {
            return None;
        }
        let pkid = self.next_pkid();
        self.sub_pending = Some(pkid);
        self.subscribed = true;
        Some(Out::Subscribe {
            pkid,
            filter: &self.spec.topic,
            qos1: self.qos1(),
        })
    }

    /// When a timer next needs the session: the next publish or PINGREQ.
    pub fn wake(&self) -> Instant {
        match self.spec.publish_interval {
            Some(_) => self.next_pub.min(self.next_ping),
            None => self.next_ping,
        }
    }

    /// Gives up on the PUBACKs older than the timeout.
    pub fn expire(&mut self, now: Instant, sink: &mut (dyn Sink + Send)) {
        let timeout = self.spec.timeout;
        while self
            .inflight
            .front()
            .is_some_and(|(_, t)| now - *t >= timeout)
        {
            self.inflight.pop_front();
            sink.event(PubEvent::PubackTimeout);
        }
    }

    /// Whether a PINGREQ is due at `now` (the next one is then scheduled).
    pub fn ping_due(&mut self, now: Instant) -> bool {
        if now < self.next_ping {
            return false;
        }
        self.next_ping = now + self.ping_every;
        true
    }

    /// The PUBLISH due at `now`, if any (the next one is then scheduled; a tick is skipped while
    /// `MAX_INFLIGHT` publishes await their PUBACK). Call [`Self::published`] once it is written.
    pub fn publish_due(&mut self, now: Instant) -> Option<Out<'s>> {
        let every = self.spec.publish_interval?;
        if now < self.next_pub {
            return None;
        }
        self.next_pub += every;
        if self.next_pub < now {
            self.next_pub = now + every;
        }
        if self.inflight.len() >= MAX_INFLIGHT {
            return None;
        }
        let qos1 = self.qos1();
        let pkid = if qos1 { self.next_pkid() } else { 0 };
        if qos1 {
            self.inflight.push_back((pkid, now));
        }
        Some(Out::Publish {
            topic: &self.spec.topic,
            qos1,
            pkid,
            payload: payload(self.spec.t0, now, self.spec.payload_bytes),
        })
    }

    /// The PUBLISH from [`Self::publish_due`] was written.
    pub fn published(&mut self, sink: &mut (dyn Sink + Send)) {
        sink.event(PubEvent::Sent);
        if self.subscribed {
            self.awaiting_rx += 1;
        }
    }

    /// Folds one packet from the server in; returns the packet id to PUBACK (a QoS 1 delivery).
    pub fn absorb(&mut self, p: In, now: Instant, sink: &mut (dyn Sink + Send)) -> Option<u16> {
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
                if topic == self.spec.topic
                    && let Some(sent) = stamp_of(self.spec.t0, &payload)
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

    /// Nothing is awaited any more: every PUBACK and own delivery came back.
    pub fn settled(&self) -> bool {
        self.inflight.is_empty() && self.awaiting_rx == 0
    }

    /// How long the end of a session (started at `now`) waits for the session to settle.
    pub fn drain_deadline(&self, now: Instant) -> Instant {
        now + self.spec.timeout.min(DRAIN_MAX)
    }

    /// The session is over: every publish still awaiting its PUBACK ends as `lost`.
    pub fn abandon(&mut self, lost: PubEvent, sink: &mut (dyn Sink + Send)) {
        for _ in self.inflight.drain(..) {
            sink.event(lost);
        }
    }
}

#[cfg(test)]
mod tests;
