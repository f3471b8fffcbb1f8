//! One MQTT device of the [`super::fleet`]: connect (an attempt, as the planner decides it), keep the session,
//! and reconnect with a fresh attempt until the end — under the connect pacer, the client id's one CONNECT per
//! second, the throttle backoff and the reconnect backoff ([`Comeback`]), counting how each session ended.

use std::time::Duration;

use rand::Rng as _;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::comeback::{Comeback, classify};
use super::connect_pacer;
use super::fleet::Fleet;
use super::link::LinkSpec;
use super::session::{Ended, Session, SessionSpec, Sink};
use super::username::Login;
use crate::attempt::planner::{Credentials, Cursor};
use crate::contract::{Class, Transport};
use crate::metrics::{Failure, Outcome, Phase, PubEvent, SessionEnd};
use crate::shutdown::Shutdown;

struct DeviceSink<'a> {
    fleet: &'a Fleet,
    device: u32,
    t: Transport,
    class: Class,
}

impl Sink for DeviceSink<'_> {
    fn event(&mut self, e: PubEvent) {
        if matches!(e, PubEvent::Sent | PubEvent::Received) {
            self.fleet.progress.message();
        }
        self.fleet
            .with_rec(self.device, |r| r.publish(self.t, self.class, e));
    }

    fn phase(&mut self, p: Phase, d: Duration) {
        if Instant::now() >= self.fleet.warmup_end {
            self.fleet.with_rec(self.device, |r| {
                r.phase(self.t, self.class, p, d.as_micros() as u64)
            });
        }
    }
}

/// One MQTT device: connect (an attempt), keep the session, and reconnect with a fresh attempt until the end.
pub(super) struct Device<'f> {
    fleet: &'f Fleet,
    link: &'f LinkSpec,
    t: Transport,
    cursor: Cursor,
    client_id: String,
    session: SessionSpec,
    attempt_id: String,
    /// When its last CONNECT went out (one per second per client id).
    last_connect: Option<Instant>,
    /// Its place among the MQTT devices (a `target_devices` ramp lets in the first ones).
    index: u32,
    /// After a throttled CONNECT, the next one waits for the window to end.
    backoff: Option<Backoff>,
    /// Its way back after a lost session (`[mqtt] reconnect`, kicks, storms).
    comeback: Comeback,
    /// Its client id's number (shared with other devices under `devices_per_client_id`).
    id_number: u32,
    /// The admissions with its client id when its session's CONNECT was sent ([`super::comeback::ClientIds`]).
    mark: u64,
    /// Its own TLS configuration (its own session to resume) under `[tls] resumption`.
    tls: Option<super::connect::TlsConfig>,
}

impl<'f> Device<'f> {
    pub(super) fn new(fleet: &'f Fleet, group: usize, d: u32, index: u32) -> Self {
        let link = &fleet.groups[group].0;
        let m = &fleet.mqtt;
        Self {
            fleet,
            link,
            t: link.transport,
            cursor: fleet.planner.cursor(d, link.transport),
            client_id: m.client_id(d),
            session: SessionSpec {
                topic: m.topic_of(d),
                qos: m.qos,
                publish_interval: m.publish_interval,
                payload_bytes: m.payload_bytes,
                subscribe: m.subscribe,
                keep_alive: (m.keep_alive_s > 0)
                    .then(|| Duration::from_secs(u64::from(m.keep_alive_s))),
                timeout: fleet.timeout,
                t0: fleet.t0,
            },
            attempt_id: String::with_capacity(64),
            last_connect: None,
            index,
            backoff: fleet
                .backoff
                .map(|(spec, seed)| Backoff::new(spec, seed, d)),
            comeback: Comeback::new(m.reconnect, fleet.seed, d),
            id_number: m.client_id_number(d),
            mark: 0,
            tls: link.device_tls(),
        }
    }

    /// Seconds since the run's start.
    fn since_t0(&self) -> f64 {
        Instant::now()
            .saturating_duration_since(self.fleet.t0)
            .as_secs_f64()
    }

    /// When the `target_devices` ramp next lets this device in (now when it already does, or without a ramp);
    /// `None`: never again.
    fn joins_at(&self) -> Option<Instant> {
        let Some(r) = &self.fleet.active else {
            return Some(Instant::now());
        };
        r.first_at_least(f64::from(self.index) + 1.0, self.since_t0())
            .map(|t| (self.fleet.t0 + Duration::from_secs_f64(t.min(1e9))).max(Instant::now()))
    }

