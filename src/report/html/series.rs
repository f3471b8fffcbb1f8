//! The charts over time, from report.json's `timeseries`: attempts per second by outcome (all transports
//! together, with their total), the p99 latency per second by transport and outcome, and authorizer
//! invocations per second by class. A second without rows counts zero, so quiet seconds show as dips rather
//! than being skipped; a report without `timeseries` says so instead.

use super::model::Timeseries;
use super::page::para;
use super::svg::{Chart, Series, XAxis, line_chart};

/// The attempts/outcomes and p99 charts (the "attempts over time" section body).
pub fn attempts(ts: Option<&Timeseries>) -> String {
    let Some(ts) = ts.filter(|t| !t.attempts.is_empty()) else {
        return para("note", "No time series in this report.");
    };
    let n = ts
        .seconds
        .max(1 + ts.attempts.iter().map(|r| r.second).max().unwrap_or(0));
    let mut by_outcome = counts(
        n,
        ts.attempts
            .iter()
            .map(|r| (r.outcome.as_str(), r.second, r.count)),
    );
    let total: Vec<(f64, f64)> = (0..n)
        .map(|sec| {
            let sum: f64 = by_outcome.iter().map(|s| s.points[sec as usize].1).sum();
            (sec as f64, sum)
        })
        .collect();
    by_outcome.insert(
        0,
        Series {
            name: "all outcomes".into(),
            points: total,
        },
    );
    let x = XAxis::Seconds {
        end: n.saturating_sub(1) as f64,
    };
    let mut s = truncated_note(ts);
    s.push_str(&line_chart(&Chart {
        title: "attempts per second by outcome",
        x,
        y_label: "attempts/s",
        series: &by_outcome,
    }));
    let p99 = p99_lines(ts);
    if !p99.is_empty() {
        s.push_str(&line_chart(&Chart {
            title: "p99 latency per second by transport and outcome",
            x,
            y_label: "p99 latency (ms)",
            series: &p99,
        }));
    }
    s
}

/// The invocations chart (the "invocations over time" section body).
pub fn invocations(ts: Option<&Timeseries>) -> String {
    let Some(ts) = ts else {
        return para("note", "No time series in this report.");
    };
    if ts.invocations.is_empty() {
        return para(
            "note",
            "No invocation times in this report (no ledger or witness with timestamps).",
        );
    }
    let n = ts
        .seconds
        .max(1 + ts.invocations.iter().map(|r| r.second).max().unwrap_or(0));
    let series = counts(
        n,
        ts.invocations
            .iter()
            .map(|r| (r.class.as_str(), r.second, r.count)),
    );
    let mut s = truncated_note(ts);
    s.push_str(&line_chart(&Chart {
        title: "authorizer invocations per second by class",
        x: XAxis::Seconds {
            end: n.saturating_sub(1) as f64,
        },
        y_label: "invocations/s",
        series: &series,
    }));
    s
}

/// One series per name (first-seen order) with a point for every second in `0..n`, summing rows that share a
/// name and second.
fn counts<'a>(n: u64, rows: impl Iterator<Item = (&'a str, u64, u64)>) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for (name, second, count) in rows {
        let i = match out.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                out.push(Series {
                    name: name.to_string(),
                    points: (0..n).map(|sec| (sec as f64, 0.0)).collect(),
                });
                out.len() - 1
            }
        };
        if let Some(p) = out[i].points.get_mut(second as usize) {
            p.1 += count as f64;
        }
    }
    out
}

/// One line per (transport, outcome) through the seconds that had a p99.
fn p99_lines(ts: &Timeseries) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in &ts.attempts {
        let Some(us) = r.p99_us else { continue };
        let name = format!("{} {}", r.transport, r.outcome);
        let point = (r.second as f64, us as f64 / 1000.0);
        match out.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push(point),
            None => out.push(Series {
                name,
                points: vec![point],
            }),
        }
    }
    for s in &mut out {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

fn truncated_note(ts: &Timeseries) -> String {
    if ts.truncated {
        para(
            "note",
            &format!(
                "The time series stops after {} seconds (its bound); the run went on.",
                ts.seconds
            ),
        )
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::model::{AttemptSecond, InvocationSecond};

    fn ts() -> Timeseries {
        let a = |second, transport: &str, outcome: &str, count, p99_us| AttemptSecond {
            second,
            transport: transport.into(),
            outcome: outcome.into(),
            count,
            p99_us,
        };
        Timeseries {
            seconds: 3,
            attempts: vec![
                a(0, "https", "allowed", 5, Some(1500)),
                a(0, "mqtt_tls", "allowed", 2, None),
                a(2, "https", "forbidden", 1, Some(700)),
            ],
            invocations: vec![InvocationSecond {
                second: 1,
                class: "valid".into(),
                count: 4,
            }],
            truncated: false,
        }
    }

    #[test]
    fn quiet_seconds_count_zero_and_transports_sum() {
        let t = ts();
        let c = counts(
            3,
            t.attempts
                .iter()
                .map(|r| (r.outcome.as_str(), r.second, r.count)),
        );
        assert_eq!(c[0].name, "allowed");
        assert_eq!(c[0].points, [(0.0, 7.0), (1.0, 0.0), (2.0, 0.0)]);
        assert_eq!(c[1].points, [(0.0, 0.0), (1.0, 0.0), (2.0, 1.0)]);
        assert_eq!(p99_lines(&t).len(), 2);
    }

    #[test]
    fn charts_or_a_note() {
        let t = ts();
        assert_eq!(attempts(Some(&t)).matches("<figure").count(), 2);
        assert!(invocations(Some(&t)).contains("invocations per second"));
        assert!(attempts(None).contains("No time series in this report."));
        assert!(invocations(None).contains("No time series in this report."));
    }
}
