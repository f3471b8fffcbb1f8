//! `tokenstorm merge`: shard run folders (`run --shard I/N`) joined into one ordinary run folder. Each shard's
//! `evidence.json` (and `latency.hlog`) is read back ([`crate::report::evidence`]), checked to be one plan's
//! shards, each once, then counters are summed, histograms added exactly, ledger joins merged, and the merged
//! evidence goes through the same judge → build → publish path a run's does.
//!
//! [`merge`] is also what `run --processes N` calls once its shard processes have ended.

use std::path::{Path, PathBuf};

/// How a merge is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A shard process crashed: missing shards do not refuse the merge; the merged report gets an
    /// `inconclusive` `shards_complete` row naming them instead (the run exits 1).
    pub partial: bool,
    /// Every row of the terminal table (`-v`).
    pub verbose: bool,
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
    let _ = (dirs, out_dir, opts);
    anyhow::bail!("tokenstorm merge: not built yet")
}
