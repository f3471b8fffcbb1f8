//! What the CloudWatch witnesses found, as the report keeps it (`report.aws`) and the invariants read it: the
//! account coordinates, the window, and per witness its status, every read, the bounds it was judged against
//! and (metrics) the throttles and the `AWS/IoT` figures.

use serde::{Deserialize, Serialize};

use super::{Expected, Read, Settled, Window, WitnessStatus};
use crate::scenario::AwsTarget;

/// `report.aws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// The region CloudWatch was read in.
    pub region: String,
    /// As configured: name, `name:alias` (ARNs are read down to these).
    pub function: String,
    pub log_group: String,
    pub window: Window,
    /// The witness helper's lines (`witness = "logs"` or `"both"`).
    pub logs: Option<WitnessRecord>,
    /// `AWS/Lambda` `Invocations` (`witness = "metrics"` or `"both"`).
    pub metrics: Option<MetricsRecord>,
    /// A shard of several (`run --shard I/N`, N > 1) does not read `Invocations`: it counts every shard's
    /// invocations at once, so `tokenstorm merge` reads it once over all the shards' window instead.
    #[serde(default)]
    pub metrics_deferred: bool,
}

/// One witness's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessRecord {
    pub status: WitnessStatus,
    /// The settled count; when pending, the last read's (`null` when no read succeeded).
    pub observed: Option<u64>,
    /// The invocations the run can explain.
    pub expected: Expected,
    /// Every successful read, in order.
    pub reads: Vec<Read>,
    /// From the end of the load to the settled read (or to giving up), ms.
    pub waited_ms: u64,
    /// The last failed read's error.
    pub error: Option<String>,
    /// Why it never settled.
    pub gave_up: Option<String>,
}

/// The metrics witness: the count, and what else CloudWatch said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    #[serde(flatten)]
    pub count: WitnessRecord,
    /// The dimensions `Invocations` and `Throttles` were read by.
    pub dimensions: Vec<Dimension>,
    /// `AWS/Lambda` `Throttles` over the window (the last read); above 0 the count is inconclusive.
    pub throttles: Option<u64>,
    /// `AWS/IoT` figures over the window, for the report only.
    pub iot: Vec<IotFigure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// One `AWS/IoT` metric's sum over the window (`null`: no data points).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IotFigure {
    pub metric: String,
    pub protocol: String,
    pub sum: Option<f64>,
}

impl WitnessRecord {
    pub fn new(s: &Settled, expected: Expected) -> Self {
        Self {
            status: s.status(&expected),
            observed: s.value.or_else(|| s.reads.last().map(|r| r.value)),
            expected,
            reads: s.reads.clone(),
            waited_ms: s.waited_ms,
            error: s.error.clone(),
            gave_up: s.gave_up.clone(),
        }
    }

    /// Settled, and at least what the answers prove: every invocation the witness should hold is there.
    pub fn complete(&self) -> bool {
        self.status != WitnessStatus::Pending && self.observed.unwrap_or(0) >= self.expected.min
    }

    /// Why it is pending: what gave up, and the last error.
    pub fn why_pending(&self) -> String {
        let gave_up = self.gave_up.as_deref().unwrap_or("never settled");
        match &self.error {
            Some(e) => format!("{gave_up}; last error: {e}"),
            None => gave_up.to_string(),
        }
    }

    /// `reconciled (57, 2 reads)` and the like, for the terminal.
    fn brief(&self, unit: &str) -> String {
        let reads = match self.reads.len() {
            1 => "1 read".to_string(),
            n => format!("{n} reads"),
        };
        let e = self.expected;
        match (self.status, self.observed) {
            (WitnessStatus::Pending, _) => {
                format!(
                    "pending after {} s ({})",
                    self.waited_ms / 1000,
                    self.why_pending()
                )
            }
            (s, Some(n)) => format!(
                "{} ({n} {unit} {} [{}, {}], {reads})",
                s.as_str(),
                if s == WitnessStatus::Reconciled {
                    "within"
                } else {
                    "outside"
                },
                e.min,
                e.max
            ),
            (s, None) => s.as_str().to_string(),
        }
    }
}

