//! `summary.md`: the run in GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY` (which takes at most 1 MiB per
//! step): the overall verdict, throughput and cost, the verdicts as a table, then p50/p99 latency per
//! (transport, class, outcome). Table rows stop, with a note pointing at report.json, before the file would pass
//! [`LIMIT`].

use std::fmt::Write as _;

use super::view::View;

/// GitHub's per-step summary limit.
pub const LIMIT: usize = 1024 * 1024;
/// Room kept for the note and the tail of the document.
const RESERVE: usize = 4096;

/// The whole document.
pub fn render(v: &View) -> String {
    render_within(v, LIMIT)
}

/// As [`render`], with the size limit as a parameter (tests use a small one).
pub fn render_within(v: &View, limit: usize) -> String {
    let budget = limit.saturating_sub(RESERVE);
    let mut out = String::new();
    let mark = if v.interrupted {
        format!(
            " · INTERRUPTED ({})",
            v.stopped_by.as_deref().unwrap_or("stopped")
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "## tokenstorm: {} — {}{mark}\n",
        cell(&v.scenario.name),
        v.verdict.to_uppercase()
    );
    let t = &v.throughput;
    let _ = writeln!(
        out,
        "Started {} · {:.1} s · {} attempts started, {} ended ({:.1}/s), {} missed · exit {}\n",
        v.started_at,
        v.timing.elapsed_s,
        t.attempts_started,
        t.attempts_ended,
        t.attempts_per_s,
        t.missed,
        v.exit_code
    );
    if let Some(c) = &v.cost {
        let day = c
            .total
            .per_24h_usd
            .map(|d| format!(" ({d:.4} per 24 h at this rate)"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Cost on AWS: {:.6} {}{day}\n",
            c.total.total_usd, c.currency
        );
    }
    out.push_str("### Verdicts\n\n| Invariant | Status | Summary |\n|---|---|---|\n");
    let rows = v.invariants.iter().map(|i| {
        format!(
            "| `{}` | {} | {} |\n",
            cell(&i.name),
            i.status.to_uppercase(),
            cell(&i.summary)
        )
    });
    table(&mut out, rows, budget);
    out.push_str("\n### Latency (from intended start, ms)\n\n| Transport | Class | Outcome | Count | p50 | p99 |\n|---|---|---|---:|---:|---:|\n");
    let rows = v.results.iter().filter_map(|r| {
        let p = r.latency_us.as_ref()?;
        let class = match &r.variant {
            Some(var) => format!("{}/{}", r.class, var),
            None => r.class.clone(),
        };
        Some(format!(
            "| {} | {} | {} | {} | {:.2} | {:.2} |\n",
            cell(&r.transport),
            cell(&class),
            cell(&r.outcome),
            r.count,
            p.p50 as f64 / 1000.0,
            p.p99 as f64 / 1000.0
        ))
    });
    table(&mut out, rows, budget);
    out.push_str("\nFull report: `report.json` in the run folder.\n");
    out
}

/// Appends rows while the document stays within `budget`, then a note saying how many were left out.
fn table(out: &mut String, rows: impl Iterator<Item = String>, budget: usize) {
    let mut left = 0usize;
    for row in rows {
        if left > 0 || out.len() + row.len() > budget {
            left += 1;
        } else {
            out.push_str(&row);
        }
    }
    if left > 0 {
        let _ = writeln!(
            out,
            "\n_{left} more rows left out to keep this summary under 1 MiB; see report.json._"
        );
    }
}

/// A table cell: pipes escaped, line breaks flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::view::Verdict;

    fn verdicts(n: usize) -> Vec<Verdict> {
        (0..n)
            .map(|i| Verdict {
                name: format!("rule_{i}"),
                status: "fail".into(),
                summary: "a | b\nc".into(),
                evidence: vec![],
            })
            .collect()
    }

    #[test]
    fn verdicts_are_a_table_with_escaped_cells() {
        let md = render(&crate::report::view::sample(verdicts(1), true));
        assert!(md.contains("| `rule_0` | FAIL | a \\| b c |"), "{md}");
        assert!(md.contains("INTERRUPTED (signal)"));
    }

    #[test]
    fn rows_past_the_limit_are_left_out_with_a_note() {
        let v = crate::report::view::sample(verdicts(500), false);
        let md = render_within(&v, 8192);
        assert!(md.len() <= 8192, "{}", md.len());
        assert!(md.contains("more rows left out"), "{md}");
        assert!(render(&v).contains("rule_499"));
    }
}
