//! The slice of a report that `junit.xml` and `summary.md` show, read back from the report's JSON form. Both the
//! run and `tokenstorm report RUN_DIR` go through the JSON (`serde_json::to_value` of the [`Report`], or the saved
//! `report.json`), so re-rendering a saved run gives byte-identical files without every nested report type
//! having to implement `Deserialize`.

use serde::Deserialize;

use super::model::Report;

#[derive(Debug, Clone, Deserialize)]
pub struct View {
    pub scenario: Scenario,
    pub started_at: String,
    pub timing: Timing,
    pub interrupted: bool,
    pub stopped_by: Option<String>,
    pub throughput: Throughput,
    pub results: Vec<Row>,
    pub cost: Option<Cost>,
    pub invariants: Vec<Verdict>,
    pub verdict: String,
    pub exit_code: u8,
    /// The JSON form this view was read from, for renderers that show more of it (report.html).
    #[serde(skip)]
    pub json: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Timing {
    pub elapsed_s: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Throughput {
    pub attempts_started: u64,
    pub attempts_ended: u64,
    pub attempts_per_s: f64,
    pub missed: u64,
}

/// One (transport, class, variant, outcome) row of `results`.
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    pub transport: String,
    pub class: String,
    pub variant: Option<String>,
    pub outcome: String,
    pub count: u64,
    pub latency_us: Option<Percentiles>,
}

/// A row's latency percentiles (µs), as report.json writes them; the one deserialize-only form every renderer
/// (junit, summary, html) and `tokenstorm compare` read.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

/// `invocations`: the ledger joined, per class and variant.
#[derive(Debug, Clone, Deserialize)]
pub struct Invocations {
    pub source: String,
    pub by_class: Vec<ClassInvocations>,
}

/// Attempts, the attempts that reached the authorizer, HTTP cache hits, invocations and the refreshes among them
/// of one class (and forgery variant): separate figures, since refreshes and cache hits decouple them.
#[derive(Debug, Clone, Deserialize)]
pub struct ClassInvocations {
    pub class: String,
    pub variant: Option<String>,
    pub attempts: u64,
    #[serde(default)]
    pub reached: u64,
    #[serde(default)]
    pub cache_hits: u64,
    pub invocations: u64,
    #[serde(default)]
    pub refreshes: u64,
    pub allowed: u64,
    pub denied: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cost {
    pub currency: String,
    pub total: CostTotal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CostTotal {
    pub total_usd: f64,
    pub per_24h_usd: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Verdict {
    pub name: String,
    /// `pass`, `fail`, `skipped`, `info` or `inconclusive`.
    pub status: String,
    pub summary: String,
    #[serde(default)]
    pub evidence: Vec<String>,
}

impl View {
    /// The view of a report just built.
    pub fn of(report: &Report) -> anyhow::Result<Self> {
        Self::from_json(serde_json::to_value(report)?)
    }

    /// The view of a report's JSON form (a saved `report.json`).
    pub fn from_json(v: serde_json::Value) -> anyhow::Result<Self> {
        let mut view: Self = serde_json::from_value(v.clone())?;
        view.json = v;
        Ok(view)
    }
}

/// A small view for the renderers' unit tests.
#[cfg(test)]
pub fn sample(invariants: Vec<Verdict>, interrupted: bool) -> View {
    View {
        scenario: Scenario {
            name: "q\"s".into(),
        },
        started_at: "2026-12-03T16:00:00.000Z".into(),
        timing: Timing { elapsed_s: 1.5 },
        interrupted,
        stopped_by: interrupted.then(|| "signal".into()),
        throughput: Throughput {
            attempts_started: 10,
            attempts_ended: 9,
            attempts_per_s: 6.0,
            missed: 0,
        },
        results: vec![],
        cost: None,
        invariants,
        verdict: "fail".into(),
        exit_code: 1,
        json: serde_json::Value::Null,
    }
}
