//! What the engines have done so far, for whoever watches the run while it goes: the live status
//! ([`crate::live`]), the generator's `/metrics` and the `[abort]` guards' monitor ([`Progress::snapshot`]).
//!
//! Each HTTPS lane and each shard of the MQTT fleet bumps a [`Tally`] of its own (relaxed atomics in one
//! allocation per lane, summed on read), so lanes share no cache line on the request path: per attempt one add
//! when it starts (by transport), one when it ends (by transport, class kind and outcome) and, past the warm-up,
//! one to a coarse latency bucket ([`crate::metrics::coarse`]) and one to the latency sum. The counts match the
//! report's exactly once the load has drained: every attempt the [`crate::metrics::Recorder`] ends is tallied
//! beside it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::contract::{Class, Transport};
use crate::metrics::Outcome;
use crate::metrics::coarse::{self, BUCKETS};

/// Class kinds ([`Class::KINDS`]: valid, forged, replayed).
pub const KINDS: usize = Class::KINDS.len();

fn zeroed<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

/// One lane's counters (aligned so two lanes' tallies never share a cache line).
#[derive(Debug)]
#[repr(align(128))]
pub struct Tally {
    started: [AtomicU64; Transport::COUNT],
    ended: [[[AtomicU64; Outcome::COUNT]; KINDS]; Transport::COUNT],
    latency: [[AtomicU64; BUCKETS]; Transport::COUNT],
    latency_sum_us: [AtomicU64; Transport::COUNT],
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            started: zeroed(),
            ended: std::array::from_fn(|_| std::array::from_fn(|_| zeroed())),
            latency: std::array::from_fn(|_| zeroed()),
            latency_sum_us: zeroed(),
        }
    }
}

impl Tally {
    /// An attempt started (its credential chosen; an exhausted one too).
    pub fn start(&self, t: Transport) {
        self.started[t.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// An attempt ended; `latency_us` from its intended start when it counts in the histograms (past the
    /// warm-up), as the recorder's.
    pub fn end(&self, t: Transport, c: Class, o: Outcome, latency_us: Option<u64>) {
        let t = t.index();
        self.ended[t][c.kind_index()][o.index()].fetch_add(1, Ordering::Relaxed);
        if let Some(us) = latency_us {
            self.latency[t][coarse::bucket(us)].fetch_add(1, Ordering::Relaxed);
            self.latency_sum_us[t].fetch_add(us, Ordering::Relaxed);
        }
    }

    fn add_into(&self, d: &mut Detail) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for t in 0..Transport::COUNT {
            d.started[t] += load(&self.started[t]);
            d.latency_sum_us[t] += load(&self.latency_sum_us[t]);
            for k in 0..KINDS {
                for o in 0..Outcome::COUNT {
                    d.ended[t][k][o] += load(&self.ended[t][k][o]);
                }
            }
            for b in 0..BUCKETS {
                d.latency[t][b] += load(&self.latency[t][b]);
            }
        }
    }
}

/// Every counter summed over the lanes at one moment (each counter read once, relaxed: a moment's view,
/// not a consistent cut; the counts only grow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// Attempts started, by transport.
    pub started: [u64; Transport::COUNT],
    /// Attempts ended, by transport, class kind and outcome.
    pub ended: [[[u64; Outcome::COUNT]; KINDS]; Transport::COUNT],
    /// Latency from the intended start past the warm-up, by transport, in coarse buckets.
    pub latency: [[u64; BUCKETS]; Transport::COUNT],
    /// The sum of those latencies (µs), by transport.
    pub latency_sum_us: [u64; Transport::COUNT],
    /// MQTT publishes sent and deliveries received.
    pub mqtt_messages: u64,
    /// MQTT devices connected now.
    pub connected: u64,
    /// The HTTPS lanes run.
    pub https_running: bool,
    /// The MQTT fleet runs.
    pub mqtt_running: bool,
}

impl Default for Detail {
    fn default() -> Self {
        Self {
            started: [0; Transport::COUNT],
            ended: [[[0; Outcome::COUNT]; KINDS]; Transport::COUNT],
            latency: [[0; BUCKETS]; Transport::COUNT],
            latency_sum_us: [0; Transport::COUNT],
            mqtt_messages: 0,
            connected: 0,
            https_running: false,
            mqtt_running: false,
        }
    }
}

impl Detail {
    /// Attempts ended over `t`, every class and outcome.
    pub fn ended_over(&self, t: Transport) -> u64 {
        self.ended[t.index()].iter().flatten().sum()
    }

    /// Attempts ended over every transport.
    pub fn ended_total(&self) -> u64 {
        Transport::ALL.iter().map(|t| self.ended_over(*t)).sum()
    }

    /// Attempts ended with `o` over every transport and class.
    pub fn outcome(&self, o: Outcome) -> u64 {
        self.ended
            .iter()
            .flat_map(|by_kind| by_kind.iter())
            .map(|by_outcome| by_outcome[o.index()])
            .sum()
    }

    /// Attempts started and not ended yet over `t`.
    pub fn in_flight(&self, t: Transport) -> u64 {
        self.started[t.index()].saturating_sub(self.ended_over(t))
    }

    /// The coarse `q`-quantile of the latency over `t` so far (µs; see [`coarse`] for its accuracy).
    pub fn quantile(&self, t: Transport, q: f64) -> Option<u64> {
        coarse::quantile(&self.latency[t.index()], q)
    }

