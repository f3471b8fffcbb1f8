//! `[thresholds]`: k6-style expressions over the report, `NAME OP NUMBER` ([`expr`]) on a metric of the
//! namespace ([`metrics`], read off the report by [`lookup`]). The plan resolves them once ([`resolve`]: a bad
//! expression, an unknown name or a name the plan's transports and classes can never produce is a scenario
//! error naming `thresholds.checks[i]`); after the run each becomes a verdict row named `threshold: <expr>`
//! ([`verdicts`]: pass, fail, or inconclusive when the run has no data for it); `abort_on_fail` ones are also
//! judged while the run goes ([`live`]) and stop it through the `[abort]` monitor.

pub mod closest;
pub mod expr;
pub mod live;
pub mod lookup;
pub mod metrics;

use std::borrow::Cow;

use serde_json::Value;

use crate::invariant::{Status, Verdict, verdict};
use crate::safety::abort::AbortedBy;
use crate::scenario::file::Check;
use expr::Expr;
use metrics::{FAMILIES, Metric, Scope};

/// A checked threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub expr: Expr,
    pub metric: Metric,
    pub abort_on_fail: bool,
}

impl Threshold {
    /// The verdict row's (and JUnit testcase's) stable name.
    pub fn name(&self) -> String {
        format!("threshold: {}", self.expr)
    }
}

/// Checks every `[thresholds]` expression against the namespace and the plan's `scope`; `live_witness`: the
/// invocations are seen while the run goes (`abort_on_fail` on `invocations.*` needs it). `Err`: the field
/// (`thresholds.checks[i]`) and the problem.
pub fn resolve(
    checks: &[Check],
    scope: &Scope,
    live_witness: bool,
) -> Result<Vec<Threshold>, (String, String)> {
    let mut out: Vec<Threshold> = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        let field = format!("thresholds.checks[{i}]");
        let e = expr::parse(&c.expr).map_err(|p| (field.clone(), p))?;
        let metric =
            metrics::parse(&e.name).ok_or_else(|| (field.clone(), unknown(&e.name, scope)))?;
        if let Some(why) = scope.excludes(&metric) {
            return Err((field, format!("{}: {why}, so it can have no data", e.name)));
        }
        if c.abort_on_fail
            && let Err(why) = live::judgeable(&metric, live_witness)
        {
            return Err((
                format!("{field}.abort_on_fail"),
                format!("{}: {why}", e.name),
            ));
        }
        let t = Threshold {
            expr: e,
            metric,
            abort_on_fail: c.abort_on_fail,
        };
        if let Some(j) = out
            .iter()
            .position(|o| o.expr.to_string() == t.expr.to_string())
        {
            return Err((
                field,
                format!("the same threshold as thresholds.checks[{j}]"),
            ));
        }
        out.push(t);
    }
    Ok(out)
}

/// An unknown name's message: the nearest names the plan can produce, then every family.
fn unknown(name: &str, scope: &Scope) -> String {
    let near = closest::closest(name, &scope.names(), 5);
    let near = if near.is_empty() {
        String::new()
    } else {
        format!(" Did you mean: {}?", near.join(", "))
    };
    let transports: Vec<&str> = scope.transports.iter().map(|t| t.as_str()).collect();
    format!(
        "unknown metric {name:?}.{near} The metric names are: {}; <transport> one of {} (in use), <class> \
         valid, forged or replayed, <outcome> one of {}, <phase> one of {}",
        FAMILIES.join("; "),
        transports.join(", "),
        crate::metrics::Outcome::ALL.map(|o| o.as_str()).join(", "),
        crate::metrics::Phase::ALL
            .map(metrics::phase_name)
            .join(", "),
    )
}

/// One verdict per threshold, judged on the report's JSON form; `aborted`: the guard that stopped the run (a
/// threshold's own `abort_on_fail` fails it whatever the value at the end).
pub fn verdicts(
    thresholds: &[Threshold],
    report: &Value,
    aborted: Option<&AbortedBy>,
) -> Vec<Verdict> {
    thresholds
        .iter()
        .map(|t| {
            let name = t.name();
            let wanted = format!("wanted {} {}", t.expr.op.as_str(), number(t.expr.value));
            let mut v = match lookup::value(report, &t.metric) {
                Ok(x) if t.expr.op.holds(x, t.expr.value) => {
                    verdict("", Status::Pass, format!("observed {}, {wanted}", number(x)))
                }
                Ok(x) => verdict("", Status::Fail, format!("observed {}, {wanted}", number(x))),
                Err(why) => verdict("", Status::Inconclusive, format!("no data: {why}")),
            };
            if let Some(a) = aborted.filter(|a| a.guard == name) {
                v.status = Status::Fail;
                v.summary = format!(
                    "observed {} at {:.1} s, {wanted}: abort_on_fail stopped the run (at the end: {})",
                    number(a.observed),
                    a.at_s,
                    v.summary
                );
            }
            if v.status == Status::Fail {
                v.evidence.push(v.summary.clone());
            }
            v.name = Cow::Owned(name);
            v
        })
        .collect()
}

