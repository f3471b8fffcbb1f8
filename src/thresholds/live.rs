//! `abort_on_fail` while the run goes (pure): the `[abort]` monitor reads the engines' counters every 250 ms
//! into a [`Seen`], and [`judge`] returns the first `abort_on_fail` threshold that has failed for good. Only
//! metrics the counters hold are judged live ([`judgeable`]): counts and shares of outcomes and errors,
//! attempts ended and per second, the witness's invocations, the cost so far. Latency percentiles need the
//! merged histograms and are judged at the end only (`abort_on_fail` on them is a scenario error).
//!
//! A count only grows, so `count < N`, `<= N` and `== N` fail for good once exceeded, and `>`, `>=`, `!=` on a
//! count wait for the end. A share or a rate moves both ways: it is judged once `[abort] min_attempts`
//! attempts ended (as the share guards are), so one early error cannot stop a run.

use super::Threshold;
use super::expr::Op;
use super::metrics::{Metric, Stat};
use crate::metrics::Outcome;
use crate::safety::abort::AbortedBy;

/// What the counters say so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Seen {
    /// Seconds since the load started.
    pub at_s: f64,
    /// Attempts ended over every transport, by outcome ([`Outcome::index`]).
    pub by_outcome: [u64; Outcome::COUNT],
    /// The witness's invocations so far and those caused by forged attempts the gate must refuse; `None`: no
    /// live witness.
    pub invocations: Option<(u64, u64)>,
    /// The cost so far, USD (as the `[abort]` cost guard meters it).
    pub cost_usd: f64,
}

/// Whether `m` can be judged while the run goes; `Err`: why not.
pub fn judgeable(m: &Metric, live_witness: bool) -> Result<(), String> {
    match m {
        Metric::Outcome { .. } => Ok(()),
        Metric::Named(
            "errors.count" | "errors.share" | "throughput.attempts_ended" | "throughput.attempts_per_s"
            | "cost.total_usd",
        ) => Ok(()),
        Metric::Named("invocations.total" | "invocations.forged") if live_witness => Ok(()),
        Metric::Named("invocations.total" | "invocations.forged") => Err(
            "no witness sees invocations while this run goes (the embedded emulator or an external \
             emulator's target.admin_url does); drop abort_on_fail to judge it at the end"
                .into(),
        ),
        _ => Err(format!(
            "cannot be judged while the run goes (only the counters are live: {}); drop abort_on_fail to \
             judge it at the end",
            LIVE.join(", ")
        )),
    }
}

/// The names [`judgeable`] accepts, as its error lists them.
const LIVE: [&str; 8] = [
    "outcomes.<outcome>.{count,share}",
    "errors.count",
    "errors.share",
    "throughput.attempts_ended",
    "throughput.attempts_per_s",
    "cost.total_usd",
    "invocations.total",
    "invocations.forged",
];

/// A metric's value now and whether it only grows; `None`: not live, or no live witness.
fn value(m: &Metric, s: &Seen) -> Option<(f64, bool)> {
    let ended: u64 = s.by_outcome.iter().sum();
    let share = |n: u64| (ended > 0).then(|| (n as f64 / ended as f64, false));
    let errors =
        s.by_outcome[Outcome::TransportError.index()] + s.by_outcome[Outcome::Timeout.index()];
    match *m {
        Metric::Outcome { outcome, stat } => {
            let n = s.by_outcome[outcome.index()];
            match stat {
                Stat::Count => Some((n as f64, true)),
                _ => share(n),
            }
        }
        Metric::Named("errors.count") => Some((errors as f64, true)),
        Metric::Named("errors.share") => share(errors),
        Metric::Named("throughput.attempts_ended") => Some((ended as f64, true)),
        Metric::Named("throughput.attempts_per_s") => {
            (s.at_s > 0.0).then(|| (ended as f64 / s.at_s, false))
        }
        Metric::Named("cost.total_usd") => Some((s.cost_usd, true)),
        Metric::Named("invocations.total") => s.invocations.map(|(n, _)| (n as f64, true)),
        Metric::Named("invocations.forged") => s.invocations.map(|(_, n)| (n as f64, true)),
        _ => None,
    }
}

