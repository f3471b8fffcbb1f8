//! The terminal rendering of a [`Report`] (stdout): throughput, latency per class and outcome, invocations
//! by class, and the verdicts. It only formats: what it marks (`†`, the variants that pass the gate) is in the
//! rows when the report is built.

use std::fmt::Write as _;

use super::model::{Percentiles, Report};
use crate::shutdown::StoppedBy;

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// Renders the report as text; `all_rows` (`run -v`): every forged variant on its own row instead of folded
/// ([`super::terminal_fold`]).
pub fn render(r: &Report, report_path: Option<&str>, all_rows: bool) -> String {
    let mut o = String::new();
    header(&mut o, r);
    let _ = writeln!(o);
    latency_table(&mut o, r, all_rows);
    errors_block(&mut o, r);
    refused_valid(&mut o, r);
    let _ = writeln!(o);
    transport_table(&mut o, r);
    super::terminal_sessions::render(&mut o, r, usd);
    phase_table(&mut o, r);
    invocations(&mut o, r, all_rows);
    if let Some(a) = &r.aws {
        let _ = writeln!(o, "{}", a.terminal_line());
    }
    if let Some(c) = &r.cost {
        cost_table(&mut o, c);
    }
    let _ = writeln!(o);
    verdicts(&mut o, r, report_path);
    o
}

/// Run, target and throughput lines.
fn header(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "{} {} · scenario {} ({}) · seed {} · run {}{}",
        r.tool.name,
        r.tool.version,
        r.scenario.name,
        r.scenario.file,
        r.seed,
        r.run_id,
        r.shard.map_or(String::new(), |s| format!(
            " · shard {s} of {}",
            r.plan_hash
        ))
    );
    let _ = writeln!(
        o,
        "target: {} {} (SNI {}){}",
        r.target.kind,
        r.target.urls.join(" "),
        r.target.endpoint_name,
        if r.target.gate == Default::default() {
            String::new()
        } else {
            format!(" · gate {}", r.target.gate.describe())
        }
    );
    let t = &r.throughput;
    let backed_off: u64 = r.transports.iter().map(|t| t.backed_off).sum();
    let _ = writeln!(
        o,
        "throughput: {} attempts in {:.1} s = {:.1}/s{}{}{}",
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
        if backed_off > 0 {
            format!(" · {backed_off} held back by the backoff after throttling")
        } else {
            String::new()
        },
        if r.interrupted { " · INTERRUPTED" } else { "" }
    );
}

/// One row per (transport, class, outcome), forged variants folded unless `all_rows`, then the notes on `†` and
/// on the folding when a row calls for them. Rows are marked `†` when they are a forged variant that passes the
/// gate under the run's gate settings (in effect a valid credential: allowed and invoked like one).
fn latency_table(o: &mut String, r: &Report, all_rows: bool) {
    let _ = writeln!(o, "latency from the intended start, ms:");
    let _ = writeln!(
        o,
        "  {:<8} {:<34} {:<26} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "", "class", "outcome", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    let shown = super::terminal_fold::results(&r.results, all_rows);
    for s in &shown {
        let row = &s.row;
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
            "  {:<8} {:<34} {:<26} {:>8} {cols}",
            row.transport,
            s.label,
            outcome_cell(r, row),
            row.count
        );
    }
    if r.results.iter().any(|row| row.passes_gate) {
        let _ = writeln!(
            o,
            "  † passes the gate under {} (in effect a valid credential; `tokenstorm catalogue`)",
            r.target.gate.describe()
        );
    }
    if shown.iter().any(|s| s.folded > 0) {
        let _ = writeln!(
            o,
            "  forged variants folded per transport and outcome (percentiles: the slowest variant's); -v shows each, report.json has them all"
        );
    }
}

/// The outcome, with the error kinds seen over the row's transport for `transport_error`
/// (`transport_error (tls)`).
fn outcome_cell(r: &Report, row: &super::model::ResultRow) -> String {
    if row.outcome != "transport_error" {
        return row.outcome.clone();
    }
    let kinds = super::errors::transport_error_kinds(&r.errors, &row.transport);
    if kinds.is_empty() {
        row.outcome.clone()
    } else {
        format!("{} ({})", row.outcome, kinds.join(", "))
    }
}

