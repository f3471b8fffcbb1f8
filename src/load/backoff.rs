//! A device's exponential backoff (pure), used twice:
//!
//! - after throttling (`[safety] backoff`): a device whose attempt was throttled (HTTPS 429, MQTT 5 CONNACK
//!   0x97/0x9F) waits before its next attempt, instead of reconnecting in a storm ([`Backoff::after`]); any other
//!   answer resets the streak. The lanes skip the open-model attempts intended inside the window; the MQTT fleet
//!   holds the next CONNECT until it ends.
//! - before an MQTT reconnect (`[mqtt] reconnect`): after a drop, a kick or a storm, and after each failed
//!   reconnect ([`Backoff::hold`]), as the AWS IoT Device SDKs do.
//!
//! After the n-th hold in a row the ceiling is min(max, base·2ⁿ⁻¹); `jitter` is the part of it drawn at random:
//! 1 is full jitter (uniform in [0, ceiling), AWS Architecture Blog, "Exponential Backoff And Jitter"; the CRT's
//! MQTT 5 client), 0 none (exactly the ceiling; the CRT's MQTT 3.1.1 client). Each device draws from its own RNG
//! seeded from (run seed, device, use), so a run is reproducible.

use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use crate::metrics::Outcome;

/// The backoff's base, cap and jitter (`[safety] backoff_base_s`, `backoff_max_s`, full jitter; or
/// `[mqtt] reconnect`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffSpec {
    pub base: Duration,
    pub max: Duration,
    /// The part of each wait drawn at random, 0 to 1.
    pub jitter: f64,
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

    /// The wait after `streak` holds in a row, for a uniform draw `u` in [0, 1).
    pub fn wait(&self, streak: u32, u: f64) -> Duration {
        let jitter = self.jitter.clamp(0.0, 1.0);
        // With full jitter this is exactly `ceiling · u` (the throttle backoff's draws stay as they were).
        self.ceiling(streak).mul_f64(1.0 - jitter + jitter * u)
    }
}

/// What a backoff is for: each use draws from its own stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Throttle,
    Reconnect,
}

/// One device's backoff.
///
/// It keeps its RNG's seed and how many waits it drew, not the RNG (a ChaCha state is over 300 bytes, and every
/// device has two backoffs that most never use): a hold re-creates the RNG at its position, which draws exactly
/// what one RNG kept for the device's life would have.
#[derive(Debug, Clone)]
pub struct Backoff {
    spec: BackoffSpec,
    streak: u32,
    until: Option<Instant>,
    seed: u64,
    drawn: u64,
}

impl Backoff {
    /// A throttle backoff.
    pub fn new(spec: BackoffSpec, seed: u64, device: u32) -> Self {
        Self::for_use(spec, seed, device, Use::Throttle)
    }

    pub fn for_use(spec: BackoffSpec, seed: u64, device: u32, what: Use) -> Self {
        let salt = match what {
            Use::Throttle => 0x0062_6163_6b6f_6666,  // "backoff"
            Use::Reconnect => 0x7265_636f_6e6e_6563, // "reconnec"
        };
        Self {
            spec,
            streak: 0,
            until: None,
            seed: seed ^ u64::from(device).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt,
            drawn: 0,
        }
    }

    /// The next draw in [0, 1) of the device's RNG for this use (each draw takes one 64-bit word: two of the
    /// RNG's 32-bit words).
    fn draw(&mut self) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_word_pos(u128::from(self.drawn) * 2);
        self.drawn += 1;
        rng.random::<f64>()
    }

    /// One more hold in a row, from `now`: draws the wait and opens the window; returns the wait.
    pub fn hold(&mut self, now: Instant) -> Duration {
        self.streak = self.streak.saturating_add(1);
        let draw = self.draw();
        let wait = self.spec.wait(self.streak, draw);
        self.until = Some(now + wait);
        wait
    }

    /// Ends the streak and the window (the next hold starts from `base` again).
    pub fn reset(&mut self) {
        self.streak = 0;
        self.until = None;
    }

    /// Holds in a row so far.
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// After an attempt ended at `now`: a throttle starts a window (returned: its length); any other answer
    /// ends the streak and the window; no answer (a transport error, a timeout, nothing sent) changes nothing.
    pub fn after(&mut self, outcome: Outcome, now: Instant) -> Option<Duration> {
        match outcome {
            Outcome::Throttled => Some(self.hold(now)),
            Outcome::TransportError | Outcome::Timeout | Outcome::Exhausted => None,
            _ => {
                self.reset();
                None
            }
        }
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
        jitter: 1.0,
    };

    #[test]
    fn draws_are_those_of_one_rng_kept_for_the_devices_life() {
        let mut b = Backoff::for_use(SPEC, 42, 9, Use::Reconnect);
        let mut kept = ChaCha8Rng::seed_from_u64(b.seed);
        // 300 draws: 600 words, across many of the RNG's 64-word buffers.
        for n in 0..300 {
            assert_eq!(b.draw(), kept.random::<f64>(), "draw {n}");
        }
    }

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

    #[test]
    fn without_jitter_the_waits_double_exactly_and_a_reset_starts_over() {
        let now = Instant::now();
        let spec = BackoffSpec {
            base: Duration::from_millis(1000),
            max: Duration::from_millis(128_000),
            jitter: 0.0,
        };
        let mut b = Backoff::for_use(spec, 1, 0, Use::Reconnect);
        let waits: Vec<u64> = (0..9).map(|_| b.hold(now).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 128]);
        assert_eq!(b.until(), Some(now + Duration::from_secs(128)));
        b.reset();
        assert_eq!((b.streak(), b.until()), (0, None));
        assert_eq!(b.hold(now), Duration::from_secs(1));
    }

    #[test]
    fn partial_jitter_keeps_each_wait_within_its_band_and_spreads_a_fleet() {
        let now = Instant::now();
        let spec = BackoffSpec {
            base: Duration::from_millis(1000),
            max: Duration::from_millis(8000),
            jitter: 0.5,
        };
        // 100 devices dropped at once: their first reconnect waits lie in [0.5 s, 1 s) and differ.
        let first: Vec<Duration> = (0..100)
            .map(|d| Backoff::for_use(spec, 42, d, Use::Reconnect).hold(now))
            .collect();
        assert!(
            first
                .iter()
                .all(|w| *w >= Duration::from_millis(500) && *w < spec.base)
        );
        let distinct: std::collections::BTreeSet<_> = first.iter().collect();
        assert!(
            distinct.len() > 90,
            "spread: {} distinct waits",
            distinct.len()
        );
        // The seed reproduces them; the throttle stream of the same device is another one.
        assert_eq!(
            Backoff::for_use(spec, 42, 7, Use::Reconnect).hold(now),
            first[7]
        );
        assert_ne!(
            Backoff::for_use(spec, 42, 7, Use::Throttle).hold(now),
            first[7]
        );
    }
}
