//! The ledger join: the emulator's invocation ledger, reduced to counts per credential class for this run.
//!
//! Each ledger entry carries the attempt id the generator sent (`x-tokenstorm-attempt`), and the id names the
//! class ([`crate::attempt::id`]), so the join needs no per-attempt storage. Entries of other runs or without
//! an id are counted as foreign. The join is incremental (the emulator's ledger is bounded, so it is read as the
//! run goes, see [`super::drain`]) and counts the entries it could never see as missed.

use serde::{Deserialize, Serialize};

use crate::attempt::{Class, id};

/// The part of a ledger entry the join reads (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LedgerRow {
    /// 1, 2, 3, ... in invocation order (for paging through the admin API).
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub attempt_id: Option<String>,
    /// `allow` or `deny`.
    pub verdict: String,
}

impl From<&crate::emulator::LedgerEntry> for LedgerRow {
    fn from(e: &crate::emulator::LedgerEntry) -> Self {
        Self {
            seq: e.seq,
            attempt_id: e.attempt_id.clone(),
            verdict: e.verdict.clone(),
        }
    }
}

/// Invocations of one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClassInvocations {
    pub invocations: u64,
    pub allowed: u64,
    pub denied: u64,
}

/// The ledger, as counts per class for one run. Built incrementally: [`absorb`](Self::absorb) each new entry in
/// seq order (entries already joined are skipped), and a hole in the seqs, or [`note_evicted`](Self::note_evicted),
/// counts the entries that were evicted before they could be joined as [`missed`](Self::missed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerSummary {
    /// `in-process` or the admin URL it was read from.
    pub source: String,
    #[serde(skip)]
    run_id: String,
    /// Every entry joined.
    pub total: u64,
    /// Entries without an attempt id of this run.
    pub foreign: u64,
    /// Entries of the run's span that were evicted before they were joined: nobody knows what they were.
    pub missed: u64,
    /// The seq the join started after (entries up to it predate the run).
    pub start_seq: u64,
    /// The last seq joined or known missed: the next read asks for entries after it.
    pub last_seq: u64,
    #[serde(skip)]
    pub by_class: [ClassInvocations; Class::COUNT],
    /// Up to 10 attempt ids of forged attempts that reached the authorizer.
    pub forged_examples: Vec<String>,
}

const MAX_EXAMPLES: usize = 10;

impl LedgerSummary {
    /// An empty join of the entries after `start_seq` (0: the whole ledger).
    pub fn starting_after(source: impl Into<String>, run_id: &str, start_seq: u64) -> Self {
        Self {
            source: source.into(),
            run_id: run_id.to_string(),
            total: 0,
            foreign: 0,
            missed: 0,
            start_seq,
            last_seq: start_seq,
            by_class: [ClassInvocations::default(); Class::COUNT],
            forged_examples: Vec::new(),
        }
    }

    /// Counts `rows` as they are, whatever their seqs (a complete ledger read at once).
    pub fn new(
        source: impl Into<String>,
        run_id: &str,
        rows: impl IntoIterator<Item = LedgerRow>,
    ) -> Self {
        let mut s = Self::starting_after(source, run_id, 0);
        for row in rows {
            s.last_seq = s.last_seq.max(row.seq);
            s.count(row);
        }
        s
    }

    /// Joins one entry read after [`last_seq`](Self::last_seq): skipped when already joined; a hole before it
    /// counts as missed.
    pub fn absorb(&mut self, row: LedgerRow) {
        if row.seq <= self.last_seq {
            return;
        }
        self.missed += row.seq - self.last_seq - 1;
        self.last_seq = row.seq;
        self.count(row);
    }

    /// The source says the seqs `1..=evicted` are gone: those after [`last_seq`](Self::last_seq) are missed.
    pub fn note_evicted(&mut self, evicted: u64) {
        if evicted > self.last_seq {
            self.missed += evicted - self.last_seq;
            self.last_seq = evicted;
        }
    }

    fn count(&mut self, row: LedgerRow) {
        self.total += 1;
        let parsed = row
            .attempt_id
            .as_deref()
            .and_then(id::parse)
            .filter(|a| a.run == self.run_id);
        let Some(a) = parsed else {
            self.foreign += 1;
            return;
        };
        let c = &mut self.by_class[a.class.index()];
        c.invocations += 1;
        if row.verdict == "allow" {
            c.allowed += 1;
        } else {
            c.denied += 1;
        }
        if a.class.is_forged() && self.forged_examples.len() < MAX_EXAMPLES {
            self.forged_examples.extend(row.attempt_id);
        }
    }

    pub fn class(&self, c: Class) -> ClassInvocations {
        self.by_class[c.index()]
    }

    /// Invocations of this run (all classes).
    pub fn ours(&self) -> u64 {
        self.by_class.iter().map(|c| c.invocations).sum()
    }

    /// Invocations caused by forged attempts.
    pub fn forged(&self) -> u64 {
        Class::ALL
            .into_iter()
            .filter(|c| c.is_forged())
            .map(|c| self.class(c).invocations)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::Forgery;

    fn row(id: Option<&str>, verdict: &str) -> LedgerRow {
        LedgerRow {
            seq: 0,
            attempt_id: id.map(str::to_string),
            verdict: verdict.into(),
        }
    }

    #[test]
    fn joins_by_attempt_id_and_run() {
        let rows = vec![
            row(Some("r1-valid-0-0"), "allow"),
            row(Some("r1-valid-1-0"), "deny"),
            row(Some("r1-replayed-2-0"), "allow"),
            row(Some("r1-forged.bit_flip-3-0"), "allow"),
            row(Some("r2-valid-0-0"), "allow"),
            row(None, "allow"),
            row(Some("garbage"), "deny"),
        ];
        let s = LedgerSummary::new("in-process", "r1", rows);
        assert_eq!(s.total, 7);
        assert_eq!(s.foreign, 3);
        assert_eq!(s.ours(), 4);
        assert_eq!(
            s.class(Class::Valid),
            ClassInvocations {
                invocations: 2,
                allowed: 1,
                denied: 1
            }
        );
        assert_eq!(s.class(Class::Replayed).invocations, 1);
        assert_eq!(s.class(Class::Forged(Forgery::BitFlip)).invocations, 1);
        assert_eq!(s.forged(), 1);
        assert_eq!(
            s.forged_examples,
            vec!["r1-forged.bit_flip-3-0".to_string()]
        );
    }
}