/// Why attempts went unanswered: kind, count, transports and the first message; nothing on a clean run.
fn errors_block(o: &mut String, r: &Report) {
    if r.errors.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "errors (unanswered attempts by kind; the first message of each):"
    );
    for e in &r.errors {
        let transports: Vec<String> = e
            .transports
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        let _ = writeln!(
            o,
            "  {:<9} {:>8}  {}  [{}]",
            e.kind,
            e.count,
            e.first_message,
            transports.join(", ")
        );
    }
}

/// Why valid attempts were refused at the gate: the first few, each with its rule and what to change.
fn refused_valid(o: &mut String, r: &Report) {
    if r.refused_valid.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "valid attempts refused at the gate (the first {}; `tokenstorm explain` shows every step):",
        r.refused_valid.len()
    );
    for a in &r.refused_valid {
        let _ = writeln!(o, "  {} ({}): {}", a.attempt_id, a.transport, a.summary);
        if let Some(fix) = &a.fix {
            let _ = writeln!(o, "    fix: {fix}");
        }
    }
}

/// Devices, outcomes and MQTT message counts per transport; only when a transport other than HTTPS is in use.
fn transport_table(o: &mut String, r: &Report) {
    if r.transports.len() <= 1 && r.transports.iter().all(|t| t.transport == "https") {
        return;
    }
    let _ = writeln!(o, "per transport:");
    for t in &r.transports {
        let outcomes: Vec<String> = t.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            o,
            "  {:<9} {:>6} devices {:>9} attempts: {}",
            t.transport,
            t.devices,
            t.attempts_ended,
            outcomes.join(", ")
        );
        if !t.messages.is_empty() {
            let m: Vec<String> = t
                .messages
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(o, "  {:<9} messages: {}", "", m.join(", "));
        }
    }
    let _ = writeln!(o);
}

/// Connection and message phases per (transport, class kind, phase), when any were measured.
fn phase_table(o: &mut String, r: &Report) {
    if r.phases_by_kind.is_empty() {
        return;
    }
    let _ = writeln!(o, "connection and message phases, ms:");
    let _ = writeln!(
        o,
        "  {:<9} {:<9} {:<20} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "", "class", "phase", "count", "p50", "p90", "p99", "max"
    );
    for p in &r.phases_by_kind {
        let l = &p.latency_us;
        let _ = writeln!(
            o,
            "  {:<9} {:<9} {:<20} {:>8} {:>8} {:>8} {:>8} {:>8}",
            p.transport,
            p.class,
            p.phase.trim_end_matches("_us"),
            l.count,
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.max)
        );
    }
    let _ = writeln!(o);
}

/// Authorizer invocations by class (forged variants folded unless `all_rows`), or that no ledger could be read.
fn invocations(o: &mut String, r: &Report, all_rows: bool) {
    let Some(inv) = &r.invocations else {
        let _ = writeln!(o, "authorizer invocations: no ledger available");
        return;
    };
    let _ = writeln!(
        o,
        "authorizer invocations (ledger {}): {} this run, {} foreign; {} entries joined, {} missed",
        inv.source, inv.this_run, inv.foreign, inv.total, inv.missed
    );
    for s in super::terminal_fold::invocations(&inv.by_class, all_rows) {
        let c = &s.row;
        // Attempts and invocations apart: an HTTP cache hit is an attempt without one, a refresh an invocation
        // without an attempt.
        let _ = writeln!(
            o,
            "  {:<34} {:>8} attempts: {} reached the authorizer, {} cache hits; {:>8} invocations: {} refreshes, {} allowed, {} denied",
            s.label,
            c.attempts,
            c.reached,
            c.cache_hits,
            c.invocations,
            c.refreshes,
            c.allowed,
            c.denied
        );
    }
}

