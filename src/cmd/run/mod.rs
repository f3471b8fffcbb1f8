//! `tokenstorm run [SCENARIO]`: run a scenario and judge it.
//!
//! Scenario → Plan (keys loaded or generated) → credential catalogue (all signing happens here) → the embedded
//! emulator on 127.0.0.1:0, or the external target → load, while the emulator's bounded ledger is joined as it
//! goes ([`crate::join`]) → invariants → report on stdout and in
//! `<out-dir>/<UTC timestamp>-<scenario>/report.json`. Exit 0 when every invariant and threshold holds, 1 when
//! one fails (or an `[abort]` guard or `abort_on_fail` threshold stopped the run), 2 on setup or usage errors,
//! 3 when SIGINT/SIGTERM or `--stop-file` stopped the load: the attempts in flight drain (at most 5 s) and the
//! report is still written, marked interrupted ([`stop`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::Bytes;

use crate::attempt::{Catalogue, TokenPool};
use crate::contract::Transport;
use crate::emulator::RunningEmulator;
use crate::emulator::config::{DEFAULT_ACCOUNT, DEFAULT_REGION, EmulatorConfig};
use crate::error::Exit;
use crate::join;
use crate::load::{self, Connector, RequestBook, RequestShape, fdlimit};
use crate::report::{conclude, json};
use crate::scenario::{self, Plan, Target};
use crate::shutdown::Shutdown;

mod abort;
mod credentials;
mod load_step;
mod preflight;
mod processes;
mod remote;
pub mod stop;
mod target;
mod witness;
use load_step::{Setup, watched_load};
use stop::Stop;
use target::{prepare, raise_fd_limit, target_urls};
use witness::{Seen, connect_cloudwatch, finish_join, witness};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    #[arg(default_value = "scenarios/quickstart.toml")]
    pub scenario: PathBuf,
    /// Override run.duration_s (seconds).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Override run.max_attempts (0: bounded by the duration only).
    #[arg(long, value_name = "N")]
    pub attempts: Option<u64>,
    /// Override run.seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run only shard I of N of the plan (I is 0-based, 0 ≤ I < N, as Kubernetes' JOB_COMPLETION_INDEX): device d
    /// belongs to shard d mod N (closed model: slot j to shard j mod N), the open schedule and the connect pacing
    /// are shared out so that the N shards with the same seed are exactly the whole plan. report.json carries
    /// the shard and the plan hash.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::load::shard::Shard>,
    /// Override run.rate_per_s (open model).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Where run folders (<UTC timestamp>-<scenario>/report.json) are written.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out_dir: PathBuf,
    /// No live status on stderr (neither the block on a terminal nor the plain lines elsewhere).
    #[arg(long, short)]
    pub quiet: bool,
    /// Serve the generator's Prometheus `/metrics` on this address while the run goes (e.g. 127.0.0.1:9464;
    /// port 0 picks a free one; the bound address is printed on stderr). Up until the report is written.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// With --metrics-addr: after the report is written, keep serving /metrics (the final counts) until
    /// SIGINT/SIGTERM or the stop file, then exit as the run would have.
    #[arg(long, requires = "metrics_addr")]
    pub linger: bool,
    /// Every row of the terminal table (the global `-v`; by default forged variants fold into one row per
    /// transport and outcome). Set from the command line's `-v`, not a flag of its own.
    #[arg(skip)]
    pub verbose: bool,
    /// Allow a remote target (any address outside 127.0.0.0/8 and ::1); the scenario must also name who
    /// authorized it (`[safety] authorized`).
    #[arg(long)]
    pub allow_remote: bool,
    /// Stop the run when this file appears (polled every 250 ms), as on SIGINT: drain, report, interrupted.
    #[arg(long, value_name = "PATH")]
    pub stop_file: Option<PathBuf>,
    /// No load: check the safety rules, print the plan, caps and prediction, then send one valid and one forged
    /// attempt per transport and say what came back (exit 0 when each answered as it must).
    #[arg(long)]
    pub preflight: bool,
    /// Run the plan as N shard processes of this binary on this machine (`--shard i/N` each, every one under
    /// its own descriptor limit, each with its own embedded emulator), show their summed progress, forward
    /// SIGINT/SIGTERM to them and merge their run folders (under `<run folder>/shards/<i>/`) into one report.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          conflicts_with_all = ["shard", "preflight"])]
    pub processes: Option<u32>,
    /// Write the run folder exactly here (created if absent) instead of a new `<out-dir>/<timestamp>-<name>`:
    /// how `--processes` gives each shard process its folder.
    #[arg(long, value_name = "DIR", hide = true)]
    pub run_dir: Option<PathBuf>,
    /// The `--processes` parent's pid: this shard process dies with it (and does not start without it).
    #[arg(long, value_name = "PID", hide = true)]
    pub parent_pid: Option<i32>,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    if let Some(pid) = args.parent_pid {
        processes::die_with_parent(pid)?;
    }
    if let Some(n) = args.processes {
        return processes::run(&args, n);
    }
    let progress = !args.quiet;
    let mut plan = resolve(&args, progress)?;
    plan.shard = args.shard;
    // A `--processes` shard (`--parent-pid`) takes the stop file its parent checked: one that appears while the
    // shard is still starting is a stop request, not a leftover.
    if let (Some(p), None) = (&args.stop_file, args.parent_pid) {
        stop::check_stop_file(p)?;
    }
    let (catalogue, pool) = credentials::prepare(&mut plan, progress)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tokenstorm")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let stop = Stop::new();
        stop::watch(&stop, args.stop_file.clone(), progress);
        let how = How {
            progress,
            allow_remote: args.allow_remote,
            preflight: args.preflight,
            metrics_addr: args.metrics_addr,
            linger: args.linger,
            verbose: args.verbose,
            run_dir: args.run_dir.clone(),
        };
        session(plan, catalogue, pool, &args.out_dir, how, stop).await
    })
}

