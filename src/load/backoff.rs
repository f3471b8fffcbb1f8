//! Backoff after throttling (pure): a device whose attempt was throttled (HTTPS 429, MQTT 5 CONNACK 0x97/0x9F)
//! waits a jittered exponential backoff before its next attempt, instead of reconnecting in a storm. Full jitter
//! (AWS Architecture Blog, "Exponential Backoff And Jitter"): after the n-th throttle in a row the wait is drawn
//! uniformly from [0, min(max, base·2ⁿ⁻¹)); any other answer resets the streak. Each device draws from its own
//! RNG seeded from (run seed, device), so a run is reproducible. The lanes skip the open-model attempts intended
//! inside the window; the MQTT fleet holds the next CONNECT until it ends.

use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use crate::metrics::Outcome;

/// The backoff's base and cap (`[safety] backoff_base_s`, `backoff_max_s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffSpec {
    pub base: Duration,
    pub max: Duration,
}

impl BackoffSpec {
    /// The longest wait after `streak` (≥ 1) throttles in a row.
    pub fn ceiling(&self, streak: u32) -> Duration {
        let doubled = self.base.saturating_mul(
            1u32.checked_shl(streak.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        doubled.min(self.max)
    }
}

/// One device's backoff.
#[derive(Debug, Clone)]
pub struct Backoff {
    spec: BackoffSpec,
    streak: u32,
    until: Option<Instant>,
    rng: ChaCha8Rng,
}

impl Backoff {
    pub fn new(spec: BackoffSpec, seed: u64, device: u32) -> Self {
        Self {
            spec,
            streak: 0,
            until: None,
            rng: ChaCha8Rng::seed_from_u64(
                seed ^ u64::from(device).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ 0x0062_6163_6b6f_6666, // "backoff"
            ),
        }
    }

    /// After an attempt ended at `now`: a throttle starts a window (returned: its length); any other answer
    /// ends the streak and the window; no answer (a transport error, a timeout, nothing sent) changes nothing.
    pub fn after(&mut self, outcome: Outcome, now: Instant) -> Option<Duration> {
        match outcome {
            Outcome::Throttled => {}
            Outcome::TransportError | Outcome::Timeout | Outcome::Exhausted => return None,
            _ => {
                self.streak = 0;
                self.until = None;
                return None;
            }
        }
        self.streak = self.streak.saturating_add(1);
        let ceiling = self.spec.ceiling(self.streak);
        let wait = ceiling.mul_f64(self.rng.random::<f64>());
        self.until = Some(now + wait);
        Some(wait)
    }

    /// Whether an attempt intended at `at` falls in the window (before it ends).
    pub fn holds(&self, at: Instant) -> bool {
        self.until.is_some_and(|u| at < u)
    }

    /// When the window ends; `None`: no window.
    pub fn until(&self) -> Option<Instant> {
        self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: BackoffSpec = BackoffSpec {
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let c: Vec<u64> = (1..=8).map(|n| SPEC.ceiling(n).as_secs()).collect();
        assert_eq!(c, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(SPEC.ceiling(1000), SPEC.max, "no overflow");
    }

    #[test]
    fn throttles_open_a_jittered_window_and_an_answer_closes_it() {
        let now = Instant::now();
        let mut b = Backoff::new(SPEC, 7, 3);
        assert!(!b.holds(now));
        let mut waits = Vec::new();
        for n in 1..=6 {
            let w = b.after(Outcome::Throttled, now).unwrap();
            assert!(w < SPEC.ceiling(n), "throttle {n}: {w:?}");
            assert!(b.holds(now) || w.is_zero());
            assert!(!b.holds(now + w));
            waits.push(w);
        }
        assert!(
            waits.iter().any(|w| *w > Duration::from_secs(2)),
            "the window grows: {waits:?}"
        );
        assert_eq!(b.after(Outcome::Timeout, now), None);
        assert!(b.holds(now), "no answer: the window stays");
        assert_eq!(b.after(Outcome::Forbidden, now), None);
        assert!(!b.holds(now), "an answer resets");
        assert!(
            b.after(Outcome::Throttled, now).unwrap() < SPEC.base,
            "the streak starts over"
        );
    }

    #[test]
    fn the_draws_are_the_devices_own_and_reproducible() {
        let now = Instant::now();
        let draws = |seed, device| {
            let mut b = Backoff::new(SPEC, seed, device);
            (0..5)
                .map(|_| b.after(Outcome::Throttled, now).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(1, 2), draws(1, 2));
        assert_ne!(draws(1, 2), draws(1, 3));
        assert_ne!(draws(1, 2), draws(2, 2));
    }
}
