//! The transport-neutral authorization step shared by HTTPS publish, MQTT CONNECT (and its refreshes) and MQTT
//! over WebSocket: invoke the authorizer function on an event, judge its answer (spec §4), evaluate the
//! request's policy action, count the invocation and write the ledger entry. The signature gate runs before
//! this (see [`super::gate`]); nothing reaches this step without passing it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::time::Instant;

use super::Shared;
use super::function::InvokeError;
use super::gate::GatePass;
use super::metrics::Outcome;
use super::policy::Decision;
use super::response::{Authorization, Judgement, judge};
pub(crate) use crate::contract::Trigger;
use crate::contract::{DenyReason, JsonText, LedgerEntry, Route, Verdict as LedgerVerdict};

/// One invocation to make.
pub(crate) struct Call<'a> {
    /// The authorizer's index in `Shared::authorizers`.
    pub index: usize,
    pub pass: &'a GatePass,
    pub event: Value,
    pub attempt_id: Option<String>,
    pub transport: Route,
    pub trigger: Trigger,
}

/// What an invocation's result means for one request.
#[derive(Debug, PartialEq)]
pub(crate) struct Verdict {
    pub outcome: Outcome,
    pub deny_reason: Option<DenyReason>,
    /// The valid, authenticated response (whatever the policy said): cached or kept by the session.
    pub authorization: Option<Authorization>,
}

/// Pure: judges the function's answer (spec §4), then lets `decide` evaluate the request's action.
pub(crate) fn verdict(
    result: &Result<Value, InvokeError>,
    decide: impl FnOnce(&Authorization) -> Decision,
) -> Verdict {
    let denied = |reason: DenyReason| Verdict {
        outcome: Outcome::AuthorizerDenied,
        deny_reason: Some(reason),
        authorization: None,
    };
    match result {
        Err(err) => denied(err.deny_reason()),
        Ok(response) => match judge(response) {
            Judgement::NotAuthenticated => denied(DenyReason::NotAuthenticated(None)),
            Judgement::Invalid(rule) => denied(DenyReason::InvalidResponse(rule.to_string())),
            Judgement::Authenticated(auth) => {
                let decision = decide(&auth);
                Verdict {
                    authorization: Some(auth),
                    ..policy_verdict(decision)
                }
            }
        },
    }
}

/// A policy decision as a verdict (no authorization attached).
pub(crate) fn policy_verdict(decision: Decision) -> Verdict {
    let (outcome, reason) = match decision {
        Decision::Allow => (Outcome::Allowed, None),
        Decision::ExplicitDeny => (Outcome::PolicyDenied, Some(DenyReason::PolicyExplicitDeny)),
        Decision::ImplicitDeny => (Outcome::PolicyDenied, Some(DenyReason::PolicyImplicitDeny)),
    };
    Verdict {
        outcome,
        deny_reason: reason,
        authorization: None,
    }
}

/// Invokes the function, judges its answer with `decide`, counts the invocation and records it in the ledger.
pub(crate) async fn authorize(
    shared: &Shared,
    call: Call<'_>,
    decide: impl FnOnce(&Authorization) -> Decision,
) -> Verdict {
    let spec = &shared.authorizers[call.index];
    shared.metrics.record_invocation(call.index);
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let started = Instant::now();
    let invocation = shared.functions[call.index].invoke(&call.event).await;
    let duration_us = started.elapsed().as_micros() as u64;
    let result = invocation.result;
    let mut verdict = verdict(&result, decide);
    // The in-process replay-resistant function names its rule, as the Python one does in its record.
    if let (Some(rule), Some(DenyReason::NotAuthenticated(named))) =
        (invocation.rule, verdict.deny_reason.as_mut())
    {
        *named = Some(rule.to_string());
    }
    if let Err(err) = &result {
        tracing::warn!(authorizer = %spec.name, reason = %err.reason(), "authorizer invocation failed; denied");
    }
    shared
        .function_metrics
        .record_result(call.index, verdict.deny_reason.as_ref());
    if invocation.cold_start {
        shared.function_metrics.record_cold_start(call.index);
    }
    let allowed = verdict.outcome == Outcome::Allowed;
    let response = result.as_ref().ok();
    let entry = LedgerEntry {
        seq: 0,
        unix_ms,
        authorizer: spec.name.clone(),
        attempt_id: call.attempt_id,
        transport: call.transport,
        trigger: call.trigger,
        signature_verified: call.pass.signature_verified,
        event: (&call.event).into(),
        response: response.map(JsonText::from),
        verdict: if allowed {
            LedgerVerdict::Allow
        } else {
            LedgerVerdict::Deny
        },
        deny_reason: verdict.deny_reason.clone(),
        duration_us,
        backend: spec.function.backend.kind(),
        billed_ms: spec.function.billed_ms(duration_us, invocation.throttled),
        memory_mb: spec.function.memory_mb,
        cold_start: invocation.cold_start,
        throttled: invocation.throttled,
    };
    if let Some(publisher) = &shared.cloudwatch {
        publisher.invocation(
            call.index,
            &entry,
            (&call.event, response),
            &spec.function.backend,
            invocation.ran,
        );
    }
    shared.ledger.record(entry);
    verdict
}
