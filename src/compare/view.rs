//! The slice of a saved run that `tokenstorm compare` lines up, read back from its `report.json` with
//! deserialize-only types (as [`crate::report::view`] does for junit.xml and summary.md): unknown fields are
//! ignored, so a report from an older or newer build still compares on what both have.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

pub use crate::report::view::{ClassInvocations, Invocations, Percentiles, Row};
use crate::wire::settings::GateSettings;

#[derive(Debug, Clone, Deserialize)]
pub struct RunView {
    pub scenario: Scenario,
    pub throughput: Throughput,
    pub results: Vec<Row>,
    #[serde(default)]
    pub errors: Vec<ErrorRow>,
    pub invocations: Option<Invocations>,
    pub cost: Option<Cost>,
    #[serde(default)]
    pub target: Target,
    pub verdict: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Throughput {
    pub attempts_ended: u64,
    pub attempts_per_s: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorRow {
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cost {
    pub total: CostTotal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CostTotal {
    pub per_24h_usd: Option<f64>,
}

/// The gate settings the run's oracle judged by: which forged variants had to be refused.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Target {
    #[serde(default)]
    pub gate: GateSettings,
}

impl Row {
    /// `transport.class[.variant].outcome`, the key rows are lined up by: the hlog's tag and `.hgrm` name.
    pub fn key(&self) -> String {
        crate::report::histograms::key(
            &self.transport,
            &self.class,
            self.variant.as_deref(),
            &self.outcome,
        )
    }
}

impl RunView {
    /// Reads `RUN_DIR/report.json`; the error names the path and what is wrong with it.
    pub fn load(run_dir: &Path) -> anyhow::Result<Self> {
        if !run_dir.is_dir() {
            anyhow::bail!("{}: no such run folder", run_dir.display());
        }
        let path = run_dir.join("report.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        serde_json::from_value(value)
            .with_context(|| format!("{} is not a tokenstorm report", path.display()))
    }

    /// Unanswered attempts (transport errors and timeouts, the report's `errors[]`) over ended attempts.
    pub fn error_share(&self) -> f64 {
        let errors: u64 = self.errors.iter().map(|e| e.count).sum();
        if self.throughput.attempts_ended == 0 {
            0.0
        } else {
            errors as f64 / self.throughput.attempts_ended as f64
        }
    }
}
