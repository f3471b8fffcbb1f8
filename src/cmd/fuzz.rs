//! `tokenstorm fuzz [SCENARIO] --seed S --cases N [--replay FILE] [--out-dir DIR]`: arbitrary-driven attack
//! traffic over every transport against the embedded emulator, judged by the fuzz oracle (see `crate::fuzz`).
//! Exit 0: no finding; 1: findings (each written as a reproducer in the run folder) or interrupted; 2: usage.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::io::Write as _;

use anyhow::Context as _;

use crate::error::Exit;
use crate::fuzz::reproducer::Reproducer;
use crate::fuzz::runner::{self, Options, Summary};
use crate::fuzz::setup::Setup;
use crate::shutdown::Shutdown;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A scenario file: the emulator fuzzed serves its `[authorizer]` with its `[keys]` (valid prefixes are
    /// signed with its first key), its `run.seed` is the default seed and its name names the run folder.
    pub scenario: Option<PathBuf>,
    /// The run's seed (case i is generated from ChaCha20(seed, i)). Default: the scenario's seed, else 1.
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many cases to send.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub cases: u64,
    /// Replay a reproducer written by an earlier run instead of fuzzing (exit 1 when it still fails).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Where the run folder (reproducers, fuzz-report.json, the emulator's state) is created.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out_dir: PathBuf,
    /// Per-case deadline: the emulator must have closed the case's connection this long after the client's
    /// half-close, and answer liveness probes within it.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub case_timeout_ms: u64,
    /// Resident memory bound, MiB (a finding when exceeded).
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub max_rss_mb: u64,
    /// Time spent minimizing each finding, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub minimize_s: u64,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let (seed, name, setup) = match &args.scenario {
        Some(path) => {
            let s = crate::scenario::load(path)?;
            let seed = args.seed.unwrap_or(s.run.seed);
            let plan = crate::scenario::Plan::resolve(s, path)?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "fuzz".into());
            (seed, name, Setup::from_plan(plan)?)
        }
        None => (args.seed.unwrap_or(1), "fuzz".to_string(), Setup::builtin()),
    };
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let run_dir = args.out_dir.join(format!("{unix}-fuzz-{name}-seed{seed}"));
    let mut opts = Options::new(seed, args.cases, run_dir);
    opts.setup = std::sync::Arc::new(setup);
    opts.case_deadline = Duration::from_millis(args.case_timeout_ms.max(1));
    opts.max_rss_kib = args.max_rss_mb.saturating_mul(1024);
    opts.minimize_budget = Duration::from_secs(args.minimize_s);
    opts.progress = !args.quiet;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tokenstorm-fuzz")
        .build()
        .context("cannot start the async runtime")?;
    if let Some(file) = &args.replay {
        return runtime.block_on(replay(file, &opts));
    }
    let shutdown = {
        let _in_runtime = runtime.enter();
        Shutdown::new().on_signals()
    };
    let summary = runtime.block_on(runner::run(&opts, &shutdown))?;
    let report = write_report(&summary)?;
    // A closed stdout (`| head`) must not panic the harness.
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", render_summary(&summary));
    let _ = writeln!(out, "report: {}", report.display());
    Ok(if summary.verdict == "pass" {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

async fn replay(file: &Path, opts: &Options) -> anyhow::Result<Exit> {
    let rep = Reproducer::read(file)?;
    println!(
        "replaying {} (seed {}, case {}, {}, {} bytes{}): {}",
        file.display(),
        rep.seed,
        rep.case_index,
        rep.transport.name(),
        rep.bytes()?.len(),
        if rep.valid_prefix {
            ", after a valid prefix"
        } else {
            ""
        },
        rep.kind.as_str()
    );
    match runner::replay(&rep, opts).await? {
        Some((kind, detail)) => {
            println!(
                "verdict: FAIL — still reproduces: {} ({detail})",
                kind.as_str()
            );
            Ok(Exit::Failed)
        }
        None => {
            println!("verdict: PASS — no longer reproduces");
            Ok(Exit::Ok)
        }
    }
}

fn write_report(summary: &Summary) -> anyhow::Result<PathBuf> {
    let path = summary.run_dir.join("fuzz-report.json");
    let text = serde_json::to_string_pretty(summary)?;
    std::fs::write(&path, text + "\n")
        .with_context(|| format!("cannot write the fuzz report {}", path.display()))?;
    Ok(path)
}

/// The terminal summary: cases per transport, cases/s, findings, verdict.
pub fn render_summary(s: &Summary) -> String {
    let mut out = format!(
        "tokenstorm fuzz: seed {}, {} of {} cases in {:.1} s ({:.0} cases/s), {} probes, {} authorizer invocations (valid prefixes and probes), peak RSS {} MiB (bound {} MiB)\n",
        s.seed,
        s.cases_run,
        s.cases_planned,
        s.seconds,
        s.cases_per_second,
        s.probes,
        s.invocations,
        s.peak_rss_kib
            .map(|k| (k / 1024).to_string())
            .unwrap_or_else(|| "?".into()),
        s.max_rss_kib / 1024,
    );
    out.push_str("  transport    cases  valid-prefix  cases/s  not-connected\n");
    for t in &s.transports {
        out.push_str(&format!(
            "  {:<10} {:>7} {:>13} {:>8.0} {:>14}\n",
            t.transport, t.cases, t.with_valid_prefix, t.cases_per_second, t.not_connected
        ));
    }
    for f in &s.findings {
        out.push_str(&format!(
            "  FINDING {} case {} {}: {}{}\n",
            f.kind.as_str(),
            f.case_index
                .map(|i| i.to_string())
                .unwrap_or_else(|| "-".into()),
            f.transport.unwrap_or("-"),
            f.detail,
            f.reproducer
                .as_ref()
                .map(|p| format!(" → {}", p.display()))
                .unwrap_or_default()
        ));
    }
    let verdict = match (s.verdict, s.interrupted) {
        ("pass", _) => "PASS",
        (_, true) => "FAIL (interrupted)",
        _ => "FAIL",
    };
    out.push_str(&format!(
        "verdict: {verdict} — {} finding(s)\n",
        s.findings.len()
    ));
    out
}
