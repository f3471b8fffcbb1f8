//! `tokenstorm merge`: shard run folders (`run --shard I/N`) joined into one ordinary run folder. Each shard's
//! `evidence.json` and `latency.hlog` are read back (`shards`, `hlog`), checked to be one plan's shards,
//! each once, then added up (`combine`: counters summed, histograms added exactly, ledger joins merged,
//! seconds aligned), and the merged evidence goes through the same judge → build → publish path a run's does
//! ([`crate::report::conclude`]): the merged verdict comes from the merged evidence only, never from the
//! shards' verdicts. Nothing here signs, loads or generates a key, and only `[target.aws]` shards open a
//! socket (below): the plan is rebuilt offline from the evidence's effective scenario
//! ([`crate::scenario::Plan::resolve_offline`]).
//!
//! Shards witnessed by the account's CloudWatch (`[target.aws]`) merge their logs witnesses (each shard's own
//! lines) and have the account-wide metrics count read once, here, over all shards' window ([`aws`]): the one
//! step that talks to AWS.
//!
//! [`merge`] is also what `run --processes N` calls once its shard processes have ended.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

mod aws;
mod combine;
mod hlog;
mod shards;

use crate::invariant::{Status, Verdict, verdict};
use crate::report::conclude::{self, Measured, Merging};
use crate::report::model::{MergedShard, ScenarioInfo};
use crate::scenario::Plan;
use shards::ShardRun;

/// How a merge is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A shard process crashed: missing shards do not refuse the merge; the merged report gets an
    /// `inconclusive` `shards_complete` row naming them instead (the run exits 1).
    pub partial: bool,
    /// Every row of the terminal table (`-v`).
    pub verbose: bool,
    /// Progress lines on stderr (reading the account's CloudWatch metrics for `[target.aws]` shards).
    pub progress: bool,
}

/// The merged run: its exit (0 pass, 1 fail or inconclusive, 3 interrupted) and the folder written.
#[derive(Debug)]
pub struct Merged {
    pub exit: crate::error::Exit,
    pub run_dir: PathBuf,
}

/// Merges the shard run folders `dirs` into `out_dir` (created if missing; refused if it already holds a
/// report.json), printing the terminal table on stdout. `Err`: a refusal or bad input (exit 2), naming the
/// folder and what is wrong with it.
pub fn merge(dirs: &[PathBuf], out_dir: &Path, opts: &Options) -> anyhow::Result<Merged> {
    if out_dir.join("report.json").exists() {
        bail!(
            "{} already holds a report.json: merge writes a new run folder",
            out_dir.display()
        );
    }
    shards::distinct_folders(dirs)?;
    let mut runs = dirs
        .iter()
        .map(|d| shards::read(d))
        .collect::<anyhow::Result<Vec<ShardRun>>>()?;
    let missing = shards::check(&runs, opts.partial)?;
    runs.sort_by_key(|s| s.shard().index);
    let plan = plan(&runs)?;
    let recorder = combine::recorder(&runs)?;
    let t0 = combine::load_start(&runs);
    let series = combine::series(&runs, t0)?;
    let elapsed = combine::elapsed(&runs);
    let aws = aws::reconcile(&runs, &plan, &recorder, elapsed, opts.progress)?;
    let mut ledger = combine::ledger(&runs, t0)?;
    if aws
        .as_ref()
        .and_then(|a| a.logs.as_ref())
        .is_some_and(|l| !l.complete())
    {
        // A shard's logs witness never settled on every line: as in a run, no partial join is judged.
        ledger = None;
    }
    let unreadable = combine::unreadable(&runs);
    let first = &runs[0].evidence;
    let mut safety = first.safety.clone();
    safety.aborted_by = runs
        .iter()
        .find_map(|s| s.evidence.safety.aborted_by.clone());
    let mut refused_valid: Vec<_> = runs
        .iter()
        .flat_map(|s| s.evidence.refused_valid.iter().cloned())
        .collect();
    refused_valid.truncate(crate::join::refusals::REPORTED);
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let measured = Measured {
        plan: &plan,
        run_id: &run_id,
        started_unix_ms: runs
            .iter()
            .map(|s| s.evidence.started_unix_ms)
            .min()
            .unwrap_or(0),
        elapsed,
        interrupted: runs.iter().any(|s| s.evidence.interrupted),
        stopped_by: runs.iter().find_map(|s| s.evidence.stopped_by),
        urls: first.urls.clone(),
        recorder: &recorder,
        series: &series,
        ledger: ledger.as_ref(),
        aws,
        unreadable: unreadable.as_deref(),
        safety,
        refused_valid,
        usage: combine::usage(&runs),
    };
    let merging = Merging {
        verdicts: vec![shards_complete(runs[0].shard().count, &missing)],
        scenario: Some(scenario_info(&runs)),
        merged_from: Some(runs.iter().map(merged_shard).collect()),
    };
    let exit = conclude::conclude(measured, merging, out_dir, opts.verbose)?;
    Ok(Merged {
        exit,
        run_dir: out_dir.to_path_buf(),
    })
}

