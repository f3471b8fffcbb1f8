//! The MQTT session parts of the [`super::Report`]: how kept sessions ended per (transport, class) —
//! closed by the device, dropped, kicked by another connection with the same client id, dropped by a storm —
//! with the CONNECTs kicks caused, and one row per storm (`[[mqtt.storms]]`): the sessions it dropped, how
//! their devices came back, and the authorizer invocations (with their cost) in its window.

use serde::Serialize;

use super::model::Percentiles;
use crate::contract::{Class, Transport};
use crate::join::LedgerSummary;
use crate::metrics::{Recorder, SessionEnd};
use crate::scenario::Pricing;
use crate::scenario::reconnect::Storm;

#[derive(Debug, Clone, Serialize)]
pub struct SessionRow {
    pub transport: String,
    pub class: String,
    pub variant: Option<String>,
    /// Ended by the device (the run's end, `mqtt.session_s`, a ramp, a stop).
    pub closed: u64,
    /// Closed by the server (or broken) for another reason.
    pub dropped: u64,
    /// Taken over by another connection with the same client id.
    pub kicked: u64,
    /// Dropped by a storm.
    pub storm: u64,
    /// CONNECTs this class's attempts made after a kick, until one was allowed: each one that passes the
    /// gate is an authorizer invocation the duplicate client id caused.
    pub reconnects_after_kick: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StormRow {
    /// When it fired, s after the load started.
    pub at_s: f64,
    /// Its window, s: reconnects and invocations within it are the storm's.
    pub window_s: f64,
    /// It fired (a run that ends or stops first skips it).
    pub fired: bool,
    /// Sessions the target said it dropped (`null`: it did not answer).
    pub target_dropped: Option<u64>,
    /// Sessions of this run the storm dropped.
    pub dropped: u64,
    /// CONNECTs their devices sent until they were back in.
    pub reconnect_attempts: u64,
    /// Devices back in before the run ended...
    pub reconnected: u64,
    /// ... of which within the window.
    pub reconnected_in_window: u64,
    /// From the storm to each device's allowed CONNECT, µs.
    pub reconnect_us: Option<Percentiles>,
    /// The run's authorizer invocations stamped in the window (`null`: no ledger).
    pub invocations: Option<u64>,
    /// What those invocations cost (Lambda requests and compute; `null`: no ledger).
    pub cost_usd: Option<f64>,
}

/// One row per (transport, class) whose sessions ended.
pub fn session_rows(rec: &Recorder) -> Vec<SessionRow> {
    let s = &rec.sessions;
    let mut rows = Vec::new();
    for t in Transport::MQTT {
        for c in Class::ALL {
            let n = |e| s.ends(t, c, e);
            let after_kick = s.after_kick(t, c);
            if SessionEnd::ALL.into_iter().all(|e| n(e) == 0) && after_kick == 0 {
                continue;
            }
            rows.push(SessionRow {
                transport: t.as_str().into(),
                class: c.kind().into(),
                variant: c.variant().map(str::to_string),
                closed: n(SessionEnd::Closed),
                dropped: n(SessionEnd::Dropped),
                kicked: n(SessionEnd::Kicked),
                storm: n(SessionEnd::Storm),
                reconnects_after_kick: after_kick,
            });
        }
    }
    rows
}

/// One row per planned storm.
pub fn storm_rows(
    storms: &[Storm],
    rec: &Recorder,
    ledger: Option<&LedgerSummary>,
    pricing: &Pricing,
) -> Vec<StormRow> {
    let tallies = rec.sessions.storms();
    storms
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let t = tallies.get(k).cloned().unwrap_or_default();
            let inv = ledger.map(|l| l.storm(k));
            StormRow {
                at_s: s.at.as_secs_f64(),
                window_s: s.window.as_secs_f64(),
                fired: t.fired,
                target_dropped: t.target_dropped,
                dropped: t.dropped,
                reconnect_attempts: t.attempts,
                reconnected: t.reconnected,
                reconnected_in_window: t.in_window,
                reconnect_us: t.delay_us.as_ref().map(Percentiles::of),
                invocations: inv.map(|i| i.invocations),
                cost_usd: inv.map(|i| super::cost::invocations_usd(&i, pricing)),
            }
        })
        .collect()
}
