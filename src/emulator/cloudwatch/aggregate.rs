//! The `AWS/Lambda` metrics of a batch of invocations, pure: per function and minute, `Invocations`, `Errors`
//! and `Throttles` as partial sums stamped with the minute (CloudWatch sums every data point of a period, so a
//! flush each second keeps reads near-live and the minute's total exact), and one `Duration` point per invocation
//! that ran (so `Average`, `Maximum` and percentiles mean what they mean on AWS).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::aws::Datum;

pub const NAMESPACE: &str = "AWS/Lambda";

/// How an invocation ended, as Lambda counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The function answered (whatever it answered).
    Ok,
    /// The function failed: raised, timed out, crashed, could not start. Counted in `Invocations` and `Errors`.
    Error,
    /// Refused at the concurrency limit: the function never ran. Counted in `Throttles` only.
    Throttled,
}

/// One invocation's metric facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub function: Arc<str>,
    pub unix_ms: u64,
    pub outcome: Outcome,
    pub duration_us: u64,
}

#[derive(Default)]
struct Sums {
    invocations: u64,
    errors: u64,
    throttles: u64,
    durations_ms: Vec<f64>,
}

/// The data points for `samples`, grouped by function and minute (in that order).
pub fn data(samples: &[Sample]) -> Vec<Datum> {
    let mut groups: BTreeMap<(&str, i64), Sums> = BTreeMap::new();
    for s in samples {
        let minute = (s.unix_ms / 60_000 * 60) as i64;
        let sums = groups.entry((&s.function, minute)).or_default();
        match s.outcome {
            Outcome::Throttled => sums.throttles += 1,
            outcome => {
                sums.invocations += 1;
                sums.errors += u64::from(outcome == Outcome::Error);
                sums.durations_ms.push(s.duration_us as f64 / 1000.0);
            }
        }
    }
    let mut out = Vec::new();
    for ((function, minute), sums) in groups {
        let datum = |metric: &str, value: f64, unit: &'static str| Datum {
            metric: metric.to_string(),
            dimensions: vec![("FunctionName".to_string(), function.to_string())],
            unix_s: minute,
            value,
            unit,
        };
        out.push(datum("Invocations", sums.invocations as f64, "Count"));
        out.push(datum("Errors", sums.errors as f64, "Count"));
        out.push(datum("Throttles", sums.throttles as f64, "Count"));
        out.extend(
            sums.durations_ms
                .iter()
                .map(|ms| datum("Duration", *ms, "Milliseconds")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(function: &str, unix_ms: u64, outcome: Outcome) -> Sample {
        Sample {
            function: function.into(),
            unix_ms,
            outcome,
            duration_us: 1500,
        }
    }

    fn point(d: &Datum) -> (String, String, i64, f64) {
        (
            d.dimensions[0].1.clone(),
            d.metric.clone(),
            d.unix_s,
            d.value,
        )
    }

    #[test]
    fn sums_per_function_and_minute_with_throttles_apart() {
        let m = 1_796_292_000_000; // a whole minute
        let samples = [
            sample("f", m + 1, Outcome::Ok),
            sample("f", m + 59_999, Outcome::Error),
            sample("f", m + 60_000, Outcome::Ok),
            sample("f", m + 70_000, Outcome::Throttled),
            sample("g", m + 5, Outcome::Ok),
        ];
        let points: Vec<_> = data(&samples).iter().map(point).collect();
        let s = (m / 1000) as i64;
        let p = |f: &str, metric: &str, t: i64, v: f64| (f.to_string(), metric.to_string(), t, v);
        assert_eq!(
            points,
            [
                p("f", "Invocations", s, 2.0),
                p("f", "Errors", s, 1.0),
                p("f", "Throttles", s, 0.0),
                p("f", "Duration", s, 1.5),
                p("f", "Duration", s, 1.5),
                p("f", "Invocations", s + 60, 1.0),
                p("f", "Errors", s + 60, 0.0),
                p("f", "Throttles", s + 60, 1.0),
                p("f", "Duration", s + 60, 1.5),
                p("g", "Invocations", s, 1.0),
                p("g", "Errors", s, 0.0),
                p("g", "Throttles", s, 0.0),
                p("g", "Duration", s, 1.5),
            ]
        );
        let units: Vec<_> = data(&samples[..1]).iter().map(|d| d.unit).collect();
        assert_eq!(units, ["Count", "Count", "Count", "Milliseconds"]);
        assert!(data(&[]).is_empty());
    }
}
