//! The in-process authorizer function that stands in for the Lambda: allow, deny, or a table of token →
//! response, after an injected latency. It answers raw JSON, exactly what a Lambda would return; judging the
//! answer is [`super::response`]'s job.

use std::time::Duration;

use serde_json::{Value, json};

use super::config::{FunctionBehaviour, FunctionSpec};

/// AWS stops waiting for an authorizer after 5 s and denies (spec §4, §7).
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(5);

/// The function's answer for a token. Pure.
pub fn respond(behaviour: &FunctionBehaviour, token: Option<&str>) -> Value {
    match behaviour {
        FunctionBehaviour::Allow {
            principal_id,
            policy_documents,
            disconnect_after_s,
            refresh_after_s,
        } => json!({
            "isAuthenticated": true,
            "principalId": principal_id,
            "disconnectAfterInSeconds": disconnect_after_s,
            "refreshAfterInSeconds": refresh_after_s,
            "policyDocuments": policy_documents,
        }),
        FunctionBehaviour::Deny => json!({ "isAuthenticated": false }),
        FunctionBehaviour::Table { entries, fallback } => entries
            .iter()
            .find(|(t, _)| Some(t.as_str()) == token)
            .map(|(_, response)| response.clone())
            .unwrap_or_else(|| respond(fallback, token)),
    }
}

/// Why an invocation produced no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran longer than [`AUTHORIZER_TIMEOUT`].
    Timeout,
}

impl InvokeError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
        }
    }
}

/// Runs the function on an event: waits the injected latency (through `tokio::time`, so tests can pause time),
/// then answers. Gives up after [`AUTHORIZER_TIMEOUT`].
pub async fn invoke(spec: &FunctionSpec, event: &Value) -> Result<Value, InvokeError> {
    let token = event.get("token").and_then(Value::as_str);
    let run = async {
        if !spec.latency.is_zero() {
            tokio::time::sleep(spec.latency).await;
        }
        respond(&spec.behaviour, token)
    };
    tokio::time::timeout(AUTHORIZER_TIMEOUT, run)
        .await
        .map_err(|_| InvokeError::Timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let slow = FunctionSpec {
            behaviour: FunctionBehaviour::Deny,
            latency: Duration::from_millis(4999),
        };
        let start = tokio::time::Instant::now();
        assert_eq!(
            invoke(&slow, &event).await,
            Ok(json!({"isAuthenticated": false}))
        );
        assert_eq!(start.elapsed(), Duration::from_millis(4999));
        let too_slow = FunctionSpec {
            behaviour: FunctionBehaviour::Deny,
            latency: Duration::from_secs(6),
        };
        assert_eq!(invoke(&too_slow, &event).await, Err(InvokeError::Timeout));
    }
}
