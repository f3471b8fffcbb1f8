//! The `[safety]` caps: which are in force (a remote target's conservative defaults, a loopback target's only
//! when set), and the check that names every cap the plan ([`Planned`]) exceeds, its planned value and the
//! field to raise.

use serde::Serialize;

use super::Planned;
use crate::scenario::file::SafetySection;

/// A remote target's caps when `[safety]` leaves them unset.
pub const REMOTE_DEFAULTS: Caps = Caps {
    max_rate_per_s: Some(50.0),
    max_connections: Some(1000),
    max_attempts: Some(100_000),
    max_duration_s: Some(600.0),
    max_forged_share: Some(0.2),
    max_forged_per_s: Some(5.0),
    max_cost_usd: Some(1.0),
    client_id_gap_s: Some(10.0),
    ramp_s: Some(60.0),
    backoff_base_s: Some(super::backoff::DEFAULT_BASE_S),
    backoff_max_s: Some(super::backoff::DEFAULT_MAX_S),
};

/// The spacing between CONNECTs of one client id on loopback, s, when unset.
pub const LOOPBACK_CLIENT_ID_GAP_S: f64 = 1.0;

/// The longest spacing between CONNECTs of one client id accepted, s (an hour: longer is a typo).
pub const MAX_CLIENT_ID_GAP_S: f64 = 3600.0;

/// The longest ramp accepted, s (an hour).
pub const MAX_RAMP_S: f64 = 3600.0;

/// The caps in force; `None`: uncapped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Caps {
    pub max_rate_per_s: Option<f64>,
    pub max_connections: Option<u64>,
    pub max_attempts: Option<u64>,
    pub max_duration_s: Option<f64>,
    pub max_forged_share: Option<f64>,
    pub max_forged_per_s: Option<f64>,
    pub max_cost_usd: Option<f64>,
    /// Between two CONNECTs of one client id (the MQTT connect pacer keeps it).
    pub client_id_gap_s: Option<f64>,
    /// The shortest ramp from 0 a rate may take, s ([`super::ramp`]); `None`: no ramp required.
    pub ramp_s: Option<f64>,
    /// The backoff after a throttle ([`crate::load::backoff`]): base and cap, s; `None`: no backoff.
    pub backoff_base_s: Option<f64>,
    pub backoff_max_s: Option<f64>,
}

impl Caps {
    /// The caps for a remote or loopback target; a set value must be positive (shares at most 1).
    pub fn resolve(s: &SafetySection, remote: bool) -> Result<Self, String> {
        let d = if remote {
            REMOTE_DEFAULTS
        } else {
            Caps::default()
        };
        let pos = |v: Option<f64>, field: &str, max: f64| match v {
            Some(x) if !(x.is_finite() && x > 0.0 && x <= max) => Err(format!(
                "safety.{field}: must be > 0{}, got {x}",
                if max < f64::MAX {
                    format!(" and ≤ {max}")
                } else {
                    String::new()
                }
            )),
            _ => Ok(v),
        };
        let count = |v: Option<u64>, field: &str| match v {
            Some(0) => Err(format!("safety.{field}: must be > 0, got 0")),
            _ => Ok(v),
        };
        let gap = match s.client_id_gap_s {
            Some(g) if !(g.is_finite() && (0.0..=MAX_CLIENT_ID_GAP_S).contains(&g)) => {
                return Err(format!(
                    "safety.client_id_gap_s: must be ≥ 0 and ≤ {MAX_CLIENT_ID_GAP_S}, got {g}"
                ));
            }
            Some(g) => g,
            None if remote => REMOTE_DEFAULTS.client_id_gap_s.unwrap_or_default(),
            None => LOOPBACK_CLIENT_ID_GAP_S,
        };
        let backoff = super::backoff::resolve(s, remote)?;
        Ok(Self {
            max_rate_per_s: pos(s.max_rate_per_s, "max_rate_per_s", f64::MAX)?.or(d.max_rate_per_s),
            max_connections: count(s.max_connections, "max_connections")?.or(d.max_connections),
            max_attempts: count(s.max_attempts, "max_attempts")?.or(d.max_attempts),
            max_duration_s: pos(s.max_duration_s, "max_duration_s", f64::MAX)?.or(d.max_duration_s),
            max_forged_share: pos(s.max_forged_share, "max_forged_share", 1.0)?
                .or(d.max_forged_share),
            max_forged_per_s: pos(s.max_forged_per_s, "max_forged_per_s", f64::MAX)?
                .or(d.max_forged_per_s),
            max_cost_usd: pos(s.max_cost_usd, "max_cost_usd", f64::MAX)?.or(d.max_cost_usd),
            client_id_gap_s: Some(gap),
            ramp_s: match s.ramp_s {
                Some(r) if !(r.is_finite() && (0.0..=MAX_RAMP_S).contains(&r)) => {
                    return Err(format!(
                        "safety.ramp_s: must be ≥ 0 and ≤ {MAX_RAMP_S}, got {r}"
                    ));
                }
                r => r.or(d.ramp_s).filter(|&r| r > 0.0),
            },
            backoff_base_s: backoff.map(|b| b.0),
            backoff_max_s: backoff.map(|b| b.1),
        })
    }
}