/// One line per verdict (with up to 5 pieces of evidence), then the result.
fn verdicts(o: &mut String, r: &Report, report_path: Option<&str>) {
    if let Some(a) = &r.safety.aborted_by {
        let _ = writeln!(o, "ABORTED at {:.1} s by {}", a.at_s, a.message);
    }
    let _ = writeln!(o, "verdicts:");
    for v in &r.invariants {
        let _ = writeln!(
            o,
            "  {:<12} {:<22} {}",
            v.status.as_str().to_uppercase(),
            v.name,
            v.summary
        );
        for e in v.evidence.iter().take(5) {
            let _ = writeln!(o, "               {:<22} · {e}", "");
        }
    }
    // An interrupted run's code is its own, whatever the verdict of the part that ran: say why.
    let interrupted = match (r.exit_code, r.stopped_by) {
        (super::build::INTERRUPTED, Some(StoppedBy::StopFile)) => ": interrupted by the stop file",
        (super::build::INTERRUPTED, _) => ": interrupted by a signal",
        _ => "",
    };
    let _ = writeln!(
        o,
        "result: {} (exit {}{interrupted}){}{}",
        r.verdict.to_uppercase(),
        r.exit_code,
        not_judged(r),
        report_path
            .map(|p| format!(" · report {p}"))
            .unwrap_or_default()
    );
}

/// Why an inconclusive run was not judged: the rules, and the most frequent error's first message.
fn not_judged(r: &Report) -> String {
    if r.verdict != "inconclusive" {
        return String::new();
    }
    let names: Vec<&str> = r
        .invariants
        .iter()
        .filter(|v| v.status == crate::invariant::Status::Inconclusive)
        .map(|v| v.name.as_ref())
        .collect();
    let unanswered: u64 = r.errors.iter().map(|e| e.count).sum();
    let why = r
        .errors
        .first()
        .map(|e| format!(" · {unanswered} unanswered, first: {}", e.first_message))
        .unwrap_or_default();
    format!(" · not judged: {}{why}", names.join(", "))
}

fn usd(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 1.0 {
        // Small bills keep their digits: a total of $0.0103 must not print as 0.01 beside rows of $0.0096.
        format!("{v:.8}")
    } else {
        format!("{v:.2}")
    }
}

/// The cost table: one row per class kind with spending, then the total and the 24 h projection.
fn cost_table(o: &mut String, c: &super::cost::Cost) {
    let p = &c.prices;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "cost ({}, Lambda {}: ${}/M requests, ${}/GB-s; IoT ${}/M messages):",
        c.currency,
        c.architecture,
        p.requests_per_million_usd,
        p.gb_second_usd,
        p.messages_per_million_usd,
    );
    let _ = writeln!(
        o,
        "  {:<9} {:>9} {:>11} {:>9} {:>11} {:>9} {:>9} {:>13} {:>14}",
        "class",
        "attempts",
        "invocations",
        "throttled",
        "GB-s",
        "cold",
        "messages",
        "USD",
        "USD per 24 h"
    );
    for r in c
        .by_class
        .iter()
        .filter(|r| r.attempts > 0 || r.invocations > 0)
        .chain(std::iter::once(&c.total))
    {
        let _ = writeln!(
            o,
            "  {:<9} {:>9} {:>11} {:>9} {:>11.4} {:>9} {:>9} {:>13} {:>14}",
            r.class,
            r.attempts,
            r.invocations,
            r.throttled,
            r.gb_seconds,
            r.cold_starts,
            r.messages,
            usd(r.total_usd),
            r.per_24h_usd.map_or("-".into(), usd)
        );
    }
    if let Some(n) = c.total.invocations_per_24h {
        let _ = writeln!(
            o,
            "  sustained for 24 h at this rate: {n} invocations, ${} (replayed: ${}; forged: ${})",
            c.total.per_24h_usd.map_or("-".into(), usd),
            c.by_class[1].per_24h_usd.map_or("-".into(), usd),
            c.by_class[2].per_24h_usd.map_or("-".into(), usd),
        );
    }
}