/// The first `abort_on_fail` threshold that has failed for good; `sent`: attempts sent and ended (shares and
/// rates wait for `min_attempts` of them).
pub fn judge(
    thresholds: &[Threshold],
    s: &Seen,
    sent: u64,
    min_attempts: u64,
) -> Option<AbortedBy> {
    thresholds.iter().filter(|t| t.abort_on_fail).find_map(|t| {
        let (x, grows) = value(&t.metric, s)?;
        let (op, wanted) = (t.expr.op, t.expr.value);
        let for_good = if grows {
            matches!(op, Op::Lt | Op::Le) || (op == Op::Eq && x > wanted)
        } else {
            sent >= min_attempts.max(1)
        };
        (for_good && !op.holds(x, wanted)).then(|| AbortedBy {
            guard: t.name(),
            observed: x,
            limit: wanted,
            at_s: s.at_s,
            message: format!(
                "{} (abort_on_fail): observed {}",
                t.name(),
                super::number(x)
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::file::Check;
    use crate::thresholds::metrics::Scope;

    fn thresholds(exprs: &[&str]) -> Vec<Threshold> {
        let checks: Vec<Check> = exprs
            .iter()
            .map(|e| Check {
                expr: e.to_string(),
                abort_on_fail: true,
            })
            .collect();
        crate::thresholds::resolve(&checks, &Scope::all(), true).unwrap()
    }

    fn seen(allowed: u64, timeouts: u64) -> Seen {
        let mut s = Seen {
            at_s: 2.0,
            invocations: Some((allowed, 0)),
            ..Seen::default()
        };
        s.by_outcome[Outcome::Allowed.index()] = allowed;
        s.by_outcome[Outcome::Timeout.index()] = timeouts;
        s
    }

    #[test]
    fn a_count_fails_for_good_once_exceeded_and_a_lower_bound_waits_for_the_end() {
        let ts = thresholds(&["errors.count < 3", "throughput.attempts_ended >= 1000"]);
        assert_eq!(judge(&ts, &seen(10, 2), 12, 50), None);
        let a = judge(&ts, &seen(10, 3), 13, 50).unwrap();
        assert_eq!(a.guard, "threshold: errors.count < 3");
        assert_eq!((a.observed, a.limit, a.at_s), (3.0, 3.0, 2.0));
        assert_eq!(
            a.message,
            "threshold: errors.count < 3 (abort_on_fail): observed 3"
        );
        let eq = thresholds(&["invocations.total == 5"]);
        assert_eq!(judge(&eq, &seen(4, 0), 4, 50), None, "may still reach 5");
        assert!(judge(&eq, &seen(6, 0), 6, 50).is_some());
    }

    #[test]
    fn shares_and_rates_wait_for_min_attempts() {
        let ts = thresholds(&["errors.share < 0.1", "throughput.attempts_per_s >= 100"]);
        assert_eq!(judge(&ts, &seen(8, 2), 10, 50), None);
        let a = judge(&ts, &seen(40, 10), 50, 50).unwrap();
        assert_eq!(
            (a.guard.as_str(), a.observed),
            ("threshold: errors.share < 0.1", 0.2)
        );
        let a = judge(&ts, &seen(60, 0), 60, 50).unwrap();
        assert_eq!(
            (a.guard.as_str(), a.observed),
            ("threshold: throughput.attempts_per_s >= 100", 30.0)
        );
    }

    #[test]
    fn latencies_are_not_live_and_invocations_need_a_witness() {
        let p99 = crate::thresholds::metrics::parse("https.valid.allowed.p99_ms").unwrap();
        assert!(judgeable(&p99, true).unwrap_err().contains("errors.share"));
        let forged = crate::thresholds::metrics::parse("invocations.forged").unwrap();
        assert!(judgeable(&forged, true).is_ok());
        assert!(
            judgeable(&forged, false)
                .unwrap_err()
                .contains("no witness")
        );
        let mut s = seen(10, 0);
        s.invocations = None;
        assert_eq!(
            judge(&thresholds(&["invocations.forged == 0"]), &s, 10, 0),
            None
        );
    }
}
