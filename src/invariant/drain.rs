//! Reading the emulator's ledger while the run goes: its ledger keeps only the most recent entries, so the run
//! drains it every [`EVERY`] and once more after the load, folding new entries into a [`LedgerSummary`].
//!
//! - In-process ([`LiveJoin`]): reads the embedded emulator's [`Ledger`] directly, and also hooks its evictions,
//!   so an entry is joined before it is evicted even when the periodic drain falls behind: nothing is missed.
//! - External ([`AdminLedger`]): pages through `GET <admin_url>/ledger?since=SEQ&limit=N`, starting after the
//!   last entry recorded before the run. Entries evicted before a drain reached them are counted as missed.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use super::admin_ledger::AdminLedger;
use super::ledger::{LedgerRow, LedgerSummary};
use crate::contract::LedgerEntry;
use crate::emulator::Ledger;
use crate::shutdown::Shutdown;

/// How often the run drains the ledger.
pub const EVERY: Duration = Duration::from_millis(250);

fn lock(s: &Mutex<LedgerSummary>) -> MutexGuard<'_, LedgerSummary> {
    s.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The join of an in-process ledger, from the moment it is attached.
pub struct LiveJoin {
    ledger: Ledger,
    summary: Arc<Mutex<LedgerSummary>>,
}

impl LiveJoin {
    /// Joins every entry recorded from now on; entries about to be evicted are joined by the eviction hook.
    pub fn attach(ledger: &Ledger, run_id: &str) -> Self {
        let start = ledger.recorded();
        let summary = Arc::new(Mutex::new(LedgerSummary::starting_after(
            "in-process",
            run_id,
            start,
        )));
        let hooked = summary.clone();
        ledger.set_evict_hook(Some(Arc::new(move |e: &LedgerEntry| {
            lock(&hooked).absorb(LedgerRow::from(e));
        })));
        Self {
            ledger: ledger.clone(),
            summary,
        }
    }

    /// Folds the entries recorded since the last drain.
    pub fn drain(&self) {
        // Never hold the summary while taking the ledger's lock: the eviction hook takes them the other way.
        let since = lock(&self.summary).last_seq;
        let page = self.ledger.since(since);
        let mut s = lock(&self.summary);
        for e in &page.entries {
            s.absorb(LedgerRow::from(e));
        }
        s.note_evicted(page.evicted);
    }

    /// The join so far.
    pub fn summary(&self) -> LedgerSummary {
        lock(&self.summary).clone()
    }

    /// Drains once more, detaches the hook and returns the join.
    pub fn finish(self) -> LedgerSummary {
        self.drain();
        self.summary()
    }
}

impl Drop for LiveJoin {
    fn drop(&mut self) {
        self.ledger.set_evict_hook(None);
    }
}

/// Where the run's join reads from.
pub enum Joiner {
    InProcess(LiveJoin),
    Admin {
        ledger: AdminLedger,
        summary: Box<LedgerSummary>,
    },
}

impl Joiner {
    /// Starts joining an external emulator's ledger after the entries it holds now.
    pub async fn admin(admin_url: &str, run_id: &str) -> anyhow::Result<Self> {
        let mut ledger = AdminLedger::new(admin_url)?;
        let start = ledger.last_seq().await?;
        let summary = LedgerSummary::starting_after(ledger.url().to_string(), run_id, start);
        Ok(Self::Admin {
            ledger,
            summary: Box::new(summary),
        })
    }

    /// Attributes entries to transports by device id, and judges forged variants by `gate` (call before the
    /// load starts).
    pub fn configure(
        &mut self,
        groups: crate::scenario::Groups,
        gate: crate::wire::settings::GateSettings,
    ) {
        let apply = |s: &mut super::LedgerSummary| {
            s.set_groups(groups);
            s.set_gate(gate);
        };
        match self {
            Self::InProcess(j) => apply(&mut lock(&j.summary)),
            Self::Admin { summary, .. } => apply(summary),
        }
    }

    pub async fn drain(&mut self) -> anyhow::Result<()> {
        match self {
            Self::InProcess(j) => {
                j.drain();
                Ok(())
            }
            Self::Admin { ledger, summary } => ledger.drain(summary).await,
        }
    }

    /// Drains every [`EVERY`] until `stop` fires (a failed drain is retried at the next tick), then returns
    /// itself for the final drain.
    pub async fn run_until(mut self, stop: Shutdown) -> Self {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warned = false;
        loop {
            tokio::select! {
                _ = stop.wait() => return self,
                _ = tick.tick() => {
                    if let Err(e) = self.drain().await
                        && !warned
                    {
                        warned = true;
                        eprintln!("warning: cannot drain the ledger (will retry): {e:#}");
                    }
                }
            }
        }
    }

