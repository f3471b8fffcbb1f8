//! `forged_never_invoked` on a real account (issue 10 §2): the CloudWatch witnesses' part of the verdict, applied
//! after [`super::forged::ForgedNeverInvoked`] judged the answers and the logs join (fed to it as the ledger).
//!
//! - The metrics count settled above what non-forged attempts can explain (the expected max) fails the rule:
//!   "N invocations more than non-forged attempts can explain".
//! - Otherwise the rule cannot pass on evidence it does not have: a witness that never settled (timeout,
//!   CloudWatch unreachable or access denied), a count below what the answers prove reached the authorizer
//!   (the witness is not seeing this function), or `Throttles` > 0 (throttled invocations are not counted)
//!   makes it `inconclusive` with the reason. Never skipped, never a pass.
//! - A failure the ledger (logs) already proved stays a failure, and a verdict already inconclusive (forged
//!   attempts that never reached the target) stays so; the count's findings are added as evidence.

use super::{Status, Verdict};
use crate::join::cloudwatch::{Reconciliation, WitnessRecord, WitnessStatus};

/// Folds the CloudWatch witnesses into the `forged_never_invoked` verdict `v`.
pub fn apply(v: &mut Verdict, r: &Reconciliation) {
    if r.metrics_deferred {
        v.evidence.push(
            "cloudwatch-metrics: not read by this shard (AWS/Lambda Invocations counts every shard's invocations at once): `tokenstorm merge` reads it once over all shards".into(),
        );
        if r.logs.is_none() {
            // The deferred count was this shard's only witness: the answers are all it can judge by.
            if v.status == Status::Skipped {
                let sent = v.details.get("forged_attempts").copied().unwrap_or(0);
                v.summary = format!(
                    "left to `tokenstorm merge`, which reads AWS/Lambda Invocations once over every shard; none of {sent} forged attempts was answered 200 / CONNACK 0"
                );
            }
            return;
        }
    }
    let mut reasons = Vec::new();
    if let Some(l) = &r.logs {
        record(v, "logs", l);
        reasons.extend(incomplete(
            "cloudwatch-logs",
            "witness lines",
            l,
            "is the witness helper in the function, and target.aws.log_group its log group?",
        ));
    }
    let mut surplus = None;
    if let Some(m) = &r.metrics {
        record(v, "metrics", &m.count);
        if let Some(t) = m.throttles {
            v.details.insert("metrics_throttles".into(), t);
        }
        let c = &m.count;
        match c.observed {
            Some(n) if c.status != WitnessStatus::Pending && n > c.expected.max => {
                surplus = Some((n - c.expected.max, n, c.expected.max));
            }
            _ => {
                reasons.extend(incomplete(
                    "cloudwatch-metrics",
                    "invocations",
                    c,
                    "is target.aws.function_name the authorizer's function?",
                ));
            }
        }
        if let Some(t) = m.throttles.filter(|&t| t > 0) {
            reasons.push(format!(
                "AWS/Lambda Throttles is {t}: throttled invocations are not in the Invocations count"
            ));
        }
    }
    if let Some((n, observed, max)) = surplus {
        let finding = format!(
            "{n} invocations more than non-forged attempts can explain (AWS/Lambda Invocations {observed}, at most {max})"
        );
        v.evidence.push(format!("cloudwatch-metrics: {finding}"));
        v.summary = if v.status == Status::Fail {
            format!("{}; and {finding}", v.summary)
        } else {
            finding
        };
        v.status = Status::Fail;
    } else if v.status == Status::Fail {
        v.evidence.extend(reasons);
    } else if v.status == Status::Inconclusive {
        // Already unjudgeable (attempts that never reached the target): the witnesses cannot change that.
        v.evidence.extend(reasons);
    } else if !reasons.is_empty() {
        v.status = Status::Inconclusive;
        v.summary = format!(
            "cannot tell whether forged attempts reached the authorizer: {}",
            reasons.join("; ")
        );
    } else {
        v.status = Status::Pass;
        v.summary = passing_summary(v, r);
    }
}

