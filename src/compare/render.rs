//! The [`Comparison`] as a terminal table (default), Markdown (`--md`, for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY`) or JSON (`--json`). Render only: every judgement is already in the lines.

use std::fmt::Write as _;

use super::{Comparison, Line, Mark, Unit};

/// The header row of both tables.
const HEADER: [&str; 6] = ["metric", "base", "current", "delta", "change", "mark"];

/// One line's cells, as both tables show them.
fn cells(l: &Line) -> [String; 6] {
    let show = |v: Option<f64>| v.map_or("-".into(), |v| value(v, l.unit));
    let delta = l.delta.map_or("".into(), |d| {
        let sign = if d > 0.0 { "+" } else { "" };
        format!("{sign}{}", value(d, l.unit))
    });
    let change = l.change_pct.map_or("".into(), |p| format!("{p:+.1}%"));
    [
        l.metric.clone(),
        show(l.base),
        show(l.current),
        delta,
        change,
        mark(l.mark).into(),
    ]
}

fn value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ms => format!("{v:.3}"),
        Unit::PerS => format!("{v:.1}"),
        Unit::Percent => format!("{v:.2}%"),
        Unit::Count => format!("{v:.0}"),
        Unit::Usd => format!("{v:.4}"),
    }
}

fn mark(m: Mark) -> &'static str {
    match m {
        Mark::Ok => "ok",
        Mark::Improved => "improved",
        Mark::Regressed => "REGRESSED",
        Mark::Added => "added",
        Mark::Removed => "removed",
        Mark::Info => "",
    }
}

fn result(c: &Comparison) -> String {
    let tolerance: Vec<String> = c
        .tolerance
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{} ({} regression{} beyond tolerance {})",
        c.verdict.to_uppercase(),
        c.regressions,
        if c.regressions == 1 { "" } else { "s" },
        tolerance.join(",")
    )
}

/// Aligned columns (ms for latencies from the intended start), then the result line.
pub fn terminal(c: &Comparison) -> String {
    let rows: Vec<[String; 6]> = c.lines.iter().map(cells).collect();
    let mut widths = HEADER.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = format!("compare: base {} · current {}\n\n", c.base, c.current);
    let header = HEADER.map(String::from);
    for r in std::iter::once(&header).chain(&rows) {
        let mut text = format!("{:<w$}", r[0], w = widths[0]);
        for (cell, w) in r.iter().zip(widths).skip(1) {
            let _ = write!(text, "  {cell:>w$}");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    let _ = writeln!(out, "\nresult: {}", result(c));
    out
}

/// A GitHub-flavoured Markdown table.
pub fn markdown(c: &Comparison) -> String {
    let mut out = format!(
        "## tokenstorm compare\n\nbase `{}` · current `{}`\n\n",
        c.base, c.current
    );
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
    for l in &c.lines {
        let [metric, rest @ ..] = cells(l);
        let mark = if l.mark == Mark::Regressed {
            "**REGRESSED**".to_string()
        } else {
            rest[4].clone()
        };
        let _ = writeln!(
            out,
            "| `{metric}` | {} | {} | {} | {} | {mark} |",
            rest[0], rest[1], rest[2], rest[3]
        );
    }
    let _ = writeln!(out, "\n**{}**", result(c));
    out
}

/// The comparison as pretty JSON.
pub fn json(c: &Comparison) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(c)? + "\n")
}
