//! The ledger join: the emulator's invocation ledger, reduced to counts per credential class for this run.
//!
//! Each ledger entry carries the attempt id the generator sent (`x-tokenstorm-attempt`), and the id names the
//! class ([`crate::contract::attempt_id`]), so the join needs no per-attempt storage. Entries of other runs or without
//! an id are counted as foreign. The join is incremental (the emulator's ledger is bounded, so it is read as the
//! run goes, see [`super::Witness`]) and counts the entries it could never see as missed.

use serde::{Deserialize, Serialize};

use crate::attempt::oracle::must_be_refused;
use crate::contract::ledger::Trigger;
use crate::contract::ledger::billing;
use crate::contract::{BackendKind, Transport, Verdict};
use crate::contract::{Class, attempt_id as id};
use crate::scenario::Groups;
use crate::wire::settings::GateSettings;

/// The part of a ledger entry the join reads (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LedgerRow {
    /// 1, 2, 3, ... in invocation order (for paging through the admin API).
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub attempt_id: Option<String>,
    /// When the invocation started, Unix ms (storm windows are read by it).
    #[serde(default)]
    pub unix_ms: u64,
    pub verdict: Verdict,
    /// How long the invocation took, µs (the billed duration when the backend reports none).
    #[serde(default)]
    pub duration_us: u64,
    /// `None` (older emulators): in-process.
    #[serde(default)]
    pub backend: Option<BackendKind>,
    /// The billed duration the backend measured (rounded up to 1 ms).
    #[serde(default)]
    pub billed_ms: Option<u64>,
    /// The function's configured memory.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// The first invocation of a runtime process.
    #[serde(default)]
    pub cold_start: bool,
    /// Lambda concurrency was exhausted: denied without running (not billed).
    #[serde(default)]
    pub throttled: bool,
    /// What caused it: an attempt (`publish`, `connect`) or a live connection's `refresh`; `None` (older
    /// emulators, CloudWatch): an attempt.
    #[serde(default)]
    pub trigger: Option<Trigger>,
}

impl From<&crate::contract::LedgerEntry> for LedgerRow {
    fn from(e: &crate::contract::LedgerEntry) -> Self {
        Self {
            seq: e.seq,
            attempt_id: e.attempt_id.clone(),
            unix_ms: e.unix_ms,
            verdict: e.verdict,
            duration_us: e.duration_us,
            backend: Some(e.backend),
            billed_ms: Some(e.billed_ms),
            memory_mb: Some(u64::from(e.memory_mb)),
            cold_start: e.cold_start,
            throttled: e.throttled,
            trigger: Some(e.trigger),
        }
    }
}

impl LedgerRow {
    /// A row with only the join's fields (tests): `verdict` is `allow`, else a deny.
    pub fn new(seq: u64, attempt_id: Option<&str>, verdict: &str) -> Self {
        Self {
            seq,
            attempt_id: attempt_id.map(str::to_string),
            unix_ms: 0,
            verdict: if verdict == Verdict::Allow.as_str() {
                Verdict::Allow
            } else {
                Verdict::Deny
            },
            duration_us: 0,
            backend: None,
            billed_ms: None,
            memory_mb: None,
            cold_start: false,
            throttled: false,
            trigger: None,
        }
    }

    /// (billed ms, memory MB) of this invocation, or `None` when it is not billed (throttled: it never ran).
    /// The backend's billed duration (the in-process function's `billed_duration_ms` or injected latency; a
    /// real function's measured duration rounded up to 1 ms); when it reports 0 or none, the measured duration
    /// rounded up to 1 ms (Lambda bills at least 1 ms). Memory: the function's `memory_mb`, else 128.
    pub fn billing(&self) -> Option<(u64, u64)> {
        billing(
            self.throttled,
            self.billed_ms,
            self.duration_us,
            self.memory_mb,
        )
    }
}

/// Invocations of one class, and what they are billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassInvocations {
    pub invocations: u64,
    pub allowed: u64,
    pub denied: u64,
    /// Invocations billed as Lambda requests (all but throttled ones).
    pub billed: u64,
    /// Σ billed duration, ms.
    pub billed_ms: u64,
    /// Σ memory (MB) × billed duration (ms): GB-seconds × 1024 × 1000, exact.
    pub mb_ms: u128,
    pub cold_starts: u64,
    pub throttled: u64,
    /// Invocations a live connection's policy refresh caused (not an attempt): MQTT sessions kept past
    /// `refreshAfterInSeconds`.
    pub refreshes: u64,
}