    /// When the ramp drops below this device (its session ends then); the deadline without a ramp.
    fn leaves_at(&self) -> Instant {
        self.fleet
            .active
            .as_ref()
            .and_then(|r| r.first_below(f64::from(self.index) + 1.0, self.since_t0()))
            .map_or(self.fleet.deadline, |t| {
                (self.fleet.t0 + Duration::from_secs_f64(t.min(1e9))).min(self.fleet.deadline)
            })
    }

    pub(super) async fn run(mut self: Box<Self>, shutdown: &Shutdown) {
        while let Some(intended) = self.turn(shutdown).await {
            // Boxed: an attempt's state (its login, CONNECT and the wait for CONNACK) lives only while it
            // runs; a device's task keeps only what a connected session needs.
            let Some((mut session, class)) = Box::pin(self.attempt(intended)).await else {
                continue;
            };
            if self.keep(&mut session, class, shutdown).await {
                break;
            }
        }
    }

    /// Waits for the device's next CONNECT slot (the shared pacer, `client_gap` per client id); `None` at
    /// the deadline or on shutdown.
    async fn turn(&self, shutdown: &Shutdown) -> Option<Instant> {
        let joins = self.joins_at().filter(|&t| t < self.fleet.deadline)?;
        if joins > Instant::now() {
            tokio::select! {
                _ = tokio::time::sleep_until(joins) => {}
                _ = shutdown.wait() => return None,
            }
        }
        // A backoff window is waited out before a pacer slot is claimed: the pacer's slots only move forward,
        // so a claim far ahead would hold every later claim behind it (a fleet backing off after a storm would
        // reconnect all at once, when the longest wait ends).
        let backoff = self
            .backoff
            .as_ref()
            .and_then(Backoff::until)
            .max(self.comeback.until())
            .filter(|&u| u > Instant::now());
        if let Some(until) = backoff {
            if until >= self.fleet.deadline {
                return None;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = shutdown.wait() => return None,
            }
        }
        let not_before = connect_pacer::not_before(
            self.last_connect,
            Instant::now(),
            self.fleet.pacer.client_gap,
        );
        if not_before >= self.fleet.deadline || shutdown.is_triggered() {
            return None;
        }
        let intended = self.fleet.pacer.claim_at(not_before)?;
        if intended >= self.fleet.deadline {
            return None;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(intended) => Some(intended),
            _ = shutdown.wait() => None,
        }
    }

    /// One attempt, as the planner decides it: CONNECT and record its outcome. Returns the session (and the
    /// attempt's class) when it was allowed.
    async fn attempt(&mut self, intended: Instant) -> Option<(Session, Class)> {
        let fleet = self.fleet;
        let d = self.cursor.id();
        let a = fleet.planner.next(&mut self.cursor);
        fleet.planner.id_into(&a, &mut self.attempt_id);
        let (t, class) = (self.t, a.class);
        let login = match a.credentials {
            Credentials::Catalogue { set, replay_set } => {
                Some(fleet.book.login(set, class, replay_set, &self.attempt_id))
            }
            Credentials::Pooled(c) => Some(fleet.book.login_with(c, &self.attempt_id)),
            Credentials::Exhausted => None,
        };
        fleet.with_rec(d, |r| r.start(t, class));
        fleet.tally(d).start(t);
        // No credential (pool used up, or nothing allowed yet to replay): nothing is sent.
        let Some(login) = login else {
            let now = Instant::now();
            fleet.with_rec(d, |r| {
                r.end_at(now, (t, class, Outcome::Exhausted), (0, 0), false)
            });
            fleet.tally(d).end(t, class, Outcome::Exhausted, None);
            self.last_connect = Some(Instant::now());
            return None;
        };
        let histograms = intended >= fleet.warmup_end;
        let sent = Instant::now();
        self.last_connect = Some(sent);
        let mut sink = DeviceSink {
            fleet,
            device: d,
            t,
            class,
        };
        // A server that admits this CONNECT kicks whoever holds the client id (shared ids are watched).
        let (in_flight, mark) = (
            fleet.ids.sending(self.id_number),
            fleet.ids.mark(self.id_number),
        );
        let (outcome, failure, session) = tokio::select! {
            done = self.connect(&login, &mut sink) => done,
            _ = fleet.abandon.wait() => {
                (Outcome::Timeout, Some(Failure::abandoned(fleet.drain)), None)
            }
        };
        let end = Instant::now();
        if outcome == Outcome::Allowed {
            fleet.ids.admitted(self.id_number);
            self.mark = mark;
        }
        drop(in_flight);
        let held = self.backoff.as_mut().and_then(|b| b.after(outcome, end));
        let counted = self.comeback.attempted(outcome, end);
        let latency = end.saturating_duration_since(intended).as_micros() as u64;
        fleet.with_rec(d, |r| {
            if held.is_some() {
                r.back_off(t);
            }
            if counted.after_kick {
                r.sessions.reconnect_after_kick(t, class);
            }
            if let Some(k) = counted.storm {
                r.sessions.storm(k).attempts += 1;
            }
            if let Some((k, delay)) = counted.back_from_storm {
                let window = fleet.storms.storms()[k].window;
                r.sessions
                    .storm_reconnected(k, delay.as_micros() as u64, delay <= window);
            }
            r.end_at(
                end,
                (t, class, outcome),
                (
                    latency,
                    end.saturating_duration_since(sent).as_micros() as u64,
                ),
                histograms,
            );
            if let Some(f) = failure {
                r.error(t, f);
            }
        });
        if let Some(ticket) = a.ticket
            && outcome == Outcome::Allowed
        {
            fleet.planner.allowed(ticket);
        }
        fleet
            .tally(d)
            .end(t, class, outcome, histograms.then_some(latency));
        session.map(|s| (s, class))
    }

