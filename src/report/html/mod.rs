//! `report.html`: one self-contained page per run (inline CSS and SVG drawn here, no script, no network), read
//! in a browser or printed. In order: the verdicts, the percentile spectrum per (transport, class, outcome),
//! attempts and outcomes over time, invocations per class (attempts, reached, cache hits and refreshes apart)
//! and over time by class, the per-row results, MQTT phases, cost and the resolved scenario. Rendered from the report's JSON form ([`View::json`]) and the run folder's
//! `histograms/*.hgrm`, both written before report.html, so `tokenstorm report RUN_DIR --html` re-renders the
//! same bytes.
//!
//! `page` holds the frame and escaping, `svg` the charts, `spectrum` and `series` the chart data,
//! `tables` the tables, `model` the part of the JSON only this page reads.

mod model;
mod page;
mod series;
mod spectrum;
mod svg;
mod tables;

use std::path::Path;

use anyhow::Context as _;

use super::view::View;
use model::Doc;
use page::{document, esc, section};

/// The page for `view` (read from the run folder `run_dir`, where the `.hgrm` files are).
pub fn render(view: &View, run_dir: &Path) -> anyhow::Result<String> {
    let doc = Doc::from_json(&view.json).context("the report lacks what report.html shows")?;
    let ts = doc.timeseries.as_ref();
    let mut body = format!(
        "<header><h1>tokenstorm: {}</h1></header>\n",
        esc(&doc.scenario.name)
    );
    let sections = [
        ("verdicts", "Verdicts", tables::verdicts(view, &doc)),
        (
            "spectrum",
            "Latency percentile spectrum",
            spectrum::render(&doc.results, run_dir)?,
        ),
        (
            "attempts",
            "Attempts and outcomes over time",
            series::attempts(ts),
        ),
        (
            "invocations",
            "Authorizer invocations",
            tables::invocations(doc.invocations.as_ref()) + &series::invocations(ts),
        ),
        ("results", "Results per row", tables::results(&doc)),
        ("phases", "MQTT phases", tables::phases(&doc.phases_by_kind)),
        ("cost", "Cost", tables::cost(doc.cost.as_ref())),
        ("scenario", "Resolved scenario", tables::scenario(&doc)),
    ];
    for (id, title, html) in &sections {
        body.push_str(&section(id, title, html));
    }
    let title = format!("tokenstorm {}: {}", doc.scenario.name, view.verdict);
    Ok(document(&title, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A report whose every string is markup: none of it reaches the page unescaped, whatever section shows it.
    #[test]
    fn every_value_from_the_report_is_escaped() {
        let x = "<x>";
        let pct = json!({"count": 3, "min": 1000, "mean": 2000.0, "p50": 2000, "p90": 3000,
                         "p99": 3000, "p999": 3000, "max": 3000});
        let cost_row = json!({"class": x, "attempts": 3, "invocations": 3, "billed_requests": 3,
                              "billed_ms": 3, "gb_seconds": 0.1, "messages": 3, "total_usd": 0.5,
                              "per_24h_usd": 9.0});
        let report = json!({
            "scenario": {"name": x, "file": x, "resolved": {x: x}},
            "run_id": x, "seed": 1, "started_at": x,
            "target": {"kind": x, "url": x},
            "timing": {"planned_duration_s": 2.0, "elapsed_s": 1.0},
            "interrupted": true, "stopped_by": x,
            "throughput": {"attempts_started": 3, "attempts_ended": 3, "attempts_per_s": 3.0, "missed": 0},
            "results": [{"transport": x, "class": x, "variant": x, "outcome": x, "count": 3,
                         "latency_us": pct}],
            "phases_by_kind": [{"transport": x, "class": x, "variant": null, "phase": x, "latency_us": pct}],
            "cost": {"currency": x, "architecture": x, "rounding": x, "by_class": [cost_row],
                     "total": cost_row},
            "invocations": {"source": x, "by_class": [{"class": x, "variant": x, "attempts": 7,
                            "reached": 5, "cache_hits": 2, "invocations": 6, "refreshes": 1,
                            "allowed": 4, "denied": 2}]},
            "invariants": [{"name": x, "status": x, "summary": x, "evidence": [x]}],
            "verdict": x, "exit_code": 1,
            "timeseries": {"interval_s": 1, "seconds": 2, "truncated": true,
                           "attempts": [{"second": 1, "transport": x, "outcome": x, "count": 3,
                                         "p99_us": 3000}],
                           "invocations": [{"second": 0, "class": x, "count": 3}]},
        });
        let view = View::from_json(report).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let html = render(&view, dir.path()).unwrap();
        assert!(!html.contains(x), "{html}");
        assert!(html.matches("&lt;x&gt;").count() > 20);
        assert_eq!(
            html.matches("<figure class=\"chart\">").count(),
            4,
            "{html}"
        );
        assert!(html.contains("stops after 2 seconds"));
        // Attempts, reached, cache hits, invocations and refreshes are separate cells (issue 13 §6).
        assert!(
            html.contains(
                "<td class=\"n\">7</td><td class=\"n\">5</td><td class=\"n\">2</td><td class=\"n\">6</td><td class=\"n\">1</td>"
            ),
            "{html}"
        );
    }
}
