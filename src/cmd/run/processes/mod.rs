//! `tokenstorm run SCENARIO --processes N`: the plan as N shard processes of this binary on this machine, then
//! one merged report. Each process lives under its own descriptor limit (so one machine can hold more
//! connections than one process may) and, with the embedded target, runs its own embedded emulator for its
//! shard's devices (that is how the emulator side scales too); with an external target every shard aims at it.
//!
//! The parent resolves the scenario once (bad input: exit 2 before any process starts), creates the run folder,
//! starts shard i of N into `<run folder>/shards/<i>/` ([`child`]), shows their summed progress ([`view`]),
//! forwards SIGINT/SIGTERM and stops on a shard's setup error ([`supervise`]), then merges the shards' folders
//! into the run folder ([`crate::merge`]: report.json and every other format at its top, the terminal table on
//! stdout) and exits with the merged exit code. A shard that crashed fails the run, named: what the others
//! reported is still merged, as a partial merge whose `shards_complete` row is inconclusive (exit 1).

mod child;
mod ending;
mod scrape;
mod supervise;
mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use super::Args;
use crate::error::Exit;
use crate::load::shard::Shard;
use crate::report::json;
use ending::Ended;

pub use child::die_with_parent;

/// Runs the plan `args` names as `n` shard processes and merges them.
pub fn run(args: &Args, n: u32) -> anyhow::Result<Exit> {
    refuse_flags(args)?;
    let progress = !args.quiet;
    let plan = super::resolve(args, progress)?;
    if n > plan.devices {
        anyhow::bail!(
            "--processes {n}: the plan has {} devices and a shard runs whole devices; use at most {}",
            plan.devices,
            plan.devices
        );
    }
    if let Some(p) = &args.stop_file {
        super::stop::check_stop_file(p)?;
    }
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let run_dir = json::run_dir(&args.out_dir, started.as_secs(), &plan.name)?;
    if progress {
        eprintln!(
            "{} shard processes of plan {} → {} (each: its own descriptor limit{})",
            n,
            plan.plan_hash,
            run_dir.display(),
            if matches!(plan.target, crate::scenario::Target::Embedded { .. }) {
                ", its own embedded emulator"
            } else {
                ""
            }
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tokenstorm")
        .build()
        .context("cannot start the async runtime")?;
    let ended = runtime.block_on(shards(args, n, &run_dir, plan.duration))?;
    drop(runtime);
    finish(args, &run_dir, &ended)
}

/// `--metrics-addr` (and so `--linger`) is per process: the parent has no counters of its own to serve.
fn refuse_flags(args: &Args) -> anyhow::Result<()> {
    if args.metrics_addr.is_some() {
        anyhow::bail!(
            "--metrics-addr cannot be used with --processes: each shard process serves its own /metrics on a \
             loopback port of its own (the parent reads them for its status); scrape the shards, or run \
             `--shard I/N` processes yourself with a --metrics-addr each"
        );
    }
    Ok(())
}

/// Starts the shard processes, watches them to their end; their ends in shard order.
async fn shards(
    args: &Args,
    n: u32,
    run_dir: &std::path::Path,
    planned: std::time::Duration,
) -> anyhow::Result<Vec<Ended>> {
    // Listening before the first shard starts: from here a signal is the parent's to forward, not its end.
    let signals = supervise::Signals::new()?;
    let mut started = Vec::with_capacity(n as usize);
    let mut watched = Vec::with_capacity(n as usize);
    for index in 0..n {
        let shard = Shard { index, count: n };
        let dir = shard_dir(run_dir, index);
        let (spawned, process) = child::spawn(args, shard, &dir, args.quiet)?;
        let running = Arc::new(AtomicBool::new(true));
        watched.push(view::Watched {
            label: shard.to_string(),
            metrics: spawned.metrics.clone(),
            running: running.clone(),
        });
        started.push((spawned, process, running));
    }
    let status = (!args.quiet).then(|| view::start(watched, planned));
    let ended = supervise::watch(started, signals, !args.quiet).await;
    if let Some(s) = status {
        s.abort();
    }
    ended
}

/// `<run folder>/shards/<i>`.
fn shard_dir(run_dir: &std::path::Path, index: u32) -> PathBuf {
    run_dir.join("shards").join(index.to_string())
}

/// Merges the shards that reported into the run folder; a crashed shard makes the merge partial and the run
/// fail.
fn finish(args: &Args, run_dir: &std::path::Path, ended: &[Ended]) -> anyhow::Result<Exit> {
    let crashed: Vec<String> = ended
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Ended::Crashed(how) => Some(format!("shard {i}/{} {how}", ended.len())),
            _ => None,
        })
        .collect();
    let dirs: Vec<PathBuf> = ended
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Ended::Reported(_)))
        .map(|(i, _)| shard_dir(run_dir, i as u32))
        .collect();
    if dirs.is_empty() {
        eprintln!(
            "the run fails, no shard process wrote a report: {}",
            crashed.join("; ")
        );
        return Ok(Exit::Failed);
    }
    let opts = crate::merge::Options {
        partial: !crashed.is_empty(),
        verbose: args.verbose,
        progress: !args.quiet,
    };
    if crashed.is_empty() {
        return Ok(crate::merge::merge(&dirs, run_dir, &opts)?.exit);
    }
    // A crash is the run's failure (exit 1) whether or not the others' evidence merges.
    match crate::merge::merge(&dirs, run_dir, &opts) {
        Ok(merged) => eprintln!(
            "the run fails: {}; the report merges the other shards only ({})",
            crashed.join("; "),
            merged.run_dir.display()
        ),
        Err(e) => eprintln!(
            "the run fails: {}; the other shards could not be merged either: {e:#}",
            crashed.join("; ")
        ),
    }
    Ok(Exit::Failed)
}
