//! The `[abort]` guards (pure): what stops a run while it runs, on any target. A monitor (the run's shell)
//! reads the engines' live counters and the witness's live count every 250 ms into an [`Observed`] and asks
//! [`Guards::judge`]; the first guard that fires stops the run like a signal does and is recorded as
//! `safety.aborted_by`. The share guards judge only once `min_attempts` attempts ended, so one early throttle
//! cannot stop a run; the cost guard fires at once when the cost so far exceeds it, and on the projection to
//! the planned end once `min_attempts` ended.

use serde::Serialize;

mod resolve;

/// Attempts that must have ended before a share (or a projection) is judged.
pub const DEFAULT_MIN_ATTEMPTS: u64 = 50;

/// A remote target's throttled share when `[abort]` leaves it unset: a real account that throttles one attempt
/// in ten is over its limits, and pressing on only bills more.
pub const REMOTE_MAX_THROTTLED_SHARE: f64 = 0.1;

/// A remote target's error share when unset: AWS goes silent (timeouts) over its limits.
pub const REMOTE_MAX_ERROR_SHARE: f64 = 0.2;

/// The guards in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Guards {
    /// Stop when the witness sees an invocation caused by a forged attempt the gate must refuse.
    pub on_forged_invocation: bool,
    /// Stop when more than this share of ended attempts was throttled.
    pub max_throttled_share: Option<f64>,
    /// Stop when more than this share of ended attempts ended in a transport error or a timeout.
    pub max_error_share: Option<f64>,
    /// Stop when the cost so far, or its projection to the planned end, exceeds this (USD).
    pub max_cost_usd: Option<f64>,
    /// Ended attempts before the shares and the projection are judged.
    pub min_attempts: u64,
}

impl Default for Guards {
    fn default() -> Self {
        Self {
            on_forged_invocation: false,
            max_throttled_share: None,
            max_error_share: None,
            max_cost_usd: None,
            min_attempts: DEFAULT_MIN_ATTEMPTS,
        }
    }
}

/// What the run has done so far, as the monitor read it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    /// Seconds since the load started.
    pub at_s: f64,
    /// Attempts sent and ended (attempts with nothing to send are not counted).
    pub ended: u64,
    pub throttled: u64,
    /// Transport errors + timeouts.
    pub errors: u64,
    /// Invocations caused by forged attempts the gate must refuse; `None`: no live witness.
    pub forged_invocations: Option<u64>,
    /// The cost so far, USD (the `[pricing]` model, as [`super::Planned`] predicts it).
    pub cost_usd: f64,
    /// That cost projected to the planned end.
    pub projected_cost_usd: f64,
}

/// The guard that stopped the run (report.json `safety.aborted_by`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AbortedBy {
    /// The field, e.g. `abort.max_throttled_share`.
    pub guard: String,
    pub observed: f64,
    pub limit: f64,
    /// Seconds into the run.
    pub at_s: f64,
    pub message: String,
}

impl Guards {
    /// Whether any guard can fire (no monitor otherwise).
    pub fn any(&self) -> bool {
        self.on_forged_invocation
            || self.max_throttled_share.is_some()
            || self.max_error_share.is_some()
            || self.max_cost_usd.is_some()
    }

    /// The first guard `o` exceeds: a forged invocation, then the cost, the throttled share, the error share.
    pub fn judge(&self, o: &Observed) -> Option<AbortedBy> {
        let fired = |guard: &str, observed: f64, limit: f64, message: String| AbortedBy {
            guard: format!("abort.{guard}"),
            observed,
            limit,
            at_s: o.at_s,
            message: format!("abort.{guard} ({limit}): {message}"),
        };
        if self.on_forged_invocation
            && let Some(n) = o.forged_invocations.filter(|&n| n > 0)
        {
            return Some(fired(
                "on_forged_invocation",
                n as f64,
                0.0,
                format!(
                    "the witness saw {n} invocation(s) caused by forged attempts the gate must refuse"
                ),
            ));
        }
        let judged = o.ended >= self.min_attempts.max(1);
        if let Some(limit) = self.max_cost_usd {
            if o.cost_usd > limit {
                return Some(fired(
                    "max_cost_usd",
                    o.cost_usd,
                    limit,
                    format!("the cost so far is {:.6} USD", o.cost_usd),
                ));
            }
            if judged && o.projected_cost_usd > limit {
                return Some(fired(
                    "max_cost_usd",
                    o.projected_cost_usd,
                    limit,
                    format!(
                        "the cost projected to the planned end is {:.6} USD ({:.6} so far)",
                        o.projected_cost_usd, o.cost_usd
                    ),
                ));
            }
        }
        let share = |n: u64| n as f64 / o.ended.max(1) as f64;
        for (guard, limit, n, what) in [
            (
                "max_throttled_share",
                self.max_throttled_share,
                o.throttled,
                "ended throttled",
            ),
            (
                "max_error_share",
                self.max_error_share,
                o.errors,
                "ended in a transport error or a timeout",
            ),
        ] {
            if let Some(limit) = limit
                && judged
                && share(n) > limit
            {
                return Some(fired(
                    guard,
                    share(n),
                    limit,
                    format!("{n} of {} attempts {what} ({:.3})", o.ended, share(n)),
                ));
            }
        }
        None
    }
}

