//! The terminal's short form: forged variants (47 of them) fold into one row per (transport, outcome) in the
//! latency table, and into one row in the invocations table, saying how many variants each holds; `run -v`
//! shows every row, and report.json always has them all. Counts, the mean, the minimum and the maximum of a
//! folded row are exact; its percentiles are the slowest variant's (percentiles do not add up). Forged variants
//! that pass the gate (`†`, in effect valid credentials) and a group of one keep their own rows.

use super::model::{ClassInvocationRow, Percentiles, ResultRow};

/// A row as the terminal shows it: its label and figures.
#[derive(Debug, Clone)]
pub struct Shown<R> {
    pub label: String,
    pub row: R,
    /// Variants folded into it (0: a row of its own).
    pub folded: usize,
}

fn label(class: &str, variant: &Option<String>, passes_gate: bool) -> String {
    let l = match variant {
        Some(v) => format!("{class}.{v}"),
        None => class.to_string(),
    };
    if passes_gate { format!("{l} †") } else { l }
}

fn folded_label(n: usize) -> String {
    format!("forged ({n} variants)")
}

/// Rows folded into the first of their key; `key` is `None` for a row that stays on its own.
fn fold<R: Clone>(
    rows: &[R],
    all: bool,
    own_label: impl Fn(&R) -> String,
    key: impl Fn(&R) -> Option<String>,
    merge: impl Fn(&mut R, &R),
) -> Vec<Shown<R>> {
    let mut out: Vec<(Option<String>, Shown<R>)> = Vec::new();
    for r in rows {
        let k = if all { None } else { key(r) };
        if let Some(k) = &k
            && let Some((_, s)) = out.iter_mut().find(|(kk, _)| kk.as_ref() == Some(k))
        {
            merge(&mut s.row, r);
            s.folded = s.folded.max(1) + 1;
            s.label = folded_label(s.folded);
            continue;
        }
        let shown = Shown {
            label: own_label(r),
            row: r.clone(),
            folded: 0,
        };
        out.push((k, shown));
    }
    out.into_iter().map(|(_, s)| s).collect()
}

/// The latency table's rows.
pub fn results(rows: &[ResultRow], all: bool) -> Vec<Shown<ResultRow>> {
    fold(
        rows,
        all,
        |r| label(&r.class, &r.variant, r.passes_gate),
        |r| {
            (r.class == "forged" && !r.passes_gate)
                .then(|| format!("{} {}", r.transport, r.outcome))
        },
        |into, r| {
            into.count += r.count;
            into.latency_us = slowest(&into.latency_us, &r.latency_us);
            into.service_us = slowest(&into.service_us, &r.service_us);
        },
    )
}

/// The invocations table's rows (those with attempts or invocations).
pub fn invocations(rows: &[ClassInvocationRow], all: bool) -> Vec<Shown<ClassInvocationRow>> {
    let seen: Vec<ClassInvocationRow> = rows
        .iter()
        .filter(|c| c.attempts > 0 || c.invocations > 0)
        .cloned()
        .collect();
    fold(
        &seen,
        all,
        |c| label(&c.class, &c.variant, c.passes_gate),
        |c| (c.class == "forged" && !c.passes_gate).then(|| "forged".to_string()),
        |into, c| {
            into.attempts += c.attempts;
            into.invocations += c.invocations;
            into.allowed += c.allowed;
            into.denied += c.denied;
        },
    )
}

/// Two rows' percentiles together: count, min, mean and max exact, each percentile the larger of the two.
fn slowest(a: &Option<Percentiles>, b: &Option<Percentiles>) -> Option<Percentiles> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let count = a.count + b.count;
            let mean = (a.mean * a.count as f64 + b.mean * b.count as f64) / count.max(1) as f64;
            Some(Percentiles {
                count,
                min: a.min.min(b.min),
                mean: (mean * 10.0).round() / 10.0,
                p50: a.p50.max(b.p50),
                p90: a.p90.max(b.p90),
                p99: a.p99.max(b.p99),
                p999: a.p999.max(b.p999),
                max: a.max.max(b.max),
            })
        }
        (Some(p), None) | (None, Some(p)) => Some(p.clone()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(class: &str, variant: Option<&str>, outcome: &str, count: u64, p99: u64) -> ResultRow {
        ResultRow {
            transport: "https".into(),
            class: class.into(),
            variant: variant.map(str::to_string),
            outcome: outcome.into(),
            count,
            latency_us: Some(Percentiles {
                count,
                min: p99 / 2,
                mean: p99 as f64 / 2.0,
                p50: p99 / 2,
                p90: p99,
                p99,
                p999: p99,
                max: p99,
            }),
            service_us: None,
            passes_gate: false,
        }
    }

    #[test]
    fn forged_variants_fold_per_transport_and_outcome_unless_all_rows_are_asked_for() {
        let mut raw_plus = row("forged", Some("raw_plus"), "allowed", 4, 10);
        raw_plus.passes_gate = true;
        let rows = vec![
            row("valid", None, "allowed", 100, 5),
            row("forged", Some("bit_flip"), "forbidden", 3, 20),
            raw_plus,
            row("forged", Some("sha1"), "forbidden", 2, 40),
            row("forged", Some("pss"), "forbidden", 1, 30),
            row("forged", Some("empty"), "timeout", 1, 90),
        ];
        let shown = results(&rows, false);
        let labels: Vec<(&str, u64, usize)> = shown
            .iter()
            .map(|s| (s.label.as_str(), s.row.count, s.folded))
            .collect();
        assert_eq!(
            labels,
            [
                ("valid", 100, 0),
                ("forged (3 variants)", 6, 3),
                ("forged.raw_plus †", 4, 0),
                ("forged.empty", 1, 0),
            ]
        );
        let p = shown[1].row.latency_us.as_ref().unwrap();
        assert_eq!((p.count, p.p99, p.max, p.min), (6, 40, 40, 10));
        assert_eq!(results(&rows, true).len(), rows.len());
    }
}
