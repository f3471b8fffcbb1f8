//! The witness line: one JSON object per authorizer invocation that the witness helpers (`witness/python`,
//! `witness/node`) write to the function's log, so that on a real account, where there is no ledger, the run can
//! still join each invocation to the attempt that caused it (issue 10 §2):
//!
//! ```json
//! {"tokenstorm_witness":1,"run":"ab12cd34","attempt":"ab12cd34-valid-3-0","protocols":["tls","http"],
//!  "signature_verified":true,"token_sha256":"0123456789abcdef","authenticated":true,"request_id":"…","unix_ms":1796288400123}
//! ```
//!
//! [`from_event`] is what the Python helper writes for an event (the emulator's in-process function uses it, and
//! a test holds the helper to it); [`parse`] finds the line in a CloudWatch Logs message as the Python helper
//! prints it (the bare line) and as Node's `console.log` appears in Lambda (`<iso time>\t<request id>\tINFO\t{…}`,
//! or wrapped in Lambda's JSON log format). The token itself never appears: only a short hash of it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attempt_id;

/// The `tokenstorm_witness` value of the line this build writes and reads.
pub const VERSION: u32 = 1;

/// The key that starts every witness line; [`parse`] looks for it.
const MARKER: &str = "{\"tokenstorm_witness\":";

/// One invocation as the function saw it. Field order is the line's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessLine {
    /// The line format's version, [`VERSION`].
    pub tokenstorm_witness: u32,
    /// The attempt id's run (its first `-` separated field); null without an attempt id.
    #[serde(default)]
    pub run: Option<String>,
    /// The `x-tokenstorm-attempt` header (HTTPS, WebSocket upgrade), else the MQTT username's `ts-<id>` free
    /// text; null when the invocation carried neither.
    #[serde(default)]
    pub attempt: Option<String>,
    /// The event's `protocols`, e.g. `["tls","http"]`, `["tls","mqtt"]`, `["tls","http","mqtt"]` (WebSocket).
    #[serde(default)]
    pub protocols: Vec<String>,
    /// The event's `signatureVerified` (false only when signing is disabled).
    pub signature_verified: bool,
    /// The first 16 hex characters of the SHA-256 of the event's `token`; null when the event had none.
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// The handler's `isAuthenticated`; null when the handler raised or returned no boolean.
    #[serde(default)]
    pub authenticated: Option<bool>,
    /// The Lambda request id of the invocation.
    #[serde(default)]
    pub request_id: String,
    /// When the invocation started, milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

impl WitnessLine {
    /// The line as the helpers write it: compact JSON, no newline.
    pub fn to_line(&self) -> String {
        // Serializing a struct of strings, numbers and booleans cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Finds the witness line in one CloudWatch Logs message: the bare line (Python's `print`), the line after
/// Lambda's Node prefix (`<iso time>\t<request id>\tINFO\t`), or the `message` of Lambda's JSON log format.
/// `None` for any other message (START/END/REPORT, the function's own output, another version's line).
pub fn parse(message: &str) -> Option<WitnessLine> {
    let message = message.trim();
    line_from(message).or_else(|| {
        // Lambda's JSON log format wraps what the function wrote: {"timestamp":…,"level":"INFO","message":"{…}"}.
        let outer: Value = serde_json::from_str(message).ok()?;
        line_from(outer.get("message")?.as_str()?.trim())
    })
}

/// The witness line that `text` ends with, starting at [`MARKER`], if it is one of this version.
fn line_from(text: &str) -> Option<WitnessLine> {
    let at = text.find(MARKER)?;
    serde_json::from_str::<WitnessLine>(&text[at..])
        .ok()
        .filter(|l| l.tokenstorm_witness == VERSION)
}

/// The line the Python helper writes for `event`, the handler's `response` (`None` when it raised) and the
/// invocation's `request_id` and start time.
pub fn from_event(
    event: &Value,
    response: Option<&Value>,
    request_id: &str,
    unix_ms: u64,
) -> WitnessLine {
    let attempt = attempt_of(event);
    WitnessLine {
        tokenstorm_witness: VERSION,
        run: attempt
            .as_deref()
            .and_then(attempt_id::run_of)
            .map(str::to_string),
        attempt,
        protocols: event
            .get("protocols")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        signature_verified: event.get("signatureVerified").and_then(Value::as_bool) == Some(true),
        token_sha256: event.get("token").and_then(Value::as_str).map(token_sha256),
        authenticated: response
            .and_then(|r| r.get("isAuthenticated"))
            .and_then(Value::as_bool),
        request_id: request_id.to_string(),
        unix_ms,
    }
}

/// The attempt id an event carries: the header (any case, not empty), else the MQTT username's `ts-<id>`.
fn attempt_of(event: &Value) -> Option<String> {
    let data = event.get("protocolData")?;
    let header = data
        .get("http")
        .and_then(|h| h.get("headers"))
        .and_then(Value::as_object)
        .and_then(|headers| {
            // The lower-case name first (AWS and the emulator send lower-case names), then any case.
            headers.get(attempt_id::HEADER).or_else(|| {
                headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(attempt_id::HEADER))
                    .map(|(_, v)| v)
            })
        })
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty());
    header
        .or_else(|| {
            data.get("mqtt")
                .and_then(|m| m.get("username"))
                .and_then(Value::as_str)
                .and_then(attempt_id::from_username)
        })
        .map(str::to_string)
}

/// The first 16 hex characters (8 bytes) of the SHA-256 of `token`: enough to tell tokens apart in a log,
/// useless to replay one.
pub fn token_sha256(token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
