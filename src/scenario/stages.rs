//! `[[run.stages]]` resolved: each target the stages set becomes a [`Ramp`] from 0; the run lasts the stages'
//! sum. The effective scenario carries the derived values (`run.duration_s` = the sum, `run.rate_per_s` and
//! `mqtt.connects_per_s` = the staged peak), so the report's echo can be run again as is; a file that sets one of
//! them to something else is an error naming the field, as is `--duration` (or `--rate` with a staged rate).

use std::sync::Arc;

use super::error::ScenarioError;
use super::file::{LoadModel, Scenario, StageSection};
use crate::load::ramp::Ramp;

/// The ramps a run follows; `None`: that target is not ramped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ramps {
    /// HTTPS attempts/s (open model).
    pub https: Option<Arc<Ramp>>,
    /// MQTT CONNECTs/s.
    pub connects: Option<Arc<Ramp>>,
    /// MQTT devices active.
    pub devices: Option<Arc<Ramp>>,
    /// The implicit ramp a remote run got, s (`[safety] ramp_s`, for rates no stage sets); `None`: none.
    pub implicit_s: Option<f64>,
}

/// A stage target, by its field name.
type Target = fn(&StageSection) -> Option<f64>;

pub const RATE: (&str, Target) = ("target_rate_per_s", |s| s.target_rate_per_s);
pub const CONNECTS: (&str, Target) = ("target_connects_per_s", |s| s.target_connects_per_s);
const DEVICES: (&str, Target) = ("target_devices", |s| s.target_devices.map(f64::from));

/// The ramp of one target, carrying a value a stage leaves unset from the stage before; `None` when no stage
/// sets it.
pub fn ramp_of(stages: &[StageSection], target: Target) -> Option<Ramp> {
    if !stages.iter().any(|s| target(s).is_some()) {
        return None;
    }
    let mut v = 0.0;
    let points: Vec<(f64, f64)> = stages
        .iter()
        .map(|s| {
            v = target(s).unwrap_or(v);
            (s.duration_s, v)
        })
        .collect();
    Some(Ramp::from_stages(&points))
}

