//! The embedded emulator's ledger as a [`Witness`]: read directly, drained every [`super::EVERY`] and once more
//! after the load, and its evictions hooked, so an entry is joined before it is evicted even when the periodic
//! drain falls behind: nothing is missed. A run, the ledger's only reader, takes what it joins
//! ([`InProcess::attach_taking`]), so a long run's ledger holds at most one drain's entries, not its capacity.

use std::future::ready;
use std::sync::{Arc, Mutex, MutexGuard};

use super::summary::{LedgerRow, LedgerSummary};
use super::{Pending, Spec, Witness};
use crate::contract::LedgerEntry;
use crate::emulator::Ledger;

fn lock(s: &Mutex<LedgerSummary>) -> MutexGuard<'_, LedgerSummary> {
    s.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What to raise when the in-process join missed entries (it cannot, while its eviction hook is attached).
pub const REMEDY: &str = "raise target.ledger_capacity in the scenario";

/// The join of an in-process ledger, from the moment it is attached.
pub struct InProcess {
    ledger: Ledger,
    summary: Arc<Mutex<LedgerSummary>>,
    /// Joined entries are taken out of the ledger ([`Ledger::take_since`]).
    taking: bool,
}

impl InProcess {
    /// Joins every entry recorded from now on; entries about to be evicted are joined by the eviction hook.
    pub fn attach(ledger: &Ledger, spec: &Spec) -> Self {
        Self::attach_with(ledger, spec, false)
    }

    /// [`attach`](Self::attach) for the ledger's only reader: each drain takes the entries it joins, so the
    /// ledger keeps nothing between drains (a run's memory stays flat however long it lasts).
    pub fn attach_taking(ledger: &Ledger, spec: &Spec) -> Self {
        Self::attach_with(ledger, spec, true)
    }

    fn attach_with(ledger: &Ledger, spec: &Spec, taking: bool) -> Self {
        let mut summary = spec.summary("in-process", ledger.recorded());
        summary.remedy = REMEDY;
        let summary = Arc::new(Mutex::new(summary));
        let hooked = summary.clone();
        ledger.set_evict_hook(Some(Arc::new(move |e: &LedgerEntry| {
            lock(&hooked).absorb(LedgerRow::from(e));
        })));
        Self {
            ledger: ledger.clone(),
            summary,
            taking,
        }
    }

    /// Folds the entries recorded since the last drain.
    pub fn drain_now(&self) {
        // Never hold the summary while taking the ledger's lock: the eviction hook takes them the other way.
        let since = lock(&self.summary).last_seq;
        let page = if self.taking {
            self.ledger.take_since(since)
        } else {
            self.ledger.since(since)
        };
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
}

impl Witness for InProcess {
    fn drain(&mut self) -> Pending<'_, anyhow::Result<()>> {
        self.drain_now();
        Box::pin(ready(Ok(())))
    }

    fn so_far(&self) -> super::SoFar {
        lock(&self.summary).so_far()
    }

    /// Drains once more and detaches the hook (on drop).
    fn finish(self: Box<Self>) -> Pending<'static, anyhow::Result<LedgerSummary>> {
        self.drain_now();
        Box::pin(ready(Ok(self.summary())))
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.ledger.set_evict_hook(None);
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
            event: serde_json::json!({}).into(),
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

    /// The verdicts on [`recorder`]'s attempts with `s` as the join.
    fn judge(s: &LedgerSummary) -> Vec<crate::invariant::Verdict> {
        evaluate(&Inputs {
            recorder: &recorder(),
            ledger: Some(s),
            run_secs: 0,
            gate: Default::default(),
        })
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

        let v = judge(&s);
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

    #[tokio::test]
    async fn the_in_process_join_never_misses_even_without_periodic_drains() {
        let ledger = Ledger::with_capacity(3);
        record_valid(&ledger, 2); // before the run: not joined
        let join = InProcess::attach(&ledger, &Spec::new("r"));
        record_valid(&ledger, 10);
        assert_eq!(ledger.evicted(), 9);
        assert!(ledger.len() <= 3);
        join.drain_now();
        record_valid(&ledger, 1);
        let s = Box::new(join).finish().await.unwrap();
        assert_eq!((s.start_seq, s.last_seq), (2, 13));
        assert_eq!((s.total, s.missed, s.ours()), (11, 0, 11));
        assert_eq!(s.class(Class::Valid).allowed, 11);

        let v = judge(&s);
        assert_eq!(v[0].status, Status::Pass, "{:?}", v[0]);
        // Finishing detached the hook: later evictions reach nobody.
        record_valid(&ledger, 5);
        assert_eq!(ledger.evicted(), 15);
    }

    /// A taking join leaves the ledger empty after each drain and still joins every entry exactly once, the
    /// evicted ones by the hook.
    #[tokio::test]
    async fn a_taking_join_keeps_the_ledger_empty_and_joins_everything() {
        let ledger = Ledger::with_capacity(3);
        record_valid(&ledger, 2); // before the run: not joined
        let join = InProcess::attach_taking(&ledger, &Spec::new("r"));
        record_valid(&ledger, 5);
        join.drain_now();
        assert!(ledger.is_empty());
        record_valid(&ledger, 2);
        join.drain_now();
        assert!(ledger.is_empty());
        record_valid(&ledger, 1);
        let s = Box::new(join).finish().await.unwrap();
        assert!(ledger.is_empty());
        assert_eq!((s.start_seq, s.last_seq), (2, 10));
        assert_eq!((s.total, s.missed, s.ours()), (8, 0, 8));
        assert_eq!(s.class(Class::Valid).allowed, 8);
    }

    #[test]
    fn a_missed_in_process_entry_names_the_scenario_setting() {
        let ledger = Ledger::with_capacity(2);
        let mut s = LedgerSummary::starting_after("in-process", "r", 0);
        s.remedy = REMEDY;
        record_valid(&ledger, 5);
        let page = ledger.since(0);
        for e in &page.entries {
            s.absorb(LedgerRow::from(e));
        }
        let v = judge(&s);
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
