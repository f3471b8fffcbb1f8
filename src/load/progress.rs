//! The run's progress on stderr: one ticker for every transport, once per second from the run's one `t0`.
//! The HTTPS lanes and the MQTT fleet only bump counters here (each lane its own, so lanes share nothing on
//! the request path); the ticker prints a line per engine still
//! running (`  12s       6000 attempts      500/s` for the lanes, `  12s  mqtt: … connects answered, … connected`
//! for the fleet). The same counters, by outcome, feed the `[abort]` guards' monitor ([`Progress::snapshot`]):
//! one relaxed add per ended attempt, as before.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::metrics::Outcome;

/// Attempts ended, by outcome (relaxed counters).
#[derive(Debug, Default)]
pub struct Tally([AtomicU64; Outcome::COUNT]);

impl Tally {
    pub fn add(&self, o: Outcome) {
        self.0[o.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self, o: Outcome) -> u64 {
        self.0[o.index()].load(Ordering::Relaxed)
    }

    fn total(&self) -> u64 {
        self.0.iter().map(|c| c.load(Ordering::Relaxed)).sum()
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

/// What the engines have done so far (relaxed counters: progress only, never a verdict).
#[derive(Debug, Default)]
pub struct Progress {
    /// HTTPS attempts ended, one tally per lane ([`Progress::lane_counter`]), summed by the ticker.
    lanes: Mutex<Vec<Arc<Tally>>>,
    /// MQTT CONNECTs answered (or not sent: exhausted), by outcome.
    connects: Tally,
    /// MQTT publishes sent and deliveries received.
    messages: AtomicU64,
    /// MQTT devices connected right now.
    connected: AtomicU64,
    https_running: AtomicBool,
    mqtt_running: AtomicBool,
}

impl Progress {
    /// A new lane's tally of ended HTTPS attempts (the lane bumps it; the ticker sums every lane's).
    pub fn lane_counter(&self) -> Arc<Tally> {
        let c = Arc::new(Tally::default());
        self.lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(c.clone());
        c
    }

    fn attempts(&self) -> u64 {
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes.iter().map(|c| c.total()).sum()
    }

    /// An MQTT CONNECT answered (or, exhausted, not sent).
    pub fn connect_ended(&self, o: Outcome) {
        self.connects.add(o);
    }

    /// An MQTT publish sent or a delivery received (an IoT message each).
    pub fn message(&self) {
        self.messages.fetch_add(1, Ordering::Relaxed);
    }

    /// Every counter now.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot {
            mqtt_messages: self.messages.load(Ordering::Relaxed),
            ..Snapshot::default()
        };
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        for o in Outcome::ALL {
            let https: u64 = lanes.iter().map(|c| c.get(o)).sum();
            s.by_outcome[o.index()] = https + self.connects.get(o);
            if o == Outcome::Allowed {
                s.https_allowed = https;
            }
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

    /// The lines of the tick at `secs` since `t0`; `last` is the attempt count of the previous HTTPS line.
    fn lines(&self, secs: f64, last: &mut u64) -> Vec<String> {
        let mut out = Vec::new();
        if self.https_running.load(Ordering::Relaxed) {
            let total = self.attempts();
            out.push(format!(
                "  {secs:>5.0}s  {total:>9} attempts  {:>7}/s",
                total - *last
            ));
            *last = total;
        }
        if self.mqtt_running.load(Ordering::Relaxed) {
            out.push(format!(
                "  {secs:>5.0}s  mqtt: {:>9} connects answered, {:>7} connected",
                self.connects.total(),
                self.connected.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

/// Prints progress every second from `t0 + 1 s` until aborted.
pub fn ticker(t0: Instant, progress: Arc<Progress>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval_at(t0 + Duration::from_secs(1), Duration::from_secs(1));
        let mut last = 0;
        loop {
            let at = tick.tick().await;
            for line in progress.lines((at - t0).as_secs_f64(), &mut last) {
                eprintln!("{line}");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_prints_a_line_per_engine_still_running() {
        let p = Progress::default();
        let mut last = 0;
        assert!(p.lines(1.0, &mut last).is_empty());
        p.https_running(true);
        p.mqtt_running(true);
        let (a, b) = (p.lane_counter(), p.lane_counter());
        for _ in 0..3 {
            a.add(Outcome::Allowed);
        }
        b.add(Outcome::Throttled);
        b.add(Outcome::Exhausted);
        p.connect_ended(Outcome::Timeout);
        p.message();
        p.connected();
        assert_eq!(
            p.lines(1.0, &mut last),
            [
                "      1s          5 attempts        5/s",
                "      1s  mqtt:         1 connects answered,       1 connected",
            ]
        );
        let snap = p.snapshot();
        assert_eq!(
            (
                snap.get(Outcome::Allowed),
                snap.get(Outcome::Throttled),
                snap.get(Outcome::Timeout)
            ),
            (3, 1, 1)
        );
        assert_eq!(
            (snap.sent(), snap.https_allowed, snap.mqtt_messages),
            (5, 3, 1)
        );
        a.add(Outcome::Allowed);
        p.https_running(false);
        p.disconnected();
        assert_eq!(
            p.lines(2.0, &mut last),
            ["      2s  mqtt:         1 connects answered,       0 connected"]
        );
    }
}
