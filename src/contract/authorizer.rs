//! The authorizer and its function as `aws iot describe-authorizer` and a Lambda configuration describe them
//! (spec §9, §10): what a scenario resolves and what the emulator serves, so the two share one description.
//! Pure data: how the emulator invokes a function and judges its answer is the emulator's.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::BackendKind;
use super::ledger::{DEFAULT_MEMORY_MB, lambda_billed_ms};
use crate::token::PublicKey;

/// `status` of an authorizer (describe-authorizer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerStatus {
    Active,
    Inactive,
}

/// One custom authorizer, as `aws iot describe-authorizer` describes it (spec §9).
#[derive(Debug, Clone)]
pub struct AuthorizerSpec {
    pub name: String,
    /// Header / query parameter / MQTT username parameter that carries the token.
    pub token_key_name: String,
    /// `tokenSigningPublicKeys`: (key name, key). A signature valid under any of them passes (rotation).
    pub signing_keys: Vec<(String, PublicKey)>,
    pub status: AuthorizerStatus,
    pub signing_disabled: bool,
    pub enable_caching_for_http: bool,
    /// The in-process function that stands in for the authorizer Lambda.
    pub function: FunctionSpec,
}

/// The authorizer function: in process (`behaviour` after `latency`), or a real Lambda function reached through
/// the Runtime API or the Invoke API (`backend`). Its responses are validated as AWS does (spec §4).
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub behaviour: FunctionBehaviour,
    /// Injected latency before answering (in-process function only).
    pub latency: Duration,
    /// Where the function runs.
    pub backend: Backend,
    /// The function's memory size, MB (cost accounting; passed to real runtimes). Default 128.
    pub memory_mb: u32,
    /// In-process only: the billed duration recorded per invocation (default: the injected latency).
    pub billed_duration_ms: Option<u64>,
    /// The Lambda function's name from the authorizer's `authorizerFunctionArn` (describe-authorizer), when
    /// known; a runtime's or Invoke API's own `function_name` comes first ([`Self::name`]).
    pub arn_function_name: Option<String>,
}

impl FunctionSpec {
    /// The in-process function with default memory and billing.
    pub fn in_process(behaviour: FunctionBehaviour, latency: Duration) -> Self {
        Self {
            behaviour,
            latency,
            backend: Backend::InProcess,
            memory_mb: DEFAULT_MEMORY_MB,
            billed_duration_ms: None,
            arn_function_name: None,
        }
    }

    /// The function's name as Lambda knows it: the runtime's or Invoke API's `function_name`, else the one in
    /// `authorizerFunctionArn`, else `authorizer` (the authorizer's name).
    pub fn name(&self, authorizer: &str) -> String {
        match &self.backend {
            Backend::RuntimeApi(f) => f.function_name.clone(),
            Backend::InvokeApi(f) => Some(f.function_name.clone()),
            Backend::InProcess => None,
        }
        .or_else(|| self.arn_function_name.clone())
        .unwrap_or_else(|| authorizer.to_string())
    }

    /// The billed duration an invocation records: 0 when throttled (the function never ran); in process, the
    /// configured `billed_duration_ms`, else the injected latency under Lambda's rule; for a real function, the
    /// measured `duration_us` under Lambda's rule ([`lambda_billed_ms`]: whole ms, at least 1).
    pub fn billed_ms(&self, duration_us: u64, throttled: bool) -> u64 {
        if throttled {
            return 0;
        }
        match self.backend {
            Backend::InProcess => self
                .billed_duration_ms
                .unwrap_or_else(|| lambda_billed_ms(self.latency.as_micros() as u64)),
            _ => lambda_billed_ms(duration_us),
        }
    }
}

/// Where an authorizer function runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// In the emulator ([`FunctionBehaviour`]).
    InProcess,
    /// Real runtime processes the emulator starts, talking to its Lambda Runtime API (spec §10).
    RuntimeApi(RuntimeFunction),
    /// A Lambda Invoke API endpoint (`sam local start-lambda`, LocalStack, the Runtime Interface Emulator).
    InvokeApi(InvokeFunction),
}

impl Backend {
    /// The ledger's `backend`.
    pub fn kind(&self) -> BackendKind {
        match self {
            Self::InProcess => BackendKind::InProcess,
            Self::RuntimeApi(_) => BackendKind::RuntimeApi,
            Self::InvokeApi(_) => BackendKind::InvokeApi,
        }
    }

    /// The ledger's `backend` name.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// A function run by the emulator's own runtime processes.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeFunction {
    /// The runtime command, e.g. `["python3", "-m", "awslambdaric", "lambda_function.lambda_handler"]`.
    pub command: Vec<String>,
    /// Working directory of the processes (`LAMBDA_TASK_ROOT`).
    pub dir: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Runtime processes = reserved concurrency; invocations beyond it are throttled (denied).
    pub concurrency: usize,
    /// `AWS_LAMBDA_FUNCTION_NAME` (default: the name in `authorizerFunctionArn`, else the authorizer's name).
    pub function_name: Option<String>,
    /// `TOKENSTORM_FUNCTION_RECORD` for the function (default: `<state_dir>/functions/<authorizer>.jsonl`).
    pub record: Option<PathBuf>,
}

