//! A [`LedgerSummary`] in a form that survives a file (the run folder's `evidence.json`): every count the
//! report and the invariants read, by class, by transport, by storm and per second, the examples, what was
//! missed and what was foreign (by run id, so a merge can tell its sibling shards' entries apart). What only
//! the join needs while it reads (the groups, the storms' windows, the origin) is not kept.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use serde::{Deserialize, Serialize};

use super::per_second::KINDS;
use super::{ClassInvocations, LedgerSummary, PerSecond};
use crate::contract::{Class, Transport};
use crate::wire::settings::GateSettings;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedLedger {
    pub source: String,
    pub remedy: String,
    pub total: u64,
    pub foreign: u64,
    pub foreign_by_run: BTreeMap<String, u64>,
    pub missed: u64,
    pub start_seq: u64,
    pub last_seq: u64,
    /// Per class ([`Class::ALL`] order).
    pub by_class: Vec<ClassInvocations>,
    /// Per transport, then per class.
    pub by_transport: Vec<Vec<ClassInvocations>>,
    pub forged_examples: Vec<String>,
    pub by_storm: Vec<ClassInvocations>,
    /// Per second from the load's start: [valid, forged, replayed].
    pub per_second: Vec<[u64; KINDS.len()]>,
    pub per_second_truncated: bool,
    /// The gate settings the forged count was judged by.
    pub gate: GateSettings,
}

/// The remedies a witness names, so a saved one reads back as the same text.
const REMEDIES: [&str; 2] = [super::summary::EXTERNAL_REMEDY, super::in_process::REMEDY];

impl SavedLedger {
    /// `l`, saved (`gate`: the settings it was joined with).
    pub fn of(l: &LedgerSummary, gate: GateSettings) -> Self {
        let (per_second, per_second_truncated) = l.per_second.parts();
        Self {
            source: l.source.clone(),
            remedy: l.remedy.to_string(),
            total: l.total,
            foreign: l.foreign,
            foreign_by_run: l.foreign_by_run.clone(),
            missed: l.missed,
            start_seq: l.start_seq,
            last_seq: l.last_seq,
            by_class: l.by_class.to_vec(),
            by_transport: l.by_transport.iter().map(|t| t.to_vec()).collect(),
            forged_examples: l.forged_examples.clone(),
            by_storm: l.by_storm.clone(),
            per_second: per_second.to_vec(),
            per_second_truncated,
            gate,
        }
    }

    /// The summary saved (`run_id`: the run it joined); `Err` names the field that does not fit this build.
    pub fn restore(&self, run_id: &str) -> anyhow::Result<LedgerSummary> {
        let mut l = LedgerSummary::starting_after(self.source.clone(), run_id, self.start_seq);
        l.remedy = REMEDIES
            .into_iter()
            .find(|r| *r == self.remedy)
            .unwrap_or("");
        l.total = self.total;
        l.foreign = self.foreign;
        l.foreign_by_run = self.foreign_by_run.clone();
        l.missed = self.missed;
        l.last_seq = self.last_seq;
        l.by_class = self.by_class.as_slice().try_into().map_err(|_| {
            anyhow!(
                "ledger.by_class: {} classes where {} belong",
                self.by_class.len(),
                Class::COUNT
            )
        })?;
        if self.by_transport.len() != Transport::COUNT {
            bail!(
                "ledger.by_transport: {} transports where {} belong",
                self.by_transport.len(),
                Transport::COUNT
            );
        }
        for (slot, row) in l.by_transport.iter_mut().zip(&self.by_transport) {
            *slot = row
                .as_slice()
                .try_into()
                .map_err(|_| anyhow!("ledger.by_transport: a row of {} classes", row.len()))?;
        }
        l.forged_examples = self.forged_examples.clone();
        l.by_storm = self.by_storm.clone();
        l.per_second = PerSecond::from_parts(self.per_second.clone(), self.per_second_truncated);
        l.set_gate(self.gate);
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::join::{LedgerRow, Origin, Spec};

    #[test]
    fn a_summary_survives_json_with_its_foreign_runs() {
        let mut spec = Spec::new("r1");
        spec.origin = Some(Origin::at(10_000));
        let mut l = spec.summary("http://127.0.0.1:1", 0);
        for (seq, (id, ms)) in [
            (Some("r1-valid-0-0"), 10_100),
            (Some("r2-valid-1-0"), 10_200),
            (None, 11_500),
            (Some("r1-forged.bit_flip-2-0"), 12_000),
        ]
        .into_iter()
        .enumerate()
        {
            let mut row = LedgerRow::new(seq as u64 + 1, id, "allow");
            row.unix_ms = ms;
            l.absorb(row);
        }
        assert_eq!(l.foreign, 2);
        let json = serde_json::to_string(&SavedLedger::of(&l, GateSettings::default())).unwrap();
        let back: SavedLedger = serde_json::from_str(&json).unwrap();
        let b = back.restore("r1").unwrap();
        // Everything but the origin (only the join's reading needs it).
        assert_eq!((b.total, b.foreign, b.missed, b.last_seq), (4, 2, 0, 4));
        assert!(b.by_class == l.by_class && b.by_transport == l.by_transport);
        assert_eq!(b.per_second, l.per_second);
        assert_eq!(b.forged_examples, l.forged_examples);
        assert_eq!(b.foreign_by_run.get("r2"), Some(&1));
        assert_eq!(b.foreign_by_run.get(""), Some(&1));
        assert_eq!(b.forged(), l.forged());
    }
}