/// The plan, rebuilt offline from the effective scenario the shards' evidence keeps (no key, no socket).
fn plan(runs: &[ShardRun]) -> anyhow::Result<Plan> {
    let first = &runs[0];
    let info = &first.evidence.scenario;
    let file = PathBuf::from(&info.file);
    let mut scenario: crate::scenario::Scenario = serde_json::from_value(info.resolved.clone())
        .with_context(|| {
            format!(
                "{}: evidence.json: the effective scenario does not parse",
                first.dir.display()
            )
        })?;
    // The target's CA file matters to connections only (the report does not show it), and a merge may run where
    // it is not (a Kubernetes merge Job): it is not looked for.
    scenario.target.ca_file = PathBuf::new();
    let mut plan = Plan::resolve_offline(scenario, &file).with_context(|| {
        format!(
            "{}: the shards' scenario does not resolve again",
            first.dir.display()
        )
    })?;
    plan.plan_hash = first.evidence.plan_hash.clone();
    plan.shard = None;
    Ok(plan)
}

/// The report's `scenario`: the first shard's, with every shard's keys (each generated its own when the
/// scenario generates keys), each fingerprint once.
fn scenario_info(runs: &[ShardRun]) -> ScenarioInfo {
    let mut info = runs[0].evidence.scenario.clone();
    for s in &runs[1..] {
        for k in &s.evidence.scenario.keys {
            if !info
                .keys
                .iter()
                .any(|mine| mine.fingerprint == k.fingerprint)
            {
                info.keys.push(k.clone());
            }
        }
    }
    info
}

fn merged_shard(s: &ShardRun) -> MergedShard {
    let shard = s.shard();
    MergedShard {
        index: shard.index,
        count: shard.count,
        run_id: s.evidence.run_id.clone(),
        folder: s.dir.display().to_string(),
        started_at: crate::report::json::rfc3339_utc(s.evidence.started_unix_ms),
        verdict: s.verdict.clone(),
    }
}

/// `shards_complete`: every shard's evidence is in the merge (pass), or which are missing (inconclusive: a
/// verdict that could not be reached is not a pass).
fn shards_complete(count: u32, missing: &[u32]) -> Verdict {
    let mut v = if missing.is_empty() {
        verdict(
            "shards_complete",
            Status::Pass,
            format!("{count} of {count} shards merged"),
        )
    } else {
        verdict(
            "shards_complete",
            Status::Inconclusive,
            format!(
                "{} of {count} shards merged: shard {} missing (its process did not finish), so the plan did not run whole",
                count - missing.len() as u32,
                shards::list(missing)
            ),
        )
    };
    v.details.insert("shards".into(), u64::from(count));
    v.details.insert("missing".into(), missing.len() as u64);
    v.evidence = missing
        .iter()
        .map(|i| format!("shard {i}/{count}"))
        .collect();
    v
}

#[cfg(test)]
mod tests;
