//! The MQTT fleet: one task per MQTT device (MQTT/TLS, plain MQTT and WSS groups), each keeping its
//! connection, reconnecting with a fresh attempt after a refusal or a drop, under the shared connect pacer and
//! the one-CONNECT-per-second-per-client-id rule. Devices record into a few sharded [`Recorder`]s (a lock
//! held for one counter or histogram update), merged at the end: no per-device histograms, so memory stays
//! bounded at 10,000 devices.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng as _;
use tokio::time::Instant;

use super::connect_pacer::{ConnectPacer, PER_CLIENT_GAP};
use super::link::LinkSpec;
use super::session::{Ended, Session, SessionSpec, Sink};
use super::username::UsernameBook;
use crate::attempt::{Catalogue, Mix, TokenPool, device_rng};
use crate::contract::Transport;
use crate::contract::{Class, attempt_id as id};
use crate::metrics::{Outcome, Phase, PubEvent, Recorder};
use crate::scenario::MqttPlan;
use crate::shutdown::Shutdown;

/// What every MQTT device shares (read-only, but for the pacer and the counters).
pub struct Fleet {
    pub run_id: String,
    pub seed: u64,
    pub t0: Instant,
    pub deadline: Instant,
    pub warmup_end: Instant,
    pub timeout: Duration,
    /// The mix per transport ([`Transport::index`]), without the variants the oracle skips there.
    pub mixes: Vec<Mix>,
    pub catalogue: Catalogue,
    pub book: UsernameBook,
    pub mqtt: MqttPlan,
    pub pacer: ConnectPacer,
    /// Replays reuse the pair of another device in `0..replay_pool`.
    pub replay_pool: u32,
    /// Per transport group: its link and its devices.
    pub groups: Vec<(LinkSpec, Range<u32>)>,
    /// CONNECTs answered so far (progress).
    pub connects: AtomicU64,
    /// Devices connected right now (progress).
    pub connected: AtomicU64,
    /// Replay-resistant tokens: valid and replayed CONNECTs take their credentials from here.
    pub pool: Option<Arc<TokenPool>>,
    shards: Vec<Mutex<Recorder>>,
}

impl Fleet {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        run_id: String,
        seed: u64,
        (t0, deadline, warmup_end): (Instant, Instant, Instant),
        timeout: Duration,
        mix: Mix,
        catalogue: Catalogue,
        book: UsernameBook,
        mqtt: MqttPlan,
        replay_pool: u32,
        groups: Vec<(LinkSpec, Range<u32>)>,
    ) -> Self {
        let shards = std::thread::available_parallelism().map_or(2, |n| n.get()) * 4;
        Self {
            pacer: ConnectPacer::new(t0, mqtt.connects_per_s),
            run_id,
            seed,
            t0,
            deadline,
            warmup_end,
            timeout,
            // The plan refuses a mix left empty on a transport in use; keep the whole mix for the others.
            mixes: crate::contract::Transport::ALL
                .into_iter()
                .map(|t| mix.for_transport(t).unwrap_or_else(|_| mix.clone()))
                .collect(),
            catalogue,
            book,
            mqtt,
            replay_pool,
            groups,
            connects: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            pool: None,
            shards: (0..shards).map(|_| Mutex::new(Recorder::new())).collect(),
        }
    }

    /// Takes valid and replayed credentials from a replay-resistant token pool.
    pub fn with_pool(mut self, pool: Option<Arc<TokenPool>>) -> Self {
        self.pool = pool;
        self
    }

    pub fn devices(&self) -> u32 {
        self.groups.iter().map(|(_, r)| r.len() as u32).sum()
    }

    fn with_rec(&self, device: u32, f: impl FnOnce(&mut Recorder)) {
        let shard = &self.shards[device as usize % self.shards.len()];
        let mut g = shard.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g);
    }
}

/// Runs every MQTT device until the deadline or `shutdown`; returns the merged recorder.
pub async fn run(fleet: Arc<Fleet>, shutdown: Shutdown) -> Recorder {
    let mut tasks = tokio::task::JoinSet::new();
    for (gi, (_, range)) in fleet.groups.iter().enumerate() {
        for d in range.clone() {
            let fleet = fleet.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(device(fleet, gi, d, shutdown));
        }
    }
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!("an MQTT device task failed: {e}");
        }
    }
    let mut out = Recorder::new();
    for s in &fleet.shards {
        out.merge(&s.lock().unwrap_or_else(|p| p.into_inner()));
    }
    out
}

struct DeviceSink<'a> {
    fleet: &'a Fleet,
    device: u32,
    t: Transport,
    class: Class,
}

