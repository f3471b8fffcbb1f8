//! The `[abort]` guards' monitor while the load runs: every [`crate::join::EVERY`] (the witness drains' pace) it
//! reads the engines' counters and the witness's live count, meters the cost so far with the plan's cost model,
//! and asks [`Guards::judge`]. The first guard that fires stops the run exactly as a signal does (the same
//! bounded drain, `stopped_by = "abort"`) and is kept for report.json `safety.aborted_by`; a stop that came
//! first (a signal, the stop file) wins, and then no guard is recorded.

use std::sync::{Arc, OnceLock};

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::stop::{DRAIN, Stop};
use crate::join::Live;
use crate::load::progress::{Progress, Snapshot};
use crate::metrics::Outcome;
use crate::safety::Planned;
use crate::safety::abort::{AbortedBy, Guards, Observed, project};
use crate::scenario::Plan;
use crate::shutdown::StoppedBy;

/// Turns the counters into what the guards judge, with the plan's cost model.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meter {
    usd_per_invocation: f64,
    usd_per_message: f64,
    /// IoT messages per allowed HTTPS publish, per MQTT publish or delivery (5 KB units of the payload).
    https_units: u64,
    mqtt_units: u64,
    /// Without a live witness, invocations are estimated as the attempts sent × the share that passes the gate
    /// (the prediction's own assumption).
    pass_share: f64,
    planned_s: f64,
    planned_attempts: Option<u64>,
}

impl Meter {
    pub(super) fn new(plan: &Plan) -> Self {
        let planned = Planned::of(plan);
        let (usd_per_invocation, usd_per_message) = crate::safety::planned::unit_costs(plan);
        let units = crate::contract::limits::message_units;
        Self {
            usd_per_invocation,
            usd_per_message,
            https_units: units(plan.http.payload_bytes),
            mqtt_units: units(plan.mqtt.payload_bytes),
            pass_share: 1.0 - planned.forged_share,
            planned_s: planned.duration_s,
            planned_attempts: planned.attempts,
        }
    }

    /// What the guards judge at `at_s` seconds into the run; `live`: the witness's count, when one sees
    /// invocations while the load runs.
    pub(super) fn observe(&self, s: &Snapshot, live: Option<&Live>, at_s: f64) -> Observed {
        let ended = s.sent();
        let invocations = live.map_or(
            (ended as f64 * self.pass_share).round() as u64,
            Live::invocations,
        );
        let messages = s.https_allowed * self.https_units + s.mqtt_messages * self.mqtt_units;
        let cost_usd =
            invocations as f64 * self.usd_per_invocation + messages as f64 * self.usd_per_message;
        Observed {
            at_s,
            ended,
            throttled: s.get(Outcome::Throttled),
            errors: s.get(Outcome::TransportError) + s.get(Outcome::Timeout),
            forged_invocations: live.map(Live::forged),
            cost_usd,
            projected_cost_usd: project(
                cost_usd,
                at_s,
                self.planned_s,
                ended,
                self.planned_attempts,
            ),
        }
    }
}

/// The running monitor; [`Monitor::finish`] ends it and says which guard fired, if one did.
pub(super) struct Monitor {
    task: Option<JoinHandle<()>>,
    fired: Arc<OnceLock<AbortedBy>>,
}

/// What the monitor reads.
struct Watched {
    guards: Guards,
    meter: Meter,
    counters: Arc<Progress>,
    live: Option<Arc<Live>>,
}

/// Starts the run's monitor: the guards in force (`safety.abort`), the plan's cost model, the engines'
/// `counters` and the live count of the ledger being joined, if any.
pub(super) fn watch_run(
    plan: &Plan,
    safety: &crate::safety::SafetyRecord,
    joining: &Result<Option<crate::join::Running>, String>,
    counters: &Arc<Progress>,
    stop: &Stop,
    progress: bool,
) -> Monitor {
    let watched = Watched {
        guards: safety.abort,
        meter: Meter::new(plan),
        counters: counters.clone(),
        live: joining
            .as_ref()
            .ok()
            .and_then(|j| j.as_ref().map(|r| r.live())),
    };
    spawn(watched, stop.clone(), progress)
}

/// Starts the monitor (none when no guard can fire).
fn spawn(w: Watched, stop: Stop, progress: bool) -> Monitor {
    let fired = Arc::new(OnceLock::new());
    let task = w
        .guards
        .any()
        .then(|| tokio::spawn(watch(w, stop, fired.clone(), progress)));
    Monitor { task, fired }
}

async fn watch(w: Watched, stop: Stop, fired: Arc<OnceLock<AbortedBy>>, progress: bool) {
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(crate::join::EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        let seen = w.meter.observe(
            &w.counters.snapshot(),
            w.live.as_deref(),
            t0.elapsed().as_secs_f64(),
        );
        let Some(a) = w.guards.judge(&seen) else {
            continue;
        };
        if stop.request(StoppedBy::Abort) {
            let _ = fired.set(a.clone());
            if progress {
                crate::live::logs::line(&format!(
                    "aborting at {:.1} s: {}; attempts in flight drain (up to {} s)",
                    a.at_s,
                    a.message,
                    DRAIN.as_secs()
                ));
            }
        }
        return;
    }
}

impl Monitor {
    /// Stops watching (the load is over) and returns the guard that fired, if one did. The task is awaited:
    /// a guard that has just requested the stop may still be on another worker recording itself, and the load
    /// can drain before it is done (an external emulator answers the last attempts within milliseconds).
    pub(super) async fn finish(self) -> Option<AbortedBy> {
        if let Some(t) = self.task {
            t.abort();
            let _ = t.await;
        }
        self.fired.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter() -> Meter {
        Meter {
            usd_per_invocation: 1.0,
            usd_per_message: 0.5,
            https_units: 2,
            mqtt_units: 1,
            pass_share: 0.8,
            planned_s: 10.0,
            planned_attempts: None,
        }
    }

    fn snapshot() -> Snapshot {
        let mut s = Snapshot {
            https_allowed: 3,
            mqtt_messages: 4,
            ..Snapshot::default()
        };
        for (o, n) in [
            (Outcome::Allowed, 5),
            (Outcome::Throttled, 2),
            (Outcome::Timeout, 1),
            (Outcome::TransportError, 1),
            (Outcome::Exhausted, 7),
        ] {
            s.by_outcome[o.index()] = n;
        }
        s
    }

    #[test]
    fn the_meter_estimates_invocations_without_a_witness_and_projects_by_time() {
        let o = meter().observe(&snapshot(), None, 2.0);
        assert_eq!(
            (o.ended, o.throttled, o.errors, o.forged_invocations),
            (9, 2, 2, None)
        );
        // 9 sent × 0.8 ≈ 7 invocations at 1 USD, (3 × 2 + 4 × 1) messages at 0.5 USD.
        assert_eq!(o.cost_usd, 12.0);
        assert_eq!(o.projected_cost_usd, 60.0);
    }

    #[test]
    fn the_meter_counts_the_witness_s_invocations_when_one_sees_them_live() {
        let live = Live::default();
        let o = meter().observe(&snapshot(), Some(&live), 10.0);
        assert_eq!(
            (o.forged_invocations, o.cost_usd, o.projected_cost_usd),
            (Some(0), 5.0, 5.0)
        );
    }
}
