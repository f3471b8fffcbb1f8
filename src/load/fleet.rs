//! The MQTT fleet: one task per MQTT device (MQTT/TLS, plain MQTT and WSS groups), each keeping its
//! connection, reconnecting with a fresh attempt after a refusal or a drop, under the shared connect pacer and
//! the one-CONNECT-per-second-per-client-id rule. Devices record into a few sharded [`Recorder`]s (a lock
//! held for one counter or histogram update), merged at the end: no per-device histograms, so memory stays
//! bounded at 10,000 devices. What each CONNECT sends is the [`Planner`]'s decision, as for the HTTPS lanes.
//! With a `target_devices` ramp, device i (in MQTT order) is active while the ramp is at least i + 1: it makes
//! its first CONNECT once the ramp gets there, and when the ramp falls below, it ends its session (DISCONNECT)
//! and waits to come back with a fresh attempt (the last to join leave first, like k6's ramping VUs).
//! With `[safety] backoff`, a throttled CONNECT holds the device's next one for a jittered backoff
//! ([`super::backoff`]), on top of the client-id gap; each such hold is counted as `backed_off`.
//! How each session ended (closed, dropped, kicked, storm), the `[mqtt] reconnect` backoff and what kicks and
//! storms cost are the device's [`Comeback`]; the storms themselves fire from [`super::storm`].

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::backoff::BackoffSpec;
use super::comeback::ClientIds;
use super::connect_pacer::ConnectPacer;
use super::device::Device;
use super::link::LinkSpec;
use super::progress::{Progress, Tally};
use super::ramp::Ramp;
use super::storm::{StormClock, Trigger};
use super::username::UsernameBook;
use crate::attempt::Planner;
use crate::join::Windows;
use crate::metrics::{Recorder, SeriesStore};
use crate::scenario::MqttPlan;
use crate::scenario::stages::Ramps;
use crate::shutdown::Shutdown;

/// What every MQTT device shares (read-only, but for the pacer and the counters).
pub struct Fleet {
    /// Decides every attempt (shared with the HTTPS lanes).
    pub planner: Arc<Planner>,
    pub t0: Instant,
    pub deadline: Instant,
    pub warmup_end: Instant,
    pub timeout: Duration,
    pub book: UsernameBook,
    pub mqtt: MqttPlan,
    pub pacer: ConnectPacer,
    /// How many MQTT devices are active over time (`target_devices`); `None`: all of them.
    pub active: Option<Arc<Ramp>>,
    /// The backoff after a throttled CONNECT and the run's seed (each device's draws); `None`: off.
    pub backoff: Option<(BackoffSpec, u64)>,
    /// Per transport group: its link and its devices.
    pub groups: Vec<(LinkSpec, Range<u32>)>,
    /// The run's live counters (devices connected, messages; attempts go to the shards' tallies).
    pub progress: Arc<Progress>,
    /// Fires when the drain after a stop runs out: a CONNECT still unanswered ends as `timeout` (abandoned).
    pub abandon: Shutdown,
    /// How long that drain was (the abandoned attempts' message says it).
    pub drain: Duration,
    /// The run's seed (each device's reconnect draws).
    pub seed: u64,
    /// `[[mqtt.storms]]` and when each fired.
    pub storms: StormClock,
    /// Drops every session at the target, and the windows the join counts storms' invocations in; `None`:
    /// no storms.
    pub storm_trigger: Option<(Trigger, Windows)>,
    /// `run --shard`: the devices this process runs (the others keep their places in the fleet's order).
    pub shard: super::shard::Shard,
    /// Who holds each shared client id (`devices_per_client_id` > 1).
    pub(super) ids: ClientIds,
    shards: Vec<Mutex<Recorder>>,
    /// One live tally per shard, beside its recorder.
    tallies: Vec<Arc<Tally>>,
}

