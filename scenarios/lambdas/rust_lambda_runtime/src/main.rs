//! A reference authorizer on AWS's `lambda_runtime` crate: tokens starting `allow` get principal `rustDevice`
//! and a policy allowing connect/publish/subscribe/receive on `*`; other tokens are denied. One JSON line per
//! invocation goes to the file named by `TOKENSTORM_FUNCTION_RECORD` (a hash prefix of the token, never the
//! token). Runs under the real Lambda Runtime API or tokenstorm's.

use std::io::Write as _;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// FNV-1a, hex: enough to tell tokens apart in a test record without writing them down.
fn token_hash(token: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in token.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

fn record(event: &Value, authenticated: bool) {
    let Some(path) = std::env::var_os("TOKENSTORM_FUNCTION_RECORD") else {
        return;
    };
    let line = json!({
        "token": event.get("token").and_then(Value::as_str).map(token_hash),
        "authenticated": authenticated,
        "reason": "rust",
        "pid": std::process::id(),
        "protocols": event.get("protocols"),
        "memory": std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok(),
    });
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (event, _context) = event.into_parts();
    let token = event.get("token").and_then(Value::as_str).unwrap_or("");
    let allowed = token.starts_with("allow") && event.get("signatureVerified") == Some(&json!(true));
    record(&event, allowed);
    if !allowed {
        return Ok(json!({ "isAuthenticated": false }));
    }
    Ok(json!({
        "isAuthenticated": true,
        "principalId": "rustDevice",
        "disconnectAfterInSeconds": 86400,
        "refreshAfterInSeconds": 300,
        "policyDocuments": [{
            "Version": "2012-10-17",
            "Statement": [{
                "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
                "Effect": "Allow",
                "Resource": "*"
            }]
        }]
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
