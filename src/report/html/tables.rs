//! The page's tables: the verdicts (overall verdict, exit code, interruption, then every invariant row with its
//! status and evidence), the per-row results, the MQTT phases, the cost and the resolved scenario. Text from the
//! report goes in through [`Cell::Text`] or [`esc`], never raw.

use std::fmt::Write as _;

use super::model::{Cost, CostRow, Doc, Invocations, Phase};
use super::page::{Cell, esc, ms, para, table};
use crate::report::view::{Verdict, View};

/// The run's identity and overall verdict, then one row per invariant.
pub fn verdicts(view: &View, doc: &Doc) -> String {
    let mut s = format!(
        "<p class=\"overall\">Verdict {} &middot; exit code <b>{}</b></p>\n<dl class=\"facts\">",
        badge(&view.verdict),
        view.exit_code
    );
    let interrupted = match (&view.interrupted, &view.stopped_by) {
        (false, _) => "no".to_string(),
        (true, Some(by)) => format!("yes (stopped by {by})"),
        (true, None) => "yes".to_string(),
    };
    let facts = [
        (
            "scenario",
            format!("{} ({})", doc.scenario.name, doc.scenario.file),
        ),
        ("started", view.started_at.clone()),
        ("run id / seed", format!("{} / {}", doc.run_id, doc.seed)),
        ("target", format!("{} {}", doc.target.kind, doc.target.url)),
        (
            "elapsed",
            format!(
                "{:.1} s of {:.1} s planned",
                doc.timing.elapsed_s, doc.timing.planned_duration_s
            ),
        ),
        (
            "attempts",
            format!(
                "{} started, {} ended, {:.1}/s, {} missed",
                view.throughput.attempts_started,
                view.throughput.attempts_ended,
                view.throughput.attempts_per_s,
                view.throughput.missed
            ),
        ),
        ("interrupted", interrupted),
    ];
    for (k, v) in facts {
        let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    s.push_str("</dl>\n");
    let rows: Vec<(String, Vec<Cell>)> = view.invariants.iter().map(verdict_row).collect();
    s.push_str(&table(
        &["invariant", "status", "summary and evidence"],
        &rows,
    ));
    s
}

fn verdict_row(v: &Verdict) -> (String, Vec<Cell>) {
    let mut detail = esc(&v.summary);
    if !v.evidence.is_empty() {
        detail.push_str("<ul class=\"evidence\">");
        for e in &v.evidence {
            let _ = write!(detail, "<li>{}</li>", esc(e));
        }
        detail.push_str("</ul>");
    }
    (
        format!(
            " class=\"verdict {}\" data-invariant=\"{}\"",
            esc(&v.status),
            esc(&v.name)
        ),
        vec![
            Cell::Html(format!("<code>{}</code>", esc(&v.name))),
            Cell::Html(badge(&v.status)),
            Cell::Html(detail),
        ],
    )
}

/// A status word in its colour (`pass`, `fail`, `skipped`, `info`, `inconclusive`).
fn badge(status: &str) -> String {
    format!("<span class=\"status {s}\">{s}</span>", s = esc(status))
}

/// Every (transport, class, variant, outcome) row with its count and latency percentiles.
pub fn results(doc: &Doc) -> String {
    let rows: Vec<(String, Vec<Cell>)> = doc
        .results
        .iter()
        .map(|r| {
            let mut cells = vec![
                Cell::Text(r.transport.clone()),
                Cell::Text(r.class.clone()),
                Cell::Text(r.variant.clone().unwrap_or_default()),
                Cell::Text(r.outcome.clone()),
                Cell::Num(r.count.to_string()),
            ];
            match &r.latency_us {
                Some(p) => {
                    cells.extend([p.p50, p.p90, p.p99, p.p999, p.max].map(|v| Cell::Num(ms(v))))
                }
                None => cells.extend((0..5).map(|_| Cell::Num("–".into()))),
            }
            (String::new(), cells)
        })
        .collect();
    if rows.is_empty() {
        return para("note", "No attempts ended.");
    }
    table(
        &[
            "transport",
            "class",
            "variant",
            "outcome",
            "count",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
        ],
        &rows,
    )
}

/// The MQTT phase latencies (TCP connect, TLS, WebSocket upgrade, CONNECT→CONNACK, PUBLISH→PUBACK, …).
pub fn phases(phases: &[Phase]) -> String {
    if phases.is_empty() {
        return para(
            "note",
            "No MQTT phases in this report (no MQTT or WebSocket attempts).",
        );
    }
    let rows: Vec<(String, Vec<Cell>)> = phases
        .iter()
        .map(|p| {
            let l = &p.latency_us;
            let mut cells = vec![
                Cell::Text(p.transport.clone()),
                Cell::Text(p.class.clone()),
                Cell::Text(p.phase.trim_end_matches("_us").to_string()),
                Cell::Num(l.count.to_string()),
            ];
            cells.extend([l.p50, l.p90, l.p99, l.max].map(|v| Cell::Num(ms(v))));
            (String::new(), cells)
        })
        .collect();
    table(
        &[
            "transport",
            "class",
            "phase",
            "count",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
        ],
        &rows,
    )
}

/// Authorizer invocations per class and variant from the ledger: attempts, those that reached the authorizer and
/// the HTTP cache hits apart from invocations and the refreshes among them (issue 13 §6).
pub fn invocations(inv: Option<&Invocations>) -> String {
    let Some(inv) = inv else {
        return para("note", "No invocation ledger was read for this report.");
    };
    let rows: Vec<(String, Vec<Cell>)> = inv
        .by_class
        .iter()
        .filter(|c| c.attempts > 0 || c.invocations > 0)
        .map(|c| {
            let mut cells = vec![
                Cell::Text(c.class.clone()),
                Cell::Text(c.variant.clone().unwrap_or_default()),
            ];
            cells.extend(
                [
                    c.attempts,
                    c.reached,
                    c.cache_hits,
                    c.invocations,
                    c.refreshes,
                    c.allowed,
                    c.denied,
                ]
                .map(|n| Cell::Num(n.to_string())),
            );
            (String::new(), cells)
        })
        .collect();
    let mut s = table(
        &[
            "class",
            "variant",
            "attempts",
            "reached the authorizer",
            "HTTP cache hits",
            "invocations",
            "of them refreshes",
            "allowed",
            "denied",
        ],
        &rows,
    );
    s.push_str(&para(
        "note",
        &format!("Ledger: {}. An HTTP cache hit is an attempt without an invocation; a refresh (a live MQTT connection's policy refresh) an invocation without an attempt.", inv.source),
    ));
    s
}

/// The modelled AWS cost per class and in total, with the 24-hour projection.
pub fn cost(cost: Option<&Cost>) -> String {
    let Some(c) = cost else {
        return para("note", "No cost model in this report.");
    };
    let money = |v: f64| format!("{v:.6}");
    let row = |r: &CostRow, total: bool| {
        let cells = vec![
            Cell::Text(r.class.clone()),
            Cell::Num(r.attempts.to_string()),
            Cell::Num(r.invocations.to_string()),
            Cell::Num(r.billed_requests.to_string()),
            Cell::Num(r.billed_ms.to_string()),
            Cell::Num(format!("{:.6}", r.gb_seconds)),
            Cell::Num(r.messages.to_string()),
            Cell::Num(money(r.total_usd)),
            Cell::Num(r.per_24h_usd.map(money).unwrap_or_else(|| "–".into())),
        ];
        let attrs = if total { " class=\"total\"" } else { "" };
        (attrs.to_string(), cells)
    };
    let mut rows: Vec<(String, Vec<Cell>)> = c.by_class.iter().map(|r| row(r, false)).collect();
    rows.push(row(&c.total, true));
    let cur = c.currency.as_str();
    let mut s = table(
        &[
            "class",
            "attempts",
            "invocations",
            "billed requests",
            "billed ms",
            "GB-s",
            "messages",
            &format!("total {cur}"),
            &format!("per 24 h {cur}"),
        ],
        &rows,
    );
    s.push_str(&para(
        "note",
        &format!("Lambda on {}; {}", c.architecture, c.rounding),
    ));
    s
}

/// The resolved scenario, pretty-printed JSON in a `<pre>`.
pub fn scenario(doc: &Doc) -> String {
    let text = serde_json::to_string_pretty(&doc.scenario.resolved).unwrap_or_default();
    format!("<pre>{}</pre>\n", esc(&text))
}