impl MetricsRecord {
    /// The record of a count that was never read (`why`: the error), judged pending against `expected`.
    pub fn unread(target: &AwsTarget, expected: Expected, why: String, gave_up: &str) -> Self {
        let s = Settled {
            error: Some(why),
            gave_up: Some(gave_up.to_string()),
            ..Settled::default()
        };
        Self {
            count: WitnessRecord::new(&s, expected),
            dimensions: Dimension::of(target),
            throttles: None,
            iot: Vec::new(),
        }
    }

    /// `cloudwatch-metrics reconciled (… invocations within [min, max], 2 reads), 3 throttled`.
    pub fn brief(&self) -> String {
        let mut s = format!("cloudwatch-metrics {}", self.count.brief("invocations"));
        if let Some(t) = self.throttles.filter(|&t| t > 0) {
            s.push_str(&format!(", {t} throttled"));
        }
        s
    }
}

impl Dimension {
    /// The dimensions `target`'s function's metrics are read by.
    pub fn of(target: &AwsTarget) -> Vec<Self> {
        target
            .function
            .dimensions()
            .into_iter()
            .map(|(name, value)| Self { name, value })
            .collect()
    }
}

impl Reconciliation {
    /// The record of a run judged through `target`'s CloudWatch.
    pub fn new(target: &AwsTarget, window: Window) -> Self {
        Self {
            region: target.region.clone(),
            function: target.function.label(),
            log_group: target.log_group.clone(),
            window,
            logs: None,
            metrics: None,
            metrics_deferred: false,
        }
    }

    /// `witness: cloudwatch-logs reconciled (… lines within [min, max], 2 reads) · metrics …` for the terminal.
    pub fn terminal_line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(l) = &self.logs {
            parts.push(format!("cloudwatch-logs {}", l.brief("lines")));
        }
        if let Some(m) = &self.metrics {
            parts.push(m.brief());
        }
        if self.metrics_deferred {
            parts.push("cloudwatch-metrics left to `tokenstorm merge` (it counts every shard's invocations)".into());
        }
        format!("witness: {}", parts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settled(reads: &[u64], value: Option<u64>) -> Settled {
        Settled {
            reads: reads
                .iter()
                .enumerate()
                .map(|(i, &v)| Read {
                    at_unix_ms: i as u64 * 1000,
                    value: v,
                })
                .collect(),
            value,
            waited_ms: 2_000,
            ..Settled::default()
        }
    }

    #[test]
    fn the_terminal_line_gives_each_witness_s_status_and_numbers() {
        let e = Expected { min: 40, max: 60 };
        let mut r = Reconciliation {
            region: "eu-west-1".into(),
            function: "Auth".into(),
            log_group: "/aws/lambda/Auth".into(),
            window: Window {
                start_unix_s: 0,
                end_unix_s: 120,
            },
            logs: Some(WitnessRecord::new(&settled(&[50, 50], Some(50)), e)),
            metrics: None,
            metrics_deferred: false,
        };
        assert_eq!(
            r.terminal_line(),
            "witness: cloudwatch-logs reconciled (50 lines within [40, 60], 2 reads)"
        );
        let mut pending = settled(&[3], None);
        pending.gave_up = Some("3 reads in a row failed".into());
        pending.error = Some("connection refused".into());
        r.metrics = Some(MetricsRecord {
            count: WitnessRecord::new(&pending, e),
            dimensions: Vec::new(),
            throttles: Some(2),
            iot: Vec::new(),
        });
        assert_eq!(
            r.terminal_line(),
            "witness: cloudwatch-logs reconciled (50 lines within [40, 60], 2 reads) · cloudwatch-metrics pending after 2 s (3 reads in a row failed; last error: connection refused), 2 throttled"
        );
        let m = &r.metrics.as_ref().unwrap().count;
        assert_eq!((m.observed, m.complete()), (Some(3), false));
        let over = WitnessRecord::new(&settled(&[70, 70], Some(70)), e);
        assert_eq!(
            (over.status, over.complete()),
            (WitnessStatus::Mismatch, true)
        );
        assert!(!WitnessRecord::new(&settled(&[7, 7], Some(7)), e).complete());
    }
}
