//! The run's witnesses of authorizer invocations: the emulator's ledger joined while the load runs, or with
//! `[target.aws]` the account's CloudWatch, read once the load is over and its numbers are final; and the
//! emulator's refusal log, for the run's refused valid attempts.

use super::*;

/// With `[target.aws]`, the account's CloudWatch clients, connected before any traffic (a build without AWS
/// support, or no region, stops the run here: exit 2); none for a preflight (CloudWatch settles long after two
/// attempts). A shard of several leaves the account-wide metrics count to `tokenstorm merge`.
pub(super) async fn connect_cloudwatch(
    plan: &Plan,
    preflight: bool,
) -> anyhow::Result<Option<join::cloudwatch::CloudWatchWitness>> {
    match plan.target.aws().filter(|_| !preflight) {
        Some(a) => {
            let mut cw = join::cloudwatch::CloudWatchWitness::connect(a)
                .await
                .context("[target.aws]: cannot read the account's CloudWatch")?;
            if plan.shard.is_some_and(|s| s.count > 1) {
                cw.defer_metrics();
            }
            Ok(Some(cw))
        }
        None => Ok(None),
    }
}

/// The ledger join's final drain: `Ok(None)` when there was no ledger to join, `Err` (the reason) when the
/// configured one could not be read, from the start or at the end.
pub(super) async fn finish_join(
    joining: Result<Option<join::Running>, String>,
) -> Result<Option<join::LedgerSummary>, String> {
    match joining {
        Ok(Some(j)) => j.finish().await.map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the run's witnesses saw once the load was over.
pub(super) struct Seen {
    /// The joined ledger (the embedded or an external emulator's, or CloudWatch Logs' witness lines).
    pub(super) ledger: Option<join::LedgerSummary>,
    /// The CloudWatch reconciliation (`[target.aws]`).
    pub(super) aws: Option<join::cloudwatch::Reconciliation>,
    /// Why a configured ledger (`target.admin_url`) could not be read.
    pub(super) unreadable: Option<String>,
}

impl Seen {
    /// The emulator ledger's join (or why it could not be read), then with `[target.aws]` CloudWatch's
    /// reconciliation over the load's span, whose logs join replaces the ledger.
    pub(super) async fn gather(
        joined: Result<Option<join::LedgerSummary>, String>,
        cloudwatch: Option<(
            join::cloudwatch::CloudWatchWitness,
            join::cloudwatch::LoadSpan,
        )>,
        plan: &Plan,
        result: &load::LoadResult,
        run_id: &str,
        stop: &Shutdown,
        progress: bool,
    ) -> Self {
        let (mut ledger, unreadable) = match joined {
            Ok(l) => (l, None),
            Err(why) => (None, Some(why)),
        };
        let aws = match cloudwatch {
            Some((cw, span)) => {
                let found = reconcile(cw, span, plan, result, run_id, stop, progress).await;
                ledger = found.ledger;
                Some(found.reconciliation)
            }
            None => None,
        };
        Self {
            ledger,
            aws,
            unreadable,
        }
    }
}

/// Waits for the account's CloudWatch to settle on the load's invocations (progress on stderr).
pub(super) async fn reconcile(
    cw: join::cloudwatch::CloudWatchWitness,
    span: join::cloudwatch::LoadSpan,
    plan: &Plan,
    result: &load::LoadResult,
    run_id: &str,
    stop: &Shutdown,
    progress: bool,
) -> join::cloudwatch::Found {
    if progress {
        eprintln!("{}", cw.describe());
    }
    let origin = join::Origin::at(result.series.t0_unix_ms());
    let spec = join_spec(plan, run_id, None, &origin);
    let basis = join::cloudwatch::Basis {
        recorder: &result.recorder,
        gate: plan.gate,
        run_secs: result.elapsed.as_secs(),
        http_caching: plan.authorizer.enable_caching_for_http,
    };
    let found = cw.finish(span, &basis, &spec, stop, progress).await;
    if progress {
        eprintln!("{}", found.reconciliation.terminal_line());
    }
    found
}

/// How the run's witnesses attribute what they saw.
/// `origin`: the load's start (set by the load as it starts), from which invocations are counted per second.
fn join_spec(
    plan: &Plan,
    run_id: &str,
    storms: Option<&join::Windows>,
    origin: &join::Origin,
) -> join::Spec {
    join::Spec {
        run_id: run_id.to_string(),
        groups: Some(plan.groups.clone()),
        gate: plan.gate,
        storms: storms.cloned(),
        origin: Some(origin.clone()),
    }
}

/// The witness of the run's authorizer invocations: the embedded emulator's ledger, or an external emulator's
/// through its `admin_url`; `Ok(None)` (judged without a ledger) for a real endpoint, and with `[target.aws]`
/// (CloudWatch is the witness then, read after the load); `Err` (the reason, warned on stderr) when the
/// `admin_url` ledger cannot be read: the rules that need it are then inconclusive, never skipped.
/// `taking`: the caller is the embedded ledger's only reader (a run, not a preflight that reads the entries
/// again), so joined entries are taken out of it and a long run's ledger stays empty between drains.
pub(super) async fn witness(
    plan: &Plan,
    emulator: Option<&RunningEmulator>,
    run_id: &str,
    storms: Option<&join::Windows>,
    origin: &join::Origin,
    taking: bool,
) -> Result<Option<Box<dyn join::Witness>>, String> {
    let source = match (emulator, &plan.target) {
        (Some(emu), _) if taking => join::Source::Taken(emu.ledger()),
        (Some(emu), _) => join::Source::InProcess(emu.ledger()),
        (
            None,
            Target::External {
                admin_url: Some(url),
                aws: None,
                ..
            },
        ) => join::Source::Admin(url),
        _ => return Ok(None),
    };
    join::start(source, &join_spec(plan, run_id, storms, origin))
        .await
        .map(Some)
        .map_err(|e| {
            let why = format!("cannot read the external ledger: {e:#}");
            eprintln!("warning: {why}");
            why
        })
}

/// The first valid attempts the gate refused, with their explanations: from the embedded emulator's refusal
/// log, or an external emulator's `GET /refusals` (unreadable: a warning, and none listed).
pub(super) async fn refused_valid(
    plan: &Plan,
    emulator: Option<&RunningEmulator>,
    run_id: &str,
) -> Vec<join::refusals::RefusedAttempt> {
    if let Some(emu) = emulator {
        return join::refusals::pick(&emu.refusals().page(0, Some(run_id)).valid, run_id);
    }
    let Target::External {
        admin_url: Some(url),
        ..
    } = &plan.target
    else {
        return Vec::new();
    };
    join::refusals::fetch(url, run_id)
        .await
        .unwrap_or_else(|e| {
            eprintln!("warning: cannot read the emulator's refusal log: {e:#}");
            Vec::new()
        })
}