/// Every cap the plan exceeds, each naming the planned value and the field to raise; empty: within the caps.
pub fn check(caps: &Caps, p: &Planned) -> Vec<String> {
    let mut out = Vec::new();
    let unbounded = "the plan is unbounded (run.model = \"closed\"): use the open model or set run.max_attempts";
    if let Some(cap) = caps.max_rate_per_s {
        match p.rate_per_s() {
            Some(r) if r > cap => out.push(format!(
                "safety.max_rate_per_s ({cap}): the plan sends {r} attempts/s (run.rate_per_s {} + mqtt.connects_per_s {}); raise safety.max_rate_per_s or lower the rate",
                p.https_rate_per_s.unwrap_or_default(),
                p.mqtt_connects_per_s
            )),
            Some(_) => {}
            None => out.push(format!("safety.max_rate_per_s ({cap}): the HTTPS rate is unbounded (run.model = \"closed\"); use the open model")),
        }
    }
    let mut over =
        |cap: Option<f64>, planned: Option<f64>, field: &str, what: &str, lower: &str| {
            if let Some(cap) = cap {
                match planned {
                Some(v) if v > cap => out.push(format!(
                    "safety.{field} ({cap}): the plan {}; raise safety.{field} or lower {lower}",
                    what.replace("{}", &format!("{}", (v * 1e6).round() / 1e6))
                )),
                Some(_) => {}
                None => out.push(format!("safety.{field} ({cap}): {unbounded}")),
            }
            }
        };
    over(
        caps.max_connections.map(|c| c as f64),
        Some(p.connections as f64),
        "max_connections",
        "holds {} connections",
        "devices.count",
    );
    over(
        caps.max_attempts.map(|c| c as f64),
        p.attempts.map(|a| a as f64),
        "max_attempts",
        "sends {} attempts",
        "run.max_attempts, the rates or run.duration_s",
    );
    over(
        caps.max_duration_s,
        Some(p.duration_s),
        "max_duration_s",
        "lasts {} s",
        "run.duration_s (+ run.warmup_s)",
    );
    over(
        caps.max_forged_share,
        Some(p.forged_share),
        "max_forged_share",
        "forges a share of {} of its attempts",
        "mix.forged",
    );
    over(
        caps.max_forged_per_s,
        p.rate_per_s().map(|r| r * p.forged_share),
        "max_forged_per_s",
        "forges {} attempts/s",
        "mix.forged or the rate",
    );
    over(
        caps.max_cost_usd,
        p.cost_usd,
        "max_cost_usd",
        "is predicted to cost {} USD",
        "the attempts or the duration",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within() -> Planned {
        Planned {
            https_rate_per_s: Some(20.0),
            mqtt_connects_per_s: 10.0,
            connections: 100,
            attempts: Some(3000),
            duration_s: 100.0,
            forged_share: 0.1,
            invocations: Some(2700),
            cost_usd: Some(0.01),
        }
    }

    #[test]
    fn remote_targets_get_the_defaults_and_loopback_ones_none() {
        let s = SafetySection::default();
        assert_eq!(Caps::resolve(&s, true).unwrap(), REMOTE_DEFAULTS);
        let local = Caps::resolve(&s, false).unwrap();
        assert_eq!(
            local,
            Caps {
                client_id_gap_s: Some(LOOPBACK_CLIENT_ID_GAP_S),
                ..Caps::default()
            }
        );
        assert!(
            check(
                &local,
                &Planned {
                    https_rate_per_s: None,
                    attempts: None,
                    ..within()
                }
            )
            .is_empty()
        );
        let set = SafetySection {
            max_rate_per_s: Some(7.0),
            client_id_gap_s: Some(0.0),
            ..s
        };
        let local = Caps::resolve(&set, false).unwrap();
        assert_eq!(
            (
                local.max_rate_per_s,
                local.max_attempts,
                local.client_id_gap_s
            ),
            (Some(7.0), None, Some(0.0))
        );
    }

    #[test]
    fn bad_cap_values_name_the_field() {
        let cases = [
            (
                SafetySection {
                    max_rate_per_s: Some(0.0),
                    ..Default::default()
                },
                "safety.max_rate_per_s",
            ),
            (
                SafetySection {
                    max_forged_share: Some(1.5),
                    ..Default::default()
                },
                "safety.max_forged_share",
            ),
            (
                SafetySection {
                    max_attempts: Some(0),
                    ..Default::default()
                },
                "safety.max_attempts",
            ),
            (
                SafetySection {
                    client_id_gap_s: Some(-1.0),
                    ..Default::default()
                },
                "safety.client_id_gap_s",
            ),
            (
                SafetySection {
                    ramp_s: Some(-1.0),
                    ..Default::default()
                },
                "safety.ramp_s",
            ),
            (
                SafetySection {
                    client_id_gap_s: Some(1e30),
                    ..Default::default()
                },
                "safety.client_id_gap_s",
            ),
            (
                SafetySection {
                    max_cost_usd: Some(f64::NAN),
                    ..Default::default()
                },
                "safety.max_cost_usd",
            ),
        ];
        for (s, field) in cases {
            let e = Caps::resolve(&s, true).unwrap_err();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn a_plan_within_the_remote_defaults_passes() {
        assert!(check(&REMOTE_DEFAULTS, &within()).is_empty());
    }

    #[test]
    fn each_cap_exceeded_is_named_with_the_planned_value() {
        let cases: [(Planned, &str, &str); 7] = [
            (
                Planned {
                    https_rate_per_s: Some(150.0),
                    forged_share: 0.0,
                    mqtt_connects_per_s: 50.0,
                    ..within()
                },
                "safety.max_rate_per_s",
                "200 attempts/s (run.rate_per_s 150 + mqtt.connects_per_s 50)",
            ),
            (
                Planned {
                    connections: 1001,
                    ..within()
                },
                "safety.max_connections",
                "1001 connections",
            ),
            (
                Planned {
                    attempts: Some(100_001),
                    ..within()
                },
                "safety.max_attempts",
                "100001 attempts",
            ),
            (
                Planned {
                    duration_s: 601.0,
                    ..within()
                },
                "safety.max_duration_s",
                "601 s",
            ),
            (
                Planned {
                    forged_share: 0.25,
                    mqtt_connects_per_s: 0.0,
                    ..within()
                },
                "safety.max_forged_share",
                "0.25",
            ),
            (
                Planned {
                    https_rate_per_s: Some(40.0),
                    forged_share: 0.2,
                    ..within()
                },
                "safety.max_forged_per_s",
                "10 attempts/s",
            ),
            (
                Planned {
                    cost_usd: Some(1.5),
                    ..within()
                },
                "safety.max_cost_usd",
                "1.5 USD",
            ),
        ];
        for (p, field, value) in cases {
            let v = check(&REMOTE_DEFAULTS, &p);
            assert_eq!(v.len(), 1, "{field}: {v:?}");
            assert!(v[0].starts_with(field) && v[0].contains(value), "{}", v[0]);
            assert!(v[0].contains(&format!("raise {field}")), "{}", v[0]);
        }
    }

    #[test]
    fn an_unbounded_plan_fails_every_cap_that_needs_a_bound() {
        let p = Planned {
            https_rate_per_s: None,
            attempts: None,
            invocations: None,
            cost_usd: None,
            ..within()
        };
        let v = check(&REMOTE_DEFAULTS, &p);
        for field in [
            "max_rate_per_s",
            "max_attempts",
            "max_forged_per_s",
            "max_cost_usd",
        ] {
            assert!(
                v.iter()
                    .any(|m| m.starts_with(&format!("safety.{field}")) && m.contains("unbounded")),
                "{field}: {v:?}"
            );
        }
    }
}
