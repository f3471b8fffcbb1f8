//! The join (DESIGN.md `join/`): what witnessed the run's authorizer invocations, reduced to the
//! [`LedgerSummary`] the invariants judge. A witness is anything behind the [`Witness`] trait: it is started
//! before the load, drained every [`EVERY`] while the load runs (its source may keep only recent entries), and
//! finished once after the load, returning the summary with whatever it could not see counted as `missed`, its
//! `source` and its `remedy` (the setting to raise when something was missed), so the rules never ask which
//! witness it was.
//!
//! - [`InProcess`]: the embedded emulator's [`Ledger`], read directly, with its eviction hooked so nothing is
//!   missed even when a drain falls behind.
//! - [`Admin`]: an external emulator's ledger, paged through `GET <admin_url>/ledger?since=SEQ&limit=N`
//!   ([`AdminLedger`]); entries evicted before a drain reached them count as missed.
//!
//! While the load runs, [`Running::live`] holds what the drains joined so far (the run's invocations, and those
//! caused by forged attempts the gate must refuse), for the `[abort]` guards.
//!
//! [`per_second`]: the joined invocations per second of the run and class kind, by the entries' stamps.
//!
//! [`refusals`]: the first refusals of the run's valid attempts at the gate, with the gate's explanation, from
//! the embedded emulator or an external one's `GET /refusals`.
//!
//! On a real account ([`cloudwatch`], `[target.aws]`) the witness is the function's CloudWatch: it is not
//! drained while the load runs (its records are only worth reading once final) but settled after it, and
//! besides the summary (from the witness helper's log lines) it yields a count and reads the report keeps, so it
//! stands beside the trait rather than behind it; the invariants still only read the summary.

pub mod admin;
pub mod cloudwatch;
pub mod in_process;
pub mod per_second;
pub mod refusals;
pub mod saved;
pub mod summary;
pub mod windows;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use admin::{Admin, AdminLedger};
pub use in_process::InProcess;
pub use per_second::{Origin, PerSecond};
pub use summary::{ClassInvocations, LedgerRow, LedgerSummary};
pub use windows::Windows;

use crate::emulator::Ledger;
use crate::scenario::Groups;
use crate::shutdown::Shutdown;
use crate::wire::settings::GateSettings;

/// How often the run drains its witness.
pub const EVERY: Duration = Duration::from_millis(250);

/// A boxed future a witness returns (the trait is used as `dyn Witness`, so its async methods are boxed).
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A witness of authorizer invocations, joined by attempt id into a [`LedgerSummary`].
pub trait Witness: Send {
    /// Folds what the witness recorded since the last drain; `Err` when its source could not be read (the next
    /// drain tries again from the same place).
    fn drain(&mut self) -> Pending<'_, anyhow::Result<()>>;
    /// The final drain, then the join; `Err` when the final drain failed (the join is then incomplete).
    fn finish(self: Box<Self>) -> Pending<'static, anyhow::Result<LedgerSummary>>;
    /// What was joined so far ([`LedgerSummary::so_far`]).
    fn so_far(&self) -> SoFar;
}

/// The run's invocations joined so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoFar {
    /// Every invocation of this run.
    pub invocations: u64,
    /// Those caused by forged attempts the gate must refuse.
    pub forged: u64,
    /// By class kind ([`crate::contract::Class::KINDS`]: valid, forged, replayed).
    pub by_kind: [u64; 3],
}

/// What the drains joined so far (relaxed: read by the abort guards' monitor, the live status and `/metrics`).
#[derive(Debug, Default)]
pub struct Live {
    invocations: AtomicU64,
    forged: AtomicU64,
    by_kind: [AtomicU64; 3],
}

impl Live {
    /// The run's invocations joined so far.
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    /// Invocations caused by forged attempts the gate must refuse, joined so far.
    pub fn forged(&self) -> u64 {
        self.forged.load(Ordering::Relaxed)
    }

    /// The run's invocations joined so far, by class kind (valid, forged, replayed).
    pub fn by_kind(&self) -> [u64; 3] {
        std::array::from_fn(|k| self.by_kind[k].load(Ordering::Relaxed))
    }

    fn set(&self, s: SoFar) {
        self.invocations.store(s.invocations, Ordering::Relaxed);
        self.forged.store(s.forged, Ordering::Relaxed);
        for (a, n) in self.by_kind.iter().zip(s.by_kind) {
            a.store(n, Ordering::Relaxed);
        }
    }
}

/// Which run a join belongs to and how it attributes entries.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Entries with another run's attempt id count as foreign.
    pub run_id: String,
    /// Attributes entries to transports by device id; `None`: every entry counts as HTTPS.
    pub groups: Option<Groups>,
    /// Which forged variants must be refused (the oracle's judgement under these settings).
    pub gate: GateSettings,
    /// The storms' windows (`[[mqtt.storms]]`): invocations in them are counted per storm too.
    pub storms: Option<Windows>,
    /// The load's start on the wall clock: invocations are counted per second from it too ([`per_second`]).
    pub origin: Option<Origin>,
}