/// A function behind a Lambda Invoke API endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeFunction {
    /// `http://host:port` (plain HTTP, as the local emulators serve it).
    pub url: String,
    pub function_name: String,
}

#[derive(Debug, Clone)]
pub enum FunctionBehaviour {
    /// `isAuthenticated: true` with this principal and these policy documents (JSON values: objects or strings).
    Allow {
        principal_id: String,
        policy_documents: Vec<serde_json::Value>,
        disconnect_after_s: i64,
        refresh_after_s: i64,
    },
    /// `isAuthenticated: false`.
    Deny,
    /// Exact token → raw response JSON; tokens not in the table get `fallback`.
    Table {
        entries: Vec<(String, serde_json::Value)>,
        fallback: Box<FunctionBehaviour>,
    },
    /// The replay-resistant function's checks (`v1` tokens, maximum age, nonces remembered per authorizer),
    /// then `isAuthenticated: true` as the token's device with these policies (see
    /// `emulator::replay_resistant`).
    ReplayResistant(ReplayRules),
}

impl FunctionBehaviour {
    /// With no function configured: allow every valid-signature request as `tokenstormDevice` with a policy
    /// allowing connect, publish, subscribe and receive on everything.
    pub fn default_allow() -> Self {
        Self::Allow {
            principal_id: "tokenstormDevice".into(),
            policy_documents: vec![serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
                    "Effect": "Allow",
                    "Resource": "*"
                }]
            })],
            disconnect_after_s: 86400,
            refresh_after_s: 300,
        }
    }

    /// The seed article's function: `myPrincipalDevice123`, publish allowed on `customAuhtTestTopic`.
    pub fn seed_article() -> Self {
        Self::Allow {
            principal_id: "myPrincipalDevice123".into(),
            policy_documents: vec![serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": "iot:Publish",
                    "Effect": "Allow",
                    "Resource": "arn:aws:iot:*:*:topic/customAuhtTestTopic"
                }]
            })],
            disconnect_after_s: 86400,
            refresh_after_s: 300,
        }
    }
}

/// The function's settings (`[authorizer.function]` with `mode = "replay_resistant"`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRules {
    /// `TOKENSTORM_MAX_TOKEN_AGE_S` of the Python function (default 300).
    pub max_token_age_s: u64,
    /// `TOKENSTORM_MAX_CLOCK_SKEW_S` (default 30).
    pub max_clock_skew_s: u64,
    /// `TOKENSTORM_MAX_SESSION_S` (default 86400): how long a connection's refreshes are allowed.
    pub max_session_s: u64,
    /// Most nonces remembered (default [`DEFAULT_NONCE_CAPACITY`]).
    pub nonce_capacity: usize,
    /// Policies of an allowed token (JSON values: objects or strings).
    pub policy_documents: Vec<Value>,
    pub disconnect_after_s: i64,
    pub refresh_after_s: i64,
}

/// Nonces remembered by default: at ~150 bytes each, about 15 MB at most.
pub const DEFAULT_NONCE_CAPACITY: usize = 100_000;

impl Default for ReplayRules {
    /// The Python function's defaults and its allow-all policy.
    fn default() -> Self {
        Self {
            max_token_age_s: 300,
            max_clock_skew_s: 30,
            max_session_s: 86_400,
            nonce_capacity: DEFAULT_NONCE_CAPACITY,
            policy_documents: vec![json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
                    "Effect": "Allow",
                    "Resource": "*"
                }]
            })],
            disconnect_after_s: 86_400,
            refresh_after_s: 300,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::contract::authorizer::{Backend, FunctionBehaviour, FunctionSpec, InvokeFunction};

    #[test]
    fn billed_duration_rounds_up_and_throttles_are_free() {
        let mut f = FunctionSpec::in_process(FunctionBehaviour::Deny, Duration::ZERO);
        assert_eq!(f.billed_ms(10, false), 1, "Lambda bills at least 1 ms");
        f.latency = Duration::from_micros(2_001);
        assert_eq!(f.billed_ms(2_100, false), 3);
        f.billed_duration_ms = Some(7);
        assert_eq!(f.billed_ms(2_100, false), 7);
        assert_eq!(f.billed_ms(2_100, true), 0);
        f.backend = Backend::InvokeApi(InvokeFunction {
            url: "http://127.0.0.1:1".into(),
            function_name: "f".into(),
        });
        assert_eq!(f.billed_ms(1_000, false), 1);
        assert_eq!(f.billed_ms(1_001, false), 2);
        assert_eq!(f.billed_ms(1_001, true), 0);
    }
}