    /// The coarse `q`-quantile over every transport.
    pub fn quantile_all(&self, q: f64) -> Option<u64> {
        let mut all = [0; BUCKETS];
        for by_bucket in &self.latency {
            for (a, n) in all.iter_mut().zip(by_bucket) {
                *a += n;
            }
        }
        coarse::quantile(&all, q)
    }
}

/// The counters at one moment, for the abort guards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Attempts ended over every transport, by outcome ([`Outcome::index`]).
    pub by_outcome: [u64; Outcome::COUNT],
    /// HTTPS publishes allowed (each an IoT message).
    pub https_allowed: u64,
    /// MQTT messages: publishes sent and deliveries received.
    pub mqtt_messages: u64,
}

impl Snapshot {
    pub fn get(&self, o: Outcome) -> u64 {
        self.by_outcome[o.index()]
    }

    /// Attempts that were sent and ended (not [`Outcome::Exhausted`]: nothing was sent).
    pub fn sent(&self) -> u64 {
        self.by_outcome.iter().sum::<u64>() - self.get(Outcome::Exhausted)
    }
}

/// What the engines have done so far (relaxed counters: watching only, never a verdict).
#[derive(Debug, Default)]
pub struct Progress {
    /// One tally per HTTPS lane and per MQTT fleet shard ([`Progress::lane_counter`]), summed on read.
    lanes: Mutex<Vec<Arc<Tally>>>,
    /// MQTT publishes sent and deliveries received.
    messages: AtomicU64,
    /// MQTT devices connected right now.
    connected: AtomicU64,
    https_running: AtomicBool,
    mqtt_running: AtomicBool,
}

impl Progress {
    /// A new lane's tally (the lane bumps it; readers sum every lane's).
    pub fn lane_counter(&self) -> Arc<Tally> {
        let c = Arc::new(Tally::default());
        self.lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(c.clone());
        c
    }

    /// An MQTT publish sent or a delivery received (an IoT message each).
    pub fn message(&self) {
        self.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Every counter now.
    pub fn detail(&self) -> Detail {
        let mut d = Detail {
            mqtt_messages: self.messages.load(Ordering::Relaxed),
            connected: self.connected.load(Ordering::Relaxed),
            https_running: self.https_running.load(Ordering::Relaxed),
            mqtt_running: self.mqtt_running.load(Ordering::Relaxed),
            ..Detail::default()
        };
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        for lane in lanes.iter() {
            lane.add_into(&mut d);
        }
        d
    }

    /// The counters the abort guards read.
    pub fn snapshot(&self) -> Snapshot {
        let d = self.detail();
        let mut s = Snapshot {
            mqtt_messages: d.mqtt_messages,
            https_allowed: d.ended[Transport::Https.index()]
                .iter()
                .map(|by_outcome| by_outcome[Outcome::Allowed.index()])
                .sum(),
            ..Snapshot::default()
        };
        for o in Outcome::ALL {
            s.by_outcome[o.index()] = d.outcome(o);
        }
        s
    }

    pub fn connected(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    pub fn disconnected(&self) {
        self.connected.fetch_sub(1, Ordering::Relaxed);
    }

    /// The HTTPS lanes run (`true`) or have all finished.
    pub fn https_running(&self, on: bool) {
        self.https_running.store(on, Ordering::Relaxed);
    }

    /// The MQTT fleet runs (`true`) or has finished.
    pub fn mqtt_running(&self, on: bool) {
        self.mqtt_running.store(on, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;

    #[test]
    fn lanes_are_summed_by_transport_kind_and_outcome() {
        let p = Progress::default();
        p.https_running(true);
        let (a, b) = (p.lane_counter(), p.lane_counter());
        for _ in 0..3 {
            a.start(Transport::Https);
            a.end(Transport::Https, Class::Valid, Outcome::Allowed, Some(1000));
        }
        b.start(Transport::Https);
        b.end(
            Transport::Https,
            Class::Forged(Forgery::BitFlip),
            Outcome::Forbidden,
            None,
        );
        b.start(Transport::MqttTls);
        b.start(Transport::MqttTls);
        b.end(
            Transport::MqttTls,
            Class::Expired,
            Outcome::Timeout,
            Some(5),
        );
        p.message();
        p.connected();
        let d = p.detail();
        assert_eq!(d.ended[0][0][Outcome::Allowed.index()], 3);
        assert_eq!(d.ended[0][1][Outcome::Forbidden.index()], 1);
        assert_eq!(d.ended[1][2][Outcome::Timeout.index()], 1);
        assert_eq!((d.ended_total(), d.in_flight(Transport::MqttTls)), (5, 1));
        assert_eq!(
            (d.latency_sum_us[0], d.connected, d.https_running),
            (3000, 1, true)
        );
        assert_eq!(d.quantile(Transport::Https, 0.99), Some(1023));
        assert_eq!(d.quantile_all(0.1), Some(5));
        let snap = p.snapshot();
        assert_eq!(
            (
                snap.get(Outcome::Allowed),
                snap.get(Outcome::Forbidden),
                snap.get(Outcome::Timeout)
            ),
            (3, 1, 1)
        );
        assert_eq!(
            (snap.sent(), snap.https_allowed, snap.mqtt_messages),
            (5, 3, 1)
        );
    }
}
