//! `tokenstorm compare`'s core: two saved runs ([`view::RunView`]) lined up metric by metric, each change judged
//! against the [`tolerance::Tolerance`] in the direction that hurts (latency, errors, cost and forged invocations
//! up; throughput down). Rows of one run only are `added` or `removed`, not regressions, unless the added row is a
//! failure in itself: a forged variant the gate must refuse that reached `allowed`. Pure: the command reads the
//! files and [`render`] formats the [`Comparison`].

pub mod render;
pub mod tolerance;
pub mod view;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::attempt::oracle;
use crate::contract::Forgery;
use crate::wire::settings::GateSettings;
use tolerance::Tolerance;
use view::{Percentiles, Row, RunView};

/// What a value is measured in (how it is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Ms,
    PerS,
    Percent,
    Count,
    Usd,
}

/// A line's judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Within tolerance.
    Ok,
    /// Better beyond tolerance.
    Improved,
    /// Worse beyond tolerance (or an added failure row): exit 1.
    Regressed,
    /// Only in the current run.
    Added,
    /// Only in the base run.
    Removed,
    /// Shown, not judged (counts, or a tolerance turned off).
    Info,
}

/// One metric side by side.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// e.g. `https.valid.allowed.p99_ms`, `throughput.attempts_per_s`.
    pub metric: String,
    pub unit: Unit,
    pub base: Option<f64>,
    pub current: Option<f64>,
    /// current − base, when both exist.
    pub delta: Option<f64>,
    /// The change relative to base in percent, when both exist and base is not 0.
    pub change_pct: Option<f64>,
    pub mark: Mark,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: String,
    pub current: String,
    pub tolerance: BTreeMap<&'static str, String>,
    pub lines: Vec<Line>,
    pub regressions: usize,
    /// `fail` with at least one regression, else `pass`.
    pub verdict: &'static str,
}

/// How a metric is judged.
#[derive(Clone, Copy)]
enum Rule {
    /// Worse when up (`up`) or down by more than `tol` percent of base and more than `floor` in absolute terms.
    Relative {
        tol: Option<f64>,
        floor: f64,
        up: bool,
    },
    /// Worse when up by more than `tol`.
    Absolute {
        tol: Option<f64>,
    },
    Info,
}

/// Lines up `current` against `base`; `base_name`/`current_name` label the runs (their folders).
pub fn compare(
    base: &RunView,
    current: &RunView,
    tol: &Tolerance,
    names: (&str, &str),
) -> Comparison {
    let mut lines = Vec::new();
    let pair = |b: f64, c: f64| (Some(b), Some(c));
    let throughput = Rule::Relative {
        tol: tol.throughput,
        floor: 0.0,
        up: false,
    };
    let (b, c) = pair(
        base.throughput.attempts_per_s,
        current.throughput.attempts_per_s,
    );
    lines.push(line(
        "throughput.attempts_per_s",
        Unit::PerS,
        b,
        c,
        throughput,
    ));
    let (b, c) = pair(100.0 * base.error_share(), 100.0 * current.error_share());
    lines.push(line(
        "errors.share",
        Unit::Percent,
        b,
        c,
        Rule::Absolute { tol: tol.errors },
    ));
    result_lines(base, current, tol, &mut lines);
    invocation_lines(base, current, tol, &mut lines);
    let cost = |r: &RunView| r.cost.as_ref().and_then(|c| c.total.per_24h_usd);
    let rule = Rule::Relative {
        tol: tol.cost,
        floor: 0.0,
        up: true,
    };
    lines.push(line(
        "cost.per_24h_usd",
        Unit::Usd,
        cost(base),
        cost(current),
        rule,
    ));
    let regressions = lines.iter().filter(|l| l.mark == Mark::Regressed).count();
    Comparison {
        base: names.0.into(),
        current: names.1.into(),
        tolerance: tol.entries().into_iter().collect(),
        lines,
        regressions,
        verdict: if regressions > 0 { "fail" } else { "pass" },
    }
}

