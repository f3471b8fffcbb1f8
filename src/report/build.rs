//! Assembles the [`Report`] from the plan, the merged measurements, the ledger join and the verdicts.

use std::time::Duration;

use super::model::{self, KeyInfo, Report, ScenarioInfo, TargetInfo, Throughput, Timing, Tool};
use super::redact;
use crate::invariant::{self, Status, Verdict};
use crate::join::LedgerSummary;
use crate::metrics::Recorder;
use crate::scenario::file::TokenScheme;
use crate::scenario::plan::KeySource;
use crate::scenario::{Plan, Target};

/// Everything a report is made of.
pub struct Parts<'a> {
    pub plan: &'a Plan,
    pub run_id: &'a str,
    pub started_unix_ms: u64,
    pub elapsed: Duration,
    pub interrupted: bool,
    /// What stopped an interrupted run.
    pub stopped_by: Option<crate::shutdown::StoppedBy>,
    /// The URLs attempts went to (HTTPS first when in use).
    pub urls: Vec<String>,
    pub recorder: &'a Recorder,
    pub ledger: Option<&'a LedgerSummary>,
    /// What the account's CloudWatch witnessed (`[target.aws]`).
    pub aws: Option<crate::join::cloudwatch::Reconciliation>,
    /// Remote or not, the resolved addresses, who authorized it, the caps in force and the prediction.
    pub safety: crate::safety::SafetyRecord,
    pub verdicts: Vec<Verdict>,
    /// The first valid attempts the gate refused, with their explanations.
    pub refused_valid: Vec<crate::join::refusals::RefusedAttempt>,
    /// Per second: attempts and invocations ([`super::timeseries::build`]).
    pub timeseries: super::timeseries::Timeseries,
}

/// The run's verdict: `fail` when a rule failed, else `inconclusive` when one could not be judged, else `pass`.
fn overall(verdicts: &[Verdict]) -> &'static str {
    if verdicts.iter().any(|v| v.status == Status::Fail) {
        "fail"
    } else if verdicts.iter().any(|v| v.status == Status::Inconclusive) {
        "inconclusive"
    } else {
        "pass"
    }
}

/// The report, with a verdict row per `[thresholds]` check judged on its own JSON form ([`judge`]).
pub fn build(p: Parts<'_>) -> Report {
    let thresholds = &p.plan.thresholds;
    let mut report = measured(p);
    if !thresholds.is_empty() {
        let json = serde_json::to_value(&report).unwrap_or_default();
        let rows =
            crate::thresholds::verdicts(thresholds, &json, report.safety.aborted_by.as_ref());
        report.invariants.extend(rows);
    }
    judge(&mut report);
    report
}

/// The run's verdict and exit code: an abort guard that fired (or an `abort_on_fail` threshold) fails the run
/// even when every verdict held, since it stopped on a limit (exit 1); a run a signal or the stop file ended
/// early exits [`INTERRUPTED`] whatever its verdicts (the planned run did not happen); else 0 when every verdict
/// held, 1 when one failed or was inconclusive.
pub fn judge(r: &mut Report) {
    let aborted = r.safety.aborted_by.is_some();
    let passed = invariant::all_hold(&r.invariants) && !aborted;
    r.verdict = if aborted {
        "fail".into()
    } else {
        overall(&r.invariants).into()
    };
    let stopped = r.interrupted && r.stopped_by != Some(crate::shutdown::StoppedBy::Abort);
    r.exit_code = match (stopped, passed) {
        (true, _) => INTERRUPTED,
        (false, true) => 0,
        (false, false) => 1,
    };
}

/// The exit code of a run a signal or `--stop-file` stopped early ([`crate::error::Exit::Interrupted`]).
pub const INTERRUPTED: u8 = 3;

