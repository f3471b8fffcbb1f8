//! The typed ledger entry: one authorizer invocation and what came of it, as the emulator records it and every
//! witness reads it. Its JSON (`/ledger`, the admin pager) is an external format: the enums here serialize to
//! the same strings the ledger always carried, and older entries (without `backend`, `billed_ms`, ...) parse.
//! The ring that holds entries is the emulator's (`emulator::ledger`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Route;
use super::deny_reason::DenyReason;
use super::json_text::JsonText;

/// Entries a ledger keeps when nothing else is configured (the emulator's ring, a scenario's
/// `target.ledger_capacity`).
pub const DEFAULT_LEDGER_CAPACITY: usize = 100_000;

/// The memory size a function has when none is configured, MB (the Lambda default).
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// Lambda's billing rule: the duration rounded up to whole milliseconds, at least 1 ms.
pub const fn lambda_billed_ms(duration_us: u64) -> u64 {
    let ms = duration_us.div_ceil(1000);
    if ms == 0 { 1 } else { ms }
}

/// What caused an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An HTTPS publish.
    Publish,
    /// An MQTT (or MQTT over WebSocket) CONNECT.
    Connect,
    /// A live connection's policy refresh (`refreshAfterInSeconds`).
    Refresh,
}

impl Trigger {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Connect => "connect",
            Self::Refresh => "refresh",
        }
    }
}

/// The request's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Deny,
}

impl Verdict {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

/// Which function backend served an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// The emulator's own in-process function (also what entries without a `backend` were).
    #[default]
    InProcess,
    /// Real runtime processes on the emulator's Lambda Runtime API.
    RuntimeApi,
    /// A Lambda Invoke API endpoint.
    InvokeApi,
}

impl BackendKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InProcess => "in_process",
            Self::RuntimeApi => "runtime_api",
            Self::InvokeApi => "invoke_api",
        }
    }
}

macro_rules! compares_with_str {
    ($($t:ty),*) => {$(
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
compares_with_str!(Trigger, Verdict, BackendKind);

/// One authorizer invocation and what came of it. Field order is the JSON's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// 1, 2, 3, ... in invocation order.
    pub seq: u64,
    /// Wall-clock time of the invocation, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    pub authorizer: String,
    /// The attempt this invocation served: the `x-tokenstorm-attempt` header (HTTPS, WebSocket upgrade), else for
    /// MQTT the `ts-<id>` free text of the CONNECT username, else the client id (see `wire::mqtt`).
    pub attempt_id: Option<String>,
    /// The route's label: `https`, `http`, `mqtt_tls`, `mqtt` or `wss` ([`Route::label`]).
    #[serde(with = "route_label")]
    pub transport: Route,
    pub trigger: Trigger,
    /// `signatureVerified` as given to the function (false only with `signingDisabled`).
    pub signature_verified: bool,
    /// The event the function received (held as compact text: [`JsonText`]).
    pub event: JsonText,
    /// The function's raw response; `None` when it failed or timed out.
    pub response: Option<JsonText>,
    pub verdict: Verdict,
    /// Why it was denied.
    pub deny_reason: Option<DenyReason>,
    /// How long the invocation took, microseconds.
    pub duration_us: u64,
    #[serde(default)]
    pub backend: BackendKind,
    /// Billed duration, whole milliseconds (the measured duration rounded up, at least 1; for the in-process
    /// function the configured `billed_duration_ms`, else its injected latency rounded up, at least 1). 0 when
    /// throttled (the function never ran).
    #[serde(default)]
    pub billed_ms: u64,
    /// The function's configured memory size, MB (default 128).
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u32,
    /// The first invocation served by a fresh runtime process (its init time is part of the duration).
    #[serde(default)]
    pub cold_start: bool,
    /// Refused because every runtime process was busy (concurrency limit): the function never ran.
    #[serde(default)]
    pub throttled: bool,
}

fn default_memory_mb() -> u32 {
    DEFAULT_MEMORY_MB
}

impl LedgerEntry {
    /// The deny reason as the ledger writes it (`None`: allowed).
    pub fn deny_text(&self) -> Option<String> {
        self.deny_reason.as_ref().map(ToString::to_string)
    }

    /// (billed ms, memory MB), or `None` when the invocation is not billed (throttled: it never ran). See
    /// [`billing`].
    pub fn billing(&self) -> Option<(u64, u64)> {
        billing(
            self.throttled,
            Some(self.billed_ms),
            self.duration_us,
            Some(u64::from(self.memory_mb)),
        )
    }
}

/// The one billing rule for a recorded invocation: nothing when throttled; else the billed duration the backend
/// reported, or when it reported 0 or none, the measured duration under [`lambda_billed_ms`]; memory as
/// configured, else [`DEFAULT_MEMORY_MB`].
pub fn billing(
    throttled: bool,
    billed_ms: Option<u64>,
    duration_us: u64,
    memory_mb: Option<u64>,
) -> Option<(u64, u64)> {
    if throttled {
        return None;
    }
    let ms = match billed_ms {
        Some(ms) if ms > 0 => ms,
        _ => lambda_billed_ms(duration_us),
    };
    Some((ms, memory_mb.unwrap_or(u64::from(DEFAULT_MEMORY_MB))))
}

/// The ledger's `transport`: a route by its label.
mod route_label {
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    use super::Route;

    pub fn serialize<S: Serializer>(route: &Route, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(route.label())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Route, D::Error> {
        let label = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Route::from_label(&label)
            .ok_or_else(|| D::Error::custom(format!("unknown transport `{label}`")))
    }
}

#[cfg(test)]
mod tests;