/// Why a witness cannot vouch for the run (never settled, or short of what the answers prove, then `hint`);
/// `None` when it can.
fn incomplete(source: &str, unit: &str, w: &WitnessRecord, hint: &str) -> Option<String> {
    if w.status == WitnessStatus::Pending {
        return Some(format!("{source} never settled ({})", w.why_pending()));
    }
    let n = w.observed.unwrap_or(0);
    (n < w.expected.min).then(|| {
        format!(
            "{source} holds {n} {unit} of this run, fewer than the {} invocations the answers prove reached the authorizer: {hint}",
            w.expected.min
        )
    })
}

/// The witness's numbers in the verdict's details.
fn record(v: &mut Verdict, name: &str, w: &WitnessRecord) {
    if let Some(n) = w.observed {
        v.details.insert(format!("{name}_observed"), n);
    }
    v.details
        .insert(format!("{name}_expected_min"), w.expected.min);
    v.details
        .insert(format!("{name}_expected_max"), w.expected.max);
    v.details
        .insert(format!("{name}_reads"), w.reads.len() as u64);
}

/// A pass through CloudWatch: what each witness showed.
fn passing_summary(v: &Verdict, r: &Reconciliation) -> String {
    let sent = v.details.get("forged_attempts").copied().unwrap_or(0);
    let mut by = Vec::new();
    if let Some(l) = &r.logs {
        by.push(format!(
            "no forged attempt id among {} witness lines (cloudwatch-logs)",
            l.observed.unwrap_or(0)
        ));
    }
    if let Some(m) = &r.metrics {
        let c = &m.count;
        by.push(format!(
            "AWS/Lambda Invocations {} within the [{}, {}] non-forged attempts explain (cloudwatch-metrics)",
            c.observed.unwrap_or(0),
            c.expected.min,
            c.expected.max
        ));
    }
    format!(
        "none of {sent} forged attempts the gate must refuse reached the authorizer: {}",
        by.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::join::cloudwatch::{Expected, MetricsRecord, Read, Settled, Window};

    fn witness(reads: &[u64], settled: bool) -> WitnessRecord {
        let s = Settled {
            reads: reads
                .iter()
                .map(|&v| Read {
                    at_unix_ms: 0,
                    value: v,
                })
                .collect(),
            value: settled.then(|| *reads.last().unwrap()),
            gave_up: (!settled).then(|| "3 reads in a row failed".into()),
            error: (!settled).then(|| {
                "cannot reach CloudWatch at http://127.0.0.1:1: connection refused".into()
            }),
            waited_ms: 1,
        };
        WitnessRecord::new(&s, Expected { min: 10, max: 20 })
    }

    fn metrics(reads: &[u64], settled: bool, throttles: u64) -> Option<MetricsRecord> {
        Some(MetricsRecord {
            count: witness(reads, settled),
            dimensions: Vec::new(),
            throttles: Some(throttles),
            iot: Vec::new(),
        })
    }

    fn recon(logs: Option<WitnessRecord>, metrics: Option<MetricsRecord>) -> Reconciliation {
        Reconciliation {
            region: "eu-west-1".into(),
            function: "Auth".into(),
            log_group: "/aws/lambda/Auth".into(),
            window: Window {
                start_unix_s: 0,
                end_unix_s: 120,
            },
            logs,
            metrics,
            metrics_deferred: false,
        }
    }

    /// The rule's verdict with no ledger (metrics only) or a clean one (logs): skipped or pass.
    fn base(status: Status) -> Verdict {
        let mut v = super::super::verdict("forged_never_invoked", status, "base".into());
        v.details.insert("forged_attempts".into(), 30);
        v
    }

    fn judged(mut v: Verdict, r: &Reconciliation) -> Verdict {
        apply(&mut v, r);
        v
    }

    /// A shard whose metrics are left to the merge: its only witness absent, the answers' verdict stays (skipped,
    /// never a pass on no evidence; a failure stays a failure); with the logs it is judged by them.
    #[test]
    fn a_shard_s_deferred_metrics_judge_nothing_and_say_who_will() {
        let mut r = recon(None, None);
        r.metrics_deferred = true;
        let v = judged(base(Status::Skipped), &r);
        assert_eq!(v.status, Status::Skipped, "{v:?}");
        assert!(v.summary.starts_with("left to `tokenstorm merge`"), "{v:?}");
        assert!(
            v.evidence[0].contains("reads it once over all shards"),
            "{v:?}"
        );
        let failed = judged(base(Status::Fail), &r);
        assert_eq!(
            (failed.status, failed.summary.as_str()),
            (Status::Fail, "base")
        );
        let mut with_logs = recon(Some(witness(&[12, 12], true)), None);
        with_logs.metrics_deferred = true;
        let v = judged(base(Status::Pass), &with_logs);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.summary.contains("(cloudwatch-logs)"), "{v:?}");
    }

    #[test]
    fn a_settled_count_within_bounds_passes_and_a_surplus_fails() {
        let v = judged(
            base(Status::Skipped),
            &recon(None, metrics(&[15, 15], true, 0)),
        );
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(
            v.summary.contains("Invocations 15 within the [10, 20]"),
            "{}",
            v.summary
        );
        assert_eq!(v.details["metrics_observed"], 15);

        let v = judged(
            base(Status::Skipped),
            &recon(None, metrics(&[25, 25], true, 0)),
        );
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.summary,
            "5 invocations more than non-forged attempts can explain (AWS/Lambda Invocations 25, at most 20)"
        );
        // The logs already proved it: both findings are kept.
        let mut failed = base(Status::Fail);
        failed.summary = "3 of 30 forged attempts reached the authorizer".into();
        let v = judged(
            failed,
            &recon(Some(witness(&[25, 25], true)), metrics(&[25, 25], true, 0)),
        );
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.summary.starts_with("3 of 30") && v.summary.contains("; and 5 invocations more"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn what_cannot_vouch_for_the_run_is_inconclusive_never_a_pass() {
        for (r, want) in [
            (
                recon(None, metrics(&[1], false, 0)),
                "cloudwatch-metrics never settled (3 reads in a row failed; last error: cannot reach CloudWatch",
            ),
            (
                recon(Some(witness(&[], false)), None),
                "cloudwatch-logs never settled",
            ),
            (
                recon(None, metrics(&[4, 4], true, 0)),
                "cloudwatch-metrics holds 4 invocations of this run, fewer than the 10",
            ),
            (
                recon(Some(witness(&[4, 4], true)), None),
                "is the witness helper in the function",
            ),
            (
                recon(None, metrics(&[15, 15], true, 2)),
                "AWS/Lambda Throttles is 2",
            ),
        ] {
            let v = judged(base(Status::Skipped), &r);
            assert_eq!(v.status, Status::Inconclusive, "{v:?}");
            assert!(v.summary.contains(want), "{} lacks {want}", v.summary);
        }
        // Forged attempts that never reached the target stay unjudged, whatever the witnesses say.
        let mut silent = base(Status::Inconclusive);
        silent.summary = "forged attempts over mqtt_tls went unanswered".into();
        let v = judged(silent, &recon(None, metrics(&[15, 15], true, 0)));
        assert_eq!(v.status, Status::Inconclusive);
        assert!(v.summary.contains("unanswered"), "{}", v.summary);
        // A logs pass does not survive an unreadable metrics witness.
        let v = judged(
            base(Status::Pass),
            &recon(Some(witness(&[12, 12], true)), metrics(&[], false, 0)),
        );
        assert_eq!(v.status, Status::Inconclusive);
    }
}