/// A value as a verdict shows it: whole numbers plainly, others to 4 decimals (or in scientific notation
/// when that would print 0).
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "0" || s == "-0" {
        format!("{x:.3e}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Class, Transport};
    use serde_json::json;

    fn check(expr: &str, abort_on_fail: bool) -> Check {
        Check {
            expr: expr.into(),
            abort_on_fail,
        }
    }

    fn https_valid() -> Scope {
        Scope {
            transports: vec![Transport::Https],
            classes: vec![Class::Valid],
        }
    }

    #[test]
    fn bad_expressions_name_the_field_and_the_metric_names() {
        let e = |c: Check| {
            resolve(&[check("errors.count < 5", false), c], &https_valid(), true).unwrap_err()
        };
        let (field, p) = e(check("https.valid.alowed.p99_ms < 50", false));
        assert_eq!(field, "thresholds.checks[1]");
        assert!(
            p.contains("Did you mean: https.valid.allowed.p99_ms"),
            "{p}"
        );
        assert!(p.contains("invocations.{total,valid,forged"), "{p}");
        assert!(p.contains("<transport> one of https (in use)"), "{p}");
        let (_, p) = e(check("errors.share <", false));
        assert!(p.contains("not a number"), "{p}");
        let (_, p) = e(check("mqtt_tls.valid.connect_connack.p99_ms < 100", false));
        assert!(p.contains("does not use the mqtt_tls transport"), "{p}");
        let (field, p) = e(check("https.valid.allowed.p99_ms < 50", true));
        assert_eq!(field, "thresholds.checks[1].abort_on_fail");
        assert!(p.contains("cannot be judged while the run goes"), "{p}");
        let (_, p) = e(check("errors.count<5", false));
        assert!(
            p.contains("the same threshold as thresholds.checks[0]"),
            "{p}"
        );
    }

    #[test]
    fn thresholds_judge_the_report_and_missing_data_is_inconclusive() {
        let ts = resolve(
            &[
                check("errors.count == 0", false),
                check("throughput.attempts_per_s >= 450", false),
                check("invocations.forged == 0", false),
            ],
            &https_valid(),
            true,
        )
        .unwrap();
        let r = json!({"errors": [], "throughput": {"attempts_ended": 10, "attempts_per_s": 12.5},
                       "invocations": null});
        let v = verdicts(&ts, &r, None);
        assert_eq!(v[0].name, "threshold: errors.count == 0");
        assert_eq!(
            (v[0].status, v[0].summary.as_str()),
            (Status::Pass, "observed 0, wanted == 0")
        );
        assert_eq!(v[1].status, Status::Fail);
        assert_eq!(v[1].evidence, ["observed 12.5, wanted >= 450"]);
        assert_eq!(v[2].status, Status::Inconclusive);
        assert!(
            v[2].summary.starts_with("no data: no ledger"),
            "{}",
            v[2].summary
        );
        // The threshold that stopped the run fails, whatever the value at the end.
        let a = AbortedBy {
            guard: "threshold: errors.count == 0".into(),
            observed: 3.0,
            limit: 0.0,
            at_s: 1.3,
            message: String::new(),
        };
        let v = verdicts(&ts, &r, Some(&a));
        assert_eq!(v[0].status, Status::Fail);
        assert!(
            v[0].summary
                .starts_with("observed 3 at 1.3 s, wanted == 0: abort_on_fail stopped"),
            "{}",
            v[0].summary
        );
    }

    #[test]
    fn numbers_print_short() {
        assert_eq!(number(50.0), "50");
        assert_eq!(number(0.012345), "0.0123");
        assert_eq!(number(0.00001), "1.000e-5");
        assert_eq!(number(4.5), "4.5");
    }
}