impl ClassInvocations {
    /// Counts one invocation.
    fn add(&mut self, row: &LedgerRow, billed: Option<(u64, u64)>) {
        self.invocations += 1;
        if row.verdict == Verdict::Allow {
            self.allowed += 1;
        } else {
            self.denied += 1;
        }
        if let Some((ms, mb)) = billed {
            self.billed += 1;
            self.billed_ms = self.billed_ms.saturating_add(ms);
            self.mb_ms += u128::from(ms) * u128::from(mb);
        }
        self.cold_starts += u64::from(row.cold_start);
        self.throttled += u64::from(row.throttled);
        self.refreshes += u64::from(row.trigger == Some(Trigger::Refresh));
    }

    /// Adds another join's counts of the same class (shards' joins are disjoint: each joined its own run id).
    pub fn merge(&mut self, o: &Self) {
        self.invocations += o.invocations;
        self.allowed += o.allowed;
        self.denied += o.denied;
        self.billed += o.billed;
        self.billed_ms = self.billed_ms.saturating_add(o.billed_ms);
        self.mb_ms += o.mb_ms;
        self.cold_starts += o.cold_starts;
        self.throttled += o.throttled;
        self.refreshes += o.refreshes;
    }

    /// Attempts that reached the authorizer function: each attempt invokes it at most once, refreshes are the
    /// rest.
    pub fn reached(&self) -> u64 {
        self.invocations - self.refreshes
    }
}

/// The ledger, as counts per class for one run. Built incrementally: [`absorb`](Self::absorb) each new entry in
/// seq order (entries already joined are skipped), and a hole in the seqs, or [`note_evicted`](Self::note_evicted),
/// counts the entries that were evicted before they could be joined as [`missed`](Self::missed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerSummary {
    /// `in-process` or the admin URL it was read from.
    pub source: String,
    /// What to change so that no entry is missed next time: the witness knows its source's setting.
    #[serde(skip)]
    pub remedy: &'static str,
    #[serde(skip)]
    run_id: String,
    /// Every entry joined.
    pub total: u64,
    /// Entries without an attempt id of this run.
    pub foreign: u64,
    /// The foreign entries by the run id their attempt id names (`""`: none), at most [`MAX_FOREIGN_RUNS`] runs
    /// (the rest under `"…"`): a merge takes its sibling shards' entries out of `foreign` by it.
    #[serde(skip)]
    pub foreign_by_run: std::collections::BTreeMap<String, u64>,
    /// Entries of the run's span that were evicted before they were joined: nobody knows what they were.
    pub missed: u64,
    /// The seq the join started after (entries up to it predate the run).
    pub start_seq: u64,
    /// The last seq joined or known missed: the next read asks for entries after it.
    pub last_seq: u64,
    #[serde(skip)]
    pub by_class: [ClassInvocations; Class::COUNT],
    /// The same per transport: the attempt id's device names its group ([`Self::set_groups`]); without groups
    /// every entry counts as HTTPS.
    #[serde(skip)]
    pub by_transport: [[ClassInvocations; Class::COUNT]; Transport::COUNT],
    #[serde(skip)]
    groups: Option<Groups>,
    /// The gate settings the oracle judges by ([`Self::set_gate`]): which forged variants must be refused.
    #[serde(skip)]
    gate: GateSettings,
    /// Up to 10 attempt ids of forged attempts the gate must refuse that reached the authorizer.
    pub forged_examples: Vec<String>,
    /// The storms' windows ([`Self::set_storms`]) and the run's invocations in each (all classes).
    #[serde(skip)]
    storms: Option<super::Windows>,
    #[serde(skip)]
    pub by_storm: Vec<ClassInvocations>,
    /// When the load started ([`Self::set_origin`]): entries are counted per second from it too.
    #[serde(skip)]
    origin: Option<super::Origin>,
    /// The run's invocations per second and class kind (empty without an origin).
    #[serde(skip)]
    pub per_second: super::PerSecond,
}

/// How many forged examples a join keeps (a merge too).
pub const MAX_EXAMPLES: usize = 10;

/// Foreign run ids counted apart; more share one key.
pub const MAX_FOREIGN_RUNS: usize = 64;

/// The remedy for an emulator's ledger read from outside (the default).
pub const EXTERNAL_REMEDY: &str =
    "raise the emulator's --ledger-capacity (ledger_capacity in its config file)";