/// The report of what was measured, its verdict and exit code not yet judged.
fn measured(p: Parts<'_>) -> Report {
    let plan = p.plan;
    let ended = p.recorder.total_ended();
    let elapsed = p.elapsed.as_secs_f64();
    Report {
        tool: Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        scenario: scenario_info(plan),
        seed: plan.seed,
        plan_hash: plan.plan_hash.clone(),
        shard: plan.shard,
        run_id: p.run_id.into(),
        started_at: super::json::rfc3339_utc(p.started_unix_ms),
        timing: Timing {
            planned_duration_s: plan.duration.as_secs_f64(),
            elapsed_s: (elapsed * 1000.0).round() / 1000.0,
            warmup_s: plan.warmup.as_secs_f64(),
        },
        interrupted: p.interrupted,
        stopped_by: p.stopped_by,
        target: target_info(plan, p.urls),
        throughput: Throughput {
            attempts_started: p.recorder.total_started(),
            attempts_ended: ended,
            attempts_per_s: if elapsed > 0.0 {
                ((ended as f64 / elapsed) * 10.0).round() / 10.0
            } else {
                0.0
            },
            missed: p.recorder.missed,
        },
        transports: super::transports::transport_rows(p.recorder, &plan.groups, |t| {
            crate::load::shard::devices_of(plan, t)
        }),
        results: model::result_rows(p.recorder, &plan.gate),
        sessions: super::sessions::session_rows(p.recorder),
        storms: super::sessions::storm_rows(&plan.mqtt.storms, p.recorder, p.ledger, &plan.pricing),
        errors: super::errors::error_rows(p.recorder),
        refused_valid: p.refused_valid,
        phases: super::transports::phase_rows(p.recorder),
        phases_by_kind: super::transports::phase_kind_rows(p.recorder),
        invocations: p
            .ledger
            .map(|l| model::invocations(p.recorder, l, &plan.gate)),
        cost: p.ledger.map(|l| {
            super::cost::cost(
                p.recorder,
                l,
                &plan.pricing,
                &super::cost::MessageShape {
                    https_payload_bytes: plan.http.payload_bytes,
                    mqtt_payload_bytes: plan.mqtt.payload_bytes,
                    mqtt_qos: plan.mqtt.qos,
                },
                p.elapsed.as_millis() as u64,
            )
        }),
        timeseries: p.timeseries,
        aws: p.aws,
        safety: p.safety,
        invariants: p.verdicts,
        merged_from: None,
        verdict: String::new(),
        exit_code: 0,
    }
}

/// The scenario's name, file, resolved form, keys (public fingerprints) and tokens (shortened).
fn scenario_info(plan: &Plan) -> ScenarioInfo {
    let tokens = match plan.tokens {
        // No secret in the pattern: every token is signed at setup and differs in its nonce.
        TokenScheme::ReplayResistant => vec![format!(
            "v1.{}.<issue unix_s>.<nonce>, {} per device",
            plan.token_of(0),
            plan.token_pool
        )],
        // The template as written (placeholders, never a rendered token).
        TokenScheme::Template => vec![format!(
            "{}, {} per device",
            plan.token_template
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            plan.token_pool
        )],
        // What makes the JWTs (algorithm, sub template, claim names), never a token or the key.
        TokenScheme::Jwt => vec![format!(
            "{}, {} per device",
            plan.jwt.as_ref().map(|j| j.describe()).unwrap_or_default(),
            plan.token_pool
        )],
        // Where the rows came from and how many: the rows themselves are the user's credentials.
        TokenScheme::File => vec![plan.token_rows.as_ref().map_or_else(String::new, |r| {
            format!(
                "rows from {}: {} valid for {} devices (at least {} each), {} expired",
                r.path.display(),
                r.valid(),
                r.rows.len(),
                r.fewest(),
                r.rows.iter().filter(|(_, e)| e.is_some()).count()
            )
        })],
        TokenScheme::Static => vec![redact::shorten(&plan.static_token)],
        TokenScheme::PerDevice => {
            let mut t = vec![redact::shorten(&plan.token_of(0))];
            if plan.devices > 1 {
                t.push(redact::shorten(&plan.token_of(plan.devices - 1)));
            }
            t
        }
    };
    ScenarioInfo {
        name: plan.name.clone(),
        file: plan.source.display().to_string(),
        resolved: redact::scenario_json(&plan.scenario),
        keys: plan
            .keys
            .iter()
            .map(|k| KeyInfo {
                name: k.name.clone(),
                bits: k.public.bits(),
                fingerprint: k.public.fingerprint(),
                source: match &k.source {
                    KeySource::Generated => "generated".into(),
                    KeySource::File(path) => path.display().to_string(),
                    KeySource::Command(program) => format!("command:{program}"),
                    KeySource::Kms(key_id) => format!("kms:{key_id}"),
                },
            })
            .collect(),
        tokens,
    }
}

/// Where attempts went (`urls`: HTTPS first when in use) and the gate settings the oracle judged by.
fn target_info(plan: &Plan, urls: Vec<String>) -> TargetInfo {
    TargetInfo {
        kind: match plan.target {
            Target::Embedded { .. } => "embedded".into(),
            Target::External { .. } => "external".into(),
        },
        url: urls
            .iter()
            .find(|u| u.starts_with("https://"))
            .cloned()
            .unwrap_or_default(),
        urls,
        endpoint_name: plan.target.endpoint_name().into(),
        gate: plan.gate,
        gate_file: plan.gate_file.as_ref().map(|p| p.display().to_string()),
        source_addrs: (!plan.source_addrs.is_empty()).then_some(plan.source_addrs.len()),
    }
}
