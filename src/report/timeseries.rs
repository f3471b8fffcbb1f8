//! The report's `timeseries` (issue 13): per second since the load's start, the attempts that ended in it per
//! (transport, outcome) with their p99 latency, and the authorizer invocations stamped in it per class kind.
//! One row per second and key that had any, never per attempt; at most
//! [`MAX_SECONDS`](crate::metrics::series::MAX_SECONDS) seconds (`truncated` says when the run went on longer).
//! Read from the load's [`SeriesStore`] and the ledger join's [`crate::join::PerSecond`].

use std::time::Duration;

use serde::Serialize;

use crate::contract::Transport;
use crate::join::LedgerSummary;
use crate::metrics::recorder::{cell_parts, new_hist};
use crate::metrics::series::{MAX_SECONDS, pair};
use crate::metrics::{Outcome, SeriesStore};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeseries {
    /// Always 1.
    pub interval_s: u32,
    /// Seconds covered, from the load's start (0-based `second` below it).
    pub seconds: usize,
    pub attempts: Vec<AttemptRow>,
    /// Empty when no witness stamped its invocations (no ledger, or CloudWatch's count only).
    pub invocations: Vec<InvocationRow>,
    /// Seconds after the bound were left out of the rows.
    pub truncated: bool,
}

/// Attempts of one (transport, outcome) that ended in one second.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptRow {
    pub second: usize,
    pub transport: Transport,
    pub outcome: Outcome,
    pub count: u64,
    /// p99 of the latency from the intended start; `null` when none was measured (warm-up).
    pub p99_us: Option<u64>,
}

/// Authorizer invocations of one class kind stamped in one second.
#[derive(Debug, Clone, Serialize)]
pub struct InvocationRow {
    pub second: usize,
    /// `valid`, `forged` or `replayed`.
    pub class: &'static str,
    pub count: u64,
}

/// The series of a load that lasted `elapsed`, with the ledger's invocations when it was joined.
pub fn build(
    series: &SeriesStore,
    elapsed: Duration,
    ledger: Option<&LedgerSummary>,
) -> anyhow::Result<Timeseries> {
    let mut attempts = Vec::new();
    series.each_second(|s| {
        if s.index >= MAX_SECONDS {
            return;
        }
        for t in Transport::ALL {
            for o in Outcome::ALL {
                let count = s.counts[pair(t, o)];
                if count == 0 {
                    continue;
                }
                let mut h = new_hist();
                for (cell, hist) in s.cells {
                    let (ct, _, co) = cell_parts(usize::from(*cell));
                    if (ct, co) == (t, o) {
                        let _ = h.add(hist);
                    }
                }
                attempts.push(AttemptRow {
                    second: s.index,
                    transport: t,
                    outcome: o,
                    count,
                    p99_us: (!h.is_empty()).then(|| h.value_at_quantile(0.99)),
                });
            }
        }
    })?;
    let per_second = ledger.map(|l| &l.per_second);
    let invocations = per_second
        .into_iter()
        .flat_map(|p| p.rows())
        .map(|(second, class, count)| InvocationRow {
            second,
            class,
            count,
        })
        .collect();
    let run_seconds = elapsed.as_secs_f64().ceil() as usize;
    Ok(Timeseries {
        interval_s: 1,
        seconds: run_seconds
            .max(series.seconds())
            .max(per_second.map_or(0, |p| p.seconds()))
            .min(MAX_SECONDS),
        attempts,
        invocations,
        truncated: series.truncated()
            || per_second.is_some_and(|p| p.truncated())
            || run_seconds > MAX_SECONDS,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::time::Instant;

    use super::*;
    use crate::contract::{Class, Forgery};
    use crate::join::{LedgerRow, Origin, Spec};
    use crate::metrics::Recorder;

    /// Rows per second and (transport, outcome) with the p99 of that second's histograms (warm-up: null); the
    /// ledger's entries per second and kind.
    #[test]
    fn rows_per_second_and_key() {
        let t0 = Instant::now();
        let store = Arc::new(SeriesStore::new(t0, 50_000));
        let mut r = Recorder::with_series(store.clone());
        let https = Transport::Https;
        let at = |ms| t0 + Duration::from_millis(ms);
        r.end_at(
            at(10),
            (https, Class::Valid, Outcome::Allowed),
            (7, 7),
            false,
        );
        for us in 1..=100 {
            let c = if us % 2 == 0 {
                Class::Valid
            } else {
                Class::Replayed
            };
            r.end_at(at(1_500), (https, c, Outcome::Allowed), (us * 10, us), true);
        }
        let f = Class::Forged(Forgery::BitFlip);
        r.end_at(
            at(1_600),
            (Transport::MqttTls, f, Outcome::Refused),
            (30, 30),
            true,
        );
        r.flush_series();
        let mut spec = Spec::new("r");
        spec.origin = Some(Origin::at(50_000));
        let mut ledger = spec.summary("t", 0);
        for (seq, (id, ms)) in [
            ("r-valid-0-0", 50_100),
            ("r-replayed-1-0", 52_000),
            ("r-valid-0-1", 52_999),
        ]
        .into_iter()
        .enumerate()
        {
            let mut row = LedgerRow::new(seq as u64 + 1, Some(id), "allow");
            row.unix_ms = ms;
            ledger.absorb(row);
        }
        let ts = build(&store, Duration::from_millis(1_700), Some(&ledger)).unwrap();
        let json = serde_json::to_value(&ts).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "interval_s": 1, "seconds": 3, "truncated": false,
                "attempts": [
                    {"second": 0, "transport": "https", "outcome": "allowed", "count": 1, "p99_us": null},
                    {"second": 1, "transport": "https", "outcome": "allowed", "count": 100, "p99_us": 990},
                    {"second": 1, "transport": "mqtt_tls", "outcome": "refused", "count": 1, "p99_us": 30},
                ],
                "invocations": [
                    {"second": 0, "class": "valid", "count": 1},
                    {"second": 2, "class": "valid", "count": 1},
                    {"second": 2, "class": "replayed", "count": 1},
                ],
            })
        );
        assert!(
            build(&store, Duration::from_secs(2), None)
                .unwrap()
                .invocations
                .is_empty()
        );
    }
}
