//! `[abort]`: the guards that stop a run while it runs, on any target ([`crate::safety::abort`] checks and
//! judges them). Every field is optional: unset, only `on_forged_invocation` is on, and only where a witness
//! sees invocations live (the embedded emulator, an external emulator's `target.admin_url`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbortSection {
    /// Stop at the first invocation caused by a forged attempt the gate must refuse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_forged_invocation: Option<bool>,
    /// Stop when more than this share of ended attempts was throttled (HTTPS 429, CONNACK 0x97/0x9F).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_throttled_share: Option<f64>,
    /// Stop when more than this share of ended attempts ended in a transport error or a timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_error_share: Option<f64>,
    /// Stop when the cost so far, or projected to the planned end, exceeds this (USD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// Attempts that must have ended before the shares and the cost projection are judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_attempts: Option<u64>,
}
