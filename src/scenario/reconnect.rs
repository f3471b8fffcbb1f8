//! Resolves `[mqtt] reconnect`, `[[mqtt.storms]]` and `mqtt.devices_per_client_id` ([`super::file::reconnect`]
//! is the file side): bad values name their field.

use std::time::Duration;

use super::ScenarioError;
use super::file::{BackoffKind, MqttSection};
use crate::load::backoff::BackoffSpec;

/// A storm's window when `window_s` is unset, s.
pub const DEFAULT_STORM_WINDOW_S: f64 = 30.0;
/// The longest reconnect wait accepted, ms (one day).
const MAX_BACKOFF_MS: u64 = 86_400_000;

/// A resolved storm: when it fires after the load starts, and its window (cut at the next storm; the run's end
/// cuts it where the run ends).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Storm {
    pub at: Duration,
    pub window: Duration,
}

/// The reconnect backoff in force; `None`: reconnect at once.
pub fn resolve_backoff(
    m: &MqttSection,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Option<BackoffSpec>, ScenarioError> {
    let r = &m.reconnect;
    if r.backoff == BackoffKind::None {
        return Ok(None);
    }
    if !(1..=MAX_BACKOFF_MS).contains(&r.base_ms) {
        return Err(err(
            "mqtt.reconnect.base_ms",
            format!("must be 1–{MAX_BACKOFF_MS} ms (got {})", r.base_ms),
        ));
    }
    if !(r.base_ms..=MAX_BACKOFF_MS).contains(&r.max_ms) {
        return Err(err(
            "mqtt.reconnect.max_ms",
            format!(
                "must be at least mqtt.reconnect.base_ms ({}) and at most {MAX_BACKOFF_MS} ms (got {})",
                r.base_ms, r.max_ms
            ),
        ));
    }
    if !(r.jitter.is_finite() && (0.0..=1.0).contains(&r.jitter)) {
        return Err(err(
            "mqtt.reconnect.jitter",
            format!("must be 0 (none) to 1 (full jitter) (got {})", r.jitter),
        ));
    }
    Ok(Some(BackoffSpec {
        base: Duration::from_millis(r.base_ms),
        max: Duration::from_millis(r.max_ms),
        jitter: r.jitter,
    }))
}

/// The storms in time order, each window cut at the next storm. `live`: the target can be told to drop its
/// sessions (the embedded emulator, or an external one's `target.admin_url`).
pub fn resolve_storms(
    m: &MqttSection,
    duration: Duration,
    live: bool,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Vec<Storm>, ScenarioError> {
    if m.storms.is_empty() {
        return Ok(Vec::new());
    }
    if !live {
        return Err(err(
            "mqtt.storms",
            "a storm drops every session at the emulator: it needs the embedded emulator or an external \
             emulator's target.admin_url (not a broker or a real account)"
                .into(),
        ));
    }
    let mut storms = Vec::with_capacity(m.storms.len());
    for (i, s) in m.storms.iter().enumerate() {
        let field = |f: &str| format!("mqtt.storms[{i}].{f}");
        if !(s.at_s.is_finite() && s.at_s >= 0.0 && s.at_s < duration.as_secs_f64()) {
            return Err(err(
                &field("at_s"),
                format!(
                    "must be ≥ 0 and before the run's end ({} s) (got {})",
                    duration.as_secs_f64(),
                    s.at_s
                ),
            ));
        }
        let window = s.window_s.unwrap_or(DEFAULT_STORM_WINDOW_S);
        if !(window.is_finite() && window > 0.0 && window <= 86_400.0) {
            return Err(err(
                &field("window_s"),
                format!("must be > 0 and at most 86400 s (got {window})"),
            ));
        }
        if storms
            .last()
            .is_some_and(|p: &Storm| p.at.as_secs_f64() >= s.at_s)
        {
            return Err(err(
                &field("at_s"),
                format!(
                    "storms must be in time order, each later than the one before (got {})",
                    s.at_s
                ),
            ));
        }
        storms.push(Storm {
            at: Duration::from_secs_f64(s.at_s),
            window: Duration::from_secs_f64(window),
        });
    }
    for i in 1..storms.len() {
        let gap = storms[i].at - storms[i - 1].at;
        storms[i - 1].window = storms[i - 1].window.min(gap);
    }
    Ok(storms)
}

/// `mqtt.devices_per_client_id`: 1 to 1000.
pub fn resolve_sharing(
    m: &MqttSection,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<u32, ScenarioError> {
    if !(1..=1000).contains(&m.devices_per_client_id) {
        return Err(err(
            "mqtt.devices_per_client_id",
            format!(
                "must be 1 (every device its own client id) to 1000 (got {})",
                m.devices_per_client_id
            ),
        ));
    }
    Ok(m.devices_per_client_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::file::{ReconnectSection, StormSection};

    fn err(field: &str, problem: String) -> ScenarioError {
        ScenarioError::new("s.toml", field, problem)
    }

    fn field_of(e: ScenarioError) -> String {
        e.field
    }

    #[test]
    fn backoff_defaults_follow_the_sdks_and_bad_values_name_their_field() {
        let mut m = MqttSection::default();
        assert_eq!(resolve_backoff(&m, &err).unwrap(), None, "off by default");
        m.reconnect.backoff = BackoffKind::Exponential;
        let b = resolve_backoff(&m, &err).unwrap().unwrap();
        assert_eq!(
            (b.base, b.max, b.jitter),
            (Duration::from_secs(1), Duration::from_secs(120), 1.0)
        );
        for (r, f) in [
            (
                ReconnectSection {
                    base_ms: 0,
                    ..m.reconnect.clone()
                },
                "mqtt.reconnect.base_ms",
            ),
            (
                ReconnectSection {
                    max_ms: 10,
                    ..m.reconnect.clone()
                },
                "mqtt.reconnect.max_ms",
            ),
            (
                ReconnectSection {
                    jitter: 1.5,
                    ..m.reconnect.clone()
                },
                "mqtt.reconnect.jitter",
            ),
        ] {
            let bad = MqttSection {
                reconnect: r,
                ..m.clone()
            };
            assert_eq!(field_of(resolve_backoff(&bad, &err).unwrap_err()), f);
        }
    }

    #[test]
    fn storms_need_an_emulator_come_in_order_and_windows_stop_at_the_next() {
        let storm = |at_s, window_s| StormSection { at_s, window_s };
        let m = MqttSection {
            storms: vec![storm(5.0, None), storm(15.0, Some(60.0))],
            ..Default::default()
        };
        let d = Duration::from_secs(60);
        let s = resolve_storms(&m, d, true, &err).unwrap();
        assert_eq!(
            s[0].window,
            Duration::from_secs(10),
            "cut at the next storm"
        );
        assert_eq!(s[1].window, Duration::from_secs(60));
        assert_eq!(
            field_of(resolve_storms(&m, d, false, &err).unwrap_err()),
            "mqtt.storms"
        );
        let late = MqttSection {
            storms: vec![storm(60.0, None)],
            ..Default::default()
        };
        assert_eq!(
            field_of(resolve_storms(&late, d, true, &err).unwrap_err()),
            "mqtt.storms[0].at_s"
        );
        let backwards = MqttSection {
            storms: vec![storm(9.0, None), storm(3.0, None)],
            ..Default::default()
        };
        assert_eq!(
            field_of(resolve_storms(&backwards, d, true, &err).unwrap_err()),
            "mqtt.storms[1].at_s"
        );
        let shared = MqttSection {
            devices_per_client_id: 0,
            ..Default::default()
        };
        assert_eq!(
            field_of(resolve_sharing(&shared, &err).unwrap_err()),
            "mqtt.devices_per_client_id"
        );
    }
}
