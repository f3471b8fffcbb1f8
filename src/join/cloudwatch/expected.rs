//! How many authorizer invocations a run can explain, from its own measurements and the oracle: the bounds a
//! CloudWatch count (the function's `Invocations`, or the witness helper's lines) is judged against.
//!
//! Only attempts whose credentials pass the signature gate can invoke the authorizer: valid, replayed
//! (`replayed`, `replayed.reused_nonce`, `replayed.expired`: the gate cannot tell a captured pair from its
//! original) and the forged variants the oracle says pass under the run's gate settings
//! ([`must_be_refused`] is false for all of them). Over those classes, per transport:
//!
//! - **max** = Σ (started − exhausted) × (1 + R) where R = 0 for HTTPS and `run_secs / 300` for MQTT/TLS, MQTT
//!   and WSS: each attempt invokes at most once, and an MQTT session is re-authorized at most every 300 s
//!   (`refreshAfterInSeconds` is at least 300), as [`crate::invariant::conserve`] bounds the ledger. An
//!   `exhausted` attempt sent nothing. Anything above max is an invocation no non-forged attempt explains.
//! - **min** = Σ answers that only the authorizer can give: HTTPS 200 and CONNACK 0 (`allowed`). A 403 or a
//!   refused CONNECT proves nothing (the gate refuses too), and timeouts and transport errors may or may not
//!   have arrived. With `enableCachingForHttp`, HTTPS answers on a keep-alive connection may come from the
//!   cache and invoke nothing, so HTTPS proves only 1 (when any attempt was allowed). A count below min means
//!   the witness is not seeing this function's invocations (another function, log group or alias).

use serde::{Deserialize, Serialize};

use crate::attempt::oracle::must_be_refused;
use crate::contract::{Class, Transport};
use crate::metrics::{Outcome, Recorder};
use crate::wire::settings::GateSettings;

/// The smallest re-authorization interval AWS accepts (`refreshAfterInSeconds`, spec §4).
const MIN_REFRESH_S: u64 = 300;

/// The invocations a run can explain: CloudWatch's count must fall within `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub min: u64,
    pub max: u64,
}

/// What the bounds are computed from.
pub struct Basis<'a> {
    pub recorder: &'a Recorder,
    pub gate: GateSettings,
    /// How long the load ran, whole seconds (bounds MQTT re-authorizations).
    pub run_secs: u64,
    /// The target authorizer's `enableCachingForHttp` (`authorizer.enable_caching_for_http`).
    pub http_caching: bool,
}

impl Expected {
    pub fn of(b: &Basis<'_>) -> Self {
        let rec = b.recorder;
        let mut e = Self { min: 0, max: 0 };
        let passing: Vec<Class> = Class::ALL
            .into_iter()
            .filter(|c| !must_be_refused(*c, &b.gate))
            .collect();
        for t in Transport::ALL {
            let refreshes = if t.is_mqtt() {
                b.run_secs / MIN_REFRESH_S
            } else {
                0
            };
            let mut allowed = 0;
            for &c in &passing {
                let sent = rec
                    .started(t, c)
                    .saturating_sub(rec.ended(t, c, Outcome::Exhausted));
                e.max += sent * (1 + refreshes);
                allowed += rec.ended(t, c, Outcome::Allowed);
            }
            e.min += if t == Transport::Https && b.http_caching {
                allowed.min(1)
            } else {
                allowed
            };
        }
        e
    }

    pub fn contains(&self, n: u64) -> bool {
        (self.min..=self.max).contains(&n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;
    use crate::wire::settings::Duplicates;

    fn attempts(rec: &mut Recorder, t: Transport, c: Class, o: Outcome, n: u64) {
        for _ in 0..n {
            rec.start(t, c);
            rec.end(t, c, o, 10, 10, true);
        }
    }

    fn basis(rec: &Recorder) -> Basis<'_> {
        Basis {
            recorder: rec,
            gate: GateSettings::default(),
            run_secs: 10,
            http_caching: false,
        }
    }

    #[test]
    fn forged_attempts_the_gate_refuses_explain_nothing() {
        let mut rec = Recorder::new();
        let h = Transport::Https;
        attempts(&mut rec, h, Class::Valid, Outcome::Allowed, 5);
        attempts(&mut rec, h, Class::Valid, Outcome::Forbidden, 1);
        attempts(&mut rec, h, Class::Valid, Outcome::Timeout, 1);
        attempts(&mut rec, h, Class::Replayed, Outcome::Allowed, 2);
        attempts(&mut rec, h, Class::ReusedNonce, Outcome::Exhausted, 3);
        attempts(
            &mut rec,
            h,
            Class::Forged(Forgery::BitFlip),
            Outcome::Forbidden,
            50,
        );
        // duplicated_token passes where the first value counts (the default) and is refused where the last does.
        attempts(
            &mut rec,
            h,
            Class::Forged(Forgery::DuplicatedToken),
            Outcome::Allowed,
            4,
        );
        assert_eq!(Expected::of(&basis(&rec)), Expected { min: 11, max: 13 });
        let mut b = basis(&rec);
        b.gate.duplicates = Duplicates::Last;
        assert_eq!(Expected::of(&b), Expected { min: 7, max: 9 });
    }

    #[test]
    fn mqtt_sessions_may_refresh_and_http_caching_proves_one() {
        let mut rec = Recorder::new();
        attempts(
            &mut rec,
            Transport::MqttTls,
            Class::Valid,
            Outcome::Allowed,
            3,
        );
        attempts(
            &mut rec,
            Transport::Wss,
            Class::Valid,
            Outcome::ClosedWithoutConnack,
            2,
        );
        attempts(
            &mut rec,
            Transport::Https,
            Class::Valid,
            Outcome::Allowed,
            4,
        );
        let mut b = basis(&rec);
        assert_eq!(Expected::of(&b), Expected { min: 7, max: 9 });
        // 10 minutes: every MQTT attempt may have been re-authorized twice.
        b.run_secs = 600;
        assert_eq!(
            Expected::of(&b),
            Expected {
                min: 7,
                max: 4 + 5 * 3
            }
        );
        b.http_caching = true;
        assert_eq!(Expected::of(&b).min, 3 + 1);
        assert!(Expected::of(&b).contains(4) && !Expected::of(&b).contains(3));
    }
}
