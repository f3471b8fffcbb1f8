//! Shards witnessed by the account's CloudWatch (`[target.aws]`), merged.
//!
//! - **Logs** (the witness helper's line per invocation, read per run id): each shard read its own lines, so
//!   the shards' counts and joins are disjoint and add up. The merged record's count is their sum, judged
//!   against what the merged measurements explain; a shard whose logs never settled leaves the merge pending,
//!   naming the shard. Its `reads` are each shard's last read, in shard order.
//! - **Metrics** (`AWS/Lambda` `Invocations`): one count for the whole account, so a shard of several does not
//!   read it (`metrics_deferred`); the merge reads it once, over the window spanning every shard's load, and
//!   judges it against the merged bounds. That needs the account's credentials where the merge runs (moto in
//!   the tests). A merge long after the load waits only what is left of `settle_s` and `reconcile_timeout_s`;
//!   CloudWatch that cannot be read leaves the count pending, and `forged_never_invoked` inconclusive.
//!
//! A single unsharded run (or shard 1/1) read its own metrics; its records are kept as they are.

use std::time::Duration;

use anyhow::bail;

use super::shards::ShardRun;
use crate::join::cloudwatch::{
    Basis, CloudWatchWitness, Expected, LoadSpan, MetricsRecord, Reconciliation, Window,
    WitnessRecord, WitnessStatus,
};
use crate::metrics::Recorder;
use crate::scenario::aws::AwsWitness;
use crate::scenario::{AwsTarget, Plan};
use crate::shutdown::Shutdown;

/// The merged reconciliation (`None`: the shards were not witnessed by CloudWatch). Reads the account's metrics
/// when the shards left them to the merge (`progress`: its lines on stderr).
pub fn reconcile(
    runs: &[ShardRun],
    plan: &Plan,
    recorder: &Recorder,
    elapsed: Duration,
    progress: bool,
) -> anyhow::Result<Option<Reconciliation>> {
    let Some(first) = runs[0].evidence.aws.as_ref() else {
        return Ok(None);
    };
    let Some(target) = plan.target.aws() else {
        bail!(
            "{}: evidence.json holds a [target.aws] reconciliation but the shards' scenario has no [target.aws]",
            runs[0].dir.display()
        );
    };
    let expected = Expected::of(&Basis {
        recorder,
        gate: plan.gate,
        run_secs: elapsed.as_secs(),
        http_caching: plan.authorizer.enable_caching_for_http,
    });
    if let [only] = runs
        && !first.metrics_deferred
    {
        return Ok(only.evidence.aws.clone());
    }
    let span = span(runs);
    let mut merged = Reconciliation {
        logs: logs(runs, expected),
        metrics: None,
        metrics_deferred: false,
        window: Window::of_run(span.start_unix_ms, span.end_unix_ms),
        ..first.clone()
    };
    if target.witness.metrics() {
        merged.metrics = Some(read_metrics(
            target,
            &first.region,
            span,
            expected,
            progress,
        ));
    }
    Ok(Some(merged))
}

/// Checks that the shards were witnessed alike: all by CloudWatch or none, and a shard of several with its
/// metrics left to the merge (a count it read itself holds every shard's invocations), naming the folder.
pub fn check(runs: &[ShardRun]) -> anyhow::Result<()> {
    let Some(first) = runs.first() else {
        return Ok(());
    };
    for s in runs {
        let Some(r) = &s.evidence.aws else {
            if first.evidence.aws.is_some() {
                bail!(
                    "{} was not witnessed by CloudWatch but {} was ([target.aws]): not shards of one run",
                    s.dir.display(),
                    first.dir.display()
                );
            }
            continue;
        };
        if first.evidence.aws.is_none() {
            bail!(
                "{} was witnessed by CloudWatch ([target.aws]) but {} was not: not shards of one run",
                s.dir.display(),
                first.dir.display()
            );
        }
        if s.shard().count > 1 && r.metrics.is_some() {
            bail!(
                "{} (shard {}) read the account's AWS/Lambda Invocations itself, which counts every shard's invocations: \
                 run the shards with this tokenstorm, which leaves that count to the merge",
                s.dir.display(),
                s.shard()
            );
        }
    }
    Ok(())
}

/// From the first shard's load start to the last one's end.
fn span(runs: &[ShardRun]) -> LoadSpan {
    let start = super::combine::load_start(runs);
    let end = runs
        .iter()
        .map(|s| s.evidence.load_started_unix_ms + s.evidence.elapsed_us / 1000)
        .max()
        .unwrap_or(start);
    LoadSpan {
        start_unix_ms: start,
        end_unix_ms: end,
    }
}

/// The shards' logs witnesses added up (`None`: no logs witness).
fn logs(runs: &[ShardRun], expected: Expected) -> Option<WitnessRecord> {
    let each: Vec<(String, &WitnessRecord)> = runs
        .iter()
        .filter_map(|s| {
            let w = s.evidence.aws.as_ref()?.logs.as_ref()?;
            Some((format!("shard {}", s.shard()), w))
        })
        .collect();
    (!each.is_empty()).then(|| sum(&each, expected))
}

