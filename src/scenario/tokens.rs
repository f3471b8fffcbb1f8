//! Replay-resistant token settings (`devices.token = "replay_resistant"`): validation, and the pool size per
//! device sized from the plan. The tokens themselves are made by [`crate::attempt::pool`].

use super::error::ScenarioError;
use super::file::{Scenario, TokenScheme};
use super::plan::Model;
use crate::attempt::{Class, Mix};

/// Checks `devices.token_max_age_s` and `devices.token_pool` of a replay-resistant scenario.
pub(super) fn validate(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let r = &s.run;
    if s.devices.token == TokenScheme::ReplayResistant {
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

/// Most replay-resistant tokens signed when the pool is sized from the plan (about 10 s of signing per core).
pub const MAX_AUTO_POOL_TOKENS: u64 = 50_000;

/// Tokens per device: `devices.token_pool`, or the expected valid attempts per device + 25% + 2, where the
/// expected attempts are `run.max_attempts`, else rate × duration (open) or concurrency × duration × 1000 (closed:
/// at most one attempt per ms per slot), bounded by [`MAX_AUTO_POOL_TOKENS`] over all devices.
pub(super) fn pool_size(s: &Scenario, model: &Model, mix: &Mix, devices: u32) -> u32 {
    if s.devices.token != TokenScheme::ReplayResistant {
        return 0;
    }
    if s.devices.token_pool > 0 {
        return s.devices.token_pool;
    }
    let expected = if s.run.max_attempts > 0 {
        s.run.max_attempts as f64
    } else {
        match *model {
            Model::Open { rate_per_s } => rate_per_s * s.run.duration_s,
            Model::Closed { concurrency } => f64::from(concurrency) * s.run.duration_s * 1000.0,
        }
    };
    let per_device =
        (expected * mix.share(Class::Valid) / f64::from(devices.max(1)) * 1.25).ceil() + 2.0;
    let cap = (MAX_AUTO_POOL_TOKENS / u64::from(devices.max(1))).max(1) as f64;
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

    #[test]
    fn the_pool_is_sized_from_the_plan_and_bounded() {
        let mut s = Scenario::default();
        let open = Model::Open { rate_per_s: 200.0 };
        assert_eq!(
            pool_size(&s, &open, &mix(1.0, 1.0), 10),
            0,
            "static: no pool"
        );
        s.devices.token = TokenScheme::ReplayResistant;
        // 200/s × 10 s × 50% valid / 10 devices = 100, + 25% + 2.
        assert_eq!(pool_size(&s, &open, &mix(1.0, 1.0), 10), 127);
        s.run.max_attempts = 40;
        assert_eq!(pool_size(&s, &open, &mix(1.0, 1.0), 10), 5);
        s.devices.token_pool = 9;
        assert_eq!(pool_size(&s, &open, &mix(1.0, 1.0), 10), 9);
        s.devices.token_pool = 0;
        s.run.max_attempts = 0;
        let closed = Model::Closed { concurrency: 16 };
        assert_eq!(
            pool_size(&s, &closed, &mix(1.0, 0.0), 1000),
            (MAX_AUTO_POOL_TOKENS / 1000) as u32,
            "capped"
        );
    }
}
