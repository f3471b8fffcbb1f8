//! The weighted credential mix: a seeded choice of class per attempt, from the device's own RNG.

use rand::Rng;

use crate::contract::Class;

/// Cumulative weights over [`Class::ALL`]; built once from the plan's validated weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    cumulative: [f64; Class::COUNT],
}

/// Why weights cannot form a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MixError {
    #[error("weight must be ≥ 0 and finite")]
    Negative,
    #[error("at least one weight must be > 0")]
    AllZero,
}

impl Mix {
    /// Weights indexed like [`Class::ALL`]; they need not sum to 1.
    pub fn new(weights: [f64; Class::COUNT]) -> Result<Self, MixError> {
        let mut cumulative = [0.0; Class::COUNT];
        let mut sum = 0.0;
        for (i, w) in weights.into_iter().enumerate() {
            if !(w.is_finite() && w >= 0.0) {
                return Err(MixError::Negative);
            }
            sum += w;
            cumulative[i] = sum;
        }
        if sum <= 0.0 {
            return Err(MixError::AllZero);
        }
        Ok(Self { cumulative })
    }

    fn total(&self) -> f64 {
        self.cumulative[Class::COUNT - 1]
    }

    /// The share of attempts of this class (0..=1).
    pub fn share(&self, class: Class) -> f64 {
        let i = class.index();
        let prev = if i == 0 { 0.0 } else { self.cumulative[i - 1] };
        (self.cumulative[i] - prev) / self.total()
    }

    /// The mix for one transport: forgery variants the oracle skips on `t` get weight 0. `Err(AllZero)` when
    /// nothing weighted is left to send there.
    pub fn for_transport(&self, t: crate::contract::Transport) -> Result<Self, MixError> {
        let mut w = [0.0; Class::COUNT];
        for c in Class::ALL {
            let skipped = match c {
                Class::Forged(f) => matches!(
                    super::oracle::entry(f).applies(t),
                    super::oracle::Applies::Skipped(_)
                ),
                _ => false,
            };
            if !skipped {
                w[c.index()] = self.share(c);
            }
        }
        Self::new(w)
    }

    /// Picks the class of device `device`'s attempt number `k`: valid, replayed or forged at random (seeded
    /// `rng`, by weight), and a forged attempt's variant from a low-discrepancy (Weyl) sequence over the variant
    /// weights, `frac(device·(√2−1) + k·(φ−1))`. Each device walks the variants evenly from its own starting
    /// point, so every weighted variant is sent over every transport after a few attempts per device, not only
    /// on average: what a CI run that promises "every variant over every transport" needs.
    pub fn choose_at<R: Rng + ?Sized>(&self, rng: &mut R, device: u32, k: u64) -> Class {
        let c = self.choose(rng);
        let Class::Forged(_) = c else {
            return c;
        };
        let first = Class::Forged(crate::contract::Forgery::ALL[0]).index();
        let lo = self.cumulative[first - 1];
        let hi = self.cumulative[Class::COUNT - 1];
        let u = (f64::from(device) * (std::f64::consts::SQRT_2 - 1.0)
            + (k % (1 << 40)) as f64 * 0.618_033_988_749_894_9)
            .fract();
        let x = lo + u * (hi - lo);
        for i in first..Class::COUNT {
            if x < self.cumulative[i] {
                return Class::ALL[i];
            }
        }
        c
    }