/// The cost so far projected to the planned end: scaled by the planned time over the time so far, or by the
/// planned attempts over the attempts ended when that is less (a run bounded by `run.max_attempts` ends early).
pub fn project(
    cost_usd: f64,
    at_s: f64,
    planned_s: f64,
    ended: u64,
    planned_attempts: Option<u64>,
) -> f64 {
    if at_s <= 0.0 {
        return cost_usd;
    }
    let by_time = (planned_s / at_s).max(1.0);
    let by_attempts = planned_attempts
        .filter(|_| ended > 0)
        .map_or(f64::INFINITY, |p| (p as f64 / ended as f64).max(1.0));
    cost_usd * by_time.min(by_attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(ended: u64, throttled: u64, errors: u64) -> Observed {
        Observed {
            at_s: 2.0,
            ended,
            throttled,
            errors,
            ..Observed::default()
        }
    }

    #[test]
    fn shares_are_judged_only_after_the_minimum_of_attempts() {
        let g = Guards {
            max_throttled_share: Some(0.1),
            min_attempts: 50,
            ..Guards::default()
        };
        assert_eq!(
            g.judge(&obs(1, 1, 0)),
            None,
            "one early throttle does not abort"
        );
        assert_eq!(g.judge(&obs(49, 49, 0)), None);
        assert_eq!(g.judge(&obs(100, 10, 0)), None, "at the limit is within it");
        let a = g.judge(&obs(100, 11, 0)).unwrap();
        assert_eq!(
            (a.guard.as_str(), a.observed, a.limit, a.at_s),
            ("abort.max_throttled_share", 0.11, 0.1, 2.0)
        );
        assert!(
            a.message.contains("11 of 100 attempts ended throttled"),
            "{}",
            a.message
        );
        let e = Guards {
            max_error_share: Some(0.5),
            min_attempts: 4,
            ..Guards::default()
        };
        assert_eq!(e.judge(&obs(4, 4, 2)), None, "throttles are not errors");
        assert_eq!(
            e.judge(&obs(4, 0, 3)).unwrap().guard,
            "abort.max_error_share"
        );
    }

    #[test]
    fn a_forged_invocation_fires_first_and_only_when_guarded() {
        let g = Guards {
            on_forged_invocation: true,
            max_error_share: Some(0.0),
            ..Guards::default()
        };
        let mut o = obs(100, 0, 100);
        o.forged_invocations = Some(1);
        assert_eq!(g.judge(&o).unwrap().guard, "abort.on_forged_invocation");
        o.forged_invocations = Some(0);
        assert_eq!(g.judge(&o).unwrap().guard, "abort.max_error_share");
        let off = Guards {
            on_forged_invocation: false,
            ..Guards::default()
        };
        o.forged_invocations = Some(5);
        assert_eq!(off.judge(&o), None);
    }

    #[test]
    fn cost_fires_on_the_cost_so_far_at_once_and_on_the_projection_after_the_minimum() {
        let g = Guards {
            max_cost_usd: Some(1.0),
            min_attempts: 10,
            ..Guards::default()
        };
        let mut o = obs(1, 0, 0);
        o.cost_usd = 0.5;
        o.projected_cost_usd = 5.0;
        assert_eq!(g.judge(&o), None, "a projection from one attempt is noise");
        o.ended = 10;
        let a = g.judge(&o).unwrap();
        assert_eq!((a.guard.as_str(), a.observed), ("abort.max_cost_usd", 5.0));
        o.ended = 1;
        o.cost_usd = 1.5;
        assert_eq!(g.judge(&o).unwrap().observed, 1.5);
    }

    #[test]
    fn the_projection_scales_by_time_or_by_attempts_whichever_ends_first() {
        assert_eq!(project(1.0, 2.0, 10.0, 100, None), 5.0);
        assert_eq!(project(1.0, 2.0, 10.0, 100, Some(200)), 2.0);
        assert_eq!(
            project(1.0, 20.0, 10.0, 100, Some(50)),
            1.0,
            "never below the cost so far"
        );
        assert_eq!(project(1.0, 0.0, 10.0, 0, None), 1.0);
    }
}
