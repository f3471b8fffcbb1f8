//! The one [`Report`]: every renderer (terminal, JSON) only formats it. Its JSON form is described by
//! `reports/schema.json` and a test holds it to that schema.

use serde::Serialize;

use crate::attempt::oracle;
use crate::contract::Class;
use crate::contract::Transport;
use crate::invariant::Verdict;
use crate::join::LedgerSummary;
use crate::metrics::{Outcome, Recorder};
use crate::wire::settings::GateSettings;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: Tool,
    pub scenario: ScenarioInfo,
    pub seed: u64,
    /// The plan's fingerprint ([`crate::scenario::plan_hash`]): the same in every shard of one plan.
    pub plan_hash: String,
    /// `run --shard I/N`: which part of the plan this run was; `null` for the whole plan.
    pub shard: Option<crate::load::shard::Shard>,
    pub run_id: String,
    /// UTC, RFC 3339.
    pub started_at: String,
    pub timing: Timing,
    /// A stop (SIGINT/SIGTERM, `--stop-file` or an `[abort]` guard) ended the run before its end.
    pub interrupted: bool,
    /// What stopped it early: `signal`, `stop_file` or `abort` (an `[abort]` guard, `safety.aborted_by`);
    /// `null` when the run ended on its own.
    pub stopped_by: Option<crate::shutdown::StoppedBy>,
    pub target: TargetInfo,
    pub throughput: Throughput,
    /// One row per transport in use: devices, attempts by outcome, MQTT message counts.
    pub transports: Vec<super::transports::TransportRow>,
    /// One row per (transport, class, outcome) that occurred.
    pub results: Vec<ResultRow>,
    /// MQTT: how kept sessions ended per (transport, class): closed, dropped, kicked (client-id takeover),
    /// storm; and the CONNECTs kicks caused.
    pub sessions: Vec<super::sessions::SessionRow>,
    /// `[[mqtt.storms]]`: one row per storm (left out when the scenario has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub storms: Vec<super::sessions::StormRow>,
    /// Why attempts went unanswered: one row per error kind that occurred; empty on a clean run.
    pub errors: Vec<super::errors::ErrorRow>,
    /// The first valid attempts the signature gate refused (at most 5), each with the rule, the gate's checklist
    /// and what to change (`tokenstorm explain`'s explanation), from the emulator's refusal log; empty when none
    /// was refused or the target keeps no refusal log (a real AWS endpoint, an external emulator without
    /// `admin_url`).
    pub refused_valid: Vec<crate::join::refusals::RefusedAttempt>,
    /// Connection phases and message latencies per (transport, class, phase).
    pub phases: Vec<super::transports::PhaseRow>,
    /// The same per class kind (forged variants merged), as the terminal shows them.
    pub phases_by_kind: Vec<super::transports::PhaseRow>,
    /// Authorizer invocations from the ledger; `null` when no ledger could be read.
    pub invocations: Option<Invocations>,
    /// What the run would cost on AWS, by credential class, with a 24 h projection; `null` without a ledger.
    pub cost: Option<super::cost::Cost>,
    /// Per second since the load's start: attempts ended per (transport, outcome) with their p99, and
    /// invocations per class kind (issue 13; bounded: one row per second and key, at most an hour).
    pub timeseries: super::timeseries::Timeseries,
    /// The account's CloudWatch as the witness (`[target.aws]`); absent when not configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<crate::join::cloudwatch::Reconciliation>,
    /// Remote or not, the resolved addresses, the `authorized` text, the caps in force (null: uncapped), the
    /// predicted attempts, invocations and cost, and the abort guard that stopped the run (null: none).
    pub safety: crate::safety::SafetyRecord,
    pub invariants: Vec<Verdict>,
    /// `tokenstorm merge`: the shard run folders this report was merged from; absent for a run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<Vec<MergedShard>>,
    /// `fail` when an invariant failed, else `inconclusive` when one could not be judged, else `pass`.
    pub verdict: String,
    pub exit_code: u8,
}