    /// Opens the link and sends CONNECT; the session comes back when the CONNACK allowed it, the failure when
    /// the attempt went unanswered.
    async fn connect(
        &self,
        login: &Login,
        sink: &mut DeviceSink<'_>,
    ) -> (Outcome, Option<Failure>, Option<Session>) {
        let timeout = self.fleet.timeout;
        // Boxed: opening a link (TCP, TLS handshake, WebSocket upgrade) is an 11 KiB future that would
        // otherwise size every device's task for the whole run, though it lives only while connecting.
        let open = Box::pin(self.link.open_with(self.tls.as_ref()));
        let Ok(opened) = tokio::time::timeout(timeout, open).await else {
            return (Outcome::Timeout, Some(Failure::timeout(timeout)), None);
        };
        for (p, dur) in &opened.timings {
            sink.phase(*p, *dur);
        }
        let link = match opened.result {
            Ok(link) => link,
            Err(f) => return (Outcome::TransportError, Some(f), None),
        };
        let mqtt = &self.fleet.mqtt;
        let mut s = Session::new(link, mqtt.version);
        let c0 = Instant::now();
        let (outcome, failure) = s
            .connect(&self.client_id, login, mqtt.keep_alive_s, timeout)
            .await;
        sink.phase(Phase::ConnectConnack, c0.elapsed());
        (outcome, failure, (outcome == Outcome::Allowed).then_some(s))
    }

    /// Keeps an allowed session until the deadline, `mqtt.session_s`, a shutdown or a drop. Returns whether
    /// the device is done (otherwise it comes back with a fresh attempt).
    async fn keep(&mut self, session: &mut Session, class: Class, shutdown: &Shutdown) -> bool {
        let fleet = self.fleet;
        fleet.progress.connected();
        let first = self.session.publish_interval.map_or(Duration::ZERO, |p| {
            p.mul_f64(self.cursor.rng().random::<f64>())
        });
        // `mqtt.session_s`: the session ends early and the device comes back with a fresh attempt.
        // A `target_devices` ramp that falls below this device ends the session too.
        let until = fleet
            .mqtt
            .session
            .map_or(fleet.deadline, |s| (Instant::now() + s).min(fleet.deadline))
            .min(self.leaves_at());
        let mut sink = DeviceSink {
            fleet,
            device: self.cursor.id(),
            t: self.t,
            class,
        };
        let opened = Instant::now();
        let ended = session
            .keep(&self.session, first, &mut sink, until, shutdown)
            .await;
        fleet.progress.disconnected();
        self.lost(ended, class, opened).await;
        ended == Ended::Done && (until >= fleet.deadline || shutdown.is_triggered())
    }

    /// The session opened at `opened` ended: why (a kick, a storm, a drop, or the device closed it), counted,
    /// and the way back begins.
    async fn lost(&mut self, ended: Ended, class: Class, opened: Instant) {
        let (fleet, d, now) = (self.fleet, self.cursor.id(), Instant::now());
        let storm = fleet.storms.fired_between(opened, now);
        let kicked = ended == Ended::Dropped
            && storm.is_none()
            && fleet
                .ids
                .kicked_since(self.id_number, self.mark, fleet.timeout)
                .await;
        let end = classify(ended, storm.is_some(), kicked);
        fleet.with_rec(d, |r| {
            r.sessions.ended(self.t, class, end);
            if let (SessionEnd::Storm, Some((k, _))) = (end, storm) {
                r.sessions.storm(k).dropped += 1;
            }
        });
        self.comeback.lost(end, now - opened, storm, now);
    }
}
