//! The in-process authorizer function that stands in for the Lambda: allow, deny, a table of token →
//! response, or the replay-resistant checks ([`super::replay_resistant`]), after an injected latency. It answers raw JSON, exactly what a Lambda would return; judging the
//! answer is [`super::response`]'s job.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::contract::DenyReason;

use serde_json::{Map, Value, json};

use super::replay_resistant::{self, Nonces};
use crate::contract::authorizer::{FunctionBehaviour, FunctionSpec};

use crate::contract::limits::AUTHORIZER_TIMEOUT;

/// The function's answer for a token, without state (a replay-resistant function sees an unsigned event). Pure.
pub fn respond(behaviour: &FunctionBehaviour, token: Option<&str>) -> Value {
    respond_to(
        behaviour,
        &json!({ "token": token }),
        &mut Nonces::default(),
        0,
    )
    .0
}

/// The function's answer to an event at `now` (Unix seconds), and the replay-resistant function's rule when it
/// answered. Pure but for `nonces` (the replay-resistant function's memory).
pub fn respond_to(
    behaviour: &FunctionBehaviour,
    event: &Value,
    nonces: &mut Nonces,
    now: u64,
) -> (Value, Option<replay_resistant::Rule>) {
    let token = event.get("token").and_then(Value::as_str);
    let response = match behaviour {
        FunctionBehaviour::Allow {
            principal_id,
            policy_documents,
            disconnect_after_s,
            refresh_after_s,
        } => {
            // Built field by field: `json!` would copy the documents through serde's `to_value`.
            let mut response = Map::new();
            response.insert("isAuthenticated".into(), Value::Bool(true));
            response.insert("principalId".into(), Value::String(principal_id.clone()));
            response.insert(
                "disconnectAfterInSeconds".into(),
                (*disconnect_after_s).into(),
            );
            response.insert("refreshAfterInSeconds".into(), (*refresh_after_s).into());
            response.insert(
                "policyDocuments".into(),
                Value::Array(policy_documents.clone()),
            );
            Value::Object(response)
        }
        FunctionBehaviour::Deny => json!({ "isAuthenticated": false }),
        FunctionBehaviour::Table { entries, fallback } => {
            match entries.iter().find(|(t, _)| Some(t.as_str()) == token) {
                Some((_, response)) => response.clone(),
                None => return respond_to(fallback, event, nonces, now),
            }
        }
        FunctionBehaviour::ReplayResistant(rules) => {
            let (response, rule) = replay_resistant::respond(rules, nonces, event, now);
            return (response, Some(rule));
        }
    };
    (response, None)
}

/// Why an invocation produced no usable response. Every one denies the request (fail closed, spec §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran longer than [`AUTHORIZER_TIMEOUT`].
    Timeout,
    /// Every runtime process was busy (the concurrency limit; AWS: 429 from Lambda).
    Throttled,
    /// The function raised / returned an error (`/invocation/{id}/error`, `X-Amz-Function-Error`).
    FunctionError { error_type: String },
    /// The runtime failed to start the function (`/runtime/init/error`, or the command cannot run).
    InitError(String),
    /// The runtime process exited during the invocation.
    Crashed(String),
    /// The function's answer is not JSON.
    NotJson,
    /// The Invoke API endpoint could not be reached or answered an unexpected status.
    Unreachable(String),
}

/// Bounded labels for [`InvokeError::label`] (metrics).
pub const INVOKE_ERROR_LABELS: [&str; 7] = [
    "timeout",
    "throttled",
    "function_error",
    "init_error",
    "crashed",
    "invalid_response",
    "invoke_error",
];