/// The scenario with the command line's overrides, resolved into the plan (unsharded): a bad scenario or
/// override is an error here, before anything starts.
fn resolve(args: &Args, progress: bool) -> anyhow::Result<Plan> {
    let mut s = scenario::load(&args.scenario)?;
    let file = args.scenario.display().to_string();
    scenario::stages::check_overrides(&s, &file, args.duration, args.rate)?;
    if let Some(d) = args.duration {
        s.run.duration_s = d;
    }
    if let Some(n) = args.attempts {
        s.run.max_attempts = n;
    }
    if let Some(seed) = args.seed {
        s.run.seed = seed;
    }
    if let Some(rate) = args.rate {
        s.run.rate_per_s = rate;
    }
    if progress {
        eprintln!(
            "tokenstorm run {}: checking the scenario, preparing keys",
            args.scenario.display()
        );
    }
    Ok(Plan::resolve(s, &args.scenario)?)
}

/// How the command line asked for the run.
struct How {
    progress: bool,
    allow_remote: bool,
    /// `--preflight`: one valid and one forged attempt per transport instead of the load ([`preflight`]).
    preflight: bool,
    /// `--metrics-addr`: where the generator's `/metrics` is served.
    metrics_addr: Option<SocketAddr>,
    /// `--linger`: serve `/metrics` after the report until a stop.
    linger: bool,
    /// `-v`: every row of the terminal table.
    verbose: bool,
    /// The hidden `--run-dir`: this exact run folder (kept, not removed, when the setup fails).
    run_dir: Option<PathBuf>,
}

