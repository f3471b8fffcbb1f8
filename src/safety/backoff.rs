//! `[safety] backoff`: whether a device backs off after a throttled answer ([`crate::load::backoff`]), and its
//! base and cap. On by default for a remote target (a real account's limits answer a storm with more
//! throttling, and every retry is billed), off on loopback unless set.

use super::caps::MAX_RAMP_S;
use crate::scenario::file::SafetySection;

/// The base and the cap when the backoff is on and they are unset, s.
pub const DEFAULT_BASE_S: f64 = 1.0;
pub const DEFAULT_MAX_S: f64 = 60.0;

/// The backoff in force as (base, cap) in s; `None`: off. `Err` names a bad field.
pub fn resolve(s: &SafetySection, remote: bool) -> Result<Option<(f64, f64)>, String> {
    if !s.backoff.unwrap_or(remote) {
        return Ok(None);
    }
    let base = s.backoff_base_s.unwrap_or(DEFAULT_BASE_S);
    if !(base.is_finite() && base > 0.0 && base <= MAX_RAMP_S) {
        return Err(format!(
            "safety.backoff_base_s: must be > 0 and ≤ {MAX_RAMP_S}, got {base}"
        ));
    }
    let max = s.backoff_max_s.unwrap_or(DEFAULT_MAX_S.max(base));
    if !(max.is_finite() && max >= base && max <= MAX_RAMP_S) {
        return Err(format!(
            "safety.backoff_max_s: must be ≥ safety.backoff_base_s ({base}) and ≤ {MAX_RAMP_S}, got {max}"
        ));
    }
    Ok(Some((base, max)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_targets_back_off_by_default_and_loopback_ones_when_asked() {
        let s = SafetySection::default();
        assert_eq!(resolve(&s, true), Ok(Some((1.0, 60.0))));
        assert_eq!(resolve(&s, false), Ok(None));
        let on = SafetySection {
            backoff: Some(true),
            backoff_base_s: Some(90.0),
            ..Default::default()
        };
        assert_eq!(
            resolve(&on, false),
            Ok(Some((90.0, 90.0))),
            "the cap follows a larger base"
        );
        let off = SafetySection {
            backoff: Some(false),
            ..Default::default()
        };
        assert_eq!(resolve(&off, true), Ok(None));
    }

    #[test]
    fn bad_values_name_the_field() {
        let bad = |base, max| SafetySection {
            backoff: Some(true),
            backoff_base_s: base,
            backoff_max_s: max,
            ..Default::default()
        };
        let e = resolve(&bad(Some(0.0), None), false).unwrap_err();
        assert!(e.starts_with("safety.backoff_base_s"), "{e}");
        let e = resolve(&bad(Some(2.0), Some(1.0)), false).unwrap_err();
        assert!(e.starts_with("safety.backoff_max_s"), "{e}");
    }
}