impl InvokeError {
    /// A label from the bounded set [`INVOKE_ERROR_LABELS`].
    pub fn label(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Throttled => "throttled",
            Self::FunctionError { .. } => "function_error",
            Self::InitError(_) => "init_error",
            Self::Crashed(_) => "crashed",
            Self::NotJson => "invalid_response",
            Self::Unreachable(_) => "invoke_error",
        }
    }

    /// The ledger's `deny_reason`: the label, and what is known (shortened to 200 characters).
    pub fn deny_reason(&self) -> DenyReason {
        let short = |d: &str| d.chars().take(200).collect::<String>();
        match self {
            Self::Timeout => DenyReason::Timeout,
            Self::Throttled => DenyReason::Throttled,
            Self::FunctionError { error_type } => DenyReason::FunctionError(short(error_type)),
            Self::InitError(m) => DenyReason::InitError(short(m)),
            Self::Crashed(m) => DenyReason::Crashed(short(m)),
            Self::Unreachable(m) => DenyReason::InvokeError(short(m)),
            Self::NotJson => DenyReason::InvalidResponse(short("the response is not JSON")),
        }
    }

    /// [`Self::deny_reason`] as text (logs, `test-invoke`).
    pub fn reason(&self) -> String {
        self.deny_reason().to_string()
    }
}

/// Runs the function on an event: waits the injected latency (through `tokio::time`, so tests can pause time),
/// then answers (with the replay-resistant rule, if that function answered). Gives up after
/// [`AUTHORIZER_TIMEOUT`].
pub async fn invoke(
    spec: &FunctionSpec,
    nonces: &Mutex<Nonces>,
    event: &Value,
) -> (Result<Value, InvokeError>, Option<replay_resistant::Rule>) {
    let run = async {
        if !spec.latency.is_zero() {
            tokio::time::sleep(spec.latency).await;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut nonces = nonces.lock().unwrap_or_else(|p| p.into_inner());
        respond_to(&spec.behaviour, event, &mut nonces, now)
    };
    match tokio::time::timeout(AUTHORIZER_TIMEOUT, run).await {
        Ok((response, rule)) => (Ok(response), rule),
        Err(_) => (Err(InvokeError::Timeout), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn table_then_fallback() {
        let b = FunctionBehaviour::Table {
            entries: vec![(
                "a".into(),
                json!({"isAuthenticated": true, "principalId": "x"}),
            )],
            fallback: Box::new(FunctionBehaviour::Deny),
        };
        assert_eq!(
            respond(&b, Some("a")),
            json!({"isAuthenticated": true, "principalId": "x"})
        );
        assert_eq!(respond(&b, Some("b")), json!({"isAuthenticated": false}));
        assert_eq!(respond(&b, None), json!({"isAuthenticated": false}));
    }

    #[test]
    fn allow_answers_with_its_principal_periods_and_documents() {
        let b = FunctionBehaviour::Allow {
            principal_id: "p1".into(),
            policy_documents: vec![json!({"Statement": []}), json!("{\"Statement\":[]}")],
            disconnect_after_s: 86400,
            refresh_after_s: 300,
        };
        assert_eq!(
            respond(&b, Some("t")),
            json!({"isAuthenticated": true, "principalId": "p1", "disconnectAfterInSeconds": 86400,
                "refreshAfterInSeconds": 300, "policyDocuments": [{"Statement": []}, "{\"Statement\":[]}"]})
        );
    }

    #[test]
    fn default_allow_is_a_valid_response() {
        let r = respond(&FunctionBehaviour::default_allow(), Some("t"));
        assert!(matches!(
            super::super::response::judge(&r),
            super::super::response::Judgement::Authenticated(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn latency_is_waited_and_five_seconds_time_out() {
        let event = json!({"token": "t"});
        let nonces = Mutex::default();
        let slow = FunctionSpec::in_process(FunctionBehaviour::Deny, Duration::from_millis(4999));
        let start = tokio::time::Instant::now();
        assert_eq!(
            invoke(&slow, &nonces, &event).await,
            (Ok(json!({"isAuthenticated": false})), None)
        );
        assert_eq!(start.elapsed(), Duration::from_millis(4999));
        let too_slow = FunctionSpec::in_process(FunctionBehaviour::Deny, Duration::from_secs(6));
        assert_eq!(
            invoke(&too_slow, &nonces, &event).await,
            (Err(InvokeError::Timeout), None)
        );
    }
}