/// Checks the stages, writes the derived values into `s` and returns the ramps.
pub fn resolve(
    s: &mut Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Ramps, ScenarioError> {
    let stages = s.run.stages.clone();
    if stages.is_empty() {
        return Ok(Ramps::default());
    }
    check(&stages, err)?;
    let defaults = Scenario::default();
    let total: f64 = stages.iter().map(|st| st.duration_s).sum();
    derived(
        s.run.duration_s,
        defaults.run.duration_s,
        total,
        "run.duration_s",
        "the stages' sum",
        err,
    )?;
    s.run.duration_s = total;
    let mut ramps = Ramps::default();
    for (name, target) in [RATE, CONNECTS, DEVICES] {
        let Some(ramp) = ramp_of(&stages, target) else {
            continue;
        };
        let peak = ramp.peak();
        if peak <= 0.0 {
            return Err(err(
                "run.stages",
                format!(
                    "{name} is 0 in every stage: nothing would be sent; set it above 0 in some stage or leave it out"
                ),
            ));
        }
        let ramp = Some(Arc::new(ramp));
        match name {
            "target_rate_per_s" => {
                if s.run.model == LoadModel::Closed {
                    let i = stages
                        .iter()
                        .position(|st| target(st).is_some())
                        .unwrap_or(0);
                    return Err(err(
                        &format!("run.stages[{i}].{name}"),
                        "the closed model (run.model = \"closed\") has no arrival rate to ramp: use run.model = \"open\", or stage only the MQTT targets".into(),
                    ));
                }
                derived(
                    s.run.rate_per_s,
                    defaults.run.rate_per_s,
                    peak,
                    "run.rate_per_s",
                    "the staged peak",
                    err,
                )?;
                s.run.rate_per_s = peak;
                ramps.https = ramp;
            }
            "target_connects_per_s" => {
                derived(
                    s.mqtt.connects_per_s,
                    defaults.mqtt.connects_per_s,
                    peak,
                    "mqtt.connects_per_s",
                    "the staged peak",
                    err,
                )?;
                s.mqtt.connects_per_s = peak;
                ramps.connects = ramp;
            }
            _ => ramps.devices = ramp,
        }
    }
    Ok(ramps)
}

/// Every stage's duration and targets are numbers in range (errors name `run.stages[i].field`).
fn check(
    stages: &[StageSection],
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    for (i, st) in stages.iter().enumerate() {
        let field = |f: &str| format!("run.stages[{i}].{f}");
        if !(st.duration_s.is_finite() && st.duration_s > 0.0 && st.duration_s < 1e7) {
            return Err(err(
                &field("duration_s"),
                format!("must be a number > 0 (got {})", st.duration_s),
            ));
        }
        for (name, target) in [RATE, CONNECTS] {
            if let Some(v) = target(st)
                && !(v.is_finite() && (0.0..1e9).contains(&v))
            {
                return Err(err(&field(name), format!("must be ≥ 0 (got {v})")));
            }
        }
    }
    Ok(())
}

/// A field the stages decide: left at its default, or equal to what the stages make it.
fn derived(
    set: f64,
    default: f64,
    staged: f64,
    field: &str,
    what: &str,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    if set == default || (set - staged).abs() <= 1e-9 * staged.abs().max(1.0) {
        return Ok(());
    }
    Err(err(
        field,
        format!(
            "run.stages decide it ({what}: {staged}), but it is set to {set}: leave it out or set it to {staged}"
        ),
    ))
}

/// `--duration` and `--rate` change values the stages decide: an error naming the flag.
pub fn check_overrides(
    s: &Scenario,
    file: &str,
    duration: Option<f64>,
    rate: Option<f64>,
) -> Result<(), ScenarioError> {
    let stages = &s.run.stages;
    let flag = if stages.is_empty() {
        None
    } else if duration.is_some() {
        Some(("--duration", "the run lasts the stages' sum"))
    } else if rate.is_some() && ramp_of(stages, RATE.1).is_some() {
        Some((
            "--rate",
            "the HTTPS rate follows the stages' target_rate_per_s",
        ))
    } else {
        None
    };
    match flag {
        None => Ok(()),
        Some((flag, why)) => Err(ScenarioError::new(
            file,
            "run.stages",
            format!("{flag} cannot change a staged run ({why}): edit the stages instead"),
        )),
    }
}

/// The stages and any implicit ramp, for the run's opening line; empty without either.
pub fn describe(stages: &[StageSection], ramps: &Ramps) -> String {
    let mut out = String::new();
    if !stages.is_empty() {
        let each: Vec<String> = stages
            .iter()
            .map(|st| {
                let mut t = Vec::new();
                if let Some(v) = st.target_rate_per_s {
                    t.push(format!("HTTPS {v}/s"));
                }
                if let Some(v) = st.target_connects_per_s {
                    t.push(format!("MQTT {v} connects/s"));
                }
                if let Some(v) = st.target_devices {
                    t.push(format!("{v} MQTT devices"));
                }
                let to = if t.is_empty() {
                    "hold".into()
                } else {
                    t.join(", ")
                };
                format!("{} s → {to}", st.duration_s)
            })
            .collect();
        out += &format!(", stages from 0: {}", each.join("; "));
    }
    if let Some(s) = ramps.implicit_s {
        out += &format!(", ramp from 0 over {s} s ([safety] ramp_s)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(d: f64, rate: Option<f64>, devices: Option<u32>) -> StageSection {
        StageSection {
            duration_s: d,
            target_rate_per_s: rate,
            target_devices: devices,
            ..StageSection::default()
        }
    }

    fn err(field: &str, p: String) -> ScenarioError {
        ScenarioError::new("s.toml", field, p)
    }

    #[test]
    fn stages_set_the_duration_and_the_peak_and_carry_unset_targets() {
        let mut s = Scenario::default();
        s.run.stages = vec![
            stage(10.0, Some(50.0), None),
            stage(20.0, None, Some(4)),
            stage(5.0, Some(0.0), None),
        ];
        let r = resolve(&mut s, &err).unwrap();
        assert_eq!(s.run.duration_s, 35.0);
        assert_eq!(s.run.rate_per_s, 50.0);
        let https = r.https.unwrap();
        assert_eq!(https.at(20.0), 50.0, "the second stage keeps 50/s");
        assert_eq!(https.at(35.0), 0.0);
        let devices = r.devices.unwrap();
        assert_eq!(
            devices.at(5.0),
            0.0,
            "no devices before the stage that sets them starts from 0"
        );
        assert_eq!(devices.at(30.0), 4.0);
        assert!(
            r.connects.is_none(),
            "not staged: mqtt.connects_per_s holds"
        );
        // The effective scenario resolves again to the same.
        let mut again = s.clone();
        assert_eq!(resolve(&mut again, &err).unwrap().https.unwrap(), https);
    }

    #[test]
    fn conflicts_name_the_field() {
        let mut s = Scenario::default();
        s.run.stages = vec![stage(10.0, Some(50.0), None)];
        s.run.duration_s = 60.0;
        assert_eq!(
            resolve(&mut s.clone(), &err).unwrap_err().field,
            "run.duration_s"
        );
        s.run.duration_s = 10.0;
        s.run.rate_per_s = 30.0;
        assert_eq!(
            resolve(&mut s.clone(), &err).unwrap_err().field,
            "run.rate_per_s"
        );
        s.run.rate_per_s = 200.0;
        s.run.model = LoadModel::Closed;
        assert_eq!(
            resolve(&mut s.clone(), &err).unwrap_err().field,
            "run.stages[0].target_rate_per_s"
        );
        s.run.model = LoadModel::Open;
        s.run.stages[0].duration_s = 0.0;
        assert_eq!(
            resolve(&mut s.clone(), &err).unwrap_err().field,
            "run.stages[0].duration_s"
        );
        s.run.stages[0] = stage(5.0, Some(0.0), None);
        assert_eq!(
            resolve(&mut s.clone(), &err).unwrap_err().field,
            "run.stages"
        );
        s.run.stages[0] = stage(5.0, Some(1.0), None);
        let flag = check_overrides(&s, "s.toml", Some(3.0), None).unwrap_err();
        assert!(flag.problem.contains("--duration"), "{flag}");
        assert!(check_overrides(&s, "s.toml", None, Some(3.0)).is_err());
        assert!(check_overrides(&Scenario::default(), "s.toml", Some(3.0), Some(3.0)).is_ok());
    }

    #[test]
    fn the_opening_line_shows_the_stages_and_an_implicit_ramp() {
        let stages = [
            stage(1.0, Some(100.0), None),
            stage(1.0, None, None),
            stage(0.5, None, Some(3)),
        ];
        let ramps = Ramps {
            implicit_s: Some(60.0),
            ..Ramps::default()
        };
        assert_eq!(
            describe(&stages, &ramps),
            ", stages from 0: 1 s → HTTPS 100/s; 1 s → hold; 0.5 s → 3 MQTT devices, ramp from 0 over 60 s ([safety] ramp_s)"
        );
        assert_eq!(describe(&[], &Ramps::default()), "");
    }
}