/// The `results` rows by `transport.class[.variant].outcome`: count and latency percentiles from the intended
/// start; the base's order first, then rows only the current run has.
fn result_lines(base: &RunView, current: &RunView, tol: &Tolerance, lines: &mut Vec<Line>) {
    let cur: BTreeMap<String, &Row> = current.results.iter().map(|r| (r.key(), r)).collect();
    let old: BTreeMap<String, &Row> = base.results.iter().map(|r| (r.key(), r)).collect();
    for b in &base.results {
        let key = b.key();
        let Some(c) = cur.get(&key) else {
            lines.push(one_sided(&key, Some(b.count), None, Mark::Removed));
            continue;
        };
        lines.push(line(
            &format!("{key}.count"),
            Unit::Count,
            Some(b.count as f64),
            Some(c.count as f64),
            Rule::Info,
        ));
        if let (Some(bl), Some(cl)) = (b.latency_us, c.latency_us) {
            let judged = b.count.min(c.count) >= tol.min_count;
            for (name, bv, cv) in percentiles(&bl, &cl) {
                let rule = Rule::Relative {
                    tol: tol.latency(name).filter(|_| judged),
                    floor: tol.floor_us as f64 / 1000.0,
                    up: true,
                };
                let metric = format!("{key}.{name}_ms");
                lines.push(line(
                    &metric,
                    Unit::Ms,
                    Some(bv as f64 / 1000.0),
                    Some(cv as f64 / 1000.0),
                    rule,
                ));
            }
        }
    }
    for c in current
        .results
        .iter()
        .filter(|c| !old.contains_key(&c.key()))
    {
        let failure = c.outcome == "allowed"
            && refused_forgery(&c.class, c.variant.as_deref(), &current.target.gate);
        let mark = if failure {
            Mark::Regressed
        } else {
            Mark::Added
        };
        lines.push(one_sided(&c.key(), None, Some(c.count), mark));
    }
}

fn percentiles(b: &Percentiles, c: &Percentiles) -> [(&'static str, u64, u64); 4] {
    [
        ("p50", b.p50, c.p50),
        ("p99", b.p99, c.p99),
        ("p999", b.p999, c.p999),
        ("max", b.max, c.max),
    ]
}

/// Authorizer invocations by class kind (shown), and those of forged variants the gate must refuse (judged by
/// `forged`). Without a ledger on a side, that side is empty.
fn invocation_lines(base: &RunView, current: &RunView, tol: &Tolerance, lines: &mut Vec<Line>) {
    let sum = |r: &RunView, keep: &dyn Fn(&view::ClassInvocations) -> bool| {
        r.invocations.as_ref().map(|i| {
            i.by_class
                .iter()
                .filter(|c| keep(c))
                .map(|c| c.invocations)
                .sum::<u64>() as f64
        })
    };
    for kind in ["valid", "replayed", "forged"] {
        let of_kind = |c: &view::ClassInvocations| c.class == kind;
        let (b, c) = (sum(base, &of_kind), sum(current, &of_kind));
        lines.push(line(
            &format!("invocations.{kind}"),
            Unit::Count,
            b,
            c,
            Rule::Info,
        ));
    }
    let refused = |r: &RunView| {
        let gate = &r.target.gate;
        sum(r, &|c| {
            refused_forgery(&c.class, c.variant.as_deref(), gate)
        })
    };
    let rule = Rule::Absolute { tol: tol.forged };
    lines.push(line(
        "invocations.forged_refused",
        Unit::Count,
        refused(base),
        refused(current),
        rule,
    ));
}

/// A forged variant the gate must refuse under `gate` (an unknown variant name counts as refused).
fn refused_forgery(class: &str, variant: Option<&str>, gate: &GateSettings) -> bool {
    class == "forged"
        && variant
            .and_then(Forgery::from_name)
            .is_none_or(|f| oracle::entry(f).refused_under(gate))
}

fn one_sided(key: &str, base: Option<u64>, current: Option<u64>, mark: Mark) -> Line {
    Line {
        metric: format!("{key}.count"),
        unit: Unit::Count,
        base: base.map(|n| n as f64),
        current: current.map(|n| n as f64),
        delta: None,
        change_pct: None,
        mark,
    }
}

fn line(metric: &str, unit: Unit, base: Option<f64>, current: Option<f64>, rule: Rule) -> Line {
    let delta = base.zip(current).map(|(b, c)| c - b);
    let change_pct = base
        .zip(current)
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, c)| 100.0 * (c - b) / b);
    let mark = match (base, current) {
        (Some(b), Some(c)) => judge(b, c, rule),
        _ => Mark::Info,
    };
    Line {
        metric: metric.into(),
        unit,
        base,
        current,
        delta,
        change_pct,
        mark,
    }
}

fn judge(b: f64, c: f64, rule: Rule) -> Mark {
    match rule {
        Rule::Info | Rule::Relative { tol: None, .. } | Rule::Absolute { tol: None } => Mark::Info,
        Rule::Absolute { tol: Some(t) } if c - b > t => Mark::Regressed,
        Rule::Absolute { tol: Some(t) } if b - c > t => Mark::Improved,
        Rule::Absolute { .. } => Mark::Ok,
        Rule::Relative {
            tol: Some(t),
            floor,
            up,
        } => {
            let worse = if up { c - b } else { b - c };
            let beyond = |amount: f64| amount > floor && (b == 0.0 || 100.0 * amount / b > t);
            if worse > 0.0 && beyond(worse) {
                Mark::Regressed
            } else if worse < 0.0 && beyond(-worse) {
                Mark::Improved
            } else {
                Mark::Ok
            }
        }
    }
}

#[cfg(test)]
mod tests;
