//! When CloudWatch's numbers are final (issue 10 §2): Lambda metrics are per minute and arrive minutes late, and
//! log events take seconds to minutes to become searchable. So after the load: wait `settle_s`, then read every
//! `poll_s` until two consecutive reads agree (settled), or until `reconcile_timeout_s` after the load runs out
//! (pending). Every read is kept (time, value) for the report, and each prints a progress line on stderr.
//!
//! The loop is generic over a [`Reader`] (the logs witness counts its lines, the metrics witness sums
//! `Invocations`), so it is tested with paused time and a scripted reader. A failed read is kept as the error
//! and retried at the next poll; [`MAX_FAILED_READS`] failures in a row end the wait (CloudWatch unreachable or
//! access denied does not get better by waiting 15 minutes). A signal ends it too.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::expected::Expected;
use crate::join::Pending;
use crate::shutdown::Shutdown;

/// Failed reads in a row after which the wait gives up.
pub const MAX_FAILED_READS: u32 = 3;

/// One witness's count, read again and again until it settles.
pub trait Reader: Send {
    /// What is read (`cloudwatch-logs`, `cloudwatch-metrics`), for progress lines.
    fn label(&self) -> &'static str;
    /// The count now.
    fn read(&mut self) -> Pending<'_, anyhow::Result<u64>>;
}

/// `[target.aws]`'s timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub settle: Duration,
    pub poll: Duration,
    /// From the start of the wait (the end of the load), the settle included.
    pub timeout: Duration,
}

impl Timing {
    /// The timing left `since` the load ended (a merge reads long after its shards' loads): what remains of the
    /// settle and of the timeout, the timeout never so short that two reads a poll apart cannot both happen.
    pub fn after(self, since: Duration) -> Self {
        let settle = self.settle.saturating_sub(since);
        Self {
            settle,
            poll: self.poll,
            timeout: self
                .timeout
                .saturating_sub(since)
                .max(settle + self.poll * 2),
        }
    }
}

/// One read: when, and what it said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    pub at_unix_ms: u64,
    pub value: u64,
}

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settled {
    /// Every successful read, in order.
    pub reads: Vec<Read>,
    /// The value two consecutive reads agreed on; `None`: never settled.
    pub value: Option<u64>,
    /// The last failed read's error (kept even when a later read succeeded).
    pub error: Option<String>,
    /// Why the wait ended without settling (timeout, failed reads, signal).
    pub gave_up: Option<String>,
    /// From the start of the wait to its end, ms.
    pub waited_ms: u64,
}

/// `reconciled | mismatch | pending`: the settled count against the run's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WitnessStatus {
    /// Settled within `[min, max]`.
    Reconciled,
    /// Settled outside `[min, max]`.
    Mismatch,
    /// Never settled (timeout, unreadable, interrupted).
    Pending,
}

impl WitnessStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reconciled => "reconciled",
            Self::Mismatch => "mismatch",
            Self::Pending => "pending",
        }
    }
}

impl Settled {
    pub fn status(&self, expected: &Expected) -> WitnessStatus {
        match self.value {
            None => WitnessStatus::Pending,
            Some(n) if expected.contains(n) => WitnessStatus::Reconciled,
            Some(_) => WitnessStatus::Mismatch,
        }
    }
}

