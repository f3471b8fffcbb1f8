//! The run's load step: the engines running the plan, the emulator's ledger joined while they run ([`crate::join`],
//! drained every 250 ms) and the `[abort]` guards watching ([`super::abort`]).

use super::*;

/// What the load runs with.
pub(super) struct Setup<'a> {
    pub(super) plan: &'a Plan,
    pub(super) run_id: &'a str,
    pub(super) catalogue: &'a Catalogue,
    pub(super) pool: Option<Arc<TokenPool>>,
    pub(super) safety: &'a crate::safety::SafetyRecord,
    pub(super) progress: bool,
}

/// The load, with the emulator's ledger joined while it runs (it is bounded: not only at the end) and the abort
/// guards watching; returns what the load measured, the join, and the guard that stopped it, if one did.
pub(super) async fn watched_load(
    s: Setup<'_>,
    https: Option<(Connector, RequestBook)>,
    links: Vec<(load::link::LinkSpec, std::ops::Range<u32>)>,
    emulator: Option<&RunningEmulator>,
    stop: &Stop,
) -> (
    load::LoadResult,
    Result<Option<join::LedgerSummary>, String>,
    Option<crate::safety::abort::AbortedBy>,
) {
    let (plan, progress) = (s.plan, s.progress);
    let joining = witness(plan, emulator, s.run_id)
        .await
        .map(|w| w.map(join::spawn));
    let counters = Arc::new(load::progress::Progress::default());
    let monitor = abort::watch_run(plan, s.safety, &joining, &counters, stop, progress);
    let result = load::groups::run(
        load::groups::Parts {
            plan,
            run_id: s.run_id,
            catalogue: s.catalogue,
            pool: s.pool,
            https,
            links,
            progress,
            client_id_gap: s.safety.client_id_gap(),
            backoff: s.safety.backoff(),
            counters,
        },
        stop.shutdown.clone(),
        (stop.abandon.clone(), stop::DRAIN),
    )
    .await;
    let aborted_by = monitor.finish().await;
    if progress {
        eprintln!(
            "load finished: {} attempts; joining the ledger",
            result.recorder.total_ended()
        );
    }
    (result, finish_join(joining).await, aborted_by)
}