impl Fleet {
    pub fn new(
        planner: Arc<Planner>,
        (t0, deadline, warmup_end): (Instant, Instant, Instant),
        timeout: Duration,
        book: UsernameBook,
        (mqtt, client_gap, ramps): (MqttPlan, Duration, &Ramps),
        groups: Vec<(LinkSpec, Range<u32>)>,
        progress: Arc<Progress>,
    ) -> Self {
        let shards = std::thread::available_parallelism().map_or(2, |n| n.get()) * 4;
        let devices: u32 = groups.iter().map(|(_, r)| r.end).max().unwrap_or(0);
        let tallies = (0..shards).map(|_| progress.lane_counter()).collect();
        Self {
            seed: 0,
            shard: super::shard::Shard::WHOLE,
            storms: StormClock::new(mqtt.storms.clone()),
            storm_trigger: None,
            ids: ClientIds::new(
                mqtt.client_id_number(devices) + 1,
                mqtt.devices_per_client_id > 1,
            ),
            pacer: ConnectPacer::new(t0, mqtt.connects_per_s, ramps.connects.clone(), client_gap),
            active: ramps.devices.clone(),
            backoff: None,
            planner,
            t0,
            deadline,
            warmup_end,
            timeout,
            book,
            mqtt,
            groups,
            progress,
            abandon: Shutdown::new(),
            drain: Duration::ZERO,
            shards: (0..shards).map(|_| Mutex::new(Recorder::new())).collect(),
            tallies,
        }
    }

    pub fn devices(&self) -> u32 {
        self.groups.iter().map(|(_, r)| r.len() as u32).sum()
    }

    /// Runs only `shard`'s devices, with the connect pacing scaled to its share of them (`client_gap` as
    /// before), so the shards' connect rates add up to the plan's.
    pub fn set_shard(&mut self, shard: super::shard::Shard, client_gap: Duration) {
        let all = self.devices();
        let mine: u32 = self
            .groups
            .iter()
            .map(|(_, r)| shard.owned_in(r.clone()))
            .sum();
        self.shard = shard;
        if mine == 0 {
            return; // no device of its own: nothing is paced
        }
        let share = |rate: f64| super::shard::Shard::scale(rate, mine, all);
        let ramp = self.pacer.ramp().map(|r| Arc::new(r.scaled(share(1.0))));
        let rate = share(self.mqtt.connects_per_s);
        self.pacer = ConnectPacer::new(self.t0, rate, ramp, client_gap);
    }

    /// Every shard's recorder feeds `store`, the run's per-second series.
    pub fn attach_series(&mut self, store: &Arc<SeriesStore>) {
        for s in &mut self.shards {
            *s.get_mut().unwrap_or_else(|p| p.into_inner()) = Recorder::with_series(store.clone());
        }
    }

    /// The live tally of `device`'s shard.
    pub(super) fn tally(&self, device: u32) -> &Tally {
        &self.tallies[device as usize % self.tallies.len()]
    }

    pub(super) fn with_rec(&self, device: u32, f: impl FnOnce(&mut Recorder)) {
        let shard = &self.shards[device as usize % self.shards.len()];
        let mut g = shard.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g);
    }
}

/// Runs every MQTT device until the deadline or `shutdown`; returns the merged recorder.
pub async fn run(fleet: Arc<Fleet>, shutdown: Shutdown) -> Recorder {
    fleet.progress.mqtt_running(true);
    let storms = fleet.storm_trigger.clone().map(|trigger| {
        let (fleet, shutdown) = (fleet.clone(), shutdown.clone());
        tokio::spawn(async move {
            let clock = (fleet.t0, fleet.deadline);
            fleet.storms.run(clock, trigger, shutdown).await
        })
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut index = 0;
    for (gi, (_, range)) in fleet.groups.iter().enumerate() {
        for d in range.clone() {
            if fleet.shard.owns(d) {
                let fleet = fleet.clone();
                let shutdown = shutdown.clone();
                // Boxed: an async fn keeps its by-value arguments twice in its state (as given and as moved
                // in), and a device is over a kilobyte.
                tasks.spawn(async move {
                    Box::new(Device::new(&fleet, gi, d, index))
                        .run(&shutdown)
                        .await
                });
            }
            index += 1;
        }
    }
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!("an MQTT device task failed: {e}");
        }
    }
    fleet.progress.mqtt_running(false);
    if let Some(task) = storms {
        // Every device is done: a storm still to come has nothing to drop.
        task.abort();
        let _ = task.await;
    }
    let mut out = Recorder::new();
    for s in &fleet.shards {
        let mut rec = s.lock().unwrap_or_else(|p| p.into_inner());
        rec.flush_series();
        out.merge(&rec);
    }
    for k in 0..fleet.storms.storms().len() {
        let (fired, answer) = fleet.storms.outcome(k);
        let tally = out.sessions.storm(k);
        (tally.fired, tally.target_dropped) = (fired, answer);
    }
    out
}
