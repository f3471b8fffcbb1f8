//! The publisher task: gathers records into the [`Outbox`], flushes it about every second (`PutMetricData`,
//! then for each stream: the log group and stream made once, `PutLogEvents`), and once more at shutdown.
//! Failures are counted and warned about once per kind; they never stop the task.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::outbox::{Flush, Outbox};
use super::{Failures, Record, aggregate};
use crate::aws::{CloudWatch, Logs};
use crate::shutdown::Shutdown;

const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// After shutdown, how long invocations still in flight may keep arriving.
const DRAIN: Duration = Duration::from_secs(3);
/// The final flush's bound (CloudWatch may be unreachable by then).
const LAST_FLUSH: Duration = Duration::from_secs(5);

/// Where flushes go.
pub struct Sink {
    metrics: CloudWatch,
    logs: Logs,
    failures: Arc<Failures>,
    groups: HashSet<Arc<str>>,
    streams: HashSet<(Arc<str>, Arc<str>)>,
}

impl Sink {
    pub fn new(metrics: CloudWatch, logs: Logs, failures: Arc<Failures>) -> Self {
        Self {
            metrics,
            logs,
            failures,
            groups: HashSet::new(),
            streams: HashSet::new(),
        }
    }

    async fn send(&mut self, flush: Flush) {
        if !flush.metrics.is_empty()
            && let Err(e) = self
                .metrics
                .put_metric_data(aggregate::NAMESPACE, &flush.metrics)
                .await
        {
            failed(&self.failures.metrics, 1, "metrics", &e);
        }
        for ((group, stream), events) in flush.events {
            if let Err(e) = self.put(&group, &stream, &events).await {
                failed(
                    &self.failures.log_events,
                    events.len() as u64,
                    "log events",
                    &e,
                );
            }
        }
    }

    async fn put(
        &mut self,
        group: &Arc<str>,
        stream: &Arc<str>,
        events: &[(i64, String)],
    ) -> anyhow::Result<()> {
        if !self.groups.contains(group) {
            self.logs.ensure_group(group).await?;
            self.groups.insert(group.clone());
        }
        let key = (group.clone(), stream.clone());
        if !self.streams.contains(&key) {
            self.logs.ensure_stream(group, stream).await?;
            self.streams.insert(key);
        }
        self.logs.put_events(group, stream, events).await
    }
}

/// Counts a failure; the first of its kind is warned about.
fn failed(counter: &AtomicU64, n: u64, what: &str, e: &anyhow::Error) {
    if counter.fetch_add(n, Ordering::Relaxed) == 0 {
        tracing::warn!(
            "CloudWatch publisher: cannot publish {what}: {e:#}; it keeps trying, and counts what it drops"
        );
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// Runs until the channel closes, or [`DRAIN`] after `shutdown`; then flushes what is left.
pub async fn run(mut rx: mpsc::Receiver<Record>, mut sink: Sink, shutdown: Shutdown) {
    let mut outbox = Outbox::default();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut drain_until: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            record = rx.recv() => match record {
                Some(record) => outbox.push(record),
                None => break,
            },
            _ = tick.tick() => sink.send(outbox.flush(false)).await,
            _ = shutdown.wait(), if drain_until.is_none() => {
                drain_until = Some(tokio::time::Instant::now() + DRAIN);
            }
            _ = sleep_until(drain_until), if drain_until.is_some() => break,
        }
    }
    while let Ok(record) = rx.try_recv() {
        outbox.push(record);
    }
    if tokio::time::timeout(LAST_FLUSH, sink.send(outbox.flush(true)))
        .await
        .is_err()
    {
        tracing::warn!("CloudWatch publisher: the last flush did not finish within {LAST_FLUSH:?}");
    }
    let f = &sink.failures;
    let (dropped, metrics, events) = (
        f.dropped.load(Ordering::Relaxed),
        f.metrics.load(Ordering::Relaxed),
        f.log_events.load(Ordering::Relaxed),
    );
    if dropped + metrics + events > 0 {
        tracing::warn!(
            dropped_records = dropped,
            failed_metric_calls = metrics,
            dropped_log_events = events,
            "CloudWatch publisher: not everything was published"
        );
    }
}