/// Disjoint counts (each shard's own run id's lines) summed and judged against `expected`: pending when any
/// shard's is, naming it.
fn sum(each: &[(String, &WitnessRecord)], expected: Expected) -> WitnessRecord {
    let pending = each.iter().any(|(_, w)| w.status == WitnessStatus::Pending);
    let observed = each
        .iter()
        .filter_map(|(_, w)| w.observed)
        .reduce(|a, b| a + b);
    let status = match observed {
        _ if pending => WitnessStatus::Pending,
        Some(n) if expected.contains(n) => WitnessStatus::Reconciled,
        Some(_) => WitnessStatus::Mismatch,
        None => WitnessStatus::Pending,
    };
    let named = |f: fn(&WitnessRecord) -> Option<&String>| {
        let all: Vec<String> = each
            .iter()
            .filter_map(|(name, w)| f(w).map(|e| format!("{name}: {e}")))
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    };
    WitnessRecord {
        status,
        observed,
        expected,
        reads: each
            .iter()
            .filter_map(|(_, w)| w.reads.last().copied())
            .collect(),
        waited_ms: each.iter().map(|(_, w)| w.waited_ms).max().unwrap_or(0),
        error: named(|w| w.error.as_ref()),
        gave_up: named(|w| w.gave_up.as_ref()),
    }
}

/// Reads `AWS/Lambda` `Invocations` once over `span` (in the shards' `region`) until it settles; a CloudWatch
/// that cannot be reached is a pending count with the error.
fn read_metrics(
    target: &AwsTarget,
    region: &str,
    span: LoadSpan,
    expected: Expected,
    progress: bool,
) -> MetricsRecord {
    let mut target = target.clone();
    target.region = region.to_string();
    target.witness = AwsWitness::Metrics;
    let unread = |why: String| {
        MetricsRecord::unread(
            &target,
            expected,
            why,
            "CloudWatch could not be read at merge",
        )
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return unread(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let stop = Shutdown::new().on_signals();
        let cw = match CloudWatchWitness::connect(&target).await {
            Ok(cw) => cw,
            Err(e) => return unread(format!("{e:#}")),
        };
        if progress {
            eprintln!("merge: {}", cw.describe());
        }
        let record = cw
            .finish_metrics(span, expected, &stop, progress)
            .await
            .unwrap_or_else(|| unread("no metrics witness was read".into()));
        if progress {
            eprintln!("merge: witness: {}", record.brief());
        }
        record
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::join::cloudwatch::{Read, Settled};

    fn read(at_unix_ms: u64, value: u64) -> Read {
        Read { at_unix_ms, value }
    }

    fn witness(reads: &[u64], settled: bool, expected: Expected) -> WitnessRecord {
        let s = Settled {
            reads: reads
                .iter()
                .enumerate()
                .map(|(i, &v)| read(i as u64 * 1000, v))
                .collect(),
            value: settled.then(|| *reads.last().unwrap()),
            gave_up: (!settled).then(|| "3 reads in a row failed".into()),
            error: (!settled).then(|| "connection refused".into()),
            waited_ms: reads.len() as u64 * 1000,
        };
        WitnessRecord::new(&s, expected)
    }

    /// Each shard's own lines add up, judged against the merged bounds (not the shards'); the reads kept are each
    /// shard's last; a shard whose logs never settled leaves the sum pending and is named.
    #[test]
    fn the_shards_logs_counts_add_up_and_a_pending_shard_is_named() {
        let alone = Expected { min: 5, max: 9 };
        let merged = Expected { min: 10, max: 20 };
        let a = witness(&[6, 7, 7], true, alone);
        let b = witness(&[8, 8], true, alone);
        let each = [("shard 0/2".to_string(), &a), ("shard 1/2".to_string(), &b)];
        let s = sum(&each, merged);
        assert_eq!(
            (s.status, s.observed, s.expected, s.waited_ms),
            (WitnessStatus::Reconciled, Some(15), merged, 3000)
        );
        assert_eq!(s.reads, vec![read(2000, 7), read(1000, 8)]);
        assert!(s.complete() && s.error.is_none() && s.gave_up.is_none());
        let over = sum(&each, Expected { min: 1, max: 12 });
        assert_eq!(over.status, WitnessStatus::Mismatch);
        let late = witness(&[3], false, alone);
        let each = [
            ("shard 0/2".to_string(), &a),
            ("shard 1/2".to_string(), &late),
        ];
        let s = sum(&each, merged);
        assert_eq!((s.status, s.observed), (WitnessStatus::Pending, Some(10)));
        assert!(!s.complete());
        assert_eq!(
            s.gave_up.as_deref(),
            Some("shard 1/2: 3 reads in a row failed")
        );
        assert_eq!(s.error.as_deref(), Some("shard 1/2: connection refused"));
    }

    /// The window spans the earliest load start to the latest load end.
    #[test]
    fn the_span_covers_every_shard_s_load() {
        let start = 1_796_288_400_000;
        let mut runs = [
            super::super::tests::shard("h", 0, 2, "a", start + 2_000),
            super::super::tests::shard("h", 1, 2, "b", start),
        ];
        runs[0].evidence.elapsed_us = 3_000_000;
        runs[1].evidence.elapsed_us = 4_000_000;
        let s = span(&runs);
        assert_eq!((s.start_unix_ms, s.end_unix_ms), (start, start + 5_000));
    }
}
