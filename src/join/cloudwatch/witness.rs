//! The CloudWatch witness of a run (`[target.aws]`): the clients are connected before any traffic (a build
//! without AWS support, or no credentials, stops the run there with exit 2), and after the load both witnesses
//! settle concurrently (a `witness = "both"` run waits once), then become the report's [`Reconciliation`] and,
//! for the logs, the [`LedgerSummary`] the invariants judge.
//!
//! Unlike the emulator's ledger this witness is not drained while the load runs: CloudWatch's records are only
//! worth reading once final, so there is nothing to do until [`CloudWatchWitness::finish`].

use crate::aws::{CloudWatch, Logs, Settings};
use crate::join::{LedgerSummary, Spec};
use crate::scenario::AwsTarget;
use crate::shutdown::Shutdown;

use super::logs::LogsReader;
use super::metrics::MetricsReader;
use super::{
    Basis, Dimension, Expected, MetricsRecord, Reconciliation, Settled, Timing, Window,
    WitnessRecord, settle,
};

/// Connected clients for the witnesses `[target.aws]` asks for.
pub struct CloudWatchWitness {
    target: AwsTarget,
    /// `target.region`, else the environment's.
    region: String,
    logs: Option<Logs>,
    metrics: Option<CloudWatch>,
    /// A shard of several: `Invocations` is left to the merge ([`Reconciliation::metrics_deferred`]).
    metrics_deferred: bool,
}

/// When the load ran, Unix ms.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpan {
    pub start_unix_ms: u64,
    pub end_unix_ms: u64,
}

/// What [`CloudWatchWitness::finish`] found.
pub struct Found {
    pub reconciliation: Reconciliation,
    /// The logs join, when the logs witness settled with every line the answers prove (else the run is judged
    /// without a ledger, and `forged_never_invoked` is inconclusive).
    pub ledger: Option<LedgerSummary>,
}

impl CloudWatchWitness {
    /// Connects the clients (credentials from the standard chain; nothing is sent to AWS yet).
    pub async fn connect(target: &AwsTarget) -> anyhow::Result<Self> {
        let settings = Settings {
            region: region(target)?,
            endpoint_url: target.endpoint_url.clone(),
        };
        let region = settings.region.clone();
        let logs = match target.witness.logs() {
            true => Some(Logs::connect(&settings).await?),
            false => None,
        };
        let metrics = match target.witness.metrics() {
            true => Some(CloudWatch::connect(&settings).await?),
            false => None,
        };
        Ok(Self {
            target: target.clone(),
            region,
            logs,
            metrics,
            metrics_deferred: false,
        })
    }

    /// For a shard of several (`run --shard I/N`, N > 1): `AWS/Lambda` `Invocations` counts the function's
    /// invocations of every shard at once, so this shard does not read it; `tokenstorm merge` reads it once over
    /// all shards' window. The logs witness, per run id, stays the shard's.
    pub fn defer_metrics(&mut self) {
        if self.metrics.take().is_some() {
            self.metrics_deferred = true;
        }
    }

    /// `settle, then every poll, up to timeout` for the progress line that opens the wait.
    pub fn describe(&self) -> String {
        let t = &self.target;
        if self.logs.is_none() && self.metrics.is_none() {
            return format!(
                "CloudWatch metrics of {} are read by `tokenstorm merge` over every shard's load (they count all shards' invocations at once)",
                t.function.label()
            );
        }
        format!(
            "reading CloudWatch ({} of {}): settle {} s, then every {} s until two reads agree, up to {} s{}",
            match (self.logs.is_some(), self.metrics.is_some()) {
                (true, true) => "logs and metrics",
                (true, false) => "logs",
                _ => "metrics",
            },
            t.function.label(),
            t.settle.as_secs(),
            t.poll.as_secs(),
            t.reconcile_timeout.as_secs(),
            if self.metrics_deferred {
                "; the metrics are left to `tokenstorm merge`"
            } else {
                ""
            }
        )
    }

    /// Waits for the records of the load in `span` to settle, and judges them against what `basis` explains.
    pub async fn finish(
        mut self,
        span: LoadSpan,
        basis: &Basis<'_>,
        spec: &Spec,
        stop: &Shutdown,
        progress: bool,
    ) -> Found {
        let reads = self.settle(span, &spec.run_id, stop, progress).await;
        let t = &self.target;
        let expected = Expected::of(basis);
        let mut reconciliation = Reconciliation::new(t, reads.window);
        reconciliation.region = self.region;
        reconciliation.metrics_deferred = self.metrics_deferred;
        let mut ledger = None;
        if let Some((reader, s)) = reads.logs {
            let record = WitnessRecord::new(&s, expected);
            if record.complete() {
                ledger = Some(super::logs::join(&reader.lines, spec));
            }
            reconciliation.logs = Some(record);
        }
        if let Some((reader, s)) = reads.metrics {
            reconciliation.metrics = Some(metrics_record(t, reader, &s, expected));
        }
        Found {
            reconciliation,
            ledger,
        }
    }