/// Waits `timing.settle`, then reads every `timing.poll` until two consecutive reads agree, the timeout runs
/// out, reads keep failing or `stop` fires. `start_unix_ms` is the wall clock now (reads are timed from it on
/// tokio's clock, so paused-time tests are exact).
pub async fn settle(
    reader: &mut dyn Reader,
    timing: Timing,
    start_unix_ms: u64,
    stop: &Shutdown,
    progress: bool,
) -> Settled {
    let t0 = Instant::now();
    let deadline = t0 + timing.timeout;
    let mut out = Settled::default();
    let mut failed = 0;
    let mut next = t0 + timing.settle;
    let label = reader.label();
    loop {
        tokio::select! {
            _ = stop.wait() => {
                out.gave_up = Some("interrupted: the run was stopped (SIGINT/SIGTERM or --stop-file)".into());
                break;
            }
            _ = tokio::time::sleep_until(next) => {}
        }
        let read = tokio::select! {
            _ = stop.wait() => {
                out.gave_up = Some("interrupted: the run was stopped (SIGINT/SIGTERM or --stop-file)".into());
                break;
            }
            r = tokio::time::timeout_at(deadline, reader.read()) => r.unwrap_or_else(|_| {
                Err(anyhow::anyhow!("no answer within reconcile_timeout_s ({} s)", timing.timeout.as_secs()))
            }),
        };
        let at_ms = start_unix_ms + (Instant::now() - t0).as_millis() as u64;
        match read {
            Ok(value) => {
                failed = 0;
                let agreed = out.reads.last().is_some_and(|r| r.value == value);
                out.reads.push(Read {
                    at_unix_ms: at_ms,
                    value,
                });
                if progress {
                    eprintln!(
                        "{}",
                        progress_line(label, &out, at_ms - start_unix_ms, agreed)
                    );
                }
                if agreed {
                    out.value = Some(value);
                    break;
                }
            }
            Err(e) => {
                failed += 1;
                let e = format!("{e:#}");
                if progress {
                    eprintln!(
                        "{label}: read failed ({failed} of {MAX_FAILED_READS} in a row): {e}"
                    );
                }
                out.error = Some(e);
                if failed >= MAX_FAILED_READS {
                    out.gave_up = Some(format!("{MAX_FAILED_READS} reads in a row failed"));
                    break;
                }
            }
        }
        next = Instant::now() + timing.poll;
        if next > deadline {
            out.gave_up = Some(format!(
                "two consecutive reads never agreed within reconcile_timeout_s ({} s)",
                timing.timeout.as_secs()
            ));
            break;
        }
    }
    out.waited_ms = (Instant::now() - t0).as_millis() as u64;
    out
}

