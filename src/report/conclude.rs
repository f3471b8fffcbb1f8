//! The last step of a run, shared by `tokenstorm run` and `tokenstorm merge` so the two cannot drift: the
//! evidence is judged (invariants, `generator_kept_up`, the catalogue's coverage, then `[thresholds]` on the
//! report's JSON), the report built, and the run folder written (report.json, report.html, junit.xml,
//! summary.md, histograms/*.hgrm, latency.hlog, evidence.json) with the terminal table on stdout.

use std::path::Path;
use std::time::Duration;

use super::evidence::{self, Evidence};
use super::model::ScenarioInfo;
use super::{Report, build, json, terminal};
use crate::contract::Transport;
use crate::error::Exit;
use crate::invariant::{self, Verdict};
use crate::join::LedgerSummary;
use crate::join::cloudwatch::Reconciliation;
use crate::join::refusals::RefusedAttempt;
use crate::load::usage::Usage;
use crate::metrics::{Recorder, SeriesStore};
use crate::safety::SafetyRecord;
use crate::scenario::Plan;
use crate::shutdown::StoppedBy;

/// What a run measured and saw, with its identity: all its report and verdict are made of.
pub struct Measured<'a> {
    pub plan: &'a Plan,
    pub run_id: &'a str,
    pub started_unix_ms: u64,
    pub elapsed: Duration,
    pub interrupted: bool,
    pub stopped_by: Option<StoppedBy>,
    pub urls: Vec<String>,
    pub recorder: &'a Recorder,
    /// What ended in each second (its `t0_unix_ms`: the load's start).
    pub series: &'a SeriesStore,
    pub ledger: Option<&'a LedgerSummary>,
    pub aws: Option<Reconciliation>,
    /// Why a configured ledger could not be read.
    pub unreadable: Option<&'a str>,
    pub safety: SafetyRecord,
    pub refused_valid: Vec<RefusedAttempt>,
    pub usage: Usage,
}

/// What a merge adds to a run's conclusion.
#[derive(Default)]
pub struct Merging {
    /// Verdict rows of its own (`shards_complete`), judged with the rest.
    pub verdicts: Vec<Verdict>,
    /// The report's `scenario` as the shards' evidence has it (keys and tokens without the keys themselves).
    pub scenario: Option<ScenarioInfo>,
    pub merged_from: Option<Vec<super::model::MergedShard>>,
}

/// Judges `m`, builds its report and writes the run folder `run_dir`; the exit follows the report's
/// `exit_code` (0 pass, 1 a verdict failed or was inconclusive, 3 interrupted).
pub fn conclude(
    m: Measured<'_>,
    merging: Merging,
    run_dir: &Path,
    verbose: bool,
) -> anyhow::Result<Exit> {
    let mut verdicts = judge(&m);
    verdicts.extend(merging.verdicts);
    let timeseries = super::timeseries::build(m.series, m.elapsed, m.ledger)?;
    let aws = m.aws.clone();
    let mut report = build::build(build::Parts {
        plan: m.plan,
        run_id: m.run_id,
        started_unix_ms: m.started_unix_ms,
        elapsed: m.elapsed,
        interrupted: m.interrupted,
        stopped_by: m.stopped_by,
        urls: m.urls.clone(),
        recorder: m.recorder,
        ledger: m.ledger,
        aws: m.aws,
        safety: m.safety.clone(),
        verdicts,
        refused_valid: m.refused_valid.clone(),
        timeseries,
    });
    if let Some(s) = merging.scenario {
        report.scenario = s;
    }
    report.merged_from = merging.merged_from;
    let saved = Evidence {
        format: evidence::FORMAT,
        version: env!("CARGO_PKG_VERSION").into(),
        run_id: m.run_id.into(),
        plan_hash: m.plan.plan_hash.clone(),
        shard: m.plan.shard,
        seed: m.plan.seed,
        started_unix_ms: m.started_unix_ms,
        load_started_unix_ms: m.series.t0_unix_ms(),
        elapsed_us: m.elapsed.as_micros() as u64,
        interrupted: m.interrupted,
        stopped_by: m.stopped_by,
        scenario: report.scenario.clone(),
        urls: m.urls,
        safety: m.safety,
        recorder: crate::metrics::saved::SavedRecorder::of(m.recorder)?,
        series: evidence::series_counts(m.series)?,
        ledger: m
            .ledger
            .map(|l| crate::join::saved::SavedLedger::of(l, m.plan.gate)),
        unreadable: m.unreadable.map(str::to_string),
        aws,
        refused_valid: m.refused_valid,
        usage: m.usage,
    };
    evidence::write(&saved, run_dir)?;
    super::histograms::write(m.recorder, m.series, m.elapsed, run_dir)?;
    publish(&report, run_dir, verbose)
}

/// Every invariant on the load's measurements and the join (with the CloudWatch count folded into
/// `forged_never_invoked`, and an unreadable ledger making it inconclusive), whether the generator kept up, then
/// the catalogue's coverage of the transports in use.
fn judge(m: &Measured<'_>) -> Vec<Verdict> {
    let plan = m.plan;
    let mut verdicts = invariant::evaluate(&invariant::Inputs {
        recorder: m.recorder,
        ledger: m.ledger,
        run_secs: m.elapsed.as_secs(),
        gate: plan.gate,
    });
    if let Some(v) = verdicts
        .iter_mut()
        .find(|v| v.name == "forged_never_invoked")
    {
        if let Some(r) = &m.aws {
            invariant::forged_count::apply(v, r);
        }
        if let Some(why) = m.unreadable {
            invariant::forged::unreadable_ledger(v, why);
        }
    }
    verdicts.push(invariant::kept_up::check(m.recorder, &m.usage));
    let in_use: Vec<Transport> = plan.groups.in_use().collect();
    verdicts.push(invariant::catalogue::coverage(&plan.mix, &in_use));
    verdicts
}

/// Writes `report.json`, `junit.xml`, `summary.md` and `report.html` into the run folder and the terminal
/// rendering to stdout; exits with the report's `exit_code`.
fn publish(report: &Report, run_dir: &Path, verbose: bool) -> anyhow::Result<Exit> {
    let path = json::write(report, run_dir)?;
    super::files::write_all(report, run_dir)?;
    print!(
        "{}",
        terminal::render(report, Some(&path.display().to_string()), verbose)
    );
    Ok(match report.exit_code {
        0 => Exit::Ok,
        build::INTERRUPTED => Exit::Interrupted,
        _ => Exit::Failed,
    })
}
