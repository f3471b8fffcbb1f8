//! The shards' evidence added up: counters summed and histograms added exactly (the recorders' own lossless
//! merge), the per-second series aligned by each shard's absolute start second, the ledger joins merged (each
//! shard joined only its own run id, so the joins are disjoint; what a shard counted foreign because a sibling
//! shard sent it is not foreign to the merge), the longest elapsed, interrupted or aborted if any shard was,
//! the earliest start.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::shards::ShardRun;
use crate::join::LedgerSummary;
use crate::load::usage::Usage;
use crate::metrics::series::PAIRS;
use crate::metrics::{Recorder, SeriesStore};
use crate::report::evidence::pair_counts;

/// Every shard's recorder, merged.
pub fn recorder(shards: &[ShardRun]) -> anyhow::Result<Recorder> {
    let mut merged = Recorder::new();
    for s in shards {
        let r = s
            .evidence
            .recorder
            .restore()
            .with_context(|| format!("{}: evidence.json", s.dir.display()))?;
        merged.merge(&r);
    }
    Ok(merged)
}

/// The load's start of the merged run: the earliest shard's, Unix ms.
pub fn load_start(shards: &[ShardRun]) -> u64 {
    shards
        .iter()
        .map(|s| s.evidence.load_started_unix_ms)
        .min()
        .unwrap_or_default()
}

/// How many whole seconds after `t0_ms` a shard's load started (its seconds shift by that much).
fn offset(shard_ms: u64, t0_ms: u64) -> usize {
    (shard_ms / 1000).saturating_sub(t0_ms / 1000) as usize
}

/// The merged per-second store: each shard's seconds (counts from its evidence, histograms from its
/// latency.hlog) shifted by its start second.
pub fn series(shards: &[ShardRun], t0_ms: u64) -> anyhow::Result<Arc<SeriesStore>> {
    let store = Arc::new(SeriesStore::new(tokio::time::Instant::now(), t0_ms));
    for s in shards {
        let shift = offset(s.evidence.load_started_unix_ms, t0_ms);
        for second in &s.evidence.series {
            let counts = pair_counts(second)
                .with_context(|| format!("{}: evidence.json", s.dir.display()))?;
            store.add(second.second + shift, &counts, &[]);
        }
        for (second, cell, h) in &s.intervals {
            store.add(second + shift, &[0; PAIRS], &[(*cell, h.clone())]);
        }
    }
    Ok(store)
}

/// The merged ledger join, or `None` when no shard joined one.
pub fn ledger(shards: &[ShardRun], t0_ms: u64) -> anyhow::Result<Option<LedgerSummary>> {
    let runs: Vec<&str> = shards.iter().map(|s| s.evidence.run_id.as_str()).collect();
    let mut merged: Option<LedgerSummary> = None;
    let mut foreign = 0;
    for s in shards {
        let Some(saved) = &s.evidence.ledger else {
            continue;
        };
        let l = saved
            .restore(&s.evidence.run_id)
            .with_context(|| format!("{}: evidence.json", s.dir.display()))?;
        // A sibling shard's entries are foreign to this shard's join, not to the merge.
        let siblings: u64 = l
            .foreign_by_run
            .iter()
            .filter(|(run, _)| runs.contains(&run.as_str()) && **run != s.evidence.run_id)
            .map(|(_, n)| n)
            .sum();
        // Shards reading one emulator see the same foreign entries: the most any shard saw is the merge's.
        foreign = foreign.max(l.foreign.saturating_sub(siblings));
        let shift = offset(s.evidence.load_started_unix_ms, t0_ms);
        match &mut merged {
            None => {
                let mut first = LedgerSummary::starting_after(l.source.clone(), "", l.start_seq);
                first.remedy = l.remedy;
                first.set_gate(saved.gate);
                add(&mut first, &l, shift);
                merged = Some(first);
            }
            Some(m) => add(m, &l, shift),
        }
    }
    Ok(merged.map(|mut m| {
        m.foreign = foreign;
        m.total = m.ours() + foreign;
        m
    }))
}

/// Adds one shard's join to the merged one (`shift`: its start second after the merged run's).
fn add(m: &mut LedgerSummary, l: &LedgerSummary, shift: usize) {
    for (a, b) in m.by_class.iter_mut().zip(&l.by_class) {
        a.merge(b);
    }
    for (ta, tb) in m.by_transport.iter_mut().zip(&l.by_transport) {
        for (a, b) in ta.iter_mut().zip(tb) {
            a.merge(b);
        }
    }
    if m.by_storm.len() < l.by_storm.len() {
        m.by_storm.resize(l.by_storm.len(), Default::default());
    }
    for (a, b) in m.by_storm.iter_mut().zip(&l.by_storm) {
        a.merge(b);
    }
    for e in &l.forged_examples {
        if m.forged_examples.len() < crate::join::summary::MAX_EXAMPLES {
            m.forged_examples.push(e.clone());
        }
    }
    m.per_second.add_shifted(&l.per_second, shift);
    // Entries a shard's reading missed may be any shard's: the most any one missed, as foreign.
    m.missed = m.missed.max(l.missed);
    m.start_seq = m.start_seq.min(l.start_seq);
    m.last_seq = m.last_seq.max(l.last_seq);
    if !m.source.split(", ").any(|s| s == l.source) {
        m.source = format!("{}, {}", m.source, l.source);
    }
}

/// Why the shards' ledgers could not be read, each named by its shard (an unsharded run's as it was).
pub fn unreadable(shards: &[ShardRun]) -> Option<String> {
    let whys: Vec<String> = shards
        .iter()
        .filter_map(|s| {
            let why = s.evidence.unreadable.as_ref()?;
            Some(if s.shard().count == 1 {
                why.clone()
            } else {
                format!("shard {}: {why}", s.shard())
            })
        })
        .collect();
    (!whys.is_empty()).then(|| whys.join("; "))
}

/// What the generator used, judged per process: each shard ran in its own, so the merged run kept up when
/// every shard did. The busiest shard's CPU and wait (by share of its cores), the fullest descriptor table,
/// the most connections per destination against the fewest ports.
pub fn usage(shards: &[ShardRun]) -> Usage {
    let all: Vec<Usage> = shards.iter().map(|s| s.evidence.usage).collect();
    let share = |u: &Usage| {
        let cap = (u.cores.max(1) * u.elapsed_us.max(1)) as f64;
        (u.cpu_us + u.wait_us.unwrap_or(0)) as f64 / cap
    };
    let Some(mut busiest) = all
        .iter()
        .copied()
        .max_by(|a, b| share(a).total_cmp(&share(b)))
    else {
        return Usage::default();
    };
    if let Some(fds) = all.iter().max_by(|a, b| {
        (a.fds_peak as f64 / a.fds_limit.max(1) as f64)
            .total_cmp(&(b.fds_peak as f64 / b.fds_limit.max(1) as f64))
    }) {
        busiest.fds_peak = fds.fds_peak;
        busiest.fds_limit = fds.fds_limit;
    }
    busiest.connections_per_destination = all
        .iter()
        .map(|u| u.connections_per_destination)
        .max()
        .unwrap_or(0);
    busiest.ephemeral_ports = all.iter().filter_map(|u| u.ephemeral_ports).min();
    busiest
}

/// The longest shard's load.
pub fn elapsed(shards: &[ShardRun]) -> Duration {
    shards
        .iter()
        .map(|s| Duration::from_micros(s.evidence.elapsed_us))
        .max()
        .unwrap_or_default()
}