    /// The final drain; `Err` when it failed (the join is then incomplete).
    pub async fn finish(mut self) -> anyhow::Result<LedgerSummary> {
        self.drain().await?;
        Ok(match self {
            Self::InProcess(j) => j.finish(),
            Self::Admin { summary, .. } => *summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Transport;
    use crate::contract::{Class, Forgery};
    use crate::invariant::{Inputs, Status, evaluate};
    use crate::metrics::{Outcome, Recorder};

    fn entry(id: &str) -> LedgerEntry {
        LedgerEntry {
            seq: 0,
            unix_ms: 1,
            authorizer: "A".into(),
            attempt_id: Some(id.into()),
            transport: crate::contract::Route::of(crate::contract::Transport::Https),
            trigger: crate::contract::Trigger::Publish,
            signature_verified: true,
            event: serde_json::json!({}),
            response: None,
            verdict: crate::contract::Verdict::Allow,
            deny_reason: None,
            duration_us: 5,
            backend: crate::contract::BackendKind::InProcess,
            billed_ms: 0,
            memory_mb: 128,
            cold_start: false,
            throttled: false,
        }
    }

    /// Ten valid attempts, all allowed, and one forged attempt refused by the gate.
    fn recorder() -> Recorder {
        let mut rec = Recorder::new();
        for _ in 0..10 {
            rec.start(Transport::Https, Class::Valid);
            rec.end(
                Transport::Https,
                Class::Valid,
                Outcome::Allowed,
                10,
                10,
                true,
            );
        }
        let f = Class::Forged(Forgery::BitFlip);
        rec.start(Transport::Https, f);
        rec.end(Transport::Https, f, Outcome::Forbidden, 10, 10, true);
        rec
    }

    fn record_valid(ledger: &Ledger, n: usize) {
        for i in 0..n {
            ledger.record(entry(&format!("r-valid-{i}-0")));
        }
    }

    #[test]
    fn a_join_that_missed_evicted_entries_fails_forged_never_invoked() {
        let ledger = Ledger::with_capacity(3);
        let mut s = LedgerSummary::starting_after("http://127.0.0.1:9", "r", 0);
        record_valid(&ledger, 4);
        for e in &ledger.since(s.last_seq).entries {
            s.absorb(LedgerRow::from(e));
        }
        // Seq 1 was evicted before the first drain; 5..=10 arrive, 5..=7 are evicted before the second.
        record_valid(&ledger, 6);
        let page = ledger.since(s.last_seq);
        assert_eq!(page.missed, 3);
        for e in &page.entries {
            s.absorb(LedgerRow::from(e));
        }
        s.note_evicted(page.evicted);
        assert_eq!((s.total, s.missed, s.last_seq), (6, 4, 10));

        let rec = recorder();
        let v = evaluate(&Inputs {
            recorder: &rec,
            ledger: Some(&s),
            run_secs: 0,
            gate: Default::default(),
        });
        assert_eq!(v[0].name, "forged_never_invoked");
        assert_eq!(v[0].status, Status::Fail, "{:?}", v[0]);
        assert!(
            v[0].summary.contains("4 ledger entries were evicted"),
            "{}",
            v[0].summary
        );
        assert_eq!(v[0].details["ledger_missed"], 4);
        assert_eq!(v[0].details["ledger_joined"], 6);
        assert!(
            v[0].evidence
                .iter()
                .any(|e| e.contains("4 entries") && e.contains("--ledger-capacity")),
            "{:?}",
            v[0].evidence
        );
    }

    #[test]
    fn the_in_process_join_never_misses_even_without_periodic_drains() {
        let ledger = Ledger::with_capacity(3);
        record_valid(&ledger, 2); // before the run: not joined
        let join = LiveJoin::attach(&ledger, "r");
        record_valid(&ledger, 10);
        assert_eq!(ledger.evicted(), 9);
        assert!(ledger.len() <= 3);
        join.drain();
        record_valid(&ledger, 1);
        let s = join.finish();
        assert_eq!((s.start_seq, s.last_seq), (2, 13));
        assert_eq!((s.total, s.missed, s.ours()), (11, 0, 11));
        assert_eq!(s.class(Class::Valid).allowed, 11);

        let rec = recorder();
        let v = evaluate(&Inputs {
            recorder: &rec,
            ledger: Some(&s),
            run_secs: 0,
            gate: Default::default(),
        });
        assert_eq!(v[0].status, Status::Pass, "{:?}", v[0]);
        // Finishing detached the hook: later evictions reach nobody.
        record_valid(&ledger, 5);
        assert_eq!(ledger.evicted(), 15);
    }

    #[test]
    fn a_missed_in_process_entry_names_the_scenario_setting() {
        let ledger = Ledger::with_capacity(2);
        let mut s = LedgerSummary::starting_after("in-process", "r", 0);
        record_valid(&ledger, 5);
        let page = ledger.since(0);
        for e in &page.entries {
            s.absorb(LedgerRow::from(e));
        }
        let rec = recorder();
        let v = evaluate(&Inputs {
            recorder: &rec,
            ledger: Some(&s),
            run_secs: 0,
            gate: Default::default(),
        });
        assert_eq!(v[0].status, Status::Fail);
        assert!(
            v[0].evidence
                .iter()
                .any(|e| e.contains("3 entries") && e.contains("target.ledger_capacity")),
            "{:?}",
            v[0].evidence
        );
    }
}