/// `cloudwatch-metrics: read 3 at +121 s: 57 (previous 55), waiting`.
fn progress_line(label: &str, s: &Settled, after_ms: u64, agreed: bool) -> String {
    let n = s.reads.len();
    let value = s.reads[n - 1].value;
    let previous = match n {
        1 => String::new(),
        _ => format!(" (previous {})", s.reads[n - 2].value),
    };
    format!(
        "{label}: read {n} at +{} s: {value}{previous}, {}",
        after_ms / 1000,
        if agreed { "settled" } else { "waiting" }
    )
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// Answers from a script, each after `delay`: the loop under test, not CloudWatch.
    struct Script {
        answers: VecDeque<Result<u64, &'static str>>,
        delay: Duration,
    }

    impl Reader for Script {
        fn label(&self) -> &'static str {
            "test"
        }
        fn read(&mut self) -> Pending<'_, anyhow::Result<u64>> {
            let next = self.answers.pop_front().unwrap_or(Err("script ran out"));
            let delay = self.delay;
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                next.map_err(|e| anyhow::anyhow!(e))
            })
        }
    }

    fn script(answers: &[Result<u64, &'static str>]) -> Script {
        Script {
            answers: answers.iter().copied().collect(),
            delay: Duration::ZERO,
        }
    }

    const T0: u64 = 1_796_288_400_000;

    #[test]
    fn the_timing_after_the_load_keeps_what_is_left_and_room_for_two_reads() {
        let t = timing(120, 30, 900);
        assert_eq!(t.after(Duration::ZERO), t);
        assert_eq!(t.after(Duration::from_secs(100)), timing(20, 30, 800));
        assert_eq!(t.after(Duration::from_secs(3600)), timing(0, 30, 60));
    }

    fn timing(settle: u64, poll: u64, timeout: u64) -> Timing {
        Timing {
            settle: Duration::from_secs(settle),
            poll: Duration::from_secs(poll),
            timeout: Duration::from_secs(timeout),
        }
    }

    async fn run(s: &mut Script, t: Timing) -> Settled {
        settle(s, t, T0, &Shutdown::new(), false).await
    }

    #[tokio::test(start_paused = true)]
    async fn settles_when_two_consecutive_reads_agree() {
        let mut s = script(&[Ok(3), Ok(7), Ok(9), Ok(9), Ok(10)]);
        let out = run(&mut s, timing(180, 60, 900)).await;
        assert_eq!(out.value, Some(9));
        let at: Vec<u64> = out
            .reads
            .iter()
            .map(|r| (r.at_unix_ms - T0) / 1000)
            .collect();
        assert_eq!(at, vec![180, 240, 300, 360]);
        assert_eq!(
            out.reads[3],
            Read {
                at_unix_ms: T0 + 360_000,
                value: 9
            }
        );
        assert_eq!(
            (out.waited_ms, out.gave_up.clone(), out.error.clone()),
            (360_000, None, None)
        );
        let e = Expected { min: 5, max: 9 };
        assert_eq!(out.clone().status(&e), WitnessStatus::Reconciled);
        assert_eq!(
            Settled {
                value: Some(10),
                ..out.clone()
            }
            .status(&e),
            WitnessStatus::Mismatch
        );
        assert_eq!(
            Settled {
                value: Some(4),
                ..out
            }
            .status(&e),
            WitnessStatus::Mismatch
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_count_still_moving_at_the_timeout_is_pending() {
        let mut s = script(&[Ok(1), Ok(2), Ok(3), Ok(4), Ok(5), Ok(6)]);
        let out = run(&mut s, timing(180, 60, 400)).await;
        // Reads at 180, 240, 300, 360; the next (420) is past 400.
        assert_eq!(out.reads.len(), 4);
        assert_eq!(out.value, None);
        assert_eq!(
            out.status(&Expected { min: 0, max: 100 }),
            WitnessStatus::Pending
        );
        assert!(
            out.gave_up
                .unwrap()
                .contains("within reconcile_timeout_s (400 s)")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_reads_are_retried_and_three_in_a_row_give_up() {
        let mut s = script(&[Err("throttled"), Ok(4), Ok(4)]);
        let out = run(&mut s, timing(0, 1, 30)).await;
        assert_eq!(out.value, Some(4));
        assert_eq!(out.error.as_deref(), Some("throttled"));
        assert_eq!(out.waited_ms, 2_000);

        let mut s = script(&[Ok(1), Err("a"), Err("b"), Err("connection refused")]);
        let out = run(&mut s, timing(0, 1, 900)).await;
        assert_eq!(
            (out.value, out.reads.len(), out.waited_ms),
            (None, 1, 3_000)
        );
        assert_eq!(out.error.as_deref(), Some("connection refused"));
        assert_eq!(out.gave_up.as_deref(), Some("3 reads in a row failed"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_that_never_answers_is_cut_at_the_timeout() {
        let mut s = script(&[Ok(1)]);
        s.delay = Duration::from_secs(3600);
        let out = run(&mut s, timing(10, 5, 20)).await;
        assert_eq!((out.value, out.waited_ms), (None, 20_000));
        assert!(
            out.error
                .unwrap()
                .contains("no answer within reconcile_timeout_s (20 s)")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_ends_the_wait_pending() {
        let mut s = script(&[Ok(1), Ok(2), Ok(3)]);
        let stop = Shutdown::new();
        let trigger = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(90)).await;
            trigger.trigger();
        });
        let out = settle(&mut s, timing(60, 60, 900), T0, &stop, false).await;
        assert_eq!(
            (out.value, out.reads.len(), out.waited_ms),
            (None, 1, 90_000)
        );
        assert_eq!(
            out.gave_up.as_deref(),
            Some("interrupted: the run was stopped (SIGINT/SIGTERM or --stop-file)")
        );
    }

    #[test]
    fn the_progress_line_says_where_the_count_is() {
        let s = Settled {
            reads: vec![
                Read {
                    at_unix_ms: 0,
                    value: 55,
                },
                Read {
                    at_unix_ms: 0,
                    value: 57,
                },
            ],
            ..Settled::default()
        };
        assert_eq!(
            progress_line("cloudwatch-metrics", &s, 121_500, false),
            "cloudwatch-metrics: read 2 at +121 s: 57 (previous 55), waiting"
        );
    }
}