impl Spec {
    /// A join of `run_id` with no transport groups and the spec's gate.
    pub fn new(run_id: &str) -> Self {
        Self {
            run_id: run_id.to_string(),
            groups: None,
            gate: GateSettings::default(),
            storms: None,
            origin: None,
        }
    }

    /// An empty summary of the entries after `start_seq`, read from `source`.
    pub(crate) fn summary(&self, source: impl Into<String>, start_seq: u64) -> LedgerSummary {
        let mut s = LedgerSummary::starting_after(source, &self.run_id, start_seq);
        if let Some(g) = &self.groups {
            s.set_groups(g.clone());
        }
        s.set_gate(self.gate);
        if let Some(w) = &self.storms {
            s.set_storms(w.clone());
        }
        if let Some(o) = &self.origin {
            s.set_origin(o.clone());
        }
        s
    }
}

/// Where a run's invocations are witnessed.
pub enum Source<'a> {
    /// The embedded emulator's ledger.
    InProcess(&'a Ledger),
    /// The embedded emulator's ledger with the run as its only reader: joined entries are taken out of it
    /// ([`InProcess::attach_taking`]), so it holds nothing between drains.
    Taken(&'a Ledger),
    /// An external emulator's admin listener (`http://HOST:PORT`).
    Admin(&'a str),
}

/// Starts a witness of what `source` records from now on.
pub async fn start(source: Source<'_>, spec: &Spec) -> anyhow::Result<Box<dyn Witness>> {
    Ok(match source {
        Source::InProcess(ledger) => Box::new(InProcess::attach(ledger, spec)),
        Source::Taken(ledger) => Box::new(InProcess::attach_taking(ledger, spec)),
        Source::Admin(url) => Box::new(Admin::start(url, spec).await?),
    })
}

/// A witness being drained every [`EVERY`] by a task of its own.
pub struct Running {
    stop: Shutdown,
    task: tokio::task::JoinHandle<Box<dyn Witness>>,
    live: Arc<Live>,
}

/// Drains `witness` every [`EVERY`] until [`Running::finish`]; a failed drain is retried at the next tick and
/// warned about once on stderr.
pub fn spawn(witness: Box<dyn Witness>) -> Running {
    let stop = Shutdown::new();
    let live = Arc::new(Live::default());
    let task = tokio::spawn(drain_until(witness, stop.clone(), live.clone()));
    Running { stop, task, live }
}

async fn drain_until(
    mut witness: Box<dyn Witness>,
    stop: Shutdown,
    live: Arc<Live>,
) -> Box<dyn Witness> {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warned = false;
    loop {
        tokio::select! {
            _ = stop.wait() => return witness,
            _ = tick.tick() => {
                if let Err(e) = witness.drain().await
                    && !warned
                {
                    warned = true;
                    crate::live::logs::line(&format!("warning: cannot drain the ledger (will retry): {e:#}"));
                }
                live.set(witness.so_far());
            }
        }
    }
}

impl Running {
    /// What the drains joined so far, updated after each drain.
    pub fn live(&self) -> Arc<Live> {
        self.live.clone()
    }

    /// Stops the periodic drains and finishes the witness. `Err` (the reason, also warned on stderr) when the
    /// final drain failed or the draining task died: the run then has no ledger, and the rules that needed one
    /// are inconclusive.
    pub async fn finish(self) -> Result<LedgerSummary, String> {
        self.stop.trigger();
        let failed = |why: String| {
            eprintln!("warning: {why}");
            Err(why)
        };
        match self.task.await {
            Ok(witness) => match witness.finish().await {
                Ok(summary) => {
                    // The final count too: `/metrics` still serves it after the load.
                    self.live.set(summary.so_far());
                    Ok(summary)
                }
                Err(e) => failed(format!("cannot read the external ledger: {e:#}")),
            },
            Err(e) => failed(format!("the ledger join stopped: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: String) -> crate::contract::LedgerEntry {
        let row = serde_json::json!({
            "seq": 0, "unix_ms": 1, "authorizer": "A", "attempt_id": id, "transport": "https",
            "trigger": "publish", "signature_verified": true, "event": {}, "response": null,
            "verdict": "allow", "deny_reason": null, "duration_us": 5, "backend": "in_process",
            "billed_ms": 0, "memory_mb": 128, "cold_start": false, "throttled": false
        });
        serde_json::from_value(row).unwrap()
    }

    /// A spawned witness is drained while entries arrive and finished once: every entry of the run is joined.
    #[tokio::test(start_paused = true)]
    async fn a_spawned_witness_joins_what_arrives_while_it_runs() {
        let ledger = Ledger::with_capacity(4);
        let running = spawn(
            start(Source::InProcess(&ledger), &Spec::new("r"))
                .await
                .unwrap(),
        );
        let live = running.live();
        for i in 0..6 {
            ledger.record(entry(format!("r-valid-{i}-0")));
            tokio::time::sleep(EVERY).await;
        }
        assert_eq!((live.invocations(), live.forged()), (6, 0));
        let s = running.finish().await.unwrap();
        assert_eq!((s.total, s.missed, s.ours(), s.last_seq), (6, 0, 6, 6));
    }
}