/// One shard of a merged report: which part of the plan it ran, where its folder is, and its own verdict (for
/// reference: the merged verdict is judged on the merged evidence only).
#[derive(Debug, Clone, Serialize)]
pub struct MergedShard {
    pub index: u32,
    pub count: u32,
    pub run_id: String,
    pub folder: String,
    pub started_at: String,
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    /// The effective scenario (after command-line overrides), tokens shortened.
    pub resolved: serde_json::Value,
    /// The token signing keys (public fingerprints only).
    pub keys: Vec<KeyInfo>,
    /// The tokens devices send, shortened (static: one; per-device: the first and the last).
    pub tokens: Vec<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct KeyInfo {
    pub name: String,
    pub bits: usize,
    pub fingerprint: String,
    /// `generated` or the PEM file path.
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub planned_duration_s: f64,
    pub elapsed_s: f64,
    pub warmup_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// `embedded` or `external`.
    pub kind: String,
    /// The HTTPS URL; empty when no HTTPS target was set.
    pub url: String,
    /// Every address attempts went to, one per transport in use (`https://`, `mqtts://`, `mqtt://`, `wss://`).
    pub urls: Vec<String>,
    /// Host header and SNI.
    pub endpoint_name: String,
    /// The gate settings the oracle judged by: the embedded emulator's, or what the external target was declared
    /// to do.
    pub gate: GateSettings,
    /// Where `gate` came from: the gate file read (`gate_file`), or `None` for the scenario's `[gate]` table and
    /// the defaults.
    pub gate_file: Option<String>,
    /// How many source addresses connections were bound to in turn (`load.source_addrs` expanded); left out when
    /// none was set (the kernel's choice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_addrs: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub attempts_started: u64,
    pub attempts_ended: u64,
    /// Ended attempts per second of elapsed time.
    pub attempts_per_s: f64,
    /// Attempts the open-model schedule wanted but that could not start before the deadline.
    pub missed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    pub transport: String,
    /// `valid`, `forged` or `replayed`.
    pub class: String,
    /// The forgery variant, `null` for valid and replayed.
    pub variant: Option<String>,
    pub outcome: String,
    pub count: u64,
    /// From the intended start; `null` when every such attempt was in the warm-up.
    pub latency_us: Option<Percentiles>,
    /// From the actual start.
    pub service_us: Option<Percentiles>,
    /// A forged variant the oracle lets through under the run's gate settings (the terminal marks it `†`); not
    /// in the JSON, which names the settings in `target.gate`.
    #[serde(skip)]
    pub passes_gate: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invocations {
    /// `in-process` or the external emulator's admin URL.
    pub source: String,
    /// Ledger entries joined (read during the run, after `after_seq`).
    pub total: u64,
    /// Entries of the run's span evicted before they were joined (the ledger is bounded); > 0 fails
    /// `forged_never_invoked`.
    pub missed: u64,
    /// The join started after this seq (entries up to it predate the run).
    pub after_seq: u64,
    /// The last seq joined.
    pub last_seq: u64,
    /// Entries of this run.
    pub this_run: u64,
    /// Entries of other runs or without an attempt id.
    pub foreign: u64,
    pub by_class: Vec<ClassInvocationRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassInvocationRow {
    pub class: String,
    pub variant: Option<String>,
    /// Attempts started.
    pub attempts: u64,
    /// Attempts that reached the authorizer function (invoked it; at most once each).
    pub reached: u64,
    /// HTTPS attempts allowed from the connection's authorizer cache, without an invocation.
    pub cache_hits: u64,
    /// Invocations: `reached` plus `refreshes`.
    pub invocations: u64,
    /// Invocations a live MQTT connection's policy refresh caused, not an attempt.
    pub refreshes: u64,
    pub allowed: u64,
    pub denied: u64,
    /// As [`ResultRow::passes_gate`] (not in the JSON).
    #[serde(skip)]
    pub passes_gate: bool,
}

/// A forged variant the oracle expects to pass the gate under `gate`: in effect a valid credential, allowed and
/// invoked like one.
fn passes_gate(c: Class, gate: &GateSettings) -> bool {
    matches!(c, Class::Forged(f) if !oracle::entry(f).refused_under(gate))
}

impl Percentiles {
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            min: h.min(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// The measurement rows: one per (transport, class, outcome) with at least one attempt; `gate`: the settings the
/// oracle judges forged variants by.
pub fn result_rows(rec: &Recorder, gate: &GateSettings) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    for t in Transport::ALL {
        for c in Class::ALL {
            for o in Outcome::ALL {
                let count = rec.ended(t, c, o);
                if count == 0 {
                    continue;
                }
                rows.push(ResultRow {
                    transport: t.as_str().into(),
                    class: c.kind().into(),
                    variant: c.variant().map(str::to_string),
                    outcome: o.as_str().into(),
                    count,
                    latency_us: rec.latency(t, c, o).map(Percentiles::of),
                    service_us: rec.service(t, c, o).map(Percentiles::of),
                    passes_gate: passes_gate(c, gate),
                });
            }
        }
    }
    rows
}

/// Invocations per class (every class, even with zero).
pub fn invocations(rec: &Recorder, ledger: &LedgerSummary, gate: &GateSettings) -> Invocations {
    Invocations {
        source: ledger.source.clone(),
        total: ledger.total,
        missed: ledger.missed,
        after_seq: ledger.start_seq,
        last_seq: ledger.last_seq,
        this_run: ledger.ours(),
        foreign: ledger.foreign,
        by_class: Class::ALL
            .into_iter()
            .map(|c| {
                let i = ledger.class(c);
                ClassInvocationRow {
                    class: c.kind().into(),
                    variant: c.variant().map(str::to_string),
                    attempts: Transport::ALL.into_iter().map(|t| rec.started(t, c)).sum(),
                    reached: i.reached(),
                    cache_hits: ledger.cache_hits(rec, c),
                    invocations: i.invocations,
                    refreshes: i.refreshes,
                    allowed: i.allowed,
                    denied: i.denied,
                    passes_gate: passes_gate(c, gate),
                }
            })
            .collect(),
    }
}

impl Report {
    /// Whether every invariant held (none failed, none was inconclusive).
    pub fn passed(&self) -> bool {
        self.invariants.iter().all(|v| v.status.holds()) && self.safety.aborted_by.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;
    use crate::wire::settings::Duplicates;

    /// Rows carry the oracle's judgement under the run's gate, so renderers need not ask the oracle again.
    #[test]
    fn rows_mark_the_forged_variants_that_pass_the_gate() {
        let mut rec = Recorder::new();
        for c in [
            Class::Valid,
            Class::Forged(Forgery::DuplicatedToken),
            Class::Forged(Forgery::BitFlip),
        ] {
            rec.start(Transport::Https, c);
            rec.end(Transport::Https, c, Outcome::Allowed, 10, 10, true);
        }
        let marked = |gate: &GateSettings| -> Vec<String> {
            result_rows(&rec, gate)
                .into_iter()
                .filter(|r| r.passes_gate)
                .filter_map(|r| r.variant)
                .collect()
        };
        let reject = GateSettings {
            duplicates: Duplicates::Reject,
            ..GateSettings::default()
        };
        assert_eq!(marked(&reject), Vec::<String>::new());
        let first = GateSettings {
            duplicates: Duplicates::First,
            ..GateSettings::default()
        };
        assert_eq!(marked(&first), ["duplicated_token"]);
        let ledger = LedgerSummary::new("t", "r", Vec::new());
        let inv = invocations(&rec, &ledger, &first);
        let passing: Vec<_> = inv
            .by_class
            .iter()
            .filter(|c| c.passes_gate && c.attempts > 0)
            .collect();
        assert_eq!(passing.len(), 1);
        assert_eq!(passing[0].variant.as_deref(), Some("duplicated_token"));
        // Not part of report.json.
        let json = serde_json::to_value(&inv).unwrap();
        assert!(json["by_class"][0].get("passes_gate").is_none(), "{json}");
    }
}