    /// Picks a class; classes of weight 0 are never picked.
    pub fn choose<R: Rng + ?Sized>(&self, rng: &mut R) -> Class {
        let x = rng.random::<f64>() * self.total();
        for (i, &c) in self.cumulative.iter().enumerate() {
            if x < c {
                return Class::ALL[i];
            }
        }
        // x == total only through rounding: the last class with a positive weight.
        let last = (0..Class::COUNT)
            .rev()
            .find(|&i| self.share(Class::ALL[i]) > 0.0)
            .unwrap_or(0);
        Class::ALL[last]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;
    use rand::SeedableRng as _;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn rejects_bad_weights() {
        let mut w = [1.0; Class::COUNT];
        w[3] = -1.0;
        assert_eq!(Mix::new(w), Err(MixError::Negative));
        w[3] = f64::NAN;
        assert_eq!(Mix::new(w), Err(MixError::Negative));
        assert_eq!(Mix::new([0.0; Class::COUNT]), Err(MixError::AllZero));
    }

    #[test]
    fn choice_follows_weights_and_is_seeded() {
        let mut w = [0.0; Class::COUNT];
        w[Class::Valid.index()] = 6.0;
        w[Class::Replayed.index()] = 2.0;
        w[Class::Forged(Forgery::BitFlip).index()] = 2.0;
        let mix = Mix::new(w).unwrap();
        assert!((mix.share(Class::Valid) - 0.6).abs() < 1e-12);
        let count = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut counts = [0u32; Class::COUNT];
            for _ in 0..10_000 {
                counts[mix.choose(&mut rng).index()] += 1;
            }
            counts
        };
        let a = count(7);
        assert_eq!(a, count(7), "same seed, same choices");
        assert_ne!(a, count(8));
        assert_eq!(a.iter().sum::<u32>(), 10_000);
        for c in Class::ALL {
            let share = a[c.index()] as f64 / 10_000.0;
            assert!((share - mix.share(c)).abs() < 0.03, "{c:?}: {share}");
        }
        assert_eq!(a[Class::Forged(Forgery::WrongKey).index()], 0);
    }

    #[test]
    fn a_transport_mix_drops_the_variants_the_oracle_skips_there() {
        use crate::contract::Transport;
        let mut w = [1.0; Class::COUNT];
        w[Class::Valid.index()] = 0.0;
        let mix = Mix::new(w).unwrap();
        let q = Class::Forged(Forgery::SecondQuestionMark);
        let https = mix.for_transport(Transport::Https).unwrap();
        assert_eq!(https.share(q), 0.0);
        assert!(
            https.share(Class::Forged(Forgery::BitFlip))
                > mix.share(Class::Forged(Forgery::BitFlip))
        );
        // MQTT skips only `in_body`: the others keep their relative weights.
        let mqtt = mix.for_transport(Transport::Mqtt).unwrap();
        let body = Class::Forged(Forgery::InBody);
        assert_eq!(mqtt.share(body), 0.0);
        let scale = 1.0 / (1.0 - mix.share(body));
        for c in Class::ALL.into_iter().filter(|&c| c != body) {
            assert!(
                (mqtt.share(c) - mix.share(c) * scale).abs() < 1e-12,
                "{c:?}"
            );
        }
        let mut only = [0.0; Class::COUNT];
        only[q.index()] = 1.0;
        let only = Mix::new(only).unwrap();
        assert_eq!(only.for_transport(Transport::Https), Err(MixError::AllZero));
        assert!(only.for_transport(Transport::Wss).is_ok());
    }

    #[test]
    fn each_device_walks_every_forged_variant_evenly() {
        let mut w = [0.0; Class::COUNT];
        for f in Forgery::ALL {
            w[Class::Forged(f).index()] = 1.0;
        }
        w[Class::Forged(Forgery::BitFlip).index()] = 0.0;
        let mix = Mix::new(w).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for device in [0, 7, 99] {
            let mut seen = [0u32; Class::COUNT];
            for k in 0..(3 * Forgery::COUNT as u64) {
                seen[mix.choose_at(&mut rng, device, k).index()] += 1;
            }
            for f in Forgery::ALL {
                let n = seen[Class::Forged(f).index()];
                if f == Forgery::BitFlip {
                    assert_eq!(n, 0, "weight 0 is never sent");
                } else {
                    assert!((1..=6).contains(&n), "device {device} {f:?}: {n}");
                }
            }
        }
    }
}