async fn session(
    mut plan: Plan,
    catalogue: Catalogue,
    pool: Option<Arc<TokenPool>>,
    out_dir: &Path,
    how: How,
    stop: Stop,
) -> anyhow::Result<Exit> {
    let progress = how.progress && !how.preflight;
    // Before anything connects anywhere: a remote target must be allowed and the plan within the caps (exit 2).
    let mut safety = remote::guard(&mut plan, how.allow_remote).await?;
    let signals = stop.shutdown.clone();
    let (started, run_id) = identity();
    // Before any traffic: a build without AWS support or without credentials stops here (exit 2). A preflight
    // reads no CloudWatch: it settles long after two attempts.
    let cloudwatch = connect_cloudwatch(&plan, how.preflight).await?;
    let board = crate::live::Board::new(plan.duration);
    let metrics =
        crate::live::serve::start(how.metrics_addr.filter(|_| !how.preflight), &board).await?;
    let run_dir = match &how.run_dir {
        Some(dir) => exact_run_dir(dir)?,
        None => json::run_dir(out_dir, started.as_secs(), &plan.name)?,
    };
    let emu_shutdown = Shutdown::new();
    let (emulator, endpoint, https, links) =
        match prepare(&plan, &catalogue, &run_dir, &safety, emu_shutdown.clone()).await {
            Ok(s) => s,
            Err(e) => {
                emu_shutdown.trigger();
                if how.run_dir.is_none() {
                    let _ = std::fs::remove_dir_all(&run_dir);
                }
                return Err(e);
            }
        };
    let urls = target_urls(endpoint.as_ref(), &links);
    raise_fd_limit(&plan, https.is_some(), emulator.is_some());
    if how.preflight {
        let parts = preflight::Parts {
            plan: &plan,
            catalogue: &catalogue,
            pool,
            run_id: &run_id,
            https,
            links,
            safety: &safety,
            urls: &urls,
            run_dir: &run_dir,
        };
        return preflight::run(parts, emulator, &emu_shutdown).await;
    }
    if progress {
        announce(&plan, &run_id, &urls);
    }
    let setup = Setup {
        plan: &plan,
        run_id: &run_id,
        catalogue: &catalogue,
        pool,
        safety: &safety,
        progress,
        board: board.clone(),
        run_dir: &run_dir,
    };
    let (result, joined, aborted_by, usage) =
        watched_load(setup, https, links, emulator.as_ref(), &stop).await;
    safety.aborted_by = aborted_by;
    let refused_valid = witness::refused_valid(&plan, emulator.as_ref(), &run_id).await;
    if let Some(emu) = emulator {
        stop_embedded(emu, &emu_shutdown, &run_dir, progress).await;
    }
    let span = join::cloudwatch::LoadSpan {
        start_unix_ms: started.as_millis() as u64,
        end_unix_ms: join::cloudwatch::unix_ms_now(),
    };
    let cloudwatch = cloudwatch.map(|cw| (cw, span));
    let seen = Seen::gather(
        joined, cloudwatch, &plan, &result, &run_id, &signals, progress,
    )
    .await;
    let measured = conclude::Measured {
        plan: &plan,
        run_id: &run_id,
        started_unix_ms: started.as_millis() as u64,
        elapsed: result.elapsed,
        interrupted: result.interrupted,
        stopped_by: result.interrupted.then(|| stop.stopped_by()).flatten(),
        urls,
        recorder: &result.recorder,
        series: &result.series,
        ledger: seen.ledger.as_ref(),
        aws: seen.aws,
        unreadable: seen.unreadable.as_deref(),
        safety,
        refused_valid,
        usage,
    };
    let exit = conclude::conclude(
        measured,
        conclude::Merging::default(),
        &run_dir,
        how.verbose,
    )?;
    if let Some(metrics) = metrics {
        metrics.close(how.linger, &stop.shutdown).await;
    }
    Ok(exit)
}

/// When the run started (since the Unix epoch) and its id, the prefix of every attempt id.
fn identity() -> (Duration, String) {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    (started, run_id)
}

/// `--run-dir DIR`: the folder as given, created if absent (its parent too).
fn exact_run_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// The progress line that opens the load.
fn announce(plan: &Plan, run_id: &str, urls: &[String]) {
    eprintln!(
        "run {run_id}: {} devices ({}) → {} (SNI {}), HTTPS {:?}, MQTT {}/s connects, up to {:.1} s{}{}",
        plan.devices,
        plan.groups.describe(),
        urls.join(" "),
        plan.target.endpoint_name(),
        plan.model,
        plan.mqtt.connects_per_s,
        plan.duration.as_secs_f64(),
        plan.max_attempts
            .map(|m| format!(" or {m} attempts"))
            .unwrap_or_default(),
        scenario::stages::describe(&plan.scenario.run.stages, &plan.ramps)
    );
    if let Some(s) = plan.shard {
        eprintln!(
            "shard {s} (0-based) of plan {}: its devices only",
            plan.plan_hash
        );
    }
}

/// Stops the embedded emulator, waiting up to 10 s for its tasks; names the file its runtime functions wrote
/// their output to, if they did.
async fn stop_embedded(emu: RunningEmulator, shutdown: &Shutdown, run_dir: &Path, progress: bool) {
    shutdown.trigger();
    if tokio::time::timeout(Duration::from_secs(10), emu.join())
        .await
        .is_err()
    {
        eprintln!("warning: the embedded emulator did not stop within 10 s");
    }
    let log = run_dir.join("emulator").join(target::FUNCTION_LOG);
    if progress && log.exists() {
        eprintln!("the authorizer function's output: {}", log.display());
    }
}

/// A printable payload of `n` bytes.
fn payload(n: usize) -> Vec<u8> {
    b"tokenstorm ".iter().copied().cycle().take(n).collect()
}
