//! What a plan would send, before any traffic: the rates, connections, attempts, forged share, and the
//! invocations and cost predicted with the `[pricing]` cost model ([`crate::safety::caps::check`] holds them to
//! the caps). With ramps (`[[run.stages]]`, a remote run's implicit ramp) the rates are the peaks and the attempts
//! the ramps' integrals.

use crate::contract::{Class, Transport};
use crate::load::ramp::Ramp;
use crate::scenario::pricing::PICO;
use crate::scenario::{Model, Plan};

/// Billed duration assumed per invocation when the plan knows none (a real function's is measured only after).
pub const ASSUMED_BILLED_MS: u64 = 100;

/// What the plan would send; `None`: unbounded (the closed model paces by answers, not by a rate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Planned {
    pub https_rate_per_s: Option<f64>,
    pub mqtt_connects_per_s: f64,
    pub connections: u64,
    pub attempts: Option<u64>,
    pub duration_s: f64,
    pub forged_share: f64,
    pub invocations: Option<u64>,
    pub cost_usd: Option<f64>,
}

impl Planned {
    pub fn rate_per_s(&self) -> Option<f64> {
        self.https_rate_per_s.map(|h| h + self.mqtt_connects_per_s)
    }

    /// The plan's rates, counts and predicted cost.
    pub fn of(plan: &Plan) -> Self {
        let https_devices = plan.groups.count(Transport::Https);
        let mqtt_devices = plan.groups.mqtt_devices();
        let duration_s = (plan.duration + plan.warmup).as_secs_f64();
        let (https_rate_per_s, https_attempts) = match (https_devices, plan.model) {
            (0, _) => (Some(0.0), Some(0)),
            (_, Model::Open { rate_per_s }) => {
                let (peak, by_time) = over(plan.ramps.https.as_deref(), rate_per_s, duration_s);
                (
                    Some(peak),
                    Some(plan.max_attempts.map_or(by_time, |m| m.min(by_time))),
                )
            }
            (_, Model::Closed { .. }) => (None, plan.max_attempts),
        };
        let (mqtt_connects_per_s, mqtt_connects) = if mqtt_devices > 0 {
            over(
                plan.ramps.connects.as_deref(),
                plan.mqtt.connects_per_s,
                duration_s,
            )
        } else {
            (0.0, 0)
        };
        // A `target_devices` ramp: at most its peak connected at once, and its integral in device-seconds.
        let (mqtt_active, mqtt_device_s) = match plan.ramps.devices.as_deref() {
            Some(r) => (
                (r.peak().floor() as u64).min(u64::from(mqtt_devices)),
                r.cumulative(duration_s)
                    .min(f64::from(mqtt_devices) * duration_s),
            ),
            None => (
                u64::from(mqtt_devices),
                f64::from(mqtt_devices) * duration_s,
            ),
        };
        let attempts = https_attempts.map(|h| h + mqtt_connects);
        let forged_share: f64 = Class::ALL
            .iter()
            .filter(|c| c.kind() == "forged")
            .map(|&c| plan.mix.share(c))
            .sum();
        let pass = 1.0 - forged_share;
        let invocations = attempts.map(|a| (a as f64 * pass).round() as u64);
        let per_message = crate::contract::limits::message_units;
        let mqtt_messages = plan.mqtt.publish_interval.map_or(0, |i| {
            let i = i.as_secs_f64().max(1e-3);
            let publishes = if plan.ramps.devices.is_some() {
                (mqtt_device_s / i).ceil() as u64
            } else {
                u64::from(mqtt_devices) * (duration_s / i).floor() as u64
            };
            publishes
                * per_message(plan.mqtt.payload_bytes)
                * if plan.mqtt.subscribe { 2 } else { 1 }
        });
        let cost_usd = https_attempts.zip(invocations).map(|(h, inv)| {
            let https_messages =
                (h as f64 * pass).round() as u64 * per_message(plan.http.payload_bytes);
            predict_cost(plan, inv, https_messages + mqtt_messages)
        });
        Self {
            https_rate_per_s,
            mqtt_connects_per_s,
            connections: u64::from(https_devices) + mqtt_active,
            attempts,
            duration_s,
            forged_share,
            invocations,
            cost_usd,
        }
    }
}

/// The cost model's price of one invocation and of one IoT message, USD (for the live cost guard: the same
/// model as the prediction, linear in both).
pub fn unit_costs(plan: &Plan) -> (f64, f64) {
    const N: u64 = 1_000_000;
    (
        predict_cost(plan, N, 0) / N as f64,
        predict_cost(plan, 0, N) / N as f64,
    )
}

/// The peak rate and the arrivals over `duration_s`: the ramp's, or a constant `rate`'s.
fn over(ramp: Option<&Ramp>, rate: f64, duration_s: f64) -> (f64, u64) {
    match ramp {
        Some(r) => (r.peak(), r.cumulative(duration_s).ceil() as u64),
        None => (rate, (rate * duration_s).ceil() as u64),
    }
}

/// Lambda requests and compute for `invocations`, plus IoT messaging for `messages`, in USD, with the cost
/// model's prices (`[pricing]`); compute at the function's memory and its known billed duration, else
/// [`ASSUMED_BILLED_MS`].
fn predict_cost(plan: &Plan, invocations: u64, messages: u64) -> f64 {
    let f = &plan.authorizer.function;
    let billed_ms = f
        .billed_duration_ms
        .unwrap_or(f.latency.as_millis() as u64)
        .max(ASSUMED_BILLED_MS);
    let p = &plan.pricing;
    let inv = u128::from(invocations);
    let pusd = inv * p.requests_per_million_pusd / 1_000_000
        + inv * u128::from(f.memory_mb) * u128::from(billed_ms) * p.gb_second_pusd / (1024 * 1000)
        + u128::from(messages) * p.messages_per_million_pusd / 1_000_000;
    pusd as f64 / PICO as f64
}