    /// Waits for the metrics witness alone to settle on the load in `span` and judges it against `expected`:
    /// `tokenstorm merge`'s one read over its shards' union (`None` when `[target.aws]` reads no metrics).
    pub async fn finish_metrics(
        mut self,
        span: LoadSpan,
        expected: Expected,
        stop: &Shutdown,
        progress: bool,
    ) -> Option<MetricsRecord> {
        self.logs = None;
        let reads = self.settle(span, "", stop, progress).await;
        let t = &self.target;
        reads
            .metrics
            .map(|(reader, s)| metrics_record(t, reader, &s, expected))
    }

    /// Reads the witnesses over `span` (the records of `run_id`) until each settles or gives up, concurrently;
    /// each reader keeps what its last read found (the logs' lines, the metrics' figures).
    pub async fn settle(
        &mut self,
        span: LoadSpan,
        run_id: &str,
        stop: &Shutdown,
        progress: bool,
    ) -> Reads {
        let t = &self.target;
        let window = Window::of_run(span.start_unix_ms, span.end_unix_ms);
        let now = crate::join::cloudwatch::unix_ms_now();
        // Read right after the load this is the whole timing; read later (a merge) only what is left of it.
        let timing = Timing {
            settle: t.settle,
            poll: t.poll,
            timeout: t.reconcile_timeout,
        }
        .after(std::time::Duration::from_millis(
            now.saturating_sub(span.end_unix_ms),
        ));
        let mut logs = self
            .logs
            .take()
            .map(|l| LogsReader::new(l, &t.log_group, run_id, window));
        let mut metrics = self
            .metrics
            .take()
            .map(|c| MetricsReader::new(c, &t.function, window));
        let (logs_settled, metrics_settled) = tokio::join!(
            maybe_settle(logs.as_mut(), timing, now, stop, progress),
            maybe_settle(metrics.as_mut(), timing, now, stop, progress)
        );
        Reads {
            window,
            logs: logs.zip(logs_settled),
            metrics: metrics.zip(metrics_settled),
        }
    }
}

/// What [`CloudWatchWitness::settle`] read: each configured witness's reader (its last read) and how it settled.
pub struct Reads {
    pub window: Window,
    pub logs: Option<(LogsReader, Settled)>,
    pub metrics: Option<(MetricsReader, Settled)>,
}

/// The metrics witness's record: the settled count judged against `expected`, and what else the last read said.
fn metrics_record(
    t: &AwsTarget,
    reader: MetricsReader,
    s: &Settled,
    expected: Expected,
) -> MetricsRecord {
    let last = reader.last;
    MetricsRecord {
        count: WitnessRecord::new(s, expected),
        dimensions: Dimension::of(t),
        throttles: last.as_ref().map(|f| f.throttles),
        iot: last.map(|f| f.iot).unwrap_or_default(),
    }
}

async fn maybe_settle<R: super::Reader>(
    reader: Option<&mut R>,
    timing: Timing,
    now_unix_ms: u64,
    stop: &Shutdown,
    progress: bool,
) -> Option<Settled> {
    match reader {
        Some(r) => Some(settle::settle(r, timing, now_unix_ms, stop, progress).await),
        None => None,
    }
}

/// `target.aws.region`, else the environment's (`AWS_REGION`, `AWS_DEFAULT_REGION`).
fn region(t: &AwsTarget) -> anyhow::Result<String> {
    if !t.region.is_empty() {
        return Ok(t.region.clone());
    }
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty()))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "target.aws.region is empty and neither AWS_REGION nor AWS_DEFAULT_REGION is set: name the account's region"
            )
        })
}

#[cfg(all(test, not(feature = "aws")))]
mod tests {
    use super::*;

    /// Without the `aws` feature, `[target.aws]` stops the run at connect (before any traffic) with the hint.
    #[tokio::test]
    async fn a_build_without_aws_support_says_how_to_rebuild() {
        let section = crate::scenario::aws::AwsSection {
            region: "eu-west-1".into(),
            function_name: "Auth".into(),
            ..Default::default()
        };
        let target = crate::scenario::aws::resolve(&section).unwrap();
        let e = CloudWatchWitness::connect(&target).await.err().unwrap();
        assert!(e.to_string().contains(crate::aws::NOT_BUILT), "{e:#}");
    }
}
