//! The terminal rendering of a [`Report`] (stdout): throughput, latency per class and outcome, invocations
//! by class, and the verdicts.

use std::fmt::Write as _;

use super::model::{Percentiles, Report};

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn label(class: &str, variant: &Option<String>) -> String {
    match variant {
        Some(v) => format!("{class}.{v}"),
        None => class.to_string(),
    }
}

/// Renders the report as text.
pub fn render(r: &Report, report_path: Option<&str>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} · scenario {} ({}) · seed {} · run {}",
        r.tool.name, r.tool.version, r.scenario.name, r.scenario.file, r.seed, r.run_id
    );
    let _ = writeln!(
        o,
        "target: {} {} (SNI {})",
        r.target.kind, r.target.url, r.target.endpoint_name
    );
    let t = &r.throughput;
    let _ = writeln!(
        o,
        "throughput: {} attempts in {:.1} s = {:.1}/s{}{}",
        t.attempts_ended,
        r.timing.elapsed_s,
        t.attempts_per_s,
        if t.missed > 0 {
            format!(
                " · {} scheduled attempts missed (generator behind)",
                t.missed
            )
        } else {
            String::new()
        },
        if r.interrupted { " · INTERRUPTED" } else { "" }
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "latency from the intended start, ms:");
    let _ = writeln!(
        o,
        "  {:<5} {:<26} {:<26} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "", "class", "outcome", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    for row in &r.results {
        let cols = match &row.latency_us {
            Some(Percentiles {
                p50,
                p90,
                p99,
                p999,
                max,
                ..
            }) => {
                format!(
                    "{:>8} {:>8} {:>8} {:>8} {:>8}",
                    ms(*p50),
                    ms(*p90),
                    ms(*p99),
                    ms(*p999),
                    ms(*max)
                )
            }
            None => format!("{:>8}", "(warm-up)"),
        };
        let _ = writeln!(
            o,
            "  {:<5} {:<26} {:<26} {:>8} {cols}",
            row.transport,
            label(&row.class, &row.variant),
            row.outcome,
            row.count
        );
    }
    let _ = writeln!(o);
    match &r.invocations {
        Some(inv) => {
            let _ = writeln!(
                o,
                "authorizer invocations (ledger {}): {} this run, {} foreign; {} entries joined, {} missed",
                inv.source, inv.this_run, inv.foreign, inv.total, inv.missed
            );
            for c in inv
                .by_class
                .iter()
                .filter(|c| c.attempts > 0 || c.invocations > 0)
            {
                let _ = writeln!(
                    o,
                    "  {:<26} {:>8} attempts {:>8} invocations ({} allowed, {} denied)",
                    label(&c.class, &c.variant),
                    c.attempts,
                    c.invocations,
                    c.allowed,
                    c.denied
                );
            }
        }
        None => {
            let _ = writeln!(o, "authorizer invocations: no ledger available");
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "verdicts:");
    for v in &r.invariants {
        let _ = writeln!(
            o,
            "  {:<7} {:<22} {}",
            v.status.as_str().to_uppercase(),
            v.name,
            v.summary
        );
        for e in v.evidence.iter().take(5) {
            let _ = writeln!(o, "          {:<22} · {e}", "");
        }
    }
    let _ = writeln!(
        o,
        "result: {} (exit {}){}",
        r.verdict.to_uppercase(),
        r.exit_code,
        report_path
            .map(|p| format!(" · report {p}"))
            .unwrap_or_default()
    );
    o
}
