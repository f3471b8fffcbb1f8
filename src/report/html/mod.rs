//! `report.html`: one self-contained page per run (inline CSS and SVG drawn here, no script, no network), read
//! in a browser or printed. In order: the verdicts, the percentile spectrum per (transport, class, outcome),
//! attempts and outcomes over time, invocations over time by class, the per-row results, MQTT phases, cost and
//! the resolved scenario. Rendered from the report's JSON form ([`View::json`]) and the run folder's
//! `histograms/*.hgrm`, both written before report.html, so `tokenstorm report RUN_DIR --html` re-renders the
//! same bytes.
//!
//! [`page`] holds the frame and escaping, [`svg`] the charts, [`spectrum`] and [`series`] the chart data,
//! [`tables`] the tables, [`model`] the part of the JSON only this page reads.

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
            "Authorizer invocations over time by class",
            series::invocations(ts),
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
