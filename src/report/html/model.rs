//! The part of report.json that only `report.html` shows, read back from the report's JSON form as the other
//! renderers read theirs ([`crate::report::view`]): full percentiles per row, MQTT phases, cost per class, the
//! resolved scenario and the per-second time series. Deserialize-only; the time series is optional (reports
//! written before it existed, or by a build without it, render a note instead of charts).

use serde::Deserialize;

pub use crate::report::view::{Invocations, Percentiles, Row};

#[derive(Debug, Clone, Deserialize)]
pub struct Doc {
    pub scenario: Scenario,
    pub run_id: String,
    pub seed: u64,
    pub target: Target,
    pub timing: Timing,
    pub results: Vec<Row>,
    #[serde(default)]
    pub phases_by_kind: Vec<Phase>,
    pub cost: Option<Cost>,
    #[serde(default)]
    pub invocations: Option<Invocations>,
    #[serde(default)]
    pub timeseries: Option<Timeseries>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub file: String,
    pub resolved: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Timing {
    pub planned_duration_s: f64,
    pub elapsed_s: f64,
}

/// One MQTT phase row of `phases_by_kind` (forged variants folded into their kind).
#[derive(Debug, Clone, Deserialize)]
pub struct Phase {
    pub transport: String,
    pub class: String,
    pub phase: String,
    pub latency_us: Percentiles,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cost {
    pub currency: String,
    pub architecture: String,
    pub by_class: Vec<CostRow>,
    pub total: CostRow,
    pub rounding: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CostRow {
    pub class: String,
    pub attempts: u64,
    pub invocations: u64,
    pub billed_requests: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
    pub messages: u64,
    pub total_usd: f64,
    pub per_24h_usd: Option<f64>,
}

/// `timeseries`: per-second counts (the shape agreed in issue 13).
#[derive(Debug, Clone, Deserialize)]
pub struct Timeseries {
    pub seconds: u64,
    #[serde(default)]
    pub attempts: Vec<AttemptSecond>,
    #[serde(default)]
    pub invocations: Vec<InvocationSecond>,
    #[serde(default)]
    pub truncated: bool,
}

/// Attempts of one transport that ended with one outcome during one second.
#[derive(Debug, Clone, Deserialize)]
pub struct AttemptSecond {
    pub second: u64,
    pub transport: String,
    pub outcome: String,
    pub count: u64,
    pub p99_us: Option<u64>,
}

/// Authorizer invocations of one class kind during one second.
#[derive(Debug, Clone, Deserialize)]
pub struct InvocationSecond {
    pub second: u64,
    pub class: String,
    pub count: u64,
}

impl Doc {
    pub fn from_json(v: &serde_json::Value) -> anyhow::Result<Self> {
        Ok(serde_json::from_value(v.clone())?)
    }
}
