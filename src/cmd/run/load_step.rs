//! The run's load step: the engines running the plan, the emulator's ledger joined while they run ([`crate::join`],
//! drained every 250 ms), the `[abort]` guards watching ([`super::abort`]) and the live status on stderr
//! ([`crate::live::ticker`]).

use super::*;

/// What the load runs with.
pub(super) struct Setup<'a> {
    pub(super) plan: &'a Plan,
    pub(super) run_id: &'a str,
    pub(super) catalogue: &'a Catalogue,
    pub(super) pool: Option<Arc<TokenPool>>,
    pub(super) safety: &'a crate::safety::SafetyRecord,
    pub(super) progress: bool,
    /// What the live status and `/metrics` read; its counters are the engines'.
    pub(super) board: Arc<crate::live::Board>,
    /// The run folder (the per-second series spills there).
    pub(super) run_dir: &'a std::path::Path,
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
    load::usage::Usage,
) {
    let (plan, progress) = (s.plan, s.progress);
    let storm = storm_trigger(plan, emulator);
    let origin = join::Origin::default();
    let joining = witness(
        plan,
        emulator,
        s.run_id,
        storm.as_ref().map(|(_, w)| w),
        &origin,
        true,
    )
    .await
    .map(|w| w.map(join::spawn));
    let counters = s.board.progress.clone();
    if let Ok(Some(j)) = &joining {
        s.board.set_joined(j.live());
    }
    let monitor = abort::watch_run(plan, s.safety, &joining, &counters, stop, progress);
    s.board.start_clock();
    let status = crate::live::ticker::start(
        crate::live::ticker::Mode::detect(!progress),
        s.board.clone(),
    );
    let per_destination = super::target::per_destination(plan);
    let usage = load::usage::Sampler::start(per_destination, plan.source_addrs.len() as u64);
    let result = load::groups::run(
        load::groups::Parts {
            plan,
            run_id: s.run_id,
            catalogue: s.catalogue,
            pool: s.pool,
            https,
            links,
            client_id_gap: s.safety.client_id_gap(),
            backoff: s.safety.backoff(),
            storm,
            counters,
            origin,
            spill_dir: Some(s.run_dir),
        },
        stop.shutdown.clone(),
        (stop.abandon.clone(), stop::DRAIN),
    )
    .await;
    if let Some(status) = status {
        status.finish();
    }
    let usage = usage.finish();
    let aborted_by = monitor.finish().await;
    if progress {
        eprintln!(
            "load finished: {} attempts; joining the ledger",
            result.recorder.total_ended()
        );
    }
    (result, finish_join(joining).await, aborted_by, usage)
}

/// How the run's storms drop every session (`[[mqtt.storms]]`): the embedded emulator directly, an external one
/// through its `admin_url`; `None` without storms (the plan allows storms only on those two targets).
fn storm_trigger(
    plan: &Plan,
    emulator: Option<&RunningEmulator>,
) -> Option<(load::storm::Trigger, join::Windows)> {
    if plan.mqtt.storms.is_empty() {
        return None;
    }
    let trigger: load::storm::Trigger = match (emulator, &plan.target) {
        (Some(emu), _) => {
            let storm = Arc::new(emu.storm_handle());
            Arc::new(move || {
                let n = storm() as u64;
                Box::pin(async move { Ok(n) })
            })
        }
        (
            None,
            Target::External {
                admin_url: Some(url),
                ..
            },
        ) => match load::storm::admin_trigger(url) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("warning: storms cannot fire: {e:#}");
                return None;
            }
        },
        _ => return None,
    };
    Some((trigger, join::Windows::default()))
}
