//! `tokenstorm merge SHARD_DIR... --out DIR`: the shards of one plan (`run --shard I/N`) into one ordinary run
//! folder, judged on the merged evidence ([`crate::merge`]). Exit 0 pass, 1 fail or inconclusive, 3
//! interrupted; 2 for a refusal (another plan, a duplicate, a missing shard, not a run folder) or bad input.

use std::path::PathBuf;

use crate::error::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shards' run folders (each holds report.json, evidence.json and latency.hlog).
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// The run folder to write (created if missing; refused if it already holds a report.json).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Every row of the terminal table (the global `-v`).
    #[arg(skip)]
    pub verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let opts = crate::merge::Options {
        partial: false,
        verbose: args.verbose,
        progress: true,
    };
    Ok(crate::merge::merge(&args.shards, &args.out, &opts)?.exit)
}
