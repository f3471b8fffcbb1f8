//! The run folder's `evidence.json`: everything a run's verdict and every report format are built from, kept
//! losslessly so that `tokenstorm merge` can rebuild them from shards ([`crate::merge`]): the whole recorder
//! (counters, errors, sessions, every histogram as HdrHistogram V2 + DEFLATE), the per-second attempt counts
//! (their latency histograms are `latency.hlog`'s intervals, not stored twice), the ledger join, why a ledger
//! could not be read, the refused valid attempts, what the generator used, the run's identity and times, its
//! safety record and the plan-derived parts of the report that need the keys (the redacted effective scenario,
//! key fingerprints, shortened tokens: what report.json shows, never a private key or a whole token).
//!
//! Versioned by [`FORMAT`]; a reader refuses another number, naming it.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use super::model::ScenarioInfo;
use crate::join::cloudwatch::Reconciliation;
use crate::join::refusals::RefusedAttempt;
use crate::join::saved::SavedLedger;
use crate::load::shard::Shard;
use crate::load::usage::Usage;
use crate::metrics::SeriesStore;
use crate::metrics::saved::SavedRecorder;
use crate::metrics::series::PAIRS;
use crate::safety::SafetyRecord;
use crate::shutdown::StoppedBy;

/// The evidence format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The file's name in the run folder.
pub const FILE: &str = "evidence.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    pub format: u32,
    /// The tokenstorm version that wrote it.
    pub version: String,
    pub run_id: String,
    pub plan_hash: String,
    /// `run --shard I/N`; `null`: the whole plan.
    pub shard: Option<Shard>,
    pub seed: u64,
    /// When the run started, Unix ms (report.json `started_at`).
    pub started_unix_ms: u64,
    /// When the load started, Unix ms: second 0 of the per-second series and of the ledger's.
    pub load_started_unix_ms: u64,
    /// How long the load lasted, µs.
    pub elapsed_us: u64,
    pub interrupted: bool,
    pub stopped_by: Option<StoppedBy>,
    /// The report's `scenario` (redacted effective scenario, key fingerprints, shortened tokens).
    pub scenario: ScenarioInfo,
    /// The URLs attempts went to.
    pub urls: Vec<String>,
    pub safety: SafetyRecord,
    pub recorder: SavedRecorder,
    /// Per second since the load's start: attempts ended per (transport, outcome) pair, the non-zero ones.
    pub series: Vec<SavedSecond>,
    pub ledger: Option<SavedLedger>,
    /// Why a configured ledger could not be read.
    pub unreadable: Option<String>,
    /// The `[target.aws]` reconciliation, as report.json shows it (a shard's logs witness counts its own run id's
    /// lines; its metrics, which count the whole account, are left to the merge: `metrics_deferred`).
    pub aws: Option<Reconciliation>,
    pub refused_valid: Vec<RefusedAttempt>,
    /// What the generator process used (`generator_kept_up`).
    pub usage: Usage,
}

/// One second of the per-second series: (pair, attempts) for the pairs with any
/// ([`crate::metrics::series::pair`] index).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SavedSecond {
    pub second: usize,
    pub counts: Vec<(usize, u64)>,
}

/// The per-second counts of `series` (its histograms go to `latency.hlog`).
pub fn series_counts(series: &SeriesStore) -> anyhow::Result<Vec<SavedSecond>> {
    let mut out = Vec::new();
    series.each_second(|s| {
        let counts: Vec<(usize, u64)> = s
            .counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (i, *n))
            .collect();
        out.push(SavedSecond {
            second: s.index,
            counts,
        });
    })?;
    Ok(out)
}

/// `counts` as the series store's array; `Err` names a pair out of range.
pub fn pair_counts(s: &SavedSecond) -> anyhow::Result<[u64; PAIRS]> {
    let mut a = [0; PAIRS];
    for (i, n) in &s.counts {
        match a.get_mut(*i) {
            Some(slot) => *slot += n,
            None => bail!("series second {}: pair {i} is out of range", s.second),
        }
    }
    Ok(a)
}

/// Writes `evidence.json` into `run_dir`.
pub fn write(e: &Evidence, run_dir: &Path) -> anyhow::Result<()> {
    let path = run_dir.join(FILE);
    let text = serde_json::to_string(e).context("cannot encode the evidence")?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads `dir`'s `evidence.json`; `Err` names the folder and what is wrong (no such file: not a run folder of
/// this version; another format number; a field that does not parse).
pub fn read(dir: &Path) -> anyhow::Result<Evidence> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a run folder tokenstorm can merge: cannot read {}",
            dir.display(),
            path.display()
        )
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let format = v.get("format").and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(FORMAT)) {
        bail!(
            "{}: evidence format {} is not one this tokenstorm reads (it reads format {FORMAT})",
            path.display(),
            format.map_or("(none)".to_string(), |f| f.to_string())
        );
    }
    serde_json::from_value(v).with_context(|| format!("{}: not valid evidence", path.display()))
}