impl Sink for DeviceSink<'_> {
    fn event(&mut self, e: PubEvent) {
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

/// One device: connect (an attempt), keep the session, and reconnect with a fresh attempt until the end.
async fn device(fleet: Arc<Fleet>, group: usize, d: u32, shutdown: Shutdown) {
    let (spec, _) = &fleet.groups[group];
    let t = spec.transport;
    let mut rng = device_rng(fleet.seed, d);
    let client_id = fleet.mqtt.client_id(d);
    let session_spec = SessionSpec {
        topic: fleet.mqtt.topic_of(d),
        qos: fleet.mqtt.qos,
        publish_interval: fleet.mqtt.publish_interval,
        payload_bytes: fleet.mqtt.payload_bytes,
        subscribe: fleet.mqtt.subscribe,
        keep_alive: (fleet.mqtt.keep_alive_s > 0)
            .then(|| Duration::from_secs(u64::from(fleet.mqtt.keep_alive_s))),
        timeout: fleet.timeout,
        t0: fleet.t0,
    };
    let mut attempt_id = String::with_capacity(64);
    let mut last_connect: Option<Instant> = None;
    let mut k: u64 = 0;
    let mut next_valid: u32 = 0;
    loop {
        let not_before =
            last_connect.map_or(Instant::now(), |l| (l + PER_CLIENT_GAP).max(Instant::now()));
        if not_before >= fleet.deadline || shutdown.is_triggered() {
            break;
        }
        let intended = fleet.pacer.claim_at(not_before);
        if intended >= fleet.deadline {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(intended) => {}
            _ = shutdown.wait() => break,
        }
        let class = fleet.mixes[t.index()].choose_at(&mut rng, d, k);
        let replay_from = if class == Class::Replayed && fleet.replay_pool > 1 {
            (d + rng.random_range(1..fleet.replay_pool)) % fleet.replay_pool
        } else {
            d
        };
        id::format_into(&mut attempt_id, &fleet.run_id, class, d, k);
        k += 1;
        let mut pool_token = None;
        let login = match (&fleet.pool, class) {
            (Some(pool), Class::Valid | Class::Replayed | Class::ReusedNonce | Class::Expired) => {
                let cred = match class {
                    Class::Valid => {
                        let c = pool.valid(d, next_valid);
                        if c.is_some() {
                            pool_token = Some(next_valid);
                            next_valid += 1;
                        }
                        c
                    }
                    Class::Replayed => pool.capture_from(replay_from),
                    Class::ReusedNonce => pool.captured(d),
                    _ => pool.expired(d),
                };
                cred.map(|c| fleet.book.login_with(c, &attempt_id))
            }
            _ => Some(fleet.book.login(
                fleet.catalogue.set_of(d as usize),
                class,
                fleet.catalogue.set_of(replay_from as usize),
                &attempt_id,
            )),
        };
        fleet.with_rec(d, |r| r.start(t, class));
        // No credential (pool used up, or nothing allowed yet to replay): nothing is sent.
        let Some(login) = login else {
            fleet.with_rec(d, |r| r.end(t, class, Outcome::Exhausted, 0, 0, false));
            fleet.connects.fetch_add(1, Ordering::Relaxed);
            last_connect = Some(Instant::now());
            continue;
        };
        let histograms = intended >= fleet.warmup_end;
        let sent = Instant::now();
        last_connect = Some(sent);
        let mut sink = DeviceSink {
            fleet: &fleet,
            device: d,
            t,
            class,
        };
        let opened = tokio::time::timeout(fleet.timeout, spec.open()).await.ok();
        let (outcome, session) = match opened {
            None => (Outcome::Timeout, None),
            Some(o) => {
                for (p, dur) in &o.timings {
                    sink.phase(*p, *dur);
                }
                match o.result {
                    Err(e) => {
                        tracing::debug!("device {d}: {e}");
                        (Outcome::TransportError, None)
                    }
                    Ok(link) => {
                        let mut s = Session::new(link, fleet.mqtt.version);
                        let c0 = Instant::now();
                        let (outcome, why) = s
                            .connect(&client_id, &login, fleet.mqtt.keep_alive_s, fleet.timeout)
                            .await;
                        sink.phase(Phase::ConnectConnack, c0.elapsed());
                        if let Some(why) = why {
                            tracing::debug!("device {d}: {why}");
                        }
                        (outcome, (outcome == Outcome::Allowed).then_some(s))
                    }
                }
            }
        };
        let end = Instant::now();
        fleet.with_rec(d, |r| {
            r.end(
                t,
                class,
                outcome,
                end.saturating_duration_since(intended).as_micros() as u64,
                end.saturating_duration_since(sent).as_micros() as u64,
                histograms,
            )
        });
        if let (Some(pool), Some(k)) = (&fleet.pool, pool_token)
            && outcome == Outcome::Allowed
        {
            pool.answered(d, k);
        }
        fleet.connects.fetch_add(1, Ordering::Relaxed);
        let Some(mut session) = session else { continue };
        fleet.connected.fetch_add(1, Ordering::Relaxed);
        let first = session_spec
            .publish_interval
            .map_or(Duration::ZERO, |p| p.mul_f64(rng.random::<f64>()));
        // `mqtt.session_s`: the session ends early and the device comes back with a fresh attempt.
        let until = fleet
            .mqtt
            .session
            .map_or(fleet.deadline, |s| (Instant::now() + s).min(fleet.deadline));
        let stop = {
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = shutdown.wait() => {}
                }
            }
        };
        let ended = session.keep(&session_spec, first, &mut sink, stop).await;
        fleet.connected.fetch_sub(1, Ordering::Relaxed);
        if ended == Ended::Done && (until >= fleet.deadline || shutdown.is_triggered()) {
            break;
        }
    }
}