impl LedgerSummary {
    /// An empty join of the entries after `start_seq` (0: the whole ledger).
    pub fn starting_after(source: impl Into<String>, run_id: &str, start_seq: u64) -> Self {
        Self {
            source: source.into(),
            remedy: EXTERNAL_REMEDY,
            run_id: run_id.to_string(),
            total: 0,
            foreign: 0,
            foreign_by_run: std::collections::BTreeMap::new(),
            missed: 0,
            start_seq,
            last_seq: start_seq,
            by_class: [ClassInvocations::default(); Class::COUNT],
            by_transport: [[ClassInvocations::default(); Class::COUNT]; Transport::COUNT],
            groups: None,
            gate: GateSettings::default(),
            forged_examples: Vec::new(),
            storms: None,
            by_storm: Vec::new(),
            origin: None,
            per_second: super::PerSecond::default(),
        }
    }

    /// Attributes entries to transports by device id (set before the first entry is joined).
    pub fn set_groups(&mut self, groups: Groups) {
        self.groups = Some(groups);
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
        let parsed = row.attempt_id.as_deref().and_then(id::parse);
        let Some(a) = parsed.filter(|a| a.run == self.run_id) else {
            self.foreign += 1;
            self.count_foreign(parsed.map_or("", |a| a.run));
            return;
        };
        let t = self
            .groups
            .as_ref()
            .and_then(|g| g.transport_of(a.device))
            .unwrap_or(Transport::Https);
        let billed = row.billing();
        self.by_class[a.class.index()].add(&row, billed);
        self.by_transport[t.index()][a.class.index()].add(&row, billed);
        if let Some(k) = self.storms.as_ref().and_then(|w| w.find(row.unix_ms)) {
            if self.by_storm.len() <= k {
                self.by_storm.resize(k + 1, ClassInvocations::default());
            }
            self.by_storm[k].add(&row, billed);
        }
        if let Some(origin) = self.origin.as_ref().and_then(|o| o.get()) {
            self.per_second.add(origin, row.unix_ms, a.class);
        }
        if must_be_refused(a.class, &self.gate) && self.forged_examples.len() < MAX_EXAMPLES {
            self.forged_examples.extend(row.attempt_id);
        }
    }

    /// Counts a foreign entry under its run id (bounded: past [`MAX_FOREIGN_RUNS`] runs, under `"…"`).
    fn count_foreign(&mut self, run: &str) {
        // Most entries are of a run already seen: no allocation for them.
        if let Some(n) = self.foreign_by_run.get_mut(run) {
            *n += 1;
            return;
        }
        let key = if self.foreign_by_run.len() < MAX_FOREIGN_RUNS {
            run
        } else {
            "…"
        };
        *self.foreign_by_run.entry(key.to_string()).or_default() += 1;
    }

    pub fn class(&self, c: Class) -> ClassInvocations {
        self.by_class[c.index()]
    }

    /// HTTPS attempts of a class allowed without an invocation: answered from the connection's authorizer cache
    /// (`enableCachingForHttp`), so attempts and invocations part.
    pub fn cache_hits(&self, rec: &crate::metrics::Recorder, c: Class) -> u64 {
        let allowed = rec.ended(Transport::Https, c, crate::metrics::Outcome::Allowed);
        allowed.saturating_sub(self.transport_class(Transport::Https, c).allowed)
    }

    /// Invocations of one class over one transport.
    pub fn transport_class(&self, t: Transport, c: Class) -> ClassInvocations {
        self.by_transport[t.index()][c.index()]
    }

    /// What the drains joined so far, for the live status and the abort guards.
    pub fn so_far(&self) -> super::SoFar {
        let mut by_kind = [0; Class::KINDS.len()];
        for c in Class::ALL {
            by_kind[c.kind_index()] += self.class(c).invocations;
        }
        super::SoFar {
            invocations: self.ours(),
            forged: self.forged(),
            by_kind,
        }
    }

    /// Invocations of this run (all classes).
    pub fn ours(&self) -> u64 {
        self.by_class.iter().map(|c| c.invocations).sum()
    }

    /// Invocations caused by forged attempts the gate must refuse under the settings ([`must_be_refused`]).
    pub fn forged(&self) -> u64 {
        Class::ALL
            .into_iter()
            .filter(|c| must_be_refused(*c, &self.gate))
            .map(|c| self.class(c).invocations)
            .sum()
    }

    /// Counts the run's invocations per storm window too.
    pub fn set_storms(&mut self, windows: super::Windows) {
        self.storms = Some(windows);
    }

    /// The run's invocations in storm `k`'s window.
    pub fn storm(&self, k: usize) -> ClassInvocations {
        self.by_storm.get(k).copied().unwrap_or_default()
    }

    /// Counts the run's invocations per second from `origin` (the load's start) too.
    pub fn set_origin(&mut self, origin: super::Origin) {
        self.origin = Some(origin);
    }

    /// Which gate settings decide the forged variants that must be refused (default: the spec's).
    pub fn set_gate(&mut self, gate: GateSettings) {
        self.gate = gate;
    }
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
