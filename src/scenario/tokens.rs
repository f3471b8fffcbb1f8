//! Replay-resistant token settings (`devices.token = "replay_resistant"`): validation, and the pool size per
//! device sized from the plan. The tokens themselves are made by [`crate::attempt::pool`].

use super::error::ScenarioError;
use super::file::{Scenario, TokenScheme};
use super::groups::Groups;
use super::plan::Model;
use crate::attempt::Mix;
use crate::contract::Class;
use crate::contract::Transport;
use crate::contract::authorizer::FunctionBehaviour;
use crate::contract::limits::CONNECT_GAP_PER_CLIENT_ID as PER_CLIENT_GAP;

/// Checks `devices.token_max_age_s` and `devices.token_pool` of a scenario whose pool tokenstorm renders
/// (replay-resistant, template, jwt; `file` brings its own rows).
pub(super) fn validate(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let r = &s.run;
    if s.devices.token.rendered() {
        let age = s.devices.token_max_age_s;
        if age == 0 || age > 86_400 || (r.duration_s + 1.0) >= age as f64 {
            return Err(err(
                "devices.token_max_age_s",
                format!(
                    "must be 1–86400 s and longer than run.duration_s + 1 (got {age}): valid tokens are signed at setup and must not expire during the run"
                ),
            ));
        }
        if s.devices.token_pool > 100_000 {
            return Err(err(
                "devices.token_pool",
                format!(
                    "must be at most 100000 tokens per device (got {})",
                    s.devices.token_pool
                ),
            ));
        }
    }
    Ok(())
}

/// The in-process replay-resistant function and the tokens must agree on the maximum age: `replayed.expired`
/// tokens are issued `devices.token_max_age_s` + 60 s ago, and must be expired for the function.
pub(super) fn same_max_age(
    s: &Scenario,
    function: &FunctionBehaviour,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    if let (TokenScheme::ReplayResistant, FunctionBehaviour::ReplayResistant(rules)) =
        (s.devices.token, function)
        && rules.max_token_age_s != s.devices.token_max_age_s
    {
        return Err(err(
            "authorizer.function.max_token_age_s",
            format!(
                "is {} s but devices.token_max_age_s is {} s: set both to the same age",
                rules.max_token_age_s, s.devices.token_max_age_s
            ),
        ));
    }
    Ok(())
}

/// Most replay-resistant tokens signed when the pool is sized from the plan (about 10 s of signing per core).
pub const MAX_AUTO_POOL_TOKENS: u64 = 50_000;

