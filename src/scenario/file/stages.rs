//! `[[run.stages]]`: the run as a list of linear ramps, like k6 stages. Each stage goes from the previous
//! stage's targets (0 before the first) to its own over `duration_s`; a target a stage leaves unset keeps the
//! previous stage's value, and a target no stage sets is not ramped (it stays `run.rate_per_s`,
//! `mqtt.connects_per_s`, every MQTT device). Checked and turned into ramps by [`crate::scenario::stages`].

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StageSection {
    /// How long the stage lasts, s (> 0).
    pub duration_s: f64,
    /// HTTPS attempts/s at the stage's end (open model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_rate_per_s: Option<f64>,
    /// MQTT CONNECTs/s at the stage's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_connects_per_s: Option<f64>,
    /// MQTT devices active at the stage's end (device i joins once the ramp reaches i + 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_devices: Option<u32>,
}
