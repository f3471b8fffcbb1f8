//! `[abort]` resolved: the scenario's values checked (naming the field) and the defaults decided: which guards a
//! run has in force, on loopback or against a remote target.

use super::{DEFAULT_MIN_ATTEMPTS, Guards, REMOTE_MAX_ERROR_SHARE, REMOTE_MAX_THROTTLED_SHARE};
use crate::scenario::file::AbortSection;

impl Guards {
    /// `[abort]` checked: shares within 0..=1, a cost ≥ 0; `on_forged_invocation` defaults to whether a witness
    /// sees invocations while the load runs (`live_witness`), and set true without one is an error. `Err` is
    /// (field, problem).
    pub fn resolve(s: &AbortSection, live_witness: bool) -> Result<Self, (String, String)> {
        let share = |v: Option<f64>, field: &str| match v {
            Some(x) if !(x.is_finite() && (0.0..=1.0).contains(&x)) => Err((
                format!("abort.{field}"),
                format!("a share must be within 0..=1, got {x}"),
            )),
            _ => Ok(v),
        };
        let on_forged_invocation = match s.on_forged_invocation {
            Some(true) if !live_witness => {
                return Err((
                    "abort.on_forged_invocation".into(),
                    "no witness sees invocations while the load runs (the embedded emulator and an external \
                     emulator's target.admin_url do; [target.aws]'s CloudWatch settles only after the load), so \
                     this guard could never fire; remove it or set it false"
                        .into(),
                ));
            }
            Some(on) => on,
            None => live_witness,
        };
        let max_cost_usd = match s.max_cost_usd {
            Some(c) if !(c.is_finite() && c >= 0.0) => {
                return Err((
                    "abort.max_cost_usd".into(),
                    format!("must be ≥ 0 USD, got {c}"),
                ));
            }
            c => c,
        };
        Ok(Self {
            on_forged_invocation,
            max_throttled_share: share(s.max_throttled_share, "max_throttled_share")?,
            max_error_share: share(s.max_error_share, "max_error_share")?,
            max_cost_usd,
            min_attempts: s.min_attempts.unwrap_or(DEFAULT_MIN_ATTEMPTS),
        })
    }

    /// The guards in force: a remote target gets [`REMOTE_MAX_THROTTLED_SHARE`], [`REMOTE_MAX_ERROR_SHARE`] and,
    /// live, the `[safety] max_cost_usd` cap in force (`cost_cap`) where `[abort]` leaves them unset; a loopback
    /// target only what `[abort]` sets (and `on_forged_invocation`).
    pub fn in_force(self, remote: bool, cost_cap: Option<f64>) -> Self {
        if !remote {
            return self;
        }
        Self {
            max_throttled_share: self
                .max_throttled_share
                .or(Some(REMOTE_MAX_THROTTLED_SHARE)),
            max_error_share: self.max_error_share.or(Some(REMOTE_MAX_ERROR_SHARE)),
            max_cost_usd: self.max_cost_usd.or(cost_cap),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> AbortSection {
        AbortSection::default()
    }

    #[test]
    fn forged_invocations_default_to_whether_a_witness_sees_them_live() {
        assert!(
            Guards::resolve(&section(), true)
                .unwrap()
                .on_forged_invocation
        );
        assert!(
            !Guards::resolve(&section(), false)
                .unwrap()
                .on_forged_invocation
        );
        let off = AbortSection {
            on_forged_invocation: Some(false),
            ..section()
        };
        assert!(!Guards::resolve(&off, true).unwrap().on_forged_invocation);
        let on = AbortSection {
            on_forged_invocation: Some(true),
            ..section()
        };
        let (field, why) = Guards::resolve(&on, false).unwrap_err();
        assert_eq!(field, "abort.on_forged_invocation");
        assert!(why.contains("CloudWatch"), "{why}");
    }

    #[test]
    fn bad_values_name_the_field() {
        for (s, field) in [
            (
                AbortSection {
                    max_throttled_share: Some(1.5),
                    ..section()
                },
                "abort.max_throttled_share",
            ),
            (
                AbortSection {
                    max_error_share: Some(-0.1),
                    ..section()
                },
                "abort.max_error_share",
            ),
            (
                AbortSection {
                    max_error_share: Some(f64::NAN),
                    ..section()
                },
                "abort.max_error_share",
            ),
            (
                AbortSection {
                    max_cost_usd: Some(-1.0),
                    ..section()
                },
                "abort.max_cost_usd",
            ),
        ] {
            assert_eq!(Guards::resolve(&s, true).unwrap_err().0, field);
        }
        let edges = AbortSection {
            max_throttled_share: Some(0.0),
            max_error_share: Some(1.0),
            max_cost_usd: Some(0.0),
            min_attempts: Some(3),
            ..section()
        };
        let g = Guards::resolve(&edges, false).unwrap();
        assert_eq!(
            (g.max_throttled_share, g.max_error_share, g.min_attempts),
            (Some(0.0), Some(1.0), 3)
        );
        assert!(g.any());
        assert!(!Guards::resolve(&section(), false).unwrap().any());
    }

    #[test]
    fn a_remote_target_gets_share_and_cost_guards_where_unset() {
        let set = Guards {
            max_error_share: Some(0.5),
            ..Guards::default()
        };
        assert_eq!(
            set.in_force(false, Some(1.0)),
            set,
            "loopback: only what is set"
        );
        let r = set.in_force(true, Some(1.0));
        assert_eq!(
            (r.max_throttled_share, r.max_error_share, r.max_cost_usd),
            (Some(REMOTE_MAX_THROTTLED_SHARE), Some(0.5), Some(1.0))
        );
    }
}