/// Tokens per device: `devices.token_pool`, or the expected valid attempts μ of the busiest device, + 25% + 3√μ + 2,
/// bounded by [`MAX_AUTO_POOL_TOKENS`] over all devices. An HTTPS device's attempts are the HTTPS attempts
/// (`run.max_attempts`, else rate × duration (open) or concurrency × duration × 1000 (closed: at most one attempt
/// per ms per slot)) spread over the HTTPS devices; an MQTT device's are its CONNECTs: at most one per second per
/// client id, and its share of `mqtt.connects_per_s`.
pub(super) fn pool_size(s: &Scenario, model: &Model, mix: &Mix, groups: &Groups) -> u32 {
    if !s.devices.token.pooled() {
        return 0;
    }
    if s.devices.token_pool > 0 {
        return s.devices.token_pool;
    }
    let devices = (groups.count(Transport::Https) + groups.mqtt_devices()).max(1);
    let https = f64::from(groups.count(Transport::Https));
    let per_https_device = if https > 0.0 {
        let expected = if s.run.max_attempts > 0 {
            s.run.max_attempts as f64
        } else {
            match *model {
                Model::Open { rate_per_s } => rate_per_s * s.run.duration_s,
                Model::Closed { concurrency } => f64::from(concurrency) * s.run.duration_s * 1000.0,
            }
        };
        expected / https
    } else {
        0.0
    };
    let mqtt = f64::from(groups.mqtt_devices());
    let per_mqtt_device = if mqtt > 0.0 {
        let paced = s.mqtt.connects_per_s * s.run.duration_s / mqtt;
        let mut n = paced.min(s.run.duration_s / PER_CLIENT_GAP.as_secs_f64()) + 1.0;
        if s.run.max_attempts > 0 {
            n = n.min(s.run.max_attempts as f64);
        }
        n
    } else {
        0.0
    };
    let busiest = per_https_device.max(per_mqtt_device);
    let valid = busiest * mix.share(Class::Valid);
    // Valid attempts per device vary around their mean (about binomially): three standard deviations more.
    let per_device = (valid * 1.25 + 3.0 * valid.sqrt()).ceil() + 2.0;
    let cap = (MAX_AUTO_POOL_TOKENS / u64::from(devices)).max(1) as f64;
    per_device.min(cap).max(1.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(valid: f64, replayed: f64) -> Mix {
        let mut w = [0.0; Class::COUNT];
        w[Class::Valid.index()] = valid;
        w[Class::Replayed.index()] = replayed;
        Mix::new(w).unwrap()
    }

    fn https(devices: u32) -> Groups {
        Groups::split(devices, [1.0, 0.0, 0.0, 0.0])
    }

    #[test]
    fn the_pool_is_sized_from_the_plan_and_bounded() {
        let mut s = Scenario::default();
        let open = Model::Open { rate_per_s: 200.0 };
        assert_eq!(
            pool_size(&s, &open, &mix(1.0, 1.0), &https(10)),
            0,
            "static: no pool"
        );
        s.devices.token = TokenScheme::ReplayResistant;
        // 200/s × 10 s × 50% valid / 10 devices = 100, + 25% + 3·10 + 2.
        assert_eq!(pool_size(&s, &open, &mix(1.0, 1.0), &https(10)), 157);
        s.run.max_attempts = 40;
        // 40 × 50% / 10 = 2: 2.5 + 4.24 → 7, + 2.
        assert_eq!(pool_size(&s, &open, &mix(1.0, 1.0), &https(10)), 9);
        s.devices.token_pool = 9;
        assert_eq!(pool_size(&s, &open, &mix(1.0, 1.0), &https(10)), 9);
        s.devices.token_pool = 0;
        s.run.max_attempts = 0;
        let closed = Model::Closed { concurrency: 16 };
        assert_eq!(
            pool_size(&s, &closed, &mix(1.0, 0.0), &https(1000)),
            (MAX_AUTO_POOL_TOKENS / 1000) as u32,
            "capped"
        );
    }

    #[test]
    fn https_and_mqtt_devices_are_sized_for_their_own_transport() {
        let mut s = Scenario::default();
        s.devices.token = TokenScheme::ReplayResistant;
        s.run.duration_s = 10.0;
        s.mqtt.connects_per_s = 400.0;
        let open = Model::Open { rate_per_s: 300.0 };
        // 100 devices per transport: the HTTPS ones get 300/s × 10 s / 100 = 30 attempts each, not 30/4.
        let four = Groups::split(400, [1.0; 4]);
        // μ = 30 × 20% valid = 6: 7.5 + 3·2.45 → 15, + 2.
        assert_eq!(pool_size(&s, &open, &mix(1.0, 4.0), &four), 17);
        // MQTT only: at most one CONNECT per second per client id (+1): μ = 11 × 20% = 2.2 → 2.75 + 4.45 → 8, + 2.
        let mqtt = Groups::split(300, [0.0, 1.0, 1.0, 1.0]);
        assert_eq!(pool_size(&s, &open, &mix(1.0, 4.0), &mqtt), 10);
        // ... or its share of connects_per_s when lower: 40/s × 10 s / 300 + 1 = 2.33, μ = 0.47 → 0.58 + 2.05 → 3, + 2.
        s.mqtt.connects_per_s = 40.0;
        assert_eq!(pool_size(&s, &open, &mix(1.0, 4.0), &mqtt), 5);
    }

    #[test]
    fn the_function_and_the_tokens_agree_on_the_maximum_age() {
        use crate::contract::authorizer::ReplayRules;
        let err = |field: &str, problem: String| ScenarioError::new("s.toml", field, problem);
        let mut s = Scenario::default();
        let f = |age| {
            FunctionBehaviour::ReplayResistant(ReplayRules {
                max_token_age_s: age,
                ..ReplayRules::default()
            })
        };
        s.devices.token_max_age_s = 300;
        assert!(
            same_max_age(&s, &f(120), &err).is_ok(),
            "other token schemes"
        );
        s.devices.token = TokenScheme::ReplayResistant;
        assert!(same_max_age(&s, &f(300), &err).is_ok());
        assert!(same_max_age(&s, &FunctionBehaviour::Deny, &err).is_ok());
        let e = same_max_age(&s, &f(120), &err).unwrap_err();
        assert_eq!(e.field, "authorizer.function.max_token_age_s");
        assert!(
            e.problem.contains("120") && e.problem.contains("300"),
            "{e}"
        );
    }
}
