//! Resolving `[mix]`: checks every weight and turns the class and variant weights into one [`Mix`] over
//! [`Class`], each variant getting its share of its class.

use super::error::ScenarioError;
use super::file::{Scenario, TokenScheme};
use crate::attempt::{Mix, MixError};
use crate::contract::Class;

/// Checks `[mix]` and spreads each class weight over its variants.
pub(super) fn resolve_mix(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Mix, ScenarioError> {
    let m = &s.mix;
    let check = |field: &str, w: f64| {
        if w.is_finite() && w >= 0.0 {
            Ok(w)
        } else {
            Err(err(
                field,
                format!("weight must be ≥ 0 and finite (got {w})"),
            ))
        }
    };
    let valid = check("mix.valid", m.valid)?;
    let forged = check("mix.forged", m.forged)?;
    let replayed = check("mix.replayed", m.replayed)?;
    let variants = m.forged_variants.weights();
    let mut variant_sum = 0.0;
    for (f, w) in variants {
        variant_sum += check(&format!("mix.forged_variants.{}", f.as_str()), w)?;
    }
    if forged > 0.0 && variant_sum <= 0.0 {
        return Err(err(
            "mix.forged_variants",
            "mix.forged > 0 needs at least one variant weight > 0".into(),
        ));
    }
    let rv = &m.replayed_variants;
    let replays = [
        (Class::Replayed, "other_device", rv.other_device),
        (Class::ReusedNonce, "reused_nonce", rv.reused_nonce),
        (Class::Expired, "expired", rv.expired),
    ];
    let mut replay_sum = 0.0;
    for (_, name, w) in replays {
        replay_sum += check(&format!("mix.replayed_variants.{name}"), w)?;
    }
    if replayed > 0.0 && replay_sum <= 0.0 {
        return Err(err(
            "mix.replayed_variants",
            "mix.replayed > 0 needs at least one variant weight > 0".into(),
        ));
    }
    if replayed > 0.0 && rv.expired > 0.0 && !has_issue_time(s) {
        return Err(err(
            "mix.replayed_variants.expired",
            "expired tokens need an issue time: set devices.token = \"replay_resistant\", \"jwt\", \"file\" (with expired rows), or \"template\" with {unix_s} or {unix_ms} in devices.token_template".into(),
        ));
    }
    let mut w = [0.0; Class::COUNT];
    w[Class::Valid.index()] = valid;
    for (c, _, rw) in replays {
        if replayed > 0.0 {
            w[c.index()] = replayed * rw / replay_sum;
        }
    }
    for (f, vw) in variants {
        if forged > 0.0 {
            w[Class::Forged(f).index()] = forged * vw / variant_sum;
        }
    }
    Mix::new(w).map_err(|e| match e {
        MixError::AllZero => err(
            "mix",
            "mix.valid, mix.forged and mix.replayed are all 0: nothing to send".into(),
        ),
        MixError::Negative => err("mix", e.to_string()),
    })
}

/// Whether the scheme's tokens carry an issue time (so an expired one differs from a valid one).
fn has_issue_time(s: &Scenario) -> bool {
    use crate::attempt::template::{Placeholder, TokenTemplate};
    match s.devices.token {
        // `file`: the rows say, checked when they are read (`super::token_sources`).
        TokenScheme::ReplayResistant | TokenScheme::Jwt | TokenScheme::File => true,
        TokenScheme::Template => TokenTemplate::parse(&s.devices.token_template)
            .is_ok_and(|t| t.uses(Placeholder::UnixS) || t.uses(Placeholder::UnixMs)),
        TokenScheme::Static | TokenScheme::PerDevice => false,
    }
}
