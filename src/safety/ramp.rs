//! The ramp rule: with `[safety] ramp_s` in force (60 s for a remote target unless set; loopback: none unless
//! set), each rate the run sends (HTTPS attempts/s in the open model, MQTT connects/s) must rise from 0 over at
//! least `ramp_s`. A rate the stages set: the first stage that takes it above 0 must last at least `ramp_s`
//! (else exit 2, naming the stage); a rate no stage sets gets an implicit linear ramp from 0 to its value over
//! `ramp_s`, then holds it (the run keeps its duration). Why: a real endpoint (and its account's limits) should
//! see the load grow, not arrive at full rate in the first second.

use std::sync::Arc;

use crate::contract::Transport;
use crate::load::ramp::Ramp;
use crate::scenario::file::StageSection;
use crate::scenario::stages::{CONNECTS, RATE, ramp_of};
use crate::scenario::{Model, Plan};

/// The staged rates in use that start too steeply: `Err` names the stage, its duration and the fields.
pub fn check(stages: &[StageSection], ramp_s: f64, https: bool, mqtt: bool) -> Result<(), String> {
    for ((name, target), used) in [(RATE, https), (CONNECTS, mqtt)] {
        if !used || ramp_of(stages, target).is_none() {
            continue;
        }
        let mut v = 0.0;
        for (i, st) in stages.iter().enumerate() {
            v = target(st).unwrap_or(v);
            if v > 0.0 {
                if st.duration_s < ramp_s {
                    return Err(format!(
                        "run.stages[{i}]: duration_s = {} takes {name} from 0 to {v} in less than safety.ramp_s = {ramp_s} s (a remote run must start with a ramp of at least ramp_s); lengthen the stage, add a slower one before it, or set safety.ramp_s lower; nothing was sent",
                        st.duration_s
                    ));
                }
                break;
            }
        }
    }
    Ok(())
}

/// Holds the plan to the rule: checks its stages, and gives each rate in use that no stage sets an implicit
/// ramp over `ramp_s` (recorded in `plan.ramps.implicit_s`). `ramp_s` of 0: nothing to do.
pub fn apply(plan: &mut Plan, ramp_s: f64) -> Result<(), String> {
    if ramp_s <= 0.0 {
        return Ok(());
    }
    let https = match plan.model {
        Model::Open { rate_per_s } if plan.groups.count(Transport::Https) > 0 => Some(rate_per_s),
        _ => None,
    };
    let mqtt = (plan.groups.mqtt_devices() > 0).then_some(plan.mqtt.connects_per_s);
    check(
        &plan.scenario.run.stages,
        ramp_s,
        https.is_some(),
        mqtt.is_some(),
    )?;
    let implicit = |rate: f64| Some(Arc::new(Ramp::from_stages(&[(ramp_s, rate)])));
    let r = &mut plan.ramps;
    if let Some(rate) = https
        && r.https.is_none()
    {
        r.https = implicit(rate);
        r.implicit_s = Some(ramp_s);
    }
    if let Some(rate) = mqtt
        && r.connects.is_none()
    {
        r.connects = implicit(rate);
        r.implicit_s = Some(ramp_s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(d: f64, rate: Option<f64>) -> StageSection {
        StageSection {
            duration_s: d,
            target_rate_per_s: rate,
            ..StageSection::default()
        }
    }

    #[test]
    fn the_first_stage_that_raises_a_rate_must_take_ramp_s() {
        let steep = [stage(10.0, Some(5.0))];
        let e = check(&steep, 60.0, true, false).unwrap_err();
        assert!(
            e.contains("run.stages[0]")
                && e.contains("duration_s = 10")
                && e.contains("safety.ramp_s"),
            "{e}"
        );
        assert!(check(&steep, 10.0, true, false).is_ok());
        assert!(check(&steep, 60.0, false, true).is_ok(), "HTTPS not in use");
        // A pause at 0 first, then a long enough ramp: fine; the stage that raises the rate is named.
        let paused = [
            stage(5.0, Some(0.0)),
            stage(60.0, Some(5.0)),
            stage(1.0, Some(50.0)),
        ];
        assert!(check(&paused, 60.0, true, false).is_ok());
        let e = check(
            &[stage(5.0, Some(0.0)), stage(30.0, Some(5.0))],
            60.0,
            true,
            false,
        )
        .unwrap_err();
        assert!(e.contains("run.stages[1]"), "{e}");
        // Stages that only set the MQTT targets leave the HTTPS rate to the implicit ramp.
        assert!(check(&[stage(1.0, None)], 60.0, true, true).is_ok());
    }
}
