//! `tokenstorm compare BASE_RUN CURRENT_RUN [--tolerance ...] [--json | --md]`: two finished runs side by side
//! from their report.json, regressions marked. Exit 0 when nothing regressed beyond tolerance, 1 when something
//! did, 2 on usage errors (a missing folder, an unreadable report, a bad `--tolerance`).

use std::path::PathBuf;

use crate::compare::{self, render, tolerance::Tolerance, view::RunView};
use crate::error::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run folder to compare against (holding report.json).
    #[arg(value_name = "BASE_RUN")]
    pub base: PathBuf,
    /// The run folder judged.
    #[arg(value_name = "CURRENT_RUN")]
    pub current: PathBuf,
    /// KEY=VALUE,... over the defaults p50=10%,p99=10%,p999=20%,max=off,throughput=5%,errors=0,forged=0,
    /// cost=off,floor=1ms,min_count=10 (latency changes under `floor` are noise; rows with fewer attempts than
    /// `min_count` in either run are shown, not judged).
    #[arg(long, value_name = "KEY=VALUE,...", default_value = "")]
    pub tolerance: String,
    /// Print the comparison as JSON.
    #[arg(long, conflicts_with = "md")]
    pub json: bool,
    /// Print the comparison as a Markdown table.
    #[arg(long)]
    pub md: bool,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let tolerance = Tolerance::parse(&args.tolerance)?;
    let base = RunView::load(&args.base)?;
    let current = RunView::load(&args.current)?;
    let names = (
        args.base.display().to_string(),
        args.current.display().to_string(),
    );
    let c = compare::compare(&base, &current, &tolerance, (&names.0, &names.1));
    let out = if args.json {
        render::json(&c)?
    } else if args.md {
        render::markdown(&c)
    } else {
        render::terminal(&c)
    };
    print!("{out}");
    Ok(if c.regressions > 0 {
        Exit::Failed
    } else {
        Exit::Ok
    })
}
