//! The shard folders a merge is given: read (report.json, evidence.json, latency.hlog), then checked to be the
//! shards of one plan, each exactly once. Every refusal names the folders it is about.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::hlog::{self, Interval};
use crate::load::shard::Shard;
use crate::report::evidence::{self, Evidence};

/// One shard's folder as read.
pub struct ShardRun {
    pub dir: PathBuf,
    pub evidence: Evidence,
    /// Its own report's verdict (listed in `merged_from`, never judged by).
    pub verdict: String,
    pub intervals: Vec<Interval>,
}

impl ShardRun {
    /// The part of the plan it ran (an unsharded run: 0 of 1).
    pub fn shard(&self) -> Shard {
        self.evidence.shard.unwrap_or(Shard::WHOLE)
    }
}

/// Reads one folder; `Err`: it is not a run folder (no report.json or evidence.json) or does not parse.
pub fn read(dir: &Path) -> anyhow::Result<ShardRun> {
    if !dir.is_dir() {
        bail!("{} is not a run folder: no such directory", dir.display());
    }
    let report_path = dir.join("report.json");
    let text = std::fs::read_to_string(&report_path).with_context(|| {
        format!(
            "{} is not a run folder: cannot read {}",
            dir.display(),
            report_path.display()
        )
    })?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not JSON", report_path.display()))?;
    let evidence = evidence::read(dir)?;
    let intervals = hlog::read(dir)?;
    Ok(ShardRun {
        dir: dir.to_path_buf(),
        verdict: report["verdict"].as_str().unwrap_or_default().to_string(),
        evidence,
        intervals,
    })
}

/// Refuses the same folder given twice (by its canonical path), naming it.
pub fn distinct_folders(dirs: &[PathBuf]) -> anyhow::Result<()> {
    let mut seen: BTreeMap<PathBuf, &Path> = BTreeMap::new();
    for d in dirs {
        let canon = d.canonicalize().unwrap_or_else(|_| d.clone());
        if let Some(first) = seen.insert(canon, d) {
            bail!(
                "the same folder is given twice: {} and {}",
                first.display(),
                d.display()
            );
        }
    }
    Ok(())
}

/// Checks the shards are one plan's (same plan hash, same shard count), each index at most once, witnessed
/// alike ([`super::aws::check`]); returns the missing indexes (refused unless `partial`).
pub fn check(shards: &[ShardRun], partial: bool) -> anyhow::Result<Vec<u32>> {
    let Some(first) = shards.first() else {
        bail!("nothing to merge: give at least one shard folder");
    };
    let hash = &first.evidence.plan_hash;
    for s in shards {
        if &s.evidence.plan_hash != hash {
            bail!(
                "{} is a shard of another plan: its plan hash {} differs from {}'s {hash} (another scenario, seed or override)",
                s.dir.display(),
                s.evidence.plan_hash,
                first.dir.display()
            );
        }
        if s.shard().count != first.shard().count {
            bail!(
                "{} is shard {} but {} is shard {}: the shard counts differ",
                s.dir.display(),
                s.shard(),
                first.dir.display(),
                first.shard()
            );
        }
    }
    super::aws::check(shards)?;
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    for s in shards {
        if let Some(other) = by_index.insert(s.shard().index, &s.dir) {
            bail!(
                "shard {} is given twice: {} and {}",
                s.shard(),
                other.display(),
                s.dir.display()
            );
        }
    }
    let count = first.shard().count;
    let missing: Vec<u32> = (0..count).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() && !partial {
        let (noun, verb) = if missing.len() == 1 {
            ("shard", "is")
        } else {
            ("shards", "are")
        };
        bail!(
            "{noun} {} of {count} {verb} missing: every shard 0..{count} must be given once",
            list(&missing),
        );
    }
    Ok(missing)
}

/// `0, 2, 5`.
pub fn list(indexes: &[u32]) -> String {
    indexes
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
