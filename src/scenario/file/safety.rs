//! `[safety]`: who authorized a run against a remote target, and the caps its plan must stay within. Every cap
//! is optional: unset, a remote target gets the conservative default ([`crate::safety::caps`]) and a loopback
//! target is uncapped.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetySection {
    /// Who allowed a remote run, and the approval or ticket; required (non-empty) for remote targets.
    pub authorized: String,
    /// HTTPS attempts/s + MQTT connects/s the plan may send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rate_per_s: Option<f64>,
    /// Connections the plan may hold at once (one per device).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    /// Attempts (HTTPS publishes + MQTT connects) the plan may send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    /// Seconds the load may last (warm-up included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_duration_s: Option<f64>,
    /// Share of attempts with a forged credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_forged_share: Option<f64>,
    /// Forged attempts per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_forged_per_s: Option<f64>,
    /// Predicted AWS cost of the run, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<f64>,
    /// Seconds between two CONNECTs of one client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_gap_s: Option<f64>,
    /// Seconds the run must take to ramp each rate up from 0 (remote default 60, loopback 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp_s: Option<f64>,
    /// Back off after a throttled answer (default: on for remote targets, off on loopback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<bool>,
    /// The backoff's base, s (the first window is drawn from [0, base)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_base_s: Option<f64>,
    /// The backoff's cap, s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_max_s: Option<f64>,
}
